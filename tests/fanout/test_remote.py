"""The consumer faces over Redis: books from the newest snapshot, tickers, raw frames,
and a gap beyond retention."""

from __future__ import annotations

import threading
from typing import Any

import msgspec
import pytest
import redis

from ccxtpro_sync.fanout import Collector, KeySchema, fanout_signals, remote
from ccxtpro_sync.simulator import LocalExchange

from .test_fanout import SYMBOL, Collected, exchange_fixture, make_client

exchange = exchange_fixture(seed=5)


def test_a_late_consumer_rebuilds_books_from_the_newest_snapshot(
    exchange: LocalExchange, redis_url: str, prefix: str
) -> None:
    local, seen = Collected(), Collected()
    resyncs: list[Any] = []
    fanout_signals.fanout_book_resync.connect(lambda sender, **kw: resyncs.append(kw), weak=False)
    with (
        make_client(exchange) as client,
        Collector(
            client, redis_url, [SYMBOL], prefix=prefix, channels=["orderbook"], snapshot_every=20
        ) as collector,
    ):
        client.on_order_book(SYMBOL, handler=local.on_book)
        assert collector.wait_active(10)
        local.wait(lambda: len(local.books) >= 50, what="books before the consumer starts")
        with remote(redis_url, prefix=prefix, start="latest") as consumer:
            consumer.on_order_book(SYMBOL, handler=seen.on_book)
            seen.wait(lambda: len(seen.books) >= 30, what="books at the consumer")
            first = consumer.watch_order_book(SYMBOL, limit=5, timeout=10)
        with local.cond:
            reference = dict(local.books)
    assert len(first.bids) <= 5
    nonces = sorted(seen.books)
    assert nonces[0] >= min(reference), "a late consumer starts near the newest book"
    common = [n for n in nonces if n in reference]
    assert len(common) >= 10
    assert all(seen.books[n] == reference[n] for n in common)
    assert not [r for r in resyncs if r["key"].startswith(prefix)]


def test_tickers_and_raw_frames_reach_the_consumer(
    exchange: LocalExchange, redis_url: str, prefix: str
) -> None:
    tickers: list[Any] = []
    raw: list[Any] = []
    got = threading.Condition()

    def on_ticker(ticker: Any) -> None:
        with got:
            tickers.append(ticker)
            got.notify_all()

    def on_raw(messages: list[Any]) -> None:
        with got:
            raw.extend(messages)
            got.notify_all()

    with (
        make_client(exchange) as client,
        Collector(client, redis_url, [SYMBOL], prefix=prefix, channels=["ticker", "raw"]) as c,
    ):
        assert c.wait_active(10)
        published: list[Any] = []
        client.on_ticker(SYMBOL, handler=published.append)
        with remote(redis_url, prefix=prefix, start="earliest") as consumer:
            consumer.on_ticker(SYMBOL, handler=on_ticker)
            consumer.on_raw(handler=on_raw)
            with got:
                assert got.wait_for(lambda: len(tickers) >= 2 and raw, 20)
            ticker = consumer.watch_ticker(SYMBOL, timeout=10)
    assert ticker.symbol == SYMBOL and ticker.last is not None
    # the same Ticker, field for field; ``info`` (a wire Struct in the collector's
    # process) arrives as the plain mapping it encodes to
    as_sent = [msgspec.structs.replace(t, info=msgspec.to_builtins(t.info)) for t in published]
    assert [t for t in tickers if t in as_sent], "no ticker arrived as the collector saw it"
    assert {m.channel for m in raw} >= {"btcusdt@ticker"}
    assert all(isinstance(m.data, bytes) for m in raw)


