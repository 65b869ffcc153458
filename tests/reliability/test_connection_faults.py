"""Connections that die: drops in bursts, half-open peers, the exchange's lifetime limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import (
    PING_INTERVAL,
    READ_TIMEOUT,
    BookWatcher,
    converge_books,
    make_client,
    signal_logs,
    wait_wire_matches,
)

SPOT_SYMBOLS = [
    ("BTC/USDT", "BTCUSDT"),
    ("ETH/USDT", "ETHUSDT"),
    ("BNB/USDT", "BNBUSDT"),
    ("SOL/USDT", "SOLUSDT"),
    ("ETH/BTC", "ETHBTC"),
]


class Freshness:
    """Counts updates per symbol from ``on_trades``/``on_ticker`` handlers."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._cond = threading.Condition()

    def __call__(self, value: Any) -> None:
        symbol = value[-1].symbol if isinstance(value, list) else value.symbol
        with self._cond:
            self.counts[symbol] = self.counts.get(symbol, 0) + 1
            self._cond.notify_all()

    def snapshot(self) -> dict[str, int]:
        with self._cond:
            return dict(self.counts)

    def wait_past(self, before: dict[str, int], symbols: list[str], timeout: float) -> None:
        """Wait until every symbol has an update newer than ``before``."""

        def fresh() -> bool:
            return all(self.counts.get(s, 0) > before.get(s, 0) for s in symbols)

        with self._cond:
            assert self._cond.wait_for(fresh, timeout), (
                f"no fresh update for some of {symbols}: {before} -> {self.counts}"
            )


@pytest.fixture
def manual_exchange() -> Iterator[LocalExchange]:
    """An exchange that only moves on ``tick()``: books can be compared exactly."""
    with LocalExchange(
        seed=11, auto_publish=False, speed=10.0, tick_interval=0.01, rest_weight=1_000_000
    ) as ex:
        yield ex


def test_bursts_of_drops_across_connections_lose_nothing(manual_exchange: LocalExchange) -> None:
    ex = manual_exchange
    # Pings count against spot's 3 frames/s budget: the default test period (0.25 s) pings
    # a quiet connection (this exchange only moves on tick()) 4 times a second, and the
    # debt pushed every later UNSUBSCRIBE seconds back (the cancels at the end took 28 s).
    client = make_client(
        ccxtpro_sync.binance, ex, pingInterval=1.0, options={"maxStreamsPerConnection": 3}
    )
    books, trades, tickers = BookWatcher(), Freshness(), Freshness()
    symbols = [s for s, _ in SPOT_SYMBOLS]
    with client, signal_logs(client) as logs:
        subs = [client.on_order_book(symbols, books)]
        subs += [client.on_trades(s, trades) for s in symbols]
        subs += [client.on_ticker(s, tickers) for s in symbols]
        wait_wire_matches(ex, [client])
        connections = len(ex.stats().connections)
        assert connections == 5  # 15 streams, 3 per connection
        converge_books(ex, "spot", books, SPOT_SYMBOLS)

        hits = 0
        for _burst in range(3):
            for _drop in range(4):  # drops in quick succession, some hit reconnecting sockets
                ex.tick(3)  # keep books, trades and tickers flowing between drops
                hits += ex.faults.drop()
            before_trades, before_tickers = trades.snapshot(), tickers.snapshot()
            wait_wire_matches(ex, [client])
            converge_books(ex, "spot", books, SPOT_SYMBOLS)
            ex.tick(20)  # a ticker is due every 10 ticks; trades come most ticks
            tickers.wait_past(before_tickers, symbols, 10)
            trades.wait_past(before_trades, symbols, 10)

        assert hits >= 3 * connections
        closed = logs["connection_closed"].wait_for(hits)
        assert all(e.payload["will_reconnect"] for e in closed)
        assert len(ex.stats().connections) == connections  # no extra sockets
        assert not books.violations
        assert not logs["protocol_error"].events, logs["protocol_error"].payloads
        for sub in subs:
            sub.cancel()
    ex.wait_for_connections(0, timeout=5)


def test_repeated_half_open_peers_are_detected_within_read_timeout(
    exchange: LocalExchange,
) -> None:
    client = make_client(
        ccxtpro_sync.binance,
        exchange,
        readTimeout=READ_TIMEOUT,
        options={"maxStreamsPerConnection": 1},
    )
    pairs = ["BTC/USDT", "ETH/USDT"]
    seen = Freshness()
    with client, signal_logs(client) as logs:
        subs = [client.on_bids_asks(symbol, seen) for symbol in pairs]
        wait_wire_matches(exchange, [client])
        delays: list[float] = []
        for round_ in range(1, 4):
            before = seen.snapshot()
            stalled_at = time.monotonic()
            assert exchange.faults.half_open() == 2
            closed = logs["connection_closed"].wait_for(2 * round_, timeout=READ_TIMEOUT * 5)
            assert all("silent peer" in e.payload["reason"] for e in closed)
            delays += [e.at - stalled_at for e in closed[-2:]]
            wait_wire_matches(exchange, [client])
            seen.wait_past(before, pairs, 5)
            exchange.faults.release()
            exchange.wait_for_connections(2)  # the abandoned server sockets close too
        # bookTicker is real time, so the last frame came just before the stall: the
        # client waits most of readTimeout, and notices within one more ping period.
        for delay in delays:
            assert READ_TIMEOUT * 0.8 <= delay <= READ_TIMEOUT + PING_INTERVAL + 0.5, delays
        assert all(p["will_reconnect"] for p in logs["connection_closed"].payloads)
        for sub in subs:
            sub.cancel()
    exchange.wait_for_connections(0, timeout=5)


@pytest.mark.parametrize(
    ("kind", "market", "symbols", "expected_reason"),
    [
        (ccxtpro_sync.binance, "spot", SPOT_SYMBOLS[:2], "server shutdown notice"),
        (
            ccxtpro_sync.binanceusdm,
            "usdm",
            [("BTC/USDT:USDT", "BTCUSDT"), ("ETH/USDT:USDT", "ETHUSDT")],
            "1001",
        ),
    ],
)
def test_lifetime_disconnects_reconnect_seamlessly(
    kind: type, market: str, symbols: list[tuple[str, str]], expected_reason: str
) -> None:
    lifetime = 0.6
    with LocalExchange(
        seed=5, auto_publish=False, speed=10.0, tick_interval=0.01, max_lifetime=lifetime
    ) as ex:
        # the drop-and-resume path (rotation on the notice is test_rotation.py's)
        client = make_client(kind, ex, options={"rotateOnServerShutdown": False})
        books = BookWatcher()
        unified = [s for s, _ in symbols]
        with client, signal_logs(client) as logs:
            subs = [client.on_order_book(unified, books), client.on_trades(unified, Freshness())]
            wait_wire_matches(ex, [client])
            converge_books(ex, market, books, symbols)
            for cycle in range(1, 4):
                # wait for the exchange to end the session, then for the next one
                logs["connection_closed"].wait_for(cycle, timeout=lifetime * 10)
                logs["connection_started"].wait_for(cycle + 1, timeout=5)
                wait_wire_matches(ex, [client])
                converge_books(ex, market, books, symbols)
            reasons = [p["reason"] for p in logs["connection_closed"].payloads]
            assert all(expected_reason in r for r in reasons), reasons
            assert all(p["will_reconnect"] for p in logs["connection_closed"].payloads)
            assert not logs["protocol_error"].events, logs["protocol_error"].payloads
            assert not books.violations
            assert ex.stats().disconnect_reasons.get("lifetime", 0) >= 3
            for sub in subs:
                sub.cancel()
