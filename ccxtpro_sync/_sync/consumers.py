"""What ``on_*`` and ``stream_*`` hand back: a callback handle and a blocking iterator."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from .._core.events import Policy
from .._core.pending import PendingUpdates
from .._exceptions import NotSupported, RequestTimeout

T = TypeVar("T")


class Subscription:
    """A registered callback. ``cancel()`` removes it and releases its streams.

    Also a context manager, so ``with client.on_ticker(...):`` scopes a handler.
    """

    def __init__(
        self,
        description: str,
        cancel: Callable[[], None],
        *,
        detach: Callable[[], None] | None = None,
        on_fail: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.description = description
        self._cancel: Callable[[], None] | None = cancel
        self._detach = detach
        self._on_fail = on_fail
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._cancel is not None

    @property
    def error(self) -> BaseException | None:
        """The final error that ended this subscription (its connection gave up or was
        closed with ``close_connection``); None while active or after ``cancel()``."""
        return self._error

    def fail(self, error: BaseException) -> None:
        """End the subscription with a final error: the callback is removed and nothing
        is unsubscribed (the connection carrying it is gone). Idempotent."""
        with self._lock:
            if self._cancel is None:
                return
            self._cancel = None
            self._error = error
        if self._detach is not None:
            self._detach()
        if self._on_fail is not None:
            self._on_fail(error)

    def cancel(self) -> None:
        """Stop the callback and unsubscribe when nothing else needs the stream. Idempotent."""
        with self._lock:
            cancel, self._cancel = self._cancel, None
        if cancel is not None:
            cancel()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __repr__(self) -> str:
        state = "active" if self.active else "failed" if self._error else "cancelled"
        return f"<Subscription {self.description} {state}>"


class Stream(Generic[T]):
    """An iterator over updates: ``for ticker in client.stream_ticker("BTC/USDT"): ...``.

    Updates are buffered per message hash with the stream's policy while the loop
    body runs (the same ``PendingUpdates`` store as callbacks): ``LATEST`` streams
    keep the newest value of each hash (over several symbols, each ``next()`` yields
    one symbol's newest, oldest first), ``APPEND`` streams (trades, candles) keep up
    to ``max_items`` per hash and yield everything pending as one list. Each ``next()``
    waits at most ``timeout`` seconds (``RequestTimeout``); ``close()`` (or
    leaving a ``with`` block) unsubscribes; so does breaking out of the loop and
    dropping the stream, at the next update of its streams (see :meth:`pusher`).
    """

    def __init__(
        self,
        description: str,
        policy: Policy,
        *,
        timeout: float | None,
        max_items: int = 10_000,
        feeding: Callable[[], bool] | None = None,
    ) -> None:
        self.description = description
        #: Whether the calling thread is the one that feeds this stream (the dispatcher).
        self._feeding = feeding
        self._policy = policy
        self._timeout = timeout
        self._cond = threading.Condition()
        # Coalesced per message hash: a LATEST stream over several symbols keeps
        # each symbol's newest value, not one value for all.
        self._pending = PendingUpdates(max_items)
        self._closed = False
        self._error: BaseException | None = None
        self._subscription: Subscription | None = None
        #: The subscription once attached, shared with the pushers (which must not
        #: hold the stream itself).
        self._held: list[Subscription] = []

    @property
    def dropped(self) -> int:
        """Items discarded because the consumer fell more than ``max_items`` behind."""
        return self._pending.dropped

    def attach(self, subscription: Subscription) -> None:
        self._subscription = subscription
        self._held.append(subscription)

    def pusher(self, message_hash: str) -> Callable[[Any], None]:
        """The callback that feeds this stream the updates of one message hash.

        It holds the stream weakly: a loop broken out of and forgotten leaves no
        reference, and the stream goes. Its next update, on the dispatcher thread (no
        library lock held, as for any callback), then cancels the subscription:
        never the garbage collector, which may run on any thread and under any lock."""
        stream = weakref.ref(self)
        held = self._held

        def push(value: Any) -> None:
            alive = stream()
            if alive is not None:
                alive.push(value, message_hash)
            elif held:
                held[0].cancel()

        return push

    def failer(self) -> Callable[[BaseException], None]:
        """``fail`` holding the stream weakly (see :meth:`pusher`)."""
        stream = weakref.ref(self)

        def fail(error: BaseException) -> None:
            alive = stream()
            if alive is not None:
                alive.fail(error)

        return fail

    def push(self, value: Any, message_hash: str = "") -> None:
        """Called on the dispatcher thread with each update of ``message_hash``."""
        with self._cond:
            if self._closed:
                return
            self._pending.put(message_hash, value, self._policy)
            self._cond.notify()

    def fail(self, error: BaseException) -> None:
        with self._cond:
            self._error = error
            self._cond.notify_all()

    def __iter__(self) -> Iterator[T]:
        return self

    def _take(self) -> Any:
        """The next value (call with the condition held and something pending)."""
        pending = self._pending
        entry = pending.pop()
        assert entry is not None
        if self._policy is Policy.LATEST:
            return entry[1]  # one hash's newest value; the others stay queued
        items: list[Any] = list(entry[1])
        while (entry := pending.pop()) is not None:
            items += entry[1]
        return items

    def __next__(self) -> T:
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        with self._cond:
            while True:
                if self._pending:
                    return self._take()  # type: ignore[no-any-return]
                if self._error is not None:
                    raise self._error
                if self._closed:
                    raise StopIteration
                if self._feeding is not None and self._feeding():
                    # In a callback: this stream's updates come from this very thread,
                    # which would wait for itself until the timeout. Say so instead.
                    raise NotSupported(
                        f"iterating {self.description} in an on_* callback: its updates "
                        "are delivered by the thread running the callback; iterate it on "
                        "another thread, or use on_* here"
                    )
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise RequestTimeout(f"no update on {self.description} within {self._timeout}s")
                self._cond.wait(remaining)

    def close(self) -> None:
        """Unsubscribe and end the iteration. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        if self._subscription is not None:
            self._subscription.cancel()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Stream {self.description}{' closed' if self._closed else ''}>"
