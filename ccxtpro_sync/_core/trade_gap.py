"""Gap filling for id-ordered streams (public trades, candles), sans-I/O.

A stream whose items carry consecutive keys (trade ids: ``+1``; candle open
times: ``+interval``) can lose items while its connection is down. One
``GapFiller`` per stream remembers the last key it delivered. When a live item
skips ahead it opens a *gap*: live items are held (bounded) while the caller
fetches the missing range over REST; the fetched items are delivered first,
then the held ones, in key order, each key once. When the gap cannot be filled
(REST no longer serves it, budget exhausted, too many items held) the missing
range is reported and delivery continues.

With ``updates=True`` (candles) an item with the last key is an update of the
same item, not a duplicate, and ``reset()`` (the connection went away) makes
the first item after it re-fetch the last key, whose final state may have
been missed. Live candles also say whether they are ``final``: moving on past a
candle whose final state was not delivered re-fetches it too (a rotation's old
connection can be cut, or overtaken by the new one, before it sends the close).

The caller (a worker off the reader thread) delivers what ``backfilled``/
``failed`` return outside any lock and then calls ``drain()`` until it reports
the hold closed: live items arriving meanwhile stay held, so nothing delivered
live can overtake the backfill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class GapRequest:
    """Fetch the items with keys ``first``..``last`` (inclusive); ``token`` names the gap."""

    first: int
    last: int
    token: int


@dataclass(slots=True)
class GapStep(Generic[T]):
    """What one input means: items to deliver now (in order), a range to fetch next,
    ranges that are lost for good, and how many items the backfill supplied."""

    deliver: list[T] = field(default_factory=list)
    request: GapRequest | None = None
    missing: list[tuple[int, int]] = field(default_factory=list)
    backfilled: list[T] = field(default_factory=list)
    closed: bool = False


class GapFiller(Generic[T]):
    """Exactly-once, in-order delivery of one keyed stream across gaps (see module doc)."""

    def __init__(
        self,
        key: Callable[[T], int],
        *,
        step: int = 1,
        updates: bool = False,
        max_held: int = 10_000,
        max_gap: int = 100_000,
        enabled: bool = True,
    ) -> None:
        self._key = key
        self._step = step
        self._updates = updates
        self.max_held = max_held
        #: Larger gaps (in steps) are reported, not fetched; a key this far *behind*
        #: the last one starts the sequence afresh (a restarted or bogus sequence
        #: must not silence the stream for good).
        self.max_gap = max_gap
        self.enabled = enabled
        #: [key of the last item delivered (None before the first one), the key that
        #: directly follows it while nothing else decides (None otherwise)]: see ``cursor``.
        self._cursor: list[int | None] = [None, None]
        self._held: list[tuple[T, bool]] = []
        self._holding = False
        self._gap: GapRequest | None = None
        self._token = 0
        self._suspect = False
        #: The last item delivered was its key's final state (always, without ``updates``).
        self._final = True

    @property
    def last(self) -> int | None:
        """Key of the last item delivered (None before the first one)."""
        return self._cursor[0]

    @last.setter
    def last(self, key: int | None) -> None:
        self._cursor[0] = key
        self._sync()

    @property
    def cursor(self) -> list[int | None]:
        """``[last, next]`` for a hot path that inlines :meth:`follows`: while the
        filler is idle (nothing held, no reset since, no updates) ``next`` is the key
        that directly follows ``last``, else None. An item whose key equals ``next``
        counts as delivered once the caller sets ``cursor[0] = key`` and ``cursor[1] =
        key + step`` (under the lock it calls the filler's methods under); any other
        goes through :meth:`live`. The list is the filler's own state, kept current by
        every method."""
        return self._cursor

    @property
    def step(self) -> int:
        return self._step

    def _sync(self) -> None:
        """Recompute ``cursor[1]`` after a change of state."""
        cursor = self._cursor
        last = cursor[0]
        idle = last is not None and not (self._holding or self._suspect or self._updates)
        cursor[1] = last + self._step if idle else None  # type: ignore[operator]

    @property
    def holding(self) -> bool:
        return self._holding

    @property
    def held(self) -> int:
        return len(self._held)

    def reset(self) -> None:
        """The stream's connection went away: items may have been missed."""
        self._suspect = True
        self._sync()

    # -- live items (reader thread, under the caller's lock) --------------------------------
    def follows(self, key: int) -> bool:
        """The common case, cheaply: nothing is held and the item with ``key`` (which
        the caller read off the wire: no key function call) directly follows the last
        one delivered. Then it counts as delivered and True is returned; otherwise
        nothing changes and the caller goes through :meth:`live`."""
        cursor = self._cursor
        if key != cursor[1]:
            return False
        cursor[0] = key
        cursor[1] = key + self._step
        return True

    def live(self, item: T, final: bool = True) -> GapStep[T]:
        """One live item; ``final`` (candles): no later update of its key will follow."""
        out = self._live(item, final)
        self._sync()
        return out

    def _live(self, item: T, final: bool) -> GapStep[T]:
        out: GapStep[T] = GapStep()
        if self._holding:
            self._held.append((item, final))
            if len(self._held) > self.max_held:
                self._give_up(out)
            return out
        self._take(item, final, out)
        return out

    def _take(self, item: T, final: bool, out: GapStep[T]) -> None:
        """One item while not holding: deliver, drop as a duplicate, or open a gap."""
        key = self._key(item)
        last = self.last
        suspect, self._suspect = self._suspect, False
        if last is not None and last - key > self.max_gap * self._step:
            last = None  # a new sequence: follow it
        if last is not None:
            if key < last or (key == last and not self._updates):
                return  # already delivered
            # Candles: after a reset, or moving past a candle whose close was not
            # delivered, the last candle's final state is missing too.
            unfinished = self._updates and (suspect or not self._final)
            skipped = key > last + self._step or (unfinished and key > last)
            if skipped:
                first = last if self._updates else last + self._step
                if self.enabled and key - first <= self.max_gap * self._step:
                    self._token += 1
                    self._gap = GapRequest(first, key - self._step, self._token)
                    self._final = not self._updates  # the last candle's close is owed
                    self._holding = True
                    self._held.append((item, final))
                    out.request = self._gap
                    return
                if key > last + self._step:
                    out.missing.append((last + self._step, key - self._step))
        self.last = key
        self._final = final or not self._updates
        out.deliver.append(item)

    # -- backfill (worker thread, under the caller's lock) -----------------------------------
    def backfilled(self, token: int, items: Iterable[T], *, more: bool = True) -> GapStep[T]:
        """One page of the gap's range (oldest first). Delivers what extends the stream,
        asks for the next page (``more``: the source pages by key), and reports what
        the source no longer serves."""
        out = self._backfilled(token, items, more)
        self._sync()
        return out

    def _backfilled(self, token: int, items: Iterable[T], more: bool) -> GapStep[T]:
        out: GapStep[T] = GapStep()
        gap = self._gap
        if gap is None or token != gap.token:
            return out  # a stale answer (the gap was given up)
        page = sorted(items, key=self._key)
        progressed = False
        for item in page:
            key = self._key(item)
            if key > gap.last:
                break
            last = self.last
            if last is not None and (key < last or (key == last and not self._updates)):
                continue
            wanted = self._wanted(gap)
            if key > wanted and not (self._updates and key == last):
                out.missing.append((wanted, key - self._step))
            self.last = key
            self._final = True  # the range ends before the live key: closed at the source
            out.deliver.append(item)
            out.backfilled.append(item)
            progressed = True
        last = self.last
        if last is not None and last >= gap.last:
            self._gap = None  # covered
            return out
        if more and progressed and page and self._key(page[-1]) <= gap.last:
            assert last is not None
            self._gap = GapRequest(last + self._step, gap.last, gap.token)
            out.request = self._gap
            return out
        self._give_up(out)
        return out

    def failed(self, token: int) -> GapStep[T]:
        """The gap cannot be fetched (budget, timeout, error): report it and go on."""
        out: GapStep[T] = GapStep()
        gap = self._gap
        if gap is not None and token == gap.token:
            self._give_up(out)
        self._sync()
        return out

    def drain(self) -> GapStep[T]:
        """Release held items once no fetch is outstanding. Call after delivering the
        previous step's items, until ``closed``: the hold closes only on a call that
        returns nothing, so live items never overtake ones being delivered."""
        out = self._drain()
        self._sync()
        return out

    def _drain(self) -> GapStep[T]:
        out: GapStep[T] = GapStep()
        if self._gap is not None:
            return out
        if not self._held:
            self._holding = False
            out.closed = True
            return out
        held, self._held = self._held, []
        self._holding = False
        for index, (item, final) in enumerate(held):
            self._take(item, final, out)
            if self._holding:  # the held items themselves skip ahead: another gap
                self._held.extend(held[index + 1 :])
                return out
        self._holding = True  # closed by the next, empty, drain
        return out

    def _wanted(self, gap: GapRequest) -> int:
        """The first key of ``gap`` still owed: the last one itself while its final
        state (candles) is."""
        last = self.last
        if last is None or last < gap.first:
            return gap.first
        if self._updates and not self._final:
            return last
        return last + self._step

    def _give_up(self, out: GapStep[T]) -> None:
        """Report the rest of the open gap as missing; held items continue after it."""
        gap = self._gap
        if gap is not None:
            last = self.last
            wanted = self._wanted(gap)
            if wanted <= gap.last:
                out.missing.append((wanted, gap.last))
            if last is None or last < gap.last:
                self.last = gap.last
            self._final = True  # reported or delivered: not fetched again
        self._gap = None
        self._holding = True  # released by drain(), in order
