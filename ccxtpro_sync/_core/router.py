"""Routing of message hashes to callbacks and one-shot waiters.

The router is plain bookkeeping with no locks of its own; the connection
guards mutations with a lock that is never held while user code runs.
Callback lists are immutable tuples replaced on change (copy-on-write), so
the hot path reads them without any lock.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any

Callback = Callable[[Any], object]


@dataclass(frozen=True, slots=True)
class Handle:
    """Identifies one registered callback; pass it back to remove the callback."""

    message_hash: str
    callback: Callback
    serial: int


class Router:
    """Maps message hashes to callbacks (many-shot) and waiters (one-shot futures)."""

    __slots__ = ("_callbacks", "_serial", "_waiters")

    def __init__(self) -> None:
        self._callbacks: dict[str, tuple[Handle, ...]] = {}
        self._waiters: dict[str, list[Future[Any]]] = {}
        self._serial = itertools.count(1)

    # -- callbacks ---------------------------------------------------------
    def add_callback(self, message_hash: str, callback: Callback) -> Handle:
        handle = Handle(message_hash, callback, next(self._serial))
        self._callbacks[message_hash] = (*self._callbacks.get(message_hash, ()), handle)
        return handle

    def remove_callback(self, handle: Handle) -> bool:
        """Remove one callback; returns False if it was already gone."""
        current = self._callbacks.get(handle.message_hash, ())
        remaining = tuple(h for h in current if h.serial != handle.serial)
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
    def add_waiter(self, message_hashes: Iterable[str]) -> Future[Any]:
        """A future resolved by the next delivery on any of ``message_hashes``."""
        future: Future[Any] = Future()
        for message_hash in message_hashes:
            self._waiters.setdefault(message_hash, []).append(future)
        return future

    def discard_waiter(self, future: Future[Any]) -> None:
        """Forget a waiter everywhere (after it timed out or resolved elsewhere)."""
        for message_hash in [h for h, fs in self._waiters.items() if future in fs]:
            waiters = [f for f in self._waiters[message_hash] if f is not future]
            if waiters:
                self._waiters[message_hash] = waiters
            else:
                del self._waiters[message_hash]

    def pop_waiters(self, message_hash: str) -> list[Future[Any]]:
        """Take the waiters of one hash; the caller resolves them outside the lock."""
        return self._waiters.pop(message_hash, None) or []

    def pop_all_waiters(self) -> list[Future[Any]]:
        unique: dict[int, Future[Any]] = {}
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

    def is_wanted(self, message_hash: str) -> bool:
        return message_hash in self._callbacks or message_hash in self._waiters


def resolve(futures: Iterable[Future[Any]], value: Any) -> int:
    """Set a result on each future still pending; returns how many were resolved."""
    resolved = 0
    for future in futures:
        try:
            future.set_result(value)
            resolved += 1
        except InvalidStateError:  # timed out or resolved through another hash
            pass
    return resolved


def reject(futures: Iterable[Future[Any]], error: BaseException) -> None:
    """Set an exception on each future still pending."""
    for future in futures:
        with contextlib.suppress(InvalidStateError):
            future.set_exception(error)
