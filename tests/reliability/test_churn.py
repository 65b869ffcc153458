"""Thousands of subscribe/unsubscribe cycles: the wire ends as wanted, nothing grows."""

from __future__ import annotations

import fnmatch
import gc
import itertools
import tracemalloc
from collections.abc import Callable
from typing import Any

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import (
    desired_streams,
    library_threads,
    make_client,
    signal_logs,
    wait_for,
    wait_wire_matches,
    wire_connections,
)

KLINE = "btcusdt@kline_1m"
SYMBOLS = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "ETH/BTC"]
#: Handler cycles on streams other handlers keep open (no wire traffic: reference counts).
SHARED_CYCLES = 2000
#: watch/un_watch cycles (each waits for one real update).
WATCH_CYCLES = 100
#: Cycles that really subscribe and unsubscribe on the wire (paced: ~4 frames/s on spot).
WIRE_CYCLES = 4
#: Allowed growth of the library's traced memory over the second block of cycles.
MEMORY_TOLERANCE = 256 * 1024


def confirmed(client: Any, stream: str) -> bool:
    for conn in wire_connections(client):
        if stream in conn.query(lambda p: p.book.confirmed()):
            return True
    return False


def noop(value: Any) -> None:
    del value


def open_handler(client: Any, kind: str, symbol: str) -> Any:
    """One ``on_*`` subscription of ``kind``; returns what ``cancel()`` ends."""
    subscribe: dict[str, Callable[[], Any]] = {
        "ticker": lambda: client.on_ticker(symbol, noop),
        "trades": lambda: client.on_trades(symbol, noop),
        "bidask": lambda: client.on_bids_asks(symbol, noop),
        "book": lambda: client.on_order_book(symbol, noop),
        "stream": lambda: client.stream_trades(symbol, timeout=1),
    }
    return subscribe[kind]()


def library_memory() -> int:
    """Bytes currently allocated by library code (the simulator and tests excluded)."""
    gc.collect()
    # Traces are one frame deep: grouping by file first, then matching the few file
    # names, is the same sum as filtering every trace, in a fraction of the time.
    stats = tracemalloc.take_snapshot().statistics("filename")
    return sum(
        stat.size
        for stat in stats
        if fnmatch.fnmatch(name := stat.traceback[0].filename, "*/ccxtpro_sync/_*")
        and not fnmatch.fnmatch(name, "*/ccxtpro_sync/simulator/*")
    )


def churn(client: Any, rounds: int) -> None:
    kinds = ["ticker", "trades", "bidask", "book", "stream"]
    for kind, symbol in itertools.islice(
        itertools.cycle(itertools.product(kinds, SYMBOLS)), rounds
    ):
        handle = open_handler(client, kind, symbol)
        if kind == "stream":
            handle.close()
        else:
            handle.cancel()


def watch_churn(client: Any, rounds: int) -> None:
    for symbol in itertools.islice(itertools.cycle(SYMBOLS), rounds):
        assert client.watch_bids_asks(symbol, timeout=5)[symbol].bid > 0
        client.un_watch_bids_asks(symbol)


def test_subscription_churn_converges_without_growth(exchange: LocalExchange) -> None:
    client = make_client(
        ccxtpro_sync.binance,
        exchange,
        tradesLimit=50,
        OHLCVLimit=10,
        options={"maxStreamsPerConnection": 12},
    )
    tracemalloc.start(1)
    try:
        with client, signal_logs(client) as logs:
            # books first, synced before anything else subscribes (see test_locking.py)
            anchors = [client.on_order_book(SYMBOLS, noop)]
            for symbol in SYMBOLS:
                client.watch_order_book(symbol, timeout=5)
                client.un_watch_order_book(symbol)
            anchors += [client.on_ticker(s, noop) for s in SYMBOLS]
            anchors += [client.on_trades(s, noop) for s in SYMBOLS]
            anchors += [client.on_bids_asks(s, noop) for s in SYMBOLS]
            wanted = wait_wire_matches(exchange, [client])
            churn(client, 1500)  # warm up: caches fill, handlers get bound, books settle
            watch_churn(client, 20)
            threads = {t.name for t in library_threads()}
            sockets = len(exchange.stats().connections)
            # two equal blocks: the first may still grow (dict resizes, caches filling);
            # the second must not, or every cycle leaves something behind
            usage = [library_memory()]
            for _block in range(2):
                churn(client, SHARED_CYCLES // 2)
                watch_churn(client, WATCH_CYCLES // 2)
                usage.append(library_memory())
            assert wait_wire_matches(exchange, [client]) == wanted
            grown = usage[2] - usage[1]
            assert grown < MEMORY_TOLERANCE, f"library memory by block: {usage}"
            assert {t.name for t in library_threads()} == threads
            assert len(exchange.stats().connections) == sockets
            assert client.hub.stats()["waiters"] == 0
            assert client.hub.stats()["callbacks"] == len(anchors) + len(SYMBOLS) - 1

            # streams nobody else holds really go on and off the wire
            for _ in range(WIRE_CYCLES):
                extra = client.on_ohlcv("BTC/USDT", "1m", noop)
                # cancel once acknowledged; cancelling earlier has its own test below
                wait_for(lambda: confirmed(client, KLINE), 5, "the SUBSCRIBE to be acknowledged")
                extra.cancel()
                wait_wire_matches(exchange, [client])
            assert KLINE not in desired_streams(client)
            assert len(wire_connections(client)) == sockets
            assert not logs["request_rejected"].events
            for anchor in anchors:
                anchor.cancel()
            wait_wire_matches(exchange, [client])
            assert sum(desired_streams(client).values()) == 0
    finally:
        tracemalloc.stop()


def test_cancel_before_the_subscribe_ack_leaves_nothing_on_the_wire(
    exchange: LocalExchange,
) -> None:
    client = make_client(ccxtpro_sync.binance, exchange)
    with client:
        client.on_ticker("BTC/USDT", noop)
        wait_wire_matches(exchange, [client])
        exchange.faults.delay_messages(0.3)  # the ack comes late, as over a real network
        client.on_ohlcv("BTC/USDT", "1m", noop).cancel()  # SUBSCRIBE sent, not yet acked
        assert KLINE not in desired_streams(client)
        exchange.wait_for_subscription(KLINE)
        exchange.faults.delay_messages(0)
        wait_wire_matches(exchange, [client], timeout=3)


def test_subscribe_pacing_stays_under_the_exchange_message_rate() -> None:
    """New streams on an open connection are sent as fast as the pacing allows."""
    with LocalExchange(seed=1, speed=10.0, tick_interval=0.01) as ex:
        client = make_client(ccxtpro_sync.binance, ex, readTimeout=30.0, pingInterval=10.0)
        with client, signal_logs(client) as logs:
            client.on_ticker("BTC/USDT", noop)
            wait_wire_matches(ex, [client])
            subs = [client.on_trades(s, noop) for s in SYMBOLS]  # one SUBSCRIBE frame each
            subs += [client.on_bids_asks(s, noop) for s in SYMBOLS]
            wait_wire_matches(ex, [client])
            assert ex.stats().disconnect_reasons.get("rate_limit", 0) == 0, (
                ex.stats().disconnect_reasons
            )
            assert not logs["connection_closed"].events
            del subs
