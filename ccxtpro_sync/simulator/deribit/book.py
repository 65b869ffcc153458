"""One instrument's true order book and its ``change_id`` chain (reference §6.1).

The book is the sum of generator liquidity and resting user orders. Every mutation
touches prices; :meth:`Book.flush` turns the touched prices into one ``change``
frame (``new``/``change``/``delete`` entries) with a fresh ``change_id`` from a
counter shared by every instrument and ``prev_change_id`` = the book's previous id.
Sans-I/O: no sockets, no threads.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


class Resting(Protocol):
    """What the book needs from a resting user order."""

    remaining: float


@dataclass
class Side:
    """One side: generator amounts and user order queues per price."""

    descending: bool
    gen: dict[float, float] = field(default_factory=dict)
    users: dict[float, list[Any]] = field(default_factory=dict)
    #: Published totals, i.e. the state as of the book's ``change_id``.
    shown: dict[float, float] = field(default_factory=dict)

    def total(self, price: float) -> float:
        users = sum(float(o.remaining) for o in self.users.get(price, ()))
        return self.gen.get(price, 0.0) + users

    def prices(self) -> list[float]:
        live = {p for p, a in self.gen.items() if a > 0} | {p for p, q in self.users.items() if q}
        return sorted(live, reverse=self.descending)

    def best(self) -> float | None:
        levels = self.prices()
        return levels[0] if levels else None

    def best_user(self) -> float | None:
        live = [p for p, q in self.users.items() if q]
        if not live:
            return None
        return max(live) if self.descending else min(live)

    def levels(self, depth: int | None = None) -> list[list[float]]:
        out = [[p, a] for p in sorted(self.shown, reverse=self.descending) if (a := self.shown[p])]
        return out if depth is None else out[:depth]


class ChangeIds:
    """The exchange-wide ``change_id`` counter (not +1 per book, as observed live)."""

    def __init__(self, start: int = 136_069_961_000) -> None:
        self._next: Iterator[int] = itertools.count(start, 3)

    def take(self) -> int:
        return next(self._next)


class Book:
    """True book of one instrument."""

    def __init__(self, name: str, ids: ChangeIds) -> None:
        self.name = name
        self.bids = Side(descending=True)
        self.asks = Side(descending=False)
        self._ids = ids
        self.change_id = ids.take()
        self.timestamp = 0
        self._touched: set[tuple[bool, float]] = set()
        #: Pending chain gaps: the next N changes are applied but not published.
        self.gaps = 0

    def side(self, bid: bool) -> Side:
        return self.bids if bid else self.asks

    def set_gen(self, bid: bool, price: float, amount: float) -> None:
        side = self.side(bid)
        if amount > 0:
            side.gen[price] = amount
        else:
            side.gen.pop(price, None)
        self._touched.add((bid, price))

    def add_user(self, bid: bool, price: float, order: Any) -> None:
        self.side(bid).users.setdefault(price, []).append(order)
        self._touched.add((bid, price))

    def remove_user(self, bid: bool, price: float, order: Any) -> None:
        queue = self.side(bid).users.get(price)
        if queue and order in queue:
            queue.remove(order)
            if not queue:
                del self.side(bid).users[price]
        self._touched.add((bid, price))

    def touch(self, bid: bool, price: float) -> None:
        """Mark a level whose user amounts changed (a partial fill)."""
        self._touched.add((bid, price))

    def flush(self, now_ms: int) -> tuple[dict[str, Any], bool] | None:
        """Apply touched levels to the published state.

        Returns ``(change payload, publish?)`` or ``None`` if nothing changed; the
        flag is false while a gap fault swallows changes (the chain then breaks).
        """
        entries: dict[bool, list[list[Any]]] = {True: [], False: []}
        for bid, price in sorted(self._touched, key=lambda t: (t[0], t[1])):
            side = self.side(bid)
            new, old = side.total(price), side.shown.get(price, 0.0)
            if new == old:
                continue
            if new <= 0:
                del side.shown[price]
                entries[bid].append(["delete", price, 0.0])
            else:
                entries[bid].append(["new" if old == 0 else "change", price, new])
                side.shown[price] = new
        self._touched.clear()
        if not entries[True] and not entries[False]:
            return None
        for bid in (True, False):
            entries[bid].sort(key=lambda e: e[1], reverse=bid)
        prev, self.change_id = self.change_id, self._ids.take()
        self.timestamp = now_ms
        payload = {
            "type": "change",
            "timestamp": now_ms,
            "prev_change_id": prev,
            "instrument_name": self.name,
            "change_id": self.change_id,
            "bids": entries[True],
            "asks": entries[False],
        }
        publish = self.gaps == 0
        if not publish:
            self.gaps -= 1
        return payload, publish

    def snapshot(self, depth: int | None = None) -> dict[str, Any]:
        """The published state as a ``type: snapshot`` frame (no ``prev_change_id``)."""
        return {
            "type": "snapshot",
            "timestamp": self.timestamp,
            "instrument_name": self.name,
            "change_id": self.change_id,
            "bids": [["new", p, a] for p, a in self.bids.levels(depth)],
            "asks": [["new", p, a] for p, a in self.asks.levels(depth)],
        }

    def best(self) -> tuple[list[float] | None, list[float] | None]:
        bids, asks = self.bids.levels(1), self.asks.levels(1)
        return (bids[0] if bids else None), (asks[0] if asks else None)
