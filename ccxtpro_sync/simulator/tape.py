"""Fixed-size rings of trades for REST, allocated once so memory stays flat as they fill.

A trade is a handful of integers (ids, ticks, lots, milliseconds, a flag), so a ring
is one ``array('q')`` sized up front: appending stores raw integers and allocates
nothing, and objects are only rebuilt when REST reads them. Index 0 is the oldest.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar, overload

T = TypeVar("T")


class Tape(Sequence[T], Generic[T]):
    """The last ``size`` records of ``fields`` (integer or bool attributes); ``make``
    rebuilds a record from its integers, in ``fields`` order."""

    def __init__(
        self, size: int, fields: tuple[str, ...], make: Callable[[Sequence[int]], T]
    ) -> None:
        if size < 1:
            raise ValueError("a tape holds at least one record")
        self.size = size
        self._fields = fields
        self._width = len(fields)
        self._make = make
        self._ring = array("q", [0]) * (size * self._width)
        self._count = 0  # records ever appended

    def append(self, record: object) -> None:
        base = (self._count % self.size) * self._width
        ring = self._ring
        for offset, name in enumerate(self._fields):
            ring[base + offset] = int(getattr(record, name))
        self._count += 1

    def extend(self, records: Iterable[object]) -> None:
        for record in records:
            self.append(record)

    def __len__(self) -> int:
        return min(self._count, self.size)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("tape index out of range")
        slot = (self._count - size + index) % self.size
        base = slot * self._width
        return self._make(self._ring[base : base + self._width])

    def __iter__(self) -> Iterator[T]:
        for index in range(len(self)):
            yield self[index]
