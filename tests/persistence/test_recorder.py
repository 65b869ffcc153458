"""The recorder against the local exchange, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import threading
import time
from typing import Any

import msgspec
import sqlalchemy as sa

from ccxtpro_sync.persistence import Recorder, replay
from ccxtpro_sync.simulator import LocalExchange

from .conftest import NewUrl
from .support import (
    SPOT,
    STREAM,
    Collector,
    RawTrades,
    Trades,
    column,
    count,
    ids_of,
    make_client,
    publish_sentinel,
    rows,
)


def _record_round(ex: LocalExchange, live: Trades, raw: RawTrades, n: int, ticks: int) -> None:
    ex.tick(ticks)
    sentinel = publish_sentinel(ex, n)
    live.wait_for(sentinel)
    raw.wait_for(sentinel)


def _drop_and_resume(ex: LocalExchange) -> None:
    before = ex.stats().handshakes_accepted
    assert ex.faults.drop() >= 1
    ex.wait_for_handshakes(before + 1, timeout=10)
    ex.wait_for_subscription(STREAM, timeout=10)


def test_every_trade_exactly_once_across_a_dropped_connection(
    manual_exchange: LocalExchange, new_url: NewUrl
) -> None:
    url, ex = new_url(), manual_exchange
    live, raw = Trades(), RawTrades()
    with make_client(ex) as client:
        recorder = Recorder(client, url, symbols=[SPOT], streams=["trades", "ohlcv"])
        # Registered after the recorder: when they see a payload, the recorder has too.
        subs = [client.on_trades(SPOT, live), client.on_raw(raw)]
        ex.wait_for_subscription(STREAM)
        _record_round(ex, live, raw, 1, ticks=40)
        _drop_and_resume(ex)
        _record_round(ex, live, raw, 2, ticks=40)
        _drop_and_resume(ex)
        _record_round(ex, live, raw, 3, ticks=40)
        report = recorder.close()
        for sub in subs:
            sub.cancel()
        markets = len(client.markets)
    assert report.clean, report
    assert len(live.ids) > 10 and len(set(live.ids)) == len(live.ids)
    stored = column(url, "SELECT id FROM trades WHERE exchange = 'binance'")
    assert sorted(stored) == sorted(live.ids)  # every trade, once
    assert report.written["trades"] == len(live.ids)
    payloads = column(url, f"SELECT count(*) FROM raw_messages WHERE channel = '{STREAM}'")
    assert payloads == [len(raw.ids)] and sorted(raw.ids) == sorted(live.ids)
    assert count(url, "markets") == markets


def test_replaying_a_raw_log_twice_adds_no_row(
    manual_exchange: LocalExchange, new_url: NewUrl
) -> None:
    source, target, ex = new_url(), new_url(), manual_exchange
    live, raw = Trades(), RawTrades()
    with make_client(ex) as client:
        with Recorder(client, source, symbols=[SPOT], streams=["trades", "ohlcv", "ticker"]):
            subs = [client.on_trades(SPOT, live), client.on_raw(raw)]
            ex.wait_for_subscription(STREAM)
            _record_round(ex, live, raw, 1, ticks=60)
            _drop_and_resume(ex)
            _record_round(ex, live, raw, 2, ticks=60)
            for sub in subs:
                sub.cancel()
    tables = ("raw_messages", "trades", "ohlcv", "tickers")
    counts = []
    for _ in range(2):
        with make_client(ex) as fresh:
            result = replay(source, fresh, to=target)
        assert result.messages == count(source, "raw_messages")
        assert len(result.structures["trades"]) == len(live.ids)
        counts.append({t: count(target, t) for t in tables})
    assert counts[0] == counts[1]
    assert counts[0]["raw_messages"] == count(source, "raw_messages")
    assert sorted(column(target, "SELECT id FROM trades")) == sorted(live.ids)
    candles = "SELECT timestamp, open, high, low, close, volume FROM ohlcv ORDER BY timestamp"
    assert rows(target, candles) == rows(source, candles) and rows(source, candles)
    # Tickers reach callbacks coalesced (LATEST); the raw log has every one of them.
    recorded = set(column(source, "SELECT timestamp FROM tickers"))
    assert recorded and recorded <= set(column(target, "SELECT timestamp FROM tickers"))


def test_a_killed_database_connection_is_replaced_and_nothing_is_lost(
    manual_exchange: LocalExchange, pg_urls: Any
) -> None:
    url, ex = pg_urls(), manual_exchange
    live, raw = Trades(), RawTrades()
    application = sa.engine.make_url(url).query["application_name"]
    with make_client(ex) as client:
        recorder = Recorder(client, url, symbols=[SPOT], streams=["trades"], retry_wait=0.05)
        subs = [client.on_trades(SPOT, live), client.on_raw(raw)]
        ex.wait_for_subscription(STREAM)
        _record_round(ex, live, raw, 1, ticks=30)
        assert recorder.flush(10)
        killed = rows(
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = :app AND pid <> pg_backend_pid()",
            {"app": application},
        )
        assert killed and all(r[0] for r in killed)
        _record_round(ex, live, raw, 2, ticks=30)
        report = recorder.close()
        for sub in subs:
            sub.cancel()
    assert report.clean, report
    assert sorted(column(url, "SELECT id FROM trades")) == sorted(live.ids)


def test_a_dead_database_is_reported_with_what_was_not_written(
    manual_exchange: LocalExchange, new_url: NewUrl
) -> None:
    url, ex = new_url(), manual_exchange
    live, raw = Trades(), RawTrades()
    with make_client(ex) as client:
        recorder = Recorder(
            client, url, symbols=[SPOT], streams=["trades"], retries=2, retry_wait=0.01
        )
        subs = [client.on_trades(SPOT, live), client.on_raw(raw)]
        ex.wait_for_subscription(STREAM)
        _record_round(ex, live, raw, 1, ticks=30)
        assert recorder.flush(10)
        written_before = list(live.ids)
        engine = sa.create_engine(url)
        with engine.begin() as conn:  # the database loses the table under the writer
            conn.execute(sa.text("DROP TABLE trades"))
        engine.dispose()
        _record_round(ex, live, raw, 2, ticks=30)
        assert not recorder.flush(10)  # the writer gave up
        assert recorder.error is not None
        pending = recorder.pending()
        _record_round(ex, live, raw, 3, ticks=10)  # offered after the failure: dropped
        report = recorder.close()
        for sub in subs:
            sub.cancel()
    assert not report.clean and "trades" in (report.error or "")
    assert pending["trades"] > 0 and report.pending["trades"] >= pending["trades"]
    assert report.dropped["trades"] > 0
    # Every trade the live callback saw is written, pending or dropped: none vanished.
    assert report.written["trades"] + report.pending["trades"] + report.dropped["trades"] == len(
        live.ids
    )
    assert report.written["trades"] == len(written_before)
    unwritten = ids_of(recorder.unwritten(), "trades")
    assert unwritten == live.ids[len(written_before) : len(written_before) + len(unwritten)]
    assert "NOT WRITTEN" in str(report) and "writer failed" in str(report)


def test_a_slow_database_never_blocks_the_caller_beyond_the_overflow_policy(
    tmp_path: Any,
) -> None:
    url = f"sqlite:///{tmp_path / 'slow.sqlite'}"
    recorder = Recorder(
        None, url, exchange="test", markets=False, raw=False, streams=(),
        max_pending=100, overflow="block", block_timeout=0.05,
    )  # fmt: skip
    engine = sa.create_engine(url, connect_args={"timeout": 30})
    ohlcv = [_candle(i) for i in range(60)]
    context = {"exchange": "test", "symbol": "X/Y", "timeframe": "1m"}
    with engine.connect() as locker:
        locker.exec_driver_sql("BEGIN EXCLUSIVE")  # the writer now waits on the file lock
        assert recorder.offer("ohlcv", ohlcv[:30], context)
        assert recorder.offer("ohlcv", ohlcv[30:60], context)
        started = time.monotonic()
        assert not recorder.offer("ohlcv", [_candle(i) for i in range(60, 120)], context)
        assert time.monotonic() - started < 1.0  # waited block_timeout, then dropped
        assert recorder.pending() == {"ohlcv": 60}
        locker.exec_driver_sql("COMMIT")
    engine.dispose()
    report = recorder.close()
    assert report.written == {"ohlcv": 60} and report.dropped == {"ohlcv": 60}
    assert count(url, "ohlcv") == 60


def _candle(i: int) -> Any:
    from ccxtpro_sync import OHLCV

    return OHLCV(60_000 * i, 1.0, 2.0, 0.5, 1.5, 10.0)


def test_close_without_flush_reports_what_it_abandons(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'abandon.sqlite'}"
    recorder = Recorder(None, url, exchange="test", markets=False, raw=False, streams=())
    engine = sa.create_engine(url, connect_args={"timeout": 30})
    context = {"exchange": "test", "symbol": "X/Y", "timeframe": "1m"}
    with engine.connect() as locker:
        locker.exec_driver_sql("BEGIN EXCLUSIVE")
        recorder.offer("ohlcv", [_candle(i) for i in range(5)], context)
        done = threading.Event()

        def close() -> None:
            recorder.close(timeout=10, flush=False)
            done.set()

        closer = threading.Thread(target=close)
        closer.start()
        locker.exec_driver_sql("COMMIT")
    closer.join(10)
    engine.dispose()
    assert done.is_set()
    report = recorder.close()
    assert report.written.get("ohlcv", 0) + report.pending.get("ohlcv", 0) == 5


def _update_id(message: Any) -> int:
    """The last update id of a depth diff (``u``) or REST snapshot (``lastUpdateId``)."""
    body: Any = msgspec.json.decode(message.data)
    if not isinstance(body, dict):
        return -1
    found: Any = body.get("u", body.get("lastUpdateId", -1))
    return int(found)


def test_replay_rebuilds_order_books_from_diffs_and_recorded_snapshots(
    exchange: LocalExchange, new_url: NewUrl
) -> None:
    source, target = new_url(), new_url()
    books, raw = Collector(), Collector()
    with make_client(exchange) as client:
        with Recorder(client, source, symbols=[SPOT], streams=["order_book"], order_book_depth=5):
            # Registered after the recorder: what they saw, the recorder saw too.
            with client.on_order_book(SPOT, books), client.on_raw(raw):
                books.wait_for(lambda seen: len({b.nonce for b in seen}) >= 15)
                last = max(b.nonce for b in books.snapshot())
                # a frame's raw payload is delivered after its book: wait for it too
                raw.wait_for(lambda seen: any(_update_id(m) >= last for m in seen))
    channels = set(column(source, "SELECT DISTINCT channel FROM raw_messages"))
    assert "depthSnapshot:btcusdt@1000" in channels and "btcusdt@depth@100ms" in channels
    book = "SELECT symbol, nonce, bids, asks FROM order_books ORDER BY nonce"
    recorded = [tuple(r) for r in rows(source, book) if r[1] <= last]
    assert len(recorded) >= 15
    results = []
    for _ in range(2):  # twice: the second replay adds no row
        with make_client(exchange) as fresh:
            results.append(replay(source, fresh, to=target, order_books=True, order_book_depth=5))
        assert count(target, "raw_messages") == count(source, "raw_messages")
    rebuilt = {r[1]: tuple(r) for r in rows(target, book)}
    # Every book the recorder stored is rebuilt the same, from the diffs and snapshot.
    assert [rebuilt.get(r[1]) for r in recorded] == recorded
    assert (
        len(rebuilt)
        == len(results[0].structures["order_books"])
        == results[1].written["order_books"]
    )
    # One state across the whole log: tiny write chunks rebuild the same books, and
    # without order_books=True they are returned but not written.
    with make_client(exchange) as fresh:
        small = replay(source, fresh, to=new_url(), chunk=3, order_book_depth=5)
    assert [(b.nonce, b.bids, b.asks) for b in small.structures["order_books"]] == [
        (b.nonce, b.bids, b.asks) for b in results[0].structures["order_books"]
    ]
    assert "order_books" not in small.written
    assert small.written["raw_messages"] == count(source, "raw_messages")
