"""Per-symbol Binance order book synchronisation, sans-I/O.

:class:`BookSync` turns depth events and REST snapshots into book views, following
Binance's "How to manage a local order book correctly" (spot and USD-M/COIN-M).
It does no I/O and keeps no clocks: the reader thread feeds it decoded payloads
and acts on the returned :class:`SyncResult` (publish the book, fetch a snapshot,
tell watchers about a desync). That keeps every sequencing rule testable with
plain data.

Rules, with ``X`` = the snapshot's ``lastUpdateId`` and ``id`` = the book's
update id:

* Before a snapshot, events are buffered. A gap *inside* the buffer drops the
  events before it: they can never be bridged to a newer snapshot.
* Snapshot older than the first buffered event (``X < U``): ask for another.
* Stale events are dropped: spot ``u <= X``, futures ``u < X`` (as documented).
* The first applied event must bridge the snapshot. Spot: ``U <= X + 1``
  (``X`` within ``[U; u]``, or the very next id, which the doc's own
  "``U > id + 1`` means missed" rule allows). Futures: ``U <= X <= u``, or
  ``pu <= X < u``: ``pu`` is by definition the book's version before the event,
  so nothing changed between ``pu`` and ``U``.
* Then spot requires ``U <= id + 1`` (``U == id + 1`` normally; an overlap is
  harmless because quantities are absolute) and futures ``pu == id``.
  Anything else is a gap: the book is discarded, the event that revealed the
  gap starts a new buffer and a new snapshot is requested, for this symbol only.
* A crossed book (best bid >= best ask) is a desync too, so one is never exposed.

The buffer is bounded by ``max_buffer``; on overflow the *oldest* event goes.
That stays correct because the only thing the oldest events are needed for is
bridging an old snapshot, and the ``X < first U`` check rejects any snapshot the
remaining buffer cannot bridge. Size it for events/s x worst snapshot latency.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, overload

from ..._book_view import SyncedBookView
from ..._exceptions import OrderBookDesync
from ..._numbers import N
from ..._orderbook import DiffLevels, LocalOrderBook, OrderBook, WireLevels

__all__ = [
    "BookSync",
    "ResyncReason",
    "SyncResult",
    "SyncStats",
    "SyncStatus",
]


class SyncStatus(enum.Enum):
    """What an input did."""

    #: The book changed; ``result.book`` is the new view.
    UPDATED = "updated"
    #: Held until a snapshot arrives.
    BUFFERED = "buffered"
    #: Old, duplicate or out-of-window input; nothing changed.
    IGNORED_STALE = "ignored_stale"
    #: Fetch a REST snapshot for this symbol (``result.reason`` says why, if not the first).
    NEED_SNAPSHOT = "need_snapshot"
    #: The book was discarded (``result.reason``); ``result.needs_snapshot`` says whether
    #: to fetch a snapshot (diff mode) or just wait for the next payload (partial mode).
    RESYNC = "resync"


class ResyncReason(enum.Enum):
    GAP = "gap"  # an update was missed
    CROSSED = "crossed"  # best bid >= best ask after an update or snapshot
    SNAPSHOT_TOO_OLD = "snapshot_too_old"  # X < first buffered U (not a resync)
    NO_BRIDGE = "no_bridge"  # no buffered event straddles the snapshot (not a resync)
    INVALIDATED = "invalidated"  # the caller said so (reconnect, resubscribe)


@dataclass(frozen=True, slots=True)
class SyncResult(Generic[N]):
    """The outcome of one input. ``book`` is set only for ``UPDATED``."""

    status: SyncStatus
    book: OrderBook[N] | None = None
    reason: ResyncReason | None = None
    #: True when the caller should (re)request a REST snapshot now.
    needs_snapshot: bool = False
    detail: str = ""

    def error(self, symbol: str) -> OrderBookDesync | None:
        """The exception to hand to watchers for a ``RESYNC``, else ``None``."""
        if self.status is not SyncStatus.RESYNC:
            return None
        reason = self.reason.value if self.reason is not None else "unknown"
        msg = f"{symbol} order book desync ({reason})"
        return OrderBookDesync(f"{msg}: {self.detail}" if self.detail else msg, symbol=symbol)


@dataclass(slots=True)
class SyncStats:
    """Counters for monitoring. Read them; don't write them."""

    applied: int = 0
    stale: int = 0
    buffered: int = 0
    #: Buffered events dropped for overflow or because a gap inside the buffer made them useless.
    buffer_dropped: int = 0
    snapshots_accepted: int = 0
    snapshots_rejected: int = 0
    resyncs: int = 0
    reasons: dict[ResyncReason, int] = field(default_factory=dict)


