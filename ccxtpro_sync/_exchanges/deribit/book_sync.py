"""Per-instrument Deribit order book synchronisation, sans-I/O.

``book.{instrument}.{interval}`` sends a full snapshot first (``type``
``snapshot``, no ``prev_change_id``), then changes: ``[action, price, amount]``
entries (``new``/``change`` set the level, ``delete`` removes it) with
``change_id`` and ``prev_change_id``. Deribit's rule: when ``prev_change_id``
equals the previous message's ``change_id``, nothing was missed. ``change_id``
is a counter shared across instruments, so chaining is per channel, never +1.

:class:`DeribitBookSync` applies that rule and returns the same
``SyncResult``/``SyncStatus`` as the Binance ``BookSync``, where
``needs_snapshot=True`` means "resubscribe this instrument's channel" (the only
way to get a new snapshot: a second subscribe on the same socket brings none,
so the caller unsubscribes and subscribes, or reconnects). The rules:

* A change before any snapshot, or whose ``prev_change_id`` is not the book's
  ``change_id``, is a gap: the book is dropped and ``RESYNC`` (reason ``GAP``)
  asks for a resubscribe, once; later changes are ignored until a snapshot.
* A change whose ``change_id`` is not above the book's is a duplicate: ignored.
* A snapshot always (re)starts the book: it is the server's state at its id.
* A crossed book (best bid >= best ask) is a desync too, so one is never shown.

Levels are read with the checked converters: NaN, infinities and unknown
actions fail the message with ``ProtocolError`` before the book is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..._book_view import SyncedBookView
from ..._exceptions import ProtocolError
from ..._numbers import N, finite
from ..._orderbook import LocalOrderBook
from ..binance.book_sync import ResyncReason, SyncResult, SyncStats, SyncStatus
from .values import num, opt_int, req_int

__all__ = ["DeribitBookSync", "ResyncReason", "SyncResult", "SyncStatus", "parse_levels"]

_ACTIONS = ("new", "change", "delete")
_STALE: SyncResult[Any] = SyncResult(SyncStatus.IGNORED_STALE)
_UPDATED: SyncResult[Any] = SyncResult(SyncStatus.UPDATED)


def parse_levels(entries: Any, number: Callable[[str], Any], *, actions: bool) -> list[list[Any]]:
    """``[[action, price, amount], ...]`` (or ``[[price, amount], ...]`` when
    ``actions=False``) → ``[[price, amount], ...]`` with 0 for deletes."""
    if not isinstance(entries, list):
        raise ProtocolError("deribit book side is not an array")
    levels: list[list[Any]] = []
    for entry in entries:
        if not isinstance(entry, list) or len(entry) != (3 if actions else 2):
            raise ProtocolError("deribit book level has the wrong shape")
        if actions:
            action, price, amount = entry
            if action not in _ACTIONS:
                raise ProtocolError(f"deribit book action {str(action)[:20]!r} is unknown")
        else:
            action = "new"
            price, amount = entry
        value = num(price, number, "price")
        size = num(amount, number, "amount")
        if size < 0:
            raise ProtocolError("deribit book level with a negative amount")
        levels.append([value, size * 0 if action == "delete" else size])
    return levels


class DeribitBookSync(SyncedBookView[N]):
    """Synchronises one instrument's local book from ``book.*`` payloads.
    Single-threaded: call it from the reader. ``limit`` caps the levels kept per
    side; ``view_limit`` caps each published view (default ``limit``)."""

    def __init__(
        self,
        symbol: str,
        *,
        limit: int | None = None,
        view_limit: int | None = None,
        number: Callable[[str], N] = float,  # type: ignore[assignment]
    ) -> None:
        self.symbol = symbol
        self.view_limit = view_limit if view_limit is not None else limit
        self._number = finite(number)
        self.book: LocalOrderBook[N] = LocalOrderBook(
            symbol, limit=limit, number=number, parsed=True
        )
        self.stats = SyncStats()
        self._synced = False
        # A resubscribe has been asked for; changes are ignored until a snapshot.
        self._resubscribe_wanted = False

    @property
    def needs_resubscribe(self) -> bool:
        """True while a resubscribe has been asked for and no snapshot has arrived."""
        return self._resubscribe_wanted

    def on_message(self, data: Mapping[str, Any], *, view: bool = True) -> SyncResult[N]:
        """Feed one ``book.{instrument}.{interval}`` notification's ``data``."""
        if not isinstance(data, Mapping):
            raise ProtocolError("deribit book payload is not an object")
        change_id = req_int(data, "change_id")
        timestamp = opt_int(data, "timestamp")
        prev = opt_int(data, "prev_change_id")
        kind = data.get("type")
        if kind is None:
            kind = "change" if prev is not None else "snapshot"
        if kind not in ("snapshot", "change"):
            raise ProtocolError(f"deribit book message of unknown type {str(kind)[:20]!r}")
        bids = parse_levels(data.get("bids", []), self._number, actions=True)
        asks = parse_levels(data.get("asks", []), self._number, actions=True)
        if kind == "snapshot":
            return self._snapshot(change_id, bids, asks, timestamp, view)
        book = self.book
        if not self._synced:
            if self._resubscribe_wanted:
                self.stats.stale += 1
                return _STALE
            return self._gap(f"change {change_id} before any snapshot")
        nonce = book.nonce
        assert nonce is not None  # always set while synced
        if change_id <= nonce:
            self.stats.stale += 1
            return _STALE
        if prev != nonce:
            return self._gap(f"expected prev_change_id={nonce}, got {prev} (change_id={change_id})")
        book.apply(bids, asks, change_id, timestamp)
        self.stats.applied += 1
        if book.is_crossed():
            return self._crossed(f"after change_id={change_id}")
        return self._updated(view)

    def on_window(self, data: Mapping[str, Any], *, view: bool = True) -> SyncResult[N]:
        """Replace mode for ``book.{instrument}.{group}.{depth}.{interval}``: every
        message is the whole top-``depth`` window; older or repeated ids are ignored."""
        if not isinstance(data, Mapping):
            raise ProtocolError("deribit book payload is not an object")
        change_id = req_int(data, "change_id")
        bids = parse_levels(data.get("bids", []), self._number, actions=False)
        asks = parse_levels(data.get("asks", []), self._number, actions=False)
        book = self.book
        if self._synced and book.nonce is not None and change_id <= book.nonce:
            self.stats.stale += 1
            return _STALE
        book.reset(bids, asks, change_id, opt_int(data, "timestamp"))
        self.stats.applied += 1
        if book.is_crossed():
            return self._crossed(f"window change_id={change_id}")
        self._synced = True
        return self._updated(view)

    def invalidate(self, detail: str = "") -> SyncResult[N]:
        """Drop the book (reconnect, unsubscribe): the next snapshot restarts it."""
        self._discard(ResyncReason.INVALIDATED)
        self._resubscribe_wanted = False
        return SyncResult(SyncStatus.RESYNC, reason=ResyncReason.INVALIDATED, detail=detail)

    # ------------------------------------------------------------------ internals

    def _snapshot(
        self,
        change_id: int,
        bids: list[list[Any]],
        asks: list[list[Any]],
        timestamp: int | None,
        view: bool,
    ) -> SyncResult[N]:
        book = self.book
        book.reset(bids, asks, change_id, timestamp)
        self.stats.snapshots_accepted += 1
        self._resubscribe_wanted = False
        if book.is_crossed():
            return self._crossed(f"snapshot change_id={change_id}")
        self._synced = True
        return self._updated(view)

    def _updated(self, view: bool) -> SyncResult[N]:
        if not view:
            return _UPDATED
        return SyncResult(SyncStatus.UPDATED, self.book.snapshot(self.view_limit))

    def _gap(self, detail: str) -> SyncResult[N]:
        self._discard(ResyncReason.GAP)
        return SyncResult(
            SyncStatus.RESYNC, reason=ResyncReason.GAP, needs_snapshot=True, detail=detail
        )

    def _crossed(self, where: str) -> SyncResult[N]:
        self._discard(ResyncReason.CROSSED)
        return SyncResult(
            SyncStatus.RESYNC,
            reason=ResyncReason.CROSSED,
            needs_snapshot=True,
            detail=f"crossed book {where}",
        )

    def _discard(self, reason: ResyncReason) -> None:
        self.book.clear()
        self._synced = False
        self._resubscribe_wanted = True
        stats = self.stats
        stats.reasons[reason] = stats.reasons.get(reason, 0) + 1
        stats.resyncs += 1
