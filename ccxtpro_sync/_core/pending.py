"""The bounded store of updates waiting for the callback dispatcher.

One entry per message hash, kept in order of first arrival. A hash with the
``LATEST`` policy holds only its newest value; a hash with ``APPEND`` holds a
list of items capped at ``max_items`` (the oldest are dropped and counted).
Memory is therefore bounded by the number of subscribed hashes, whatever the
callbacks do: a slow consumer loses intermediate values, never the stream.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from .events import Policy


class PendingUpdates:
    """Per-hash coalescing FIFO. Not thread-safe; the dispatcher guards it."""

    __slots__ = ("_entries", "coalesced", "dropped", "max_items")

    def __init__(self, max_items: int = 10_000) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self._entries: OrderedDict[str, list[Any] | tuple[Any]] = OrderedDict()
        #: Values replaced by a newer one before delivery (LATEST).
        self.coalesced = 0
        #: Items discarded because an APPEND entry hit ``max_items``.
        self.dropped = 0

    def put(self, message_hash: str, value: Any, policy: Policy) -> int:
        """Queue an update; returns how many older items it pushed out (0 normally)."""
        entries = self._entries
        if policy is Policy.LATEST:
            if message_hash in entries:
                self.coalesced += 1
            # A 1-tuple marks a LATEST value; lists are APPEND accumulators.
            entries[message_hash] = (value,)
            return 0
        pending = entries.get(message_hash)
        if pending is None or isinstance(pending, tuple):
            pending = list(value)
            entries[message_hash] = pending
        else:
            pending.extend(value)
        overflow = len(pending) - self.max_items
        if overflow > 0:
            del pending[:overflow]
            self.dropped += overflow
            return overflow
        return 0

    def pop(self) -> tuple[str, Any] | None:
        """The oldest pending entry and its value, or None when empty."""
        if not self._entries:
            return None
        message_hash, pending = self._entries.popitem(last=False)
        if isinstance(pending, tuple):
            return message_hash, pending[0]
        return message_hash, pending

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def clear(self) -> None:
        self._entries.clear()