class _Event(NamedTuple):
    first: int  # U
    last: int  # u
    prev: int  # pu (futures); -1 for spot
    bids: DiffLevels
    asks: DiffLevels
    time: int | None


# Results without a book are immutable, so share them instead of allocating per event.
_BUFFERED: SyncResult[Any] = SyncResult(SyncStatus.BUFFERED)
_STALE: SyncResult[Any] = SyncResult(SyncStatus.IGNORED_STALE)
_NEED: SyncResult[Any] = SyncResult(SyncStatus.NEED_SNAPSHOT, needs_snapshot=True)
#: Updated, with no view attached (``view=False``): shared, as it carries nothing else.
_UPDATED: SyncResult[Any] = SyncResult(SyncStatus.UPDATED)


class BookSync(SyncedBookView[N]):
    """Synchronises one symbol's local book. Single-threaded: call it from the reader.

    ``limit`` caps the levels kept and shown per side; ``view_limit`` caps each
    published view (default ``limit``; ``None`` copies the whole book every update,
    which is expensive for deep books). ``partial=True`` switches to replace mode
    for the partial-depth streams (see :meth:`on_partial`). ``parsed=True``: every
    input's levels are ``number`` values already (see ``LocalOrderBook``).
    """

    @overload
    def __init__(
        self: BookSync[float],
        symbol: str,
        *,
        futures: bool,
        limit: int | None = None,
        view_limit: int | None = None,
        max_buffer: int = 10_000,
        partial: bool = False,
        parsed: bool = False,
    ) -> None: ...
    @overload
    def __init__(
        self,
        symbol: str,
        *,
        futures: bool,
        limit: int | None = None,
        view_limit: int | None = None,
        max_buffer: int = 10_000,
        partial: bool = False,
        number: Callable[[str], N],
        parsed: bool = False,
    ) -> None: ...
    def __init__(
        self,
        symbol: str,
        *,
        futures: bool,
        limit: int | None = None,
        view_limit: int | None = None,
        max_buffer: int = 10_000,
        partial: bool = False,
        number: Callable[[str], Any] = float,
        parsed: bool = False,
    ) -> None:
        if max_buffer < 1:
            raise ValueError("max_buffer must be >= 1")
        self.symbol = symbol
        self.futures = futures
        self.partial = partial
        self.max_buffer = max_buffer
        self.view_limit = view_limit if view_limit is not None else limit
        self.book: LocalOrderBook[N] = LocalOrderBook(
            symbol, limit=limit, number=number, parsed=parsed
        )
        self.stats = SyncStats()
        self._buffer: deque[_Event] = deque()
        self._synced = False
        # The next applied event must bridge the snapshot rather than chain to it.
        self._bridging = False
        # A snapshot has been asked for (so further events just say BUFFERED).
        self._snapshot_wanted = False

    # ------------------------------------------------------------------ queries

    @property
    def needs_snapshot(self) -> bool:
        """True while a REST snapshot has been requested and not yet accepted."""
        return self._snapshot_wanted

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    # ------------------------------------------------------------------ inputs

    def on_diff(  # noqa: PLR0917 - positional in wire order: U, u, pu, b, a, E
        self,
        U: int,
        u: int,
        pu: int | None,
        bids: DiffLevels,
        asks: DiffLevels,
        event_time: int | None = None,
        *,
        view: bool = True,
    ) -> SyncResult[N]:
        """Feed one diff-depth event (``depthUpdate``). ``pu`` is ``None`` on spot.

        ``view=False`` skips copying the book into ``result.book`` (the caller builds
        a view later, only if someone takes it: most updates are superseded first)."""
        if self.partial:
            raise ValueError("on_diff() called on a partial-depth BookSync")
        futures = self.futures
        if pu is None:
            if futures:
                raise ValueError("futures depth events need pu")
            prev = -1
        else:
            prev = pu
        if self._synced:
            book = self.book
            nonce = book.nonce
            assert nonce is not None  # always set while synced
            if u <= nonce:
                self.stats.stale += 1
                return _STALE
            # Spot: U must not skip past id + 1. Futures: pu must equal id, or be
            # <= X for the first event after the snapshot.
            gap = (prev > nonce if self._bridging else prev != nonce) if futures else nonce + 1 < U
            if gap:
                expected = f"pu={nonce}" if futures else f"U<={nonce + 1}"
                detail = f"expected {expected}, got U={U} u={u} pu={pu}"
                self._discard(ResyncReason.GAP)
                # The event that revealed the gap is the first of the new buffer.
                self._buffer.append(_Event(U, u, prev, bids, asks, event_time))
                self.stats.buffered += 1
                return SyncResult(
                    SyncStatus.RESYNC, reason=ResyncReason.GAP, needs_snapshot=True, detail=detail
                )
            self._bridging = False
            crossed = book.apply(bids, asks, u, event_time)
            self.stats.applied += 1
            if crossed:
                return self._crossed(f"after U={U} u={u}")
            return self._updated(view) if view else _UPDATED
        return self._buffer_event(_Event(U, u, prev, bids, asks, event_time))

    def on_snapshot(
        self,
        last_update_id: int,
        bids: WireLevels,
        asks: WireLevels,
        *,
        depth: int | None = None,
        timestamp: int | None = None,
        bounds: tuple[N | None, N | None] | None = None,
    ) -> SyncResult[N]:
        """Feed a REST depth snapshot. ``depth`` is the ``limit`` it was requested with
        (lets the book know a side may be truncated; see ``LocalOrderBook.reset``);
        ``bounds``: each side's bound as written at a raw-log fence (``binance.fence``)."""
        if self.partial:
            raise ValueError("on_snapshot() called on a partial-depth BookSync")
        stats = self.stats
        if self._synced:
            # A late or duplicate response; the live book is already ahead of it or
            # at least consistent, so keep it.
            stats.stale += 1
            return _STALE
        buf = self._buffer
        x = last_update_id
        if buf and x < buf[0].first:
            return self._reject_snapshot(
                ResyncReason.SNAPSHOT_TOO_OLD, f"lastUpdateId={x} < first buffered U={buf[0].first}"
            )
        futures = self.futures
        while buf and (buf[0].last < x if futures else buf[0].last <= x):
            buf.popleft()
        if buf:
            first = buf[0]
            # Futures: pu <= X also covers the documented U <= X (pu < U).
            bridged = first.prev <= x if futures else first.first <= x + 1
            if not bridged:
                return self._reject_snapshot(
                    ResyncReason.NO_BRIDGE,
                    f"lastUpdateId={x}, first event U={first.first} u={first.last}",
                )
        book = self.book
        book.reset(bids, asks, x, timestamp, depth=depth, bounds=bounds)
        stats.snapshots_accepted += 1
        self._snapshot_wanted = False
        if book.is_crossed():
            return self._crossed(f"snapshot lastUpdateId={x}")
        # The buffer is gap-free (enforced while buffering) and its head bridges X,
        # so replaying it only has to check for crossing.
        replayed = bool(buf)
        while buf:
            ev = buf.popleft()
            book.apply(ev.bids, ev.asks, ev.last, ev.time)
            stats.applied += 1
            if book.is_crossed():
                return self._crossed(f"replaying U={ev.first} u={ev.last}")
        self._synced = True
        # With nothing buffered past X, the first live event must bridge X.
        self._bridging = not replayed
        return SyncResult(SyncStatus.UPDATED, book.snapshot(self.view_limit))

    def on_partial(
        self,
        update_id: int,
        bids: WireLevels,
        asks: WireLevels,
        event_time: int | None = None,
        *,
        view: bool = True,
    ) -> SyncResult[N]:
        """Replace mode for partial-depth streams: spot ``@depth<N>`` (``lastUpdateId``)
        and futures ``@depth<N>`` (pass its ``u``). Each payload is a complete top-N
        book, so there is nothing to chain; only older or repeated ids are ignored."""
        if not self.partial:
            raise ValueError("on_partial() called on a diff-depth BookSync")
        book = self.book
        if self._synced and book.nonce is not None and update_id <= book.nonce:
            self.stats.stale += 1
            return _STALE
        book.reset(bids, asks, update_id, event_time)
        self.stats.applied += 1
        if book.is_crossed():
            return self._crossed(f"partial update id {update_id}")
        self._synced = True
        return self._updated(view)

    def _updated(self, view: bool) -> SyncResult[N]:
        if not view:
            return _UPDATED
        return SyncResult(SyncStatus.UPDATED, self.book.snapshot(self.view_limit))

    def invalidate(self, detail: str = "") -> SyncResult[N]:
        """Drop the book and buffer, e.g. after a reconnect: the stream restarts and
        nothing received before can be trusted to chain with what comes next."""
        self._discard(ResyncReason.INVALIDATED)
        self._snapshot_wanted = False  # ask again once the new stream has buffered an event
        return SyncResult(SyncStatus.RESYNC, reason=ResyncReason.INVALIDATED, detail=detail)

    # ------------------------------------------------------------------ internals

    def _buffer_event(self, ev: _Event) -> SyncResult[N]:
        buf = self._buffer
        stats = self.stats
        if buf:
            last = buf[-1]
            if ev.last <= last.last:
                stats.stale += 1  # duplicate or replayed event
                return _STALE
            gap = ev.prev != last.last if self.futures else ev.first > last.last + 1
            if gap:
                # Nothing before the gap can be bridged to any future snapshot.
                stats.buffer_dropped += len(buf)
                buf.clear()
            elif len(buf) >= self.max_buffer:
                buf.popleft()
                stats.buffer_dropped += 1
        buf.append(ev)
        stats.buffered += 1
        if not self._snapshot_wanted:
            self._snapshot_wanted = True
            return _NEED
        return _BUFFERED

    def _discard(self, reason: ResyncReason) -> None:
        self.book.clear()
        self._buffer.clear()
        self._synced = False
        self._bridging = False
        self._snapshot_wanted = True
        self._count(reason, resync=True)

    def _crossed(self, where: str) -> SyncResult[N]:
        partial = self.partial
        self._discard(ResyncReason.CROSSED)
        self._snapshot_wanted = not partial
        return SyncResult(
            SyncStatus.RESYNC,
            reason=ResyncReason.CROSSED,
            needs_snapshot=not partial,
            detail=f"crossed book {where}",
        )

    def _reject_snapshot(self, reason: ResyncReason, detail: str) -> SyncResult[N]:
        """A snapshot that cannot start the book: count it and ask for another."""
        self.stats.snapshots_rejected += 1
        self._count(reason, resync=False)
        self._snapshot_wanted = True
        return SyncResult(
            SyncStatus.NEED_SNAPSHOT, reason=reason, needs_snapshot=True, detail=detail
        )

    def _count(self, reason: ResyncReason, *, resync: bool) -> None:
        stats = self.stats
        stats.reasons[reason] = stats.reasons.get(reason, 0) + 1
        if resync:
            stats.resyncs += 1
