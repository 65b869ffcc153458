"""Raw-log entries of live items a gap holds back, released with the items (sans-I/O).

While a ``GapFiller`` holds live items until the missed ones are fetched, the raw
log must not record their frames ahead of the fetched page: a replay delivers in
log order, and would deliver the held items before the backfilled ones. So each
held item's raw entry waits here and goes out right after the item is delivered,
in the same handover, behind the page's own entry.
"""

from __future__ import annotations

from collections.abc import Hashable

from .events import Delivery


class HeldRaw:
    """Per gap-filled stream, the raw entries of the items its filler holds, in order."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held: dict[Hashable, list[Delivery]] = {}

    def hold(self, stream: Hashable, raw: Delivery) -> None:
        """The frame of an item the filler just held."""
        self._held.setdefault(stream, []).append(raw)

    def release(self, stream: Hashable, still_held: int) -> list[Delivery]:
        """The entries of items no longer held. Items leave the filler's hold from the
        front (the ones left are its tail), so the last ``still_held`` entries stay."""
        entries = self._held.get(stream)
        if not entries:
            return []
        keep = min(still_held, len(entries))
        out = entries[: len(entries) - keep]
        if keep:
            self._held[stream] = entries[len(entries) - keep :]
        else:
            del self._held[stream]
        return out
