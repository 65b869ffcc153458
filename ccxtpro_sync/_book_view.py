"""Read access shared by every exchange's order-book synchroniser.

Each synchroniser keeps a :class:`LocalOrderBook` and a ``_synced`` flag and
feeds the book its own way; reading it back is the same everywhere.
"""

from __future__ import annotations

from typing import Generic

from ._exceptions import OrderBookDesync
from ._numbers import N
from ._orderbook import LocalOrderBook, OrderBook


class SyncedBookView(Generic[N]):
    """Mixin: ``synced``, ``nonce`` and ``view()`` over a synchroniser's book."""

    symbol: str
    view_limit: int | None
    book: LocalOrderBook[N]
    _synced: bool

    @property
    def synced(self) -> bool:
        """True when the book is up to date and safe to read."""
        return self._synced

    @property
    def nonce(self) -> int | None:
        """The exchange's sequence number of the current book, ``None`` while not synced."""
        return self.book.nonce if self._synced else None

    def view(self, limit: int | None = None) -> OrderBook[N]:
        """A copy of the current book; raises :class:`OrderBookDesync` while not synced."""
        if not self._synced:
            raise OrderBookDesync(
                f"{self.symbol} order book is not synchronised", symbol=self.symbol
            )
        return self.book.snapshot(limit if limit is not None else self.view_limit)