def test_a_gap_beyond_retention_is_reported_on_resume(
    exchange: LocalExchange, redis_url: str, prefix: str
) -> None:
    first, second = Collected(), Collected()
    fanout_signals.fanout_gap.connect(second.on_gap)
    key = KeySchema(prefix=prefix).trades(SYMBOL)
    try:
        with (
            make_client(exchange) as client,
            Collector(
                client, redis_url, [SYMBOL], prefix=prefix, channels=["trades"], maxlen=10
            ) as c,
        ):
            assert c.wait_active(10)
            with remote(redis_url, prefix=prefix, name="late", start="earliest") as consumer:
                consumer.on_trades(SYMBOL, handler=first.on_trades)
                first.wait(lambda: len(first.trades) >= 5, what="the first run")
            later = Collected()
            with client.on_trades(SYMBOL, handler=later.on_trades):
                later.wait(lambda: len(later.trades) >= 400, what="trades beyond retention")
            assert c.flush(10)
            oldest = redis.Redis.from_url(redis_url).xrange(key, count=1)[0][0].decode()
            assert int(oldest.split("-")[0]) > first.trades[-1] + 1, "retention trimmed them"
            with remote(redis_url, prefix=prefix, name="late") as consumer:
                consumer.on_trades(SYMBOL, handler=second.on_trades)
                second.wait(lambda: second.gaps and second.trades, what="the resumed run")
    finally:
        fanout_signals.fanout_gap.disconnect(second.on_gap)
    gap = second.gaps[0]
    assert gap["key"] == key and gap["after"] == first.trades[-1]
    assert gap["before"] == second.trades[0]


def test_shards_split_the_symbols_and_hold_leases_of_their_own(
    exchange: LocalExchange, redis_url: str, prefix: str
) -> None:
    symbols = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT"]
    with make_client(exchange) as client:
        shards = [
            Collector(client, redis_url, symbols, prefix=prefix, channels=["ticker"], shard=(i, 2))
            for i in range(2)
        ]
        with shards[0], shards[1]:
            assert all(c.wait_active(10) for c in shards)
            assert sorted(shards[0].symbols + shards[1].symbols) == sorted(symbols)
            assert not set(shards[0].symbols) & set(shards[1].symbols)
            assert shards[0].lease.key != shards[1].lease.key
            for collector in shards:
                other = shards[1 - shards.index(collector)]
                with remote(redis_url, prefix=prefix, start="earliest") as consumer:
                    mine = consumer.watch_ticker(collector.symbols[0], timeout=10)
                    assert mine.symbol == collector.symbols[0]
                assert collector.symbols[0] not in other.symbols


def test_collect_refuses_a_bad_shard(capsys: pytest.CaptureFixture[str]) -> None:
    from ccxtpro_sync._cli import main

    assert main(["collect", "BTC/USDT", "--redis", "redis://unused", "--shard", "3/2"]) == 2
    assert main(["collect", "BTC/USDT", "--redis", "redis://x", "--channels", "news"]) == 2
    assert "shard must look like i/n" in capsys.readouterr().err


def test_candles_arrive_as_the_collector_saw_them(
    exchange: LocalExchange, redis_url: str, prefix: str
) -> None:
    with (
        make_client(exchange) as client,
        Collector(
            client, redis_url, [SYMBOL], prefix=prefix, channels=["ohlcv"], timeframes=["1m"]
        ) as collector,
    ):
        assert collector.wait_active(10)
        sent: list[Any] = []
        client.on_ohlcv(SYMBOL, "1m", handler=sent.extend)
        matched: list[Any] = []
        with (
            remote(redis_url, prefix=prefix, start="earliest") as consumer,
            consumer.stream_ohlcv(SYMBOL, "1m", timeout=10) as batches,
        ):
            for batch in batches:  # until a published update is one the client also gave us
                assert all(len(c) == 6 and c.timestamp > 0 for c in batch)
                matched = [c for c in batch if c in list(sent)]
                if matched:
                    break
        assert matched and type(matched[0]) is type(sent[0])


def test_an_unreachable_redis_is_a_network_error(prefix: str) -> None:
    from ccxtpro_sync import NetworkError

    with remote("redis://127.0.0.1:1/0", prefix=prefix, timeout=2) as consumer:
        with pytest.raises(NetworkError, match="Redis unreachable"):
            consumer.on_trades(SYMBOL, handler=print)
        with pytest.raises(NetworkError):
            consumer.watch_ticker(SYMBOL, timeout=1)


def test_a_bad_redis_url_is_an_invalid_argument(exchange: LocalExchange) -> None:
    from ccxtpro_sync import InvalidArgument

    with pytest.raises(InvalidArgument, match="bad Redis URL"):
        remote("http://localhost:6379")
    with make_client(exchange) as client, pytest.raises(InvalidArgument, match="bad Redis URL"):
        Collector(client, "localhost:6379", [SYMBOL])
