"""Routing of message hashes to callbacks and one-shot waiters.

The router is plain bookkeeping with no locks of its own; the connection
guards mutations with a lock that is never held while user code runs. A waiter
is any object the caller makes (the hub uses ``Future``s); the router only files
it under its hashes, so this module knows nothing of threads.
Callback lists are immutable tuples replaced on change (copy-on-write), so
the hot path reads them without any lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Callback = Callable[[Any], object]
W = TypeVar("W")


@dataclass(frozen=True, slots=True, eq=False)
class Handle:
    """Identifies one registered callback; pass it back to remove the callback.

    Compared by identity: registering the same callback twice gives two handles."""

    message_hash: str
    callback: Callback


class Router(Generic[W]):
    """Maps message hashes to callbacks (many-shot) and waiters (one-shot)."""

    __slots__ = ("_callbacks", "_waiters")

    def __init__(self) -> None:
        self._callbacks: dict[str, tuple[Handle, ...]] = {}
        self._waiters: dict[str, list[W]] = {}

    # -- callbacks ---------------------------------------------------------
    def add_callback(self, message_hash: str, callback: Callback) -> Handle:
        handle = Handle(message_hash, callback)
        self._callbacks[message_hash] = (*self._callbacks.get(message_hash, ()), handle)
        return handle

    def remove_callback(self, handle: Handle) -> bool:
        """Remove one callback; returns False if it was already gone."""
        current = self._callbacks.get(handle.message_hash, ())
        remaining = tuple(h for h in current if h is not handle)
        if len(remaining) == len(current):
            return False
        if remaining:
            self._callbacks[handle.message_hash] = remaining
        else:
            del self._callbacks[handle.message_hash]
        return True

    def callbacks(self, message_hash: str) -> tuple[Handle, ...]:
        """The callbacks for a hash; safe to call without the guarding lock."""
        return self._callbacks.get(message_hash, ())

    # -- waiters -----------------------------------------------------------
    def add_waiter(self, message_hashes: Iterable[str], waiter: W) -> W:
        """File ``waiter`` for the next delivery on any of ``message_hashes``."""
        for message_hash in message_hashes:
            self._waiters.setdefault(message_hash, []).append(waiter)
        return waiter

    def discard_waiter(self, future: W) -> None:
        """Forget a waiter everywhere (after it timed out or resolved elsewhere)."""
        for message_hash in [h for h, fs in self._waiters.items() if future in fs]:
            waiters = [f for f in self._waiters[message_hash] if f is not future]
            if waiters:
                self._waiters[message_hash] = waiters
            else:
                del self._waiters[message_hash]

    def pop_waiters(self, message_hash: str) -> list[W]:
        """Take the waiters of one hash; the caller resolves them outside the lock."""
        return self._waiters.pop(message_hash, None) or []

    def pop_all_waiters(self) -> list[W]:
        unique: dict[int, W] = {}
        for futures in self._waiters.values():
            for future in futures:
                unique[id(future)] = future
        self._waiters.clear()
        return list(unique.values())

    def waiting_hashes(self) -> list[str]:
        return list(self._waiters)

    def has_waiters(self, message_hash: str) -> bool:
        return message_hash in self._waiters

    def waiter_count(self) -> int:
        return len({id(f) for fs in self._waiters.values() for f in fs})

    def callback_count(self) -> int:
        return sum(len(hs) for hs in self._callbacks.values())

    def tables(self) -> tuple[Mapping[str, tuple[Handle, ...]], Mapping[str, list[W]]]:
        """The live callback and waiter mappings, read only, for ``in`` tests on a hot
        path without a method call per update. They are mutated, never replaced, so
        references taken once stay current; a hash is present only while it has some."""
        return self._callbacks, self._waiters

    def is_wanted(self, message_hash: str) -> bool:
        return message_hash in self._callbacks or message_hash in self._waiters
