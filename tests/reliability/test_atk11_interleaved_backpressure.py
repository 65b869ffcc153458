"""atk11: the dispatcher's one-stream fast path under backpressure, over a real socket.

A burst interleaves two symbols' trades in short runs (each run extends one hash's
pending list without lookups, the next run switches hashes) while a tiny
``maxPending`` makes the reader cross the high-water mark and wait for the
dispatcher again and again. Backpressure must keep everything (no drop, no gap,
order per hash); and a callback that closes the client from inside, while the
reader waits for it, must end the wait and wake every waiter."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .raw_ws import RawStreamServer, agg_trade_frames, ws_frame
from .support import fast_config, wait_for, wire_connections
from .test_backpressure import Collector

SYMBOLS = {"BTC/USDT": "BTCUSDT", "ETH/USDT": "ETHUSDT"}


def _trade(symbol_id: str, trade_id: int) -> bytes:
    ms = 1_700_000_000_000 + trade_id
    data = (
        f'{{"e":"aggTrade","E":{ms},"s":"{symbol_id}","a":{trade_id},"p":"50000.00",'
        f'"q":"0.001","f":{trade_id},"l":{trade_id},"T":{ms},"m":false,"M":true}}'
    )
    stream = f"{symbol_id.lower()}@aggTrade"
    return ws_frame(b'{"stream":"%s","data":%s}' % (stream.encode(), data.encode()))


def _interleaved(first: int, count: int, run: int) -> bytes:
    """``count`` trades of each symbol, alternating in runs of ``run`` frames."""
    parts = []
    for start in range(first, first + count, run):
        for symbol_id in SYMBOLS.values():
            parts += [_trade(symbol_id, k) for k in range(start, min(start + run, first + count))]
    return b"".join(parts)


@pytest.fixture
def raw_server() -> Any:
    server = RawStreamServer()
    yield server
    server.close()


#: A small high-water mark (the reader waits for the dispatcher again and again) and a
#: far-off lag limit (it waits rather than resyncs).
BACKPRESSURE: dict[str, Any] = {"maxPending": 40, "maxLag": 60.0}


def raw_client(ex: LocalExchange, raw_server: RawStreamServer, **extra: Any) -> Any:
    """A Binance client of ``ex`` whose websocket is ``raw_server``, slow timers."""
    config = fast_config(
        ex, urls={"ws": raw_server.url}, readTimeout=30.0, pingInterval=5.0, **extra
    )
    return ccxtpro_sync.binance(config)


def test_atk11_interleaved_runs_past_the_high_water_mark_keep_every_trade(
    raw_server: RawStreamServer,
) -> None:
    total = 3_000
    with LocalExchange(seed=1, auto_publish=False) as ex:
        client = raw_client(ex, raw_server, **BACKPRESSURE)
        collectors = {symbol: Collector() for symbol in SYMBOLS}
        gate = threading.Event()

        def held(collector: Collector) -> Any:
            def on_trades(batch: list[Any]) -> None:
                gate.wait(30)  # the first batch holds the dispatcher: the reader must wait
                collector(batch)

            return on_trades

        with client:
            for symbol, collector in collectors.items():
                client.on_trades(symbol, handler=held(collector))
            for symbol_id in SYMBOLS.values():
                raw_server.wait_subscribed(f"{symbol_id.lower()}@aggTrade", timeout=10)
            raw_server.blast(_interleaved(0, total, 7))
            wait_for(
                lambda: client.hub.stats()["reader_blocked"] >= 1,
                timeout=30,
                what="the reader to wait for the held dispatcher",
            )
            gate.set()
            for collector in collectors.values():
                collector.wait_count(total, timeout=60)
            stats = client.hub.stats()
        for collector in collectors.values():
            assert collector.gaps == [] and collector.expected == total
        assert stats["dropped"] == 0 and stats["reader_blocked"] >= 1


def test_atk11_close_from_a_callback_while_the_reader_waits_on_it_wakes_everyone(
    raw_server: RawStreamServer,
) -> None:
    with LocalExchange(seed=1, auto_publish=False) as ex:
        client = raw_client(ex, raw_server, **BACKPRESSURE)
        entered, closed = threading.Event(), threading.Event()
        close_errors: list[BaseException] = []
        watch_result: list[Any] = []
        watching = threading.Event()

        def on_btc(batch: list[Any]) -> None:
            if entered.is_set():
                return
            entered.set()
            wait_for(
                lambda: client.hub.stats()["reader_blocked"] >= 1,
                timeout=30,
                what="the reader to wait for this callback",
            )
            try:
                client.close()  # from the dispatcher, while the reader waits on it
            except BaseException as error:  # reported to the test thread
                close_errors.append(error)
            closed.set()

        def watch() -> None:
            watching.set()
            try:
                watch_result.append(client.watch_ticker("ETH/USDT", timeout=60))
            except BaseException as error:
                watch_result.append(error)

        client.on_trades("BTC/USDT", handler=on_btc)
        client.on_trades("ETH/USDT", handler=lambda batch: None)
        for symbol_id in SYMBOLS.values():
            raw_server.wait_subscribed(f"{symbol_id.lower()}@aggTrade", timeout=10)
        watcher = threading.Thread(target=watch, name="atk11-watcher")
        watcher.start()
        assert watching.wait(10)
        raw_server.wait_subscribed("ethusdt@ticker", timeout=10)
        [conn] = wire_connections(client)
        raw_server.blast(_interleaved(0, 2_000, 5))
        assert closed.wait(30), "close() from the callback never returned"
        # close() joined the reader: its backpressure wait (for this very callback) ended
        assert conn.thread is not None and not conn.thread.is_alive()
        watcher.join(30)
        assert not watcher.is_alive()
        client.close()  # idempotent
        assert close_errors == []
        assert len(watch_result) == 1 and isinstance(watch_result[0], ccxtpro_sync.ClientClosed)


def test_atk11_a_subscription_made_from_a_callback_mid_burst_loses_no_trade(
    raw_server: RawStreamServer,
) -> None:
    # A callback subscribes ETH while BTC's burst is being read (the reply lands among
    # BTC's frames); BTC's trades keep their order, and ETH's, interleaved, all arrive.
    total = 4_000
    with LocalExchange(seed=1, auto_publish=False) as ex:
        client = raw_client(ex, raw_server)
        btc, eth = Collector(), Collector()
        subscribed, errors = threading.Event(), []
        subs: dict[str, Any] = {}

        def on_btc(batch: list[Any]) -> None:
            btc(batch)
            if not subscribed.is_set() and btc.expected >= 500:
                try:
                    subs["eth"] = client.on_trades("ETH/USDT", handler=eth)
                except BaseException as error:  # reported to the test thread
                    errors.append(error)
                subscribed.set()

        with client:
            subs["btc"] = client.on_trades("BTC/USDT", handler=on_btc)
            raw_server.wait_subscribed("btcusdt@aggTrade", timeout=10)
            raw_server.blast(agg_trade_frames("BTCUSDT", 0, 1_000))
            raw_server.wait_subscribed("ethusdt@aggTrade", timeout=30)
            raw_server.blast(agg_trade_frames("BTCUSDT", 1_000, 1_000))  # the reply is in here
            assert subscribed.wait(30) and errors == []
            raw_server.blast(_interleaved(2_000, total - 2_000, 9))
            btc.wait_count(total, timeout=60)
            eth.wait_count(total - 2_000, timeout=60)
        assert btc.gaps == [] and btc.expected == total
        # ETH's first trade is 2000: the collector counts from 0, one gap at the start only
        assert eth.gaps == [(0, 2_000)] and eth.expected == total


def test_atk11_close_connection_ends_a_reader_waiting_on_a_stuck_callback(
    raw_server: RawStreamServer,
) -> None:
    # The dispatcher is held by a callback; the reader waits for it (backpressure,
    # maxLag far off). close_connection() must end that wait and join the reader.
    with LocalExchange(seed=1, auto_publish=False) as ex:
        client = raw_client(ex, raw_server, **BACKPRESSURE)
        gate = threading.Event()
        try:
            with client:
                client.on_trades("BTC/USDT", handler=lambda batch: gate.wait(30))
                raw_server.wait_subscribed("btcusdt@aggTrade", timeout=10)
                [conn] = wire_connections(client)
                raw_server.blast(agg_trade_frames("BTCUSDT", 0, 2_000))
                wait_for(
                    lambda: client.hub.stats()["reader_blocked"] >= 1,
                    timeout=30,
                    what="the reader to wait for the stuck callback",
                )
                client.close_connection(conn.name)
                reader = conn.thread
                assert reader is not None and not reader.is_alive()
                gate.set()
        finally:
            gate.set()
