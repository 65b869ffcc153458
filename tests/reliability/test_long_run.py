"""Longer runs: memory stays flat under high-rate streams; the opt-in soak test."""

from __future__ import annotations

import gc
import random
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import BookWatcher, make_client, signal_logs, wait_wire_matches

SPOT = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "ETH/BTC"]
USDM = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
#: Length of the memory run (two halves), seconds.
MEMORY_RUN = 6.0
#: Allowed rise of the traced peak from the first half to the second.
PEAK_TOLERANCE = 1024 * 1024


@dataclass
class UpdateClock:
    """First-update latency and the longest silence per stream, from handler calls."""

    started: float = field(default_factory=time.monotonic)
    first: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    max_gap: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, key: str) -> Callable[[Any], None]:
        def on_update(value: Any) -> None:
            now = time.monotonic()
            with self.lock:
                if key not in self.first:
                    self.first[key] = now - self.started
                elif now - self.last[key] > self.max_gap.get(key, 0.0):
                    self.max_gap[key] = now - self.last[key]
                self.last[key] = now

        return on_update


def subscribe_everything(client: Any, symbols: list[str], clock: UpdateClock, books: Any) -> list:
    subs = [client.on_order_book(symbols, books)]
    for symbol in symbols:  # books synced before anything else subscribes
        client.watch_order_book(symbol, timeout=10)
        client.un_watch_order_book(symbol)
    for symbol in symbols:
        subs.append(client.on_trades(symbol, clock.handler(f"trades {symbol}")))
        subs.append(client.on_ticker(symbol, clock.handler(f"ticker {symbol}")))
        subs.append(client.on_bids_asks(symbol, clock.handler(f"bidask {symbol}")))
    return subs


def test_memory_is_flat_under_high_rate_streams() -> None:
    with LocalExchange(seed=21, speed=20.0, tick_interval=0.005) as ex:
        client = make_client(ccxtpro_sync.binance, ex, tradesLimit=20)
        clock, books = UpdateClock(), BookWatcher()
        with client:
            subs = subscribe_everything(client, SPOT, clock, books)
            wait_wire_matches(ex, [client])
            # warm up until every trades cache is full (they are bounded by tradesLimit)
            client.data  # noqa: B018 - markets loaded
            deadline = time.monotonic() + 10
            while any(len(client.data.trades.get(s, ())) < 20 for s in SPOT):
                assert time.monotonic() < deadline, "trades caches never filled"
                client.watch_trades(SPOT[0], timeout=5)
            tracemalloc.start(1)
            try:
                peaks = []
                messages = []
                for _half in range(2):
                    gc.collect()
                    tracemalloc.reset_peak()
                    start = client.hub.stats()["delivered"]
                    threading.Event().wait(MEMORY_RUN / 2)  # the run itself: a fixed duration
                    messages.append(client.hub.stats()["delivered"] - start)
                    peaks.append(tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
            assert min(messages) > 300, messages  # streams really flowed throughout
            assert peaks[1] - peaks[0] < PEAK_TOLERANCE, f"peaks by half: {peaks}"
            assert not books.violations
            for sub in subs:
                sub.cancel()


def test_soak(soak_minutes: float) -> None:
    """``pytest --soak-minutes N tests/reliability``: mixed streams with periodic faults."""
    with LocalExchange(
        seed=33, speed=5.0, tick_interval=0.01, max_lifetime=60.0, rest_weight=1_000_000
    ) as ex:
        spot = make_client(ccxtpro_sync.binance, ex, options={"maxStreamsPerConnection": 6})
        usdm = make_client(ccxtpro_sync.binanceusdm, ex)
        clock, books = UpdateClock(), BookWatcher()
        with spot, usdm, signal_logs(spot) as spot_logs, signal_logs(usdm) as usdm_logs:
            subs = subscribe_everything(spot, SPOT, clock, books)
            subs += subscribe_everything(usdm, USDM, clock, books)
            wait_wire_matches(ex, [spot, usdm])
            faults: list[Callable[[], object]] = [
                ex.faults.drop,
                lambda: ex.faults.half_open(duration=3.0, match="/spot/"),
                lambda: ex.faults.close(1008, "soak", match="/usdm/"),
                lambda: ex.faults.send_malformed("invalid_json"),
                lambda: ex.faults.send_malformed("truncated_frame", match="/spot/"),
                lambda: ex.faults.depth_gap("spot", "BTCUSDT"),
                lambda: ex.faults.depth_gap("usdm", "ETHUSDT"),
                lambda: ex.faults.refuse_handshakes(count=2, status=429, retry_after=1),
                lambda: ex.faults.refuse_rest(count=1, status=429, retry_after=1),
            ]
            rng = random.Random(33)
            end = time.monotonic() + soak_minutes * 60
            pause = threading.Event()
            injected = 0
            while time.monotonic() < end:
                rng.choice(faults)()
                injected += 1
                pause.wait(min(5.0, max(0.0, end - time.monotonic())))  # the fault period
            ex.faults.clear()
            wait_wire_matches(ex, [spot, usdm], timeout=30)
            logs = [spot_logs, usdm_logs]
            reconnects = sum(len(log["connection_started"]) for log in logs) - len(
                spot._all_connections() + usdm._all_connections()
            )
            drops = sum(c.hub.stats()["dropped"] for c in (spot, usdm))
            resyncs = sum(len(log["order_book_resync"]) for log in logs)
            print(f"\nsoak: {soak_minutes} min, {injected} faults injected")
            print(f"reconnects {reconnects}, dropped updates {drops}, book resyncs {resyncs}")
            print(f"protocol errors {sum(len(log['protocol_error']) for log in logs)}")
            for key in sorted(clock.first):
                print(
                    f"  {key:28} first update {clock.first[key]:6.3f}s  "
                    f"max gap {clock.max_gap.get(key, 0.0):6.3f}s"
                )
            assert not books.violations, books.violations[:10]
            assert all(key in clock.first for key in clock.first)
            for sub in subs:
                sub.cancel()
