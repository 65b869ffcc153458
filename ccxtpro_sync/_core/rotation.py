"""Make-before-break rotation, sans-I/O: what to drop while two connections overlap.

While a replacement connection takes over a stream, both connections deliver it.
Each carries the stream in order, so keeping only updates whose key (update id,
trade id or event time, chosen by the exchange package) is above the last one
delivered yields every update once: the old connection covers up to the switch,
the new one from its first confirmed update on.

``DeliveredKeys`` remembers the last delivered key it is given per stream and drops
only for streams in an overlap. A router gives it keys only while a rotation is under
way (``active``), so the hot path reads no key otherwise: the replacement subscribes
after ``begin``, so none of its updates can be older than what the old connection
delivered before that. ``first_new`` is the same rule
for a batch. Not thread-safe: its owner serialises access.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

__all__ = ["DeliveredKeys", "first_new", "rotation_deadline"]

#: Distinct updates remembered at one shared key (a hostile peer cannot grow it).
MAX_TIES = 64


def first_new(last: int | None, keys: Sequence[int]) -> int:
    """Index of the first of ``keys`` (in arrival order) not already delivered."""
    if last is None:
        return 0
    for index, key in enumerate(keys):
        if key > last:
            return index
    return len(keys)


class DeliveredKeys:
    """The last delivered key per stream, and the streams currently overlapping."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        #: Digests of the updates delivered at the last key, for keys that several
        #: distinct updates may share (event times): bounded per stream.
        self._ties: dict[str, set[int]] = {}
        self._overlap: dict[str, int] = {}  # stream -> rotations in progress
        #: Updates dropped as already delivered (for figures and tests).
        self.dropped = 0

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
        """Two connections will carry ``streams`` until ``end``."""
        for stream in streams:
            self._overlap[stream] = self._overlap.get(stream, 0) + 1

    @property
    def active(self) -> bool:
        """Some stream is in an overlap: only then are keys worth reading."""
        return bool(self._overlap)

    def end(self, streams: Iterable[str]) -> None:
        for stream in streams:
            count = self._overlap.get(stream, 0) - 1
            if count > 0:
                self._overlap[stream] = count
            else:
                self._overlap.pop(stream, None)

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
