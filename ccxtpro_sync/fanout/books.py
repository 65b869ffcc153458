"""Order books over a stream: diffs between successive views on the collector side, and
the exact rebuild on the consumer side. Sans-I/O: plain values in, plain values out.

The collector sees the client's book views (the newest ``OrderBook`` at some update id;
intermediate ones may be coalesced). :class:`BookDiffer` turns each view into a
:class:`~.codec.BookEntry`: a diff against the previous view (levels whose amount
changed, amount 0 for levels that left the view) or, every ``snapshot_every`` entries and
whenever the chain was broken, a snapshot. :class:`BookReplica` applies them and yields
an ``OrderBook`` equal to the collector's view at the same ``nonce``; a diff whose
``prev`` is not the replica's nonce means entries were lost, and the replica waits for
a snapshot (it never guesses).
"""

from __future__ import annotations

from typing import Any

from .._exceptions import InvalidArgument
from .._orderbook import OrderBook
from .._structures import iso8601
from .codec import BookEntry

__all__ = ["BookDiffer", "BookReplica"]


def _levels(side: list[list[Any]]) -> dict[Any, Any]:
    return {level[0]: level[1] for level in side}


def _changes(old: dict[Any, Any], new: dict[Any, Any]) -> list[tuple[Any, Any]]:
    out = [(p, a) for p, a in new.items() if old.get(p) != a]
    zero = 0 * next(iter(new.values()), 0) if new else 0
    out += [(p, zero) for p in old if p not in new]
    return out


class BookDiffer:
    """Turns successive book views of one symbol into entries."""

    def __init__(self, snapshot_every: int = 100) -> None:
        if snapshot_every < 1:
            raise InvalidArgument("snapshot_every must be at least 1")
        self.snapshot_every = snapshot_every
        self._bids: dict[Any, Any] | None = None
        self._asks: dict[Any, Any] = {}
        self._nonce: int | None = None
        self._since_snapshot = 0

    def reset(self) -> None:
        """Forget the previous view: the next entry is a snapshot."""
        self._bids = None

    def entry(self, book: OrderBook[Any]) -> BookEntry | None:
        """The entry for ``book``, or None when it is not newer than the previous one."""
        nonce = book.nonce
        if nonce is None or (
            self._nonce is not None and nonce <= self._nonce and self._bids is not None
        ):
            return None
        bids, asks = _levels(book.bids), _levels(book.asks)
        snapshot = self._bids is None or self._since_snapshot + 1 >= self.snapshot_every
        if snapshot:
            entry = BookEntry(
                book.symbol, nonce, None, True, book.timestamp,
                list(bids.items()), list(asks.items()),
            )  # fmt: skip
            self._since_snapshot = 0
        else:
            assert self._bids is not None
            entry = BookEntry(
                book.symbol, nonce, self._nonce, False, book.timestamp,
                _changes(self._bids, bids), _changes(self._asks, asks),
            )  # fmt: skip
            self._since_snapshot += 1
        self._bids, self._asks, self._nonce = bids, asks, nonce
        return entry


class BookReplica:
    """Rebuilds one symbol's book from entries; ``apply`` returns the book or None."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.nonce: int | None = None
        self._bids: dict[Any, Any] = {}
        self._asks: dict[Any, Any] = {}

    @property
    def synced(self) -> bool:
        return self.nonce is not None

    def desync(self) -> None:
        self.nonce = None

    def apply(self, entry: BookEntry) -> OrderBook[Any] | None:
        """Apply ``entry``; the rebuilt book, or None if it does not follow (see ``synced``)."""
        if entry.snapshot:
            if self.nonce is not None and entry.nonce <= self.nonce:
                return None  # an older snapshot (a resync fetched a newer one already)
            self._bids = dict(entry.bids)
            self._asks = dict(entry.asks)
        else:
            if self.nonce is None or entry.prev != self.nonce:
                self.nonce = None
                return None
            for side, changes in ((self._bids, entry.bids), (self._asks, entry.asks)):
                for price, amount in changes:
                    if amount:
                        side[price] = amount
                    else:
                        side.pop(price, None)
        self.nonce = entry.nonce
        return self.book(entry.timestamp)

    def book(self, timestamp: int | None) -> OrderBook[Any]:
        bids = [[p, self._bids[p]] for p in sorted(self._bids, reverse=True)]
        asks = [[p, self._asks[p]] for p in sorted(self._asks)]
        return OrderBook(
            symbol=self.symbol, bids=bids, asks=asks, timestamp=timestamp,
            datetime=iso8601(timestamp), nonce=self.nonce,
        )  # fmt: skip
