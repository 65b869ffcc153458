"""The exchange core shared by both servers: generators, feeds and the outbox.

One re-entrant lock guards every book and stream state, because the generator
runs on the asyncio thread (or the test thread via ``tick``) while REST
snapshots are served from HTTP threads; taking the snapshot under the same lock
is what keeps ``lastUpdateId`` on the diff stream's sequence.

Pushes leave through a FIFO outbox that the WebSocket server drains on its
loop, so events keep their order whichever thread produced them.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .catalog import MARKETS, Catalog, MarketName
from .feeds import Feed, Payload, depth_snapshot
from .market import ASK, BID, MarketGenerator, SymbolStep
from .streams import StreamKey


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class BookSnapshot:
    """The true book: best-first ``(price, quantity)`` strings as Binance prints them."""

    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]
    last_update_id: int


class Engine:
    """Generators + feeds for every market, driven by :meth:`tick`."""

    def __init__(
        self, catalog: Catalog, *, seed: int, tick_interval: float, speed: float, book_levels: int
    ) -> None:
        self.catalog = catalog
        self.lock = threading.RLock()
        self.tick_interval = tick_interval
        start = now_ms()
        self.generators: dict[MarketName, MarketGenerator] = {}
        self.feeds: dict[MarketName, Feed] = {}
        for market in MARKETS:
            # String seeds hash deterministically (unlike hash()), one stream per market.
            rng = random.Random(f"{seed}:{market}")
            gen = MarketGenerator(market, catalog.symbols(market), rng, book_levels, start)
            self.generators[market] = gen
            self.feeds[market] = Feed(gen, tick_interval * 1000, speed)
        self.outbox: deque[tuple[MarketName, list[tuple[str, Payload]]]] = deque()
        self.wake: Callable[[], None] = lambda: None
        #: Called after each generator step, before the feeds see it (the private side
        #: publishes its own book changes and settles resting orders here).
        self.step_hooks: list[Callable[[MarketName, dict[str, SymbolStep], int], None]] = []

    def tick(self, n: int = 1) -> None:
        """Advance every market ``n`` generator steps and queue the resulting pushes."""
        with self.lock:
            for _ in range(n):
                now = now_ms()
                for market, gen in self.generators.items():
                    steps = gen.step(now)
                    for hook in self.step_hooks:
                        hook(market, steps, now)
                    for symbol, step in steps.items():
                        gen.states[symbol].remember(step)
                    events = self.feeds[market].advance(steps, now)
                    if events:
                        self.outbox.append((market, events))
        self.wake()

    def publish(self, market: MarketName, stream: str, payload: Any) -> None:
        with self.lock:
            self.outbox.append((market, [(stream, payload)]))
        self.wake()

    def acquire(self, market: MarketName, key: StreamKey) -> None:
        with self.lock:
            self.feeds[market].acquire(key)

    def release(self, market: MarketName, name: str) -> None:
        with self.lock:
            self.feeds[market].release(name)

    def inject_gap(self, market: MarketName, symbol: str, events: int) -> int:
        with self.lock:
            if symbol not in self.generators[market].states:
                raise KeyError(f"unknown {market} symbol {symbol}")
            return self.feeds[market].inject_gap(symbol, events)

    def depth(self, market: MarketName, symbol: str, limit: int) -> dict[str, Any]:
        with self.lock:
            snapshot: dict[str, Any] = depth_snapshot(
                self.generators[market].states[symbol], limit, now_ms()
            )
            return snapshot

    def book(self, market: MarketName, symbol: str, depth: int | None = None) -> BookSnapshot:
        with self.lock:
            st = self.generators[market].states[symbol.upper()]
            bids = [(st.px(p), st.qty(q)) for p, q in st.book.top(BID, depth)]
            asks = [(st.px(p), st.qty(q)) for p, q in st.book.top(ASK, depth)]
            return BookSnapshot(bids, asks, st.update_id)
