"""What ``on_*`` and ``stream_*`` hand back: a callback handle and a blocking iterator."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from .._core.events import Policy
from .._exceptions import RequestTimeout

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

    Updates are buffered with the stream's policy while the loop body runs:
    ``LATEST`` streams keep only the newest value, ``APPEND`` streams (trades,
    candles) concatenate up to ``max_items`` and yield lists. Each ``next()``
    waits at most ``timeout`` seconds (``RequestTimeout``); ``close()`` (or
    leaving a ``with`` block, or breaking out of the loop and dropping the
    stream) unsubscribes.
    """

    def __init__(
        self,
        description: str,
        policy: Policy,
        *,
        timeout: float | None,
        max_items: int = 10_000,
    ) -> None:
        self.description = description
        self._policy = policy
        self._timeout = timeout
        self._max_items = max_items
        self._cond = threading.Condition()
        self._items: list[Any] = []
        self._latest: tuple[Any] | None = None
        self._closed = False
        self._error: BaseException | None = None
        self._subscription: Subscription | None = None
        #: Items discarded because the consumer fell more than ``max_items`` behind.
        self.dropped = 0

    def attach(self, subscription: Subscription) -> None:
        self._subscription = subscription

    def push(self, value: Any) -> None:
        """Called on the dispatcher thread with each update."""
        with self._cond:
            if self._closed:
                return
            if self._policy is Policy.LATEST:
                self._latest = (value,)
            else:
                self._items.extend(value)
                overflow = len(self._items) - self._max_items
                if overflow > 0:
                    del self._items[:overflow]
                    self.dropped += overflow
            self._cond.notify()

    def fail(self, error: BaseException) -> None:
        with self._cond:
            self._error = error
            self._cond.notify_all()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        with self._cond:
            while True:
                if self._latest is not None:
                    value = self._latest[0]
                    self._latest = None
                    return value  # type: ignore[no-any-return]
                if self._items:
                    items, self._items = self._items, []
                    return items  # type: ignore[return-value]
                if self._error is not None:
                    raise self._error
                if self._closed:
                    raise StopIteration
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

    def __del__(self) -> None:
        # A loop that was broken out of and forgotten should not keep a subscription.
        try:
            if not self._closed and self._subscription is not None:
                self._subscription.cancel()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"<Stream {self.description}{' closed' if self._closed else ''}>"
