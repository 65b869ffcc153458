"""Make-before-break rotation, sans-I/O: what to deliver while two connections overlap.

While a replacement connection takes over a stream, both connections deliver it,
each in order, keyed per update (update id, trade id or event time, chosen by the
exchange package). The old connection may lag (a backlog in its socket or reader)
while the new one starts current, so "whichever arrives first wins" would drop the
old one's backlog as already delivered: a gap. ``DeliveredKeys.offer`` therefore
prefers the old connection: its updates are delivered in order, the new one's are
held (bounded per stream) until the old one has delivered up to the key just
before the first held one (or past it); then the stream *switches*: held updates
not yet delivered are released in order and the old connection's are dropped from
then on. Overflow of the hold counts a gap and switches at once if the old reader
has handed over all it delivered; until then the hold sheds its oldest update
instead, so that the new connection's updates never overtake an old chunk still
on its way to the callbacks. ``release`` also counts a gap when the old connection
retired before it caught up (a stream counts at most one gap per overlap): a real
gap is then left to the stream's own gap handling (trade gap filler, book chain
check).

An update may cover a range of ids (a depth diff: ``U``..``u``, keyed by ``u``): it
then says where the update before it ended (``prev``), and the old connection has
caught up once it delivered that far; without ``prev`` the key before is ``key - 1``.

Connections are told apart by a *source* number (``source()``, increasing, taken
when a connection's router is made): the replacement is made just before
``begin``, so at ``begin`` the newest source and any later one are new, every
earlier one old. A router offers keys only while a rotation is under way
(``active``), so the hot path reads no key otherwise: the replacement subscribes
after ``begin``, so none of its updates can be older than what the old connection
delivered before that. ``first_new`` is the same rule for a batch. Not
thread-safe: its owner serialises access.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Generic, TypeVar

__all__ = ["DeliveredKeys", "first_new", "rotation_deadline"]

#: Distinct updates remembered at one shared key (a hostile peer cannot grow it).
MAX_TIES = 64
#: Updates of the new connection held per stream while the old one catches up.
MAX_HELD = 4096

T = TypeVar("T")


def first_new(last: int | None, keys: Sequence[int]) -> int:
    """Index of the first of ``keys`` (in arrival order) not already delivered."""
    if last is None:
        return 0
    for index, key in enumerate(keys):
        if key > last:
            return index
    return len(keys)


class _Overlap(Generic[T]):
    """One stream carried by two connections: who delivers it, and what waits."""

    __slots__ = (
        "count",
        "gapped",
        "held",
        "new_from",
        "old",
        "old_mark",
        "releasing",
        "switched",
    )

    def __init__(self, new_from: int) -> None:
        self.count = 1  # rotations in progress (they may nest)
        self.new_from = new_from  # sources from this one on are the replacement
        self.switched = False
        self.releasing = False  # the old connection is retired: ``release`` empties the hold
        self.gapped = False  # a gap was counted for this stream in this overlap
        #: The old connection's source and its offer count at its last delivery here.
        self.old = 0
        self.old_mark = 0
        #: (key, tie, prev, update) of the new connection's updates, in arrival order.
        self.held: deque[tuple[int, int | None, int | None, T]] = deque()


class DeliveredKeys(Generic[T]):
    """The last delivered key per stream, and the streams currently overlapping."""

    def __init__(self, max_held: int = MAX_HELD) -> None:
        self._last: dict[str, int] = {}
        #: Digests of the updates delivered at the last key, for keys that several
        #: distinct updates may share (event times): bounded per stream.
        self._ties: dict[str, set[int]] = {}
        self._overlap: dict[str, _Overlap[T]] = {}
        #: The streams in an overlap, for reading only: non-empty exactly when ``active``
        #: (a hot path tests it without the property's call).
        self.overlaps: Mapping[str, object] = self._overlap
        self._sources = 0
        self._max_held = max_held
        #: Streams holding updates of the new connection: ``settled`` is then False.
        self._holding: set[str] = set()
        #: Batches offered per source during overlaps: a reader's offer from a later
        #: batch shows that it finished delivering the previous one (``_old_done``).
        self._offers: dict[int, int] = {}
        #: The batch of each source's latest offer (see ``offer``).
        self._batches: dict[int, object] = {}
        #: Updates dropped as already delivered (for figures and tests).
        self.dropped = 0
        #: Streams switched before the old connection caught up: a gap may follow.
        self.gaps = 0
        #: Of those, the ones whose hold was full.
        self.overflows = 0
        #: Updates of the new connection shed from a full hold (see ``offer``).
        self.shed = 0

    def source(self) -> int:
        """A number for one more connection (later connections get larger ones)."""
        self._sources += 1
        return self._sources

    def offer(
        self,
        stream: str,
        key: int | None,
        tie: int | None,
        source: int,
        item: T,
        *,
        batch: object = None,
        prev: int | None = None,
    ) -> list[T]:
        """The updates to deliver now, in order, given ``item`` from connection ``source``.

        Outside an overlap (or without a key) that is ``item`` itself. During one, the
        old connection's updates go first and the new one's wait (see module docstring).
        Held updates are released only by the new connection's own calls (or by
        ``release``, while the new connection's are held), so that one thread at a
        time delivers a stream.

        ``batch`` names what the reader hands over together: a reader that delivers a
        received chunk's updates only after the whole chunk passes the same value for
        all of them (its receive time), so that only an offer from a later batch counts
        as proof that an earlier update left. ``None``: each update alone.

        ``prev``: the key the update before this one ended at, when the update says so
        (an update covering several ids); ``None``: ``key - 1``."""
        entry = self._overlap.get(stream)
        if entry is None or key is None:
            return [item] if self.admit(stream, key, tie) else []
        count = self._offers.get(source, 0)
        if batch is None or self._batches.get(source) != batch:
            count = self._offers[source] = count + 1
            self._batches[source] = batch
        if source < entry.new_from:  # the old connection
            if entry.switched:
                self.dropped += 1
                return []
            out = [item] if self.admit(stream, key, tie) else []
            entry.old, entry.old_mark = source, count
            held = entry.held
            while held and self._delivered(stream, held[0][0], held[0][1]):
                held.popleft()  # the old connection delivered it: nothing to keep
                self.dropped += 1
            if not held:
                self._holding.discard(stream)
            return out
        if entry.switched:
            return [item] if self.admit(stream, key, tie) else []
        if not entry.releasing and self._old_done(entry):
            first = entry.held[0][:3] if entry.held else (key, tie, prev)
            if self._caught_up(stream, *first):
                entry.switched = True
                released = self._release(stream, entry)
                return [*released, item] if self.admit(stream, key, tie) else released
        entry.held.append((key, tie, prev, item))
        self._holding.add(stream)
        if len(entry.held) > self._max_held:  # never unbounded: a gap
            if not entry.gapped:
                self.overflows += 1
            self._gap(entry)
            if entry.releasing or not self._old_done(entry):
                # What the old reader (or ``release``'s caller) delivered last may not
                # have reached the callbacks yet: released now, these newer updates
                # would overtake it. Shed the oldest instead; switch once it is done.
                entry.held.popleft()
                self.shed += 1
                return []
            entry.switched = True
            return self._release(stream, entry)
        return []

    def _gap(self, entry: _Overlap[T]) -> None:
        """Count a gap for the stream of ``entry``, once per overlap."""
        if not entry.gapped:
            entry.gapped = True
            self.gaps += 1

    def _delivered(self, stream: str, key: int, tie: int | None) -> bool:
        last = self._last.get(stream)
        if last is None or key > last:
            return False
        return key < last or tie is None or tie in self._ties.get(stream, ())

    def _old_done(self, entry: _Overlap[T]) -> bool:
        """The old connection's reader finished delivering its last update of the
        stream (it has offered one from a later batch since, or none at all): the new
        one's deliveries cannot overtake it."""
        return entry.old == 0 or self._offers.get(entry.old, 0) > entry.old_mark

    def _caught_up(self, stream: str, key: int, tie: int | None, prev: int | None) -> bool:
        """The old connection delivered up to the update before ``key`` (which ended
        at ``prev``, or ``key - 1``), or past it."""
        last = self._last.get(stream)
        if last is None:
            return False
        if last >= key:
            return True
        # Keys shared by distinct updates (``tie``) say nothing of what came just before.
        if tie is not None:
            return False
        return last == (key - 1 if prev is None else prev)

    def _release(self, stream: str, entry: _Overlap[T]) -> list[T]:
        released = [item for key, tie, _, item in entry.held if self.admit(stream, key, tie)]
        entry.held.clear()
        self._holding.discard(stream)
        return released

    def release(self, streams: Iterable[str]) -> list[tuple[str, T]]:
        """The old connection is retired: what ``streams`` hold goes out, in order.

        Call it again after delivering what it returned, until it returns nothing:
        meanwhile the new connection's updates of those streams are held too, and a
        stream switches (the new connection delivers it directly) only once a call
        finds nothing held but repeats, so its updates never overtake the released
        ones. A call that returns nothing has switched every stream. A stream
        whose old connection had not caught up counts a gap."""
        out: list[tuple[str, T]] = []
        for stream in streams:
            entry = self._overlap.get(stream)
            if entry is None or entry.switched:
                continue
            if not entry.held:
                entry.switched = True
                continue
            if not entry.releasing and not self._caught_up(stream, *entry.held[0][:3]):
                self._gap(entry)
            released = self._release(stream, entry)
            # Only repeats held: nothing goes out that the new reader could overtake, so
            # switch now. Left releasing, it would hold the new connection's updates until
            # ``end`` discards them, since a round that returns nothing is the last.
            entry.switched = not released
            entry.releasing = bool(released)
            out += [(stream, item) for item in released]
        return out

    def settled(self, streams: Iterable[str]) -> bool:
        """No stream among ``streams`` holds updates waiting for the old connection."""
        holding = self._holding
        return not holding or holding.isdisjoint(streams)

    def admit(self, stream: str, key: int | None, tie: int | None = None) -> bool:
        """Record ``key`` for ``stream``; False if it was already delivered during an overlap.

        ``tie`` (a digest of the update) is for keys that distinct updates may share:
        an update at the last key is then a repeat only if its digest was seen there.
        Without it, equal keys are repeats."""
        if key is None:
            return True
        last = self._last.get(stream)
        if last is not None and key == last:
            repeat = tie is None or tie in self._ties.get(stream, ())
        else:
            repeat = last is not None and key < last
        if repeat and stream in self._overlap:
            self.dropped += 1
            return False
        if last is None or key > last:
            self._last[stream] = key
            if tie is not None:
                self._ties[stream] = {tie}
            else:
                self._ties.pop(stream, None)
        elif key == last and tie is not None:
            ties = self._ties.setdefault(stream, set())
            if len(ties) < MAX_TIES:
                ties.add(tie)
        return True

    def last(self, stream: str) -> int | None:
        return self._last.get(stream)

    def begin(self, streams: Iterable[str]) -> None:
        """Two connections will carry ``streams`` until ``end``: the newest source
        (the replacement, made just before) and later ones are the new side."""
        for stream in streams:
            entry = self._overlap.get(stream)
            if entry is None:
                self._overlap[stream] = _Overlap(self._sources)
            else:
                entry.count += 1
                entry.new_from = self._sources
                entry.switched = entry.releasing = entry.gapped = False

    @property
    def active(self) -> bool:
        """Some stream is in an overlap: only then are keys worth reading."""
        return bool(self._overlap)

    def end(self, streams: Iterable[str]) -> None:
        for stream in streams:
            entry = self._overlap.get(stream)
            if entry is None:
                continue
            entry.count -= 1
            if entry.count <= 0:
                del self._overlap[stream]
                self._holding.discard(stream)
        if not self._overlap:
            self._offers.clear()
            self._batches.clear()

    def forget(self, stream: str) -> None:
        """The stream is no longer subscribed anywhere: its next update starts afresh."""
        self._last.pop(stream, None)
        self._ties.pop(stream, None)

    def in_overlap(self, stream: str) -> bool:
        return stream in self._overlap

    def overlapping(self) -> set[str]:
        return set(self._overlap)


def rotation_deadline(
    opened_at: float,
    max_age: float,
    *,
    jitter: float,
    index: int,
    stagger: float,
    rng: random.Random | None = None,
) -> float:
    """When a connection opened at ``opened_at`` should be replaced.

    Ahead of ``max_age`` by a random share of ``jitter`` and by ``index * stagger``,
    so that connections opened together do not all reconnect in the same instant
    (the exchange limits connection attempts per IP)."""
    draw = (rng or random).random() * jitter
    return opened_at + max(0.0, max_age - draw - index * stagger)
