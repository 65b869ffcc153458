"""Subscription channel names (reference §6), parsed into :class:`Channel`.

Unknown instruments, intervals, depths or resolutions parse to ``None``; the
subscribe handler drops those silently, as the live server does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .instruments import Catalog, Instrument
from .market import RESOLUTIONS

INTERVALS: Final = ("raw", "100ms", "agg2")
KINDS: Final = ("future", "option", "spot", "future_combo", "option_combo", "any")
CURRENCIES: Final = ("BTC", "ETH", "USDC", "any")
INDEXES: Final = ("btc_usd", "eth_usd", "btc_usdc", "eth_usdc")
USER_TOPICS: Final = ("user.orders", "user.trades", "user.changes")


@dataclass(frozen=True)
class Channel:
    """One parsed channel; ``instrument`` or ``kind``+``currency`` select instruments."""

    name: str
    topic: str  # book, book_window, trades, ticker, quote, chart, index, user.*
    instrument: str | None = None
    kind: str | None = None
    currency: str | None = None
    interval: str | None = None
    depth: int | None = None
    resolution: str | None = None

    @property
    def private(self) -> bool:
        return self.topic.startswith("user.")

    @property
    def raw(self) -> bool:
        return self.interval == "raw"

    def covers(self, inst: Instrument) -> bool:
        """Does this channel carry events of ``inst``?"""
        if self.instrument is not None:
            return self.instrument == inst.name
        kind_ok = self.kind in (None, "any", inst.kind)
        return kind_ok and self.currency in (None, "any", inst.settle)


def parse(name: object, catalog: Catalog) -> Channel | None:
    if not isinstance(name, str) or len(name) > 200:
        return None
    parts = name.split(".")
    head = parts[0]
    if head == "book" and len(parts) == 3:
        if catalog.get(parts[1]) and parts[2] in INTERVALS:
            return Channel(name, "book", parts[1], interval=parts[2])
    elif head == "book" and len(parts) == 5:
        _, inst, group, depth, interval = parts
        window_ok = group == "none" and depth in ("1", "10", "20") and interval in INTERVALS
        if catalog.get(inst) and window_ok:
            return Channel(name, "book_window", inst, interval=interval, depth=int(depth))
    elif head in ("trades", "ticker") and len(parts) == 3:
        if catalog.get(parts[1]) and parts[2] in INTERVALS:
            return Channel(name, head, parts[1], interval=parts[2])
    elif head == "trades" and len(parts) == 4:
        if parts[1] in KINDS and parts[2] in CURRENCIES and parts[3] in INTERVALS:
            return Channel(name, "trades", kind=parts[1], currency=parts[2], interval=parts[3])
    elif head == "quote" and len(parts) == 2:
        if catalog.get(parts[1]):
            return Channel(name, "quote", parts[1])
    elif name.startswith("chart.trades.") and len(parts) == 4:
        if catalog.get(parts[2]) and parts[3] in RESOLUTIONS:
            return Channel(name, "chart", parts[2], resolution=parts[3])
    elif head == "deribit_price_index" and len(parts) == 2 and parts[1] in INDEXES:
        return Channel(name, "index", currency=parts[1].split("_")[0].upper())
    elif head == "user":
        return _user(name, parts, catalog)
    return None


def _user(name: str, parts: list[str], catalog: Catalog) -> Channel | None:
    if len(parts) == 3 and parts[1] == "portfolio" and parts[2].upper() in CURRENCIES[:3]:
        return Channel(name, "user.portfolio", currency=parts[2].upper())
    topic = ".".join(parts[:2])
    if topic not in USER_TOPICS:
        return None
    if len(parts) == 4 and catalog.get(parts[2]) and parts[3] in INTERVALS:
        return Channel(name, topic, parts[2], interval=parts[3])
    if len(parts) == 5 and parts[2] in KINDS and parts[3] in CURRENCIES and parts[4] in INTERVALS:
        return Channel(name, topic, kind=parts[2], currency=parts[3], interval=parts[4])
    return None
