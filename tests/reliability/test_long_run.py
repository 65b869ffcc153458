"""Longer runs: memory stays flat under high-rate streams; the opt-in soak test."""

from __future__ import annotations

import fnmatch
import gc
import itertools
import random
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import (
    READ_TIMEOUT,
    BookWatcher,
    make_client,
    signal_logs,
    wait_for,
    wait_wire_matches,
)

SPOT = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "ETH/BTC"]
USDM = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
#: Frames (counted at the client) per measuring window; two windows follow the warm-up.
WINDOW = 5000
#: Memory checkpoints per window: the slope is fitted through all of them.
CHECKPOINTS = 10
#: Most traced bytes per frame received that both windows may gain. Flat runs measure
#: within +-2.5 B/frame; a leak of 16 bytes per frame measures 13 to 17.
LEAK_LIMIT = 6.0


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


def _frames(client: Any) -> int:
    return sum(info.messages for info in client.connections())


def _slope(points: list[tuple[int, int]]) -> float:
    """Bytes per frame through (frames, traced bytes) points: the median of the slopes
    between every two points (Theil-Sen), so one-off steps (a buffer or table growing
    once) do not pass for a steady leak."""
    return statistics.median(
        (y2 - y1) / (x2 - x1) for (x1, y1), (x2, y2) in itertools.combinations(points, 2) if x2 > x1
    )


def test_memory_is_flat_per_message_under_high_rate_streams() -> None:
    """Traced memory against frames received, over two message-counted windows: the
    bytes kept per frame (the slope) stays near zero in both, so a leak of a few bytes
    per message fails whatever the machine's speed.

    Order books are left out: an unbounded local book rightly grows with every new
    price level the market visits, which is not a per-message leak."""
    # Traced from before anything exists, so that objects replaced later are counted
    # both when they go and when their successors come.
    tracemalloc.start(1)
    try:
        # Only the markets read here are generated: the futures ones would cost the
        # process (traced, so twice) CPU every tick for frames nobody receives.
        only_spot = {"spot": [s.replace("/", "") for s in SPOT], "usdm": [], "coinm": []}
        with LocalExchange(seed=21, speed=20.0, tick_interval=0.005, symbols=only_spot) as ex:
            client = make_client(ccxtpro_sync.binance, ex, tradesLimit=20)
            clock = UpdateClock()
            with client:
                subs = []
                for symbol in SPOT:
                    subs.append(client.on_trades(symbol, clock.handler(f"trades {symbol}")))
                    subs.append(client.on_ticker(symbol, clock.handler(f"ticker {symbol}")))
                    subs.append(client.on_bids_asks(symbol, clock.handler(f"bidask {symbol}")))
                wait_wire_matches(ex, [client])
                windows = _measure(client)
                for sub in subs:
                    sub.cancel()
    finally:
        tracemalloc.stop()
    slopes = [_slope(points) for points in windows]
    # A leak keeps every window growing; a single window may catch a one-off growth.
    assert min(slopes) < LEAK_LIMIT, (
        f"bytes kept per frame by window: {[round(s, 1) for s in slopes]} "
        f"(limit {LEAK_LIMIT}); checkpoints: {windows}"
    )
    # every stream really flowed throughout
    assert len(clock.first) == 3 * len(SPOT), sorted(clock.first)


#: The local exchange runs in this process, and its history (trade tapes, candles kept
#: for REST, the true book's visited levels) grows until its own bounds: not the client's.
_SIMULATOR = "*/ccxtpro_sync/simulator/*"


def _client_bytes() -> int:
    """Traced bytes allocated outside the local exchange's own modules. Traces are one
    frame deep, so grouping by file first and matching the few file names is the same
    sum as ``filter_traces`` over every trace, at half the cost."""
    stats = tracemalloc.take_snapshot().statistics("filename")
    return sum(s.size for s in stats if not fnmatch.fnmatch(s.traceback[0].filename, _SIMULATOR))


def _measure(client: Any) -> list[list[tuple[int, int]]]:
    """Warm up (trades caches full, one window of frames), then two windows of
    (frames, traced bytes) checkpoints, each taken after a full collection."""
    deadline = time.monotonic() + 10
    while any(len(client.data.trades.get(s, ())) < 20 for s in SPOT):
        assert time.monotonic() < deadline, "trades caches never filled"
        client.watch_trades(SPOT[0], timeout=5)
    pause = threading.Event()

    def reach(target: int) -> int:
        # Frames arrive on their own; this only looks at the count (no event exists
        # for "n frames received"), bounded so a stalled stream fails, not hangs.
        deadline = time.monotonic() + 30
        while (frames := _frames(client)) < target:
            assert time.monotonic() < deadline, f"stream stalled at {frames} of {target} frames"
            pause.wait(0.02)
        return frames

    start = reach(_frames(client) + WINDOW)  # warm-up window
    windows: list[list[tuple[int, int]]] = []
    step = WINDOW // CHECKPOINTS
    for w in range(2):
        points = []
        for k in range(CHECKPOINTS + 1):
            frames = reach(start + w * WINDOW + k * step)
            gc.collect()
            points.append((frames, _client_bytes()))
        windows.append(points)
    return windows


def test_soak(soak_minutes: float) -> None:
    """``pytest --soak-minutes N tests/reliability``: mixed streams with periodic faults."""
    with LocalExchange(
        seed=33, speed=5.0, tick_interval=0.01, max_lifetime=60.0, rest_weight=1_000_000
    ) as ex:
        # READ_TIMEOUT: the half-open fault below must be noticed within its 3 s
        spot = make_client(
            ccxtpro_sync.binance,
            ex,
            readTimeout=READ_TIMEOUT,
            options={"maxStreamsPerConnection": 6},
        )
        usdm = make_client(ccxtpro_sync.binanceusdm, ex, readTimeout=READ_TIMEOUT)
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
            recovered = time.monotonic()
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
            # every stream subscribed delivered, and delivers again once the faults stop
            expected = {f"{kind} {symbol}" for kind in ("trades", "ticker", "bidask")
                        for symbol in SPOT + USDM}  # fmt: skip
            assert set(clock.first) == expected, expected ^ set(clock.first)

            def stale() -> list[str]:
                with clock.lock:
                    return [key for key in expected if clock.last[key] <= recovered]

            wait_for(lambda: not stale(), timeout=30, what="every stream after the faults")
            for sub in subs:
                sub.cancel()
