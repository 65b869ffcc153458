"""The bounded store of updates waiting for the callback dispatcher.

One entry per message hash, kept in order of first arrival. A hash with the
``LATEST`` policy holds only its newest value; a hash with ``APPEND`` holds a
list of items, bounded by ``max_items``. What happens past the bound is the
entry's :class:`Overflow` mode: ``DROP_OLDEST`` trims at once (counted),
``LATEST`` keeps only the newest update, ``BLOCK`` leaves the entry over the
bound for the producer to wait on (:meth:`PendingUpdates.excess`) and trim
later (:meth:`PendingUpdates.trim`) -- this store never waits itself.
Memory is therefore bounded by the number of subscribed hashes (plus, for
``BLOCK``, one producer batch), whatever the callbacks do.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from .events import Policy


class Overflow(enum.Enum):
    """What an ``APPEND`` stream does when its consumer falls ``max_items`` behind.

    ``BLOCK``: the producer (the reader) waits for the consumer, up to a lag bound,
    and only then drops the oldest items. ``DROP_OLDEST``: drop the oldest items at
    once. ``LATEST``: keep only the newest update, like a ticker.
    """

    BLOCK = "block"
    DROP_OLDEST = "drop_oldest"
    LATEST = "latest"


class PendingUpdates:
    """Per-hash coalescing FIFO. Not thread-safe; the dispatcher guards it."""

    __slots__ = ("_entries", "_since", "coalesced", "dropped", "entries", "max_items", "queued")

    def __init__(self, max_items: int = 10_000) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self._entries: OrderedDict[str, list[Any] | tuple[Any]] = OrderedDict()
        #: The same live mapping, read only: its owner tests emptiness with it on every
        #: hand-over without calling ``__bool__`` (a Python call) under its lock.
        self.queued: Mapping[str, object] = self._entries
        #: The same live mapping, for an owner's per-message hot loop (the dispatcher
        #: queueing a burst), which may only do what :meth:`latest` does (counting its
        #: replacements into ``coalesced``) and append to an existing APPEND list in
        #: place, as :meth:`extend` does; new APPEND entries go through the methods,
        #: which start their clock.
        self.entries: dict[str, list[Any] | tuple[Any]] = self._entries
        #: When each APPEND entry was created (the ``now`` given to :meth:`put`), oldest
        #: first: its lag. LATEST values are always current and are not timed.
        self._since: dict[str, float] = {}
        #: Values replaced by a newer one before delivery (LATEST).
        self.coalesced = 0
        #: Items discarded because an APPEND entry went past ``max_items``.
        self.dropped = 0

    def put(
        self,
        message_hash: str,
        value: Any,
        policy: Policy,
        overflow: Overflow = Overflow.DROP_OLDEST,
        now: float = 0.0,
    ) -> int:
        """Queue an update; returns how many older items it pushed out (0 normally).
        With ``Overflow.BLOCK`` nothing is pushed out: see :meth:`excess`."""
        entries = self._entries
        if policy is Policy.LATEST or overflow is Overflow.LATEST:
            if message_hash in entries:
                self.coalesced += 1
            # A 1-tuple marks a LATEST value; lists are APPEND accumulators.
            entries[message_hash] = (value,)
            return 0
        pending = entries.get(message_hash)
        if pending is None or isinstance(pending, tuple):
            self._since[message_hash] = now
            pending = list(value)
            entries[message_hash] = pending
        else:
            pending.extend(value)
        if overflow is Overflow.BLOCK:
            return 0
        return self.trim(message_hash)

    def latest(self, message_hash: str, value: Any) -> None:
        """``put`` of a ``LATEST`` update (the hot path of tickers and books)."""
        entries = self._entries
        if message_hash in entries:
            self.coalesced += 1
        entries[message_hash] = (value,)

    def extend(self, message_hash: str, items: Any, now: float) -> int:
        """``put`` of an ``APPEND`` update with ``Overflow.BLOCK`` (the hot path of
        trades): nothing is pushed out; returns how many items the entry now holds."""
        entries = self._entries
        pending = entries.get(message_hash)
        if pending is None or type(pending) is tuple:
            self._since[message_hash] = now
            pending = entries[message_hash] = list(items)
        else:
            pending += items
        return len(pending)

    def excess(self, message_hash: str) -> int:
        """Items an APPEND entry holds beyond ``max_items`` (0 if none or not pending)."""
        pending = self._entries.get(message_hash)
        if pending is None or isinstance(pending, tuple):
            return 0
        return len(pending) - self.max_items

    def size(self, message_hash: str) -> int:
        """Items pending for a hash (a LATEST value counts as one)."""
        pending = self._entries.get(message_hash)
        return 0 if pending is None else len(pending)

    def trim(self, message_hash: str) -> int:
        """Drop the oldest items of an entry beyond ``max_items``; returns how many."""
        pending = self._entries.get(message_hash)
        if pending is None or isinstance(pending, tuple):
            return 0
        overflow = len(pending) - self.max_items
        if overflow > 0:
            del pending[:overflow]
            self.dropped += overflow
            return overflow
        return 0

    def since(self, message_hash: str) -> float | None:
        """When the pending APPEND entry of a hash was created, or None if it has none."""
        return self._since.get(message_hash)

    def lag(self, now: float) -> float:
        """Age of the oldest pending APPEND entry (0.0 if none): how far behind delivery is."""
        for since in self._since.values():  # the first is the oldest
            return max(0.0, now - since)
        return 0.0

    def pop(self) -> tuple[str, Any] | None:
        """The oldest pending entry and its value, or None when empty."""
        if not self._entries:
            return None
        message_hash, pending = self._entries.popitem(False)  # positional: no keyword parsing
        self._since.pop(message_hash, None)
        if type(pending) is tuple:
            return message_hash, pending[0]
        return message_hash, pending

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._since.clear()
