"""The meeting point of readers and consumers: waiters, callbacks and the dispatcher.

A client owns one hub shared by all its connections, so message hashes
(``ticker:BTC/USDT``) are the client's, whichever socket carries them.
Waiters are resolved on the reader thread (a future's ``set_result`` runs no
user code here: futures are internal); callbacks go through the dispatcher.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from .._core.events import Deferred, Delivery, Policy
from .._core.pending import Overflow
from .._core.router import Handle, Router
from .._exceptions import ClientClosed, RequestTimeout
from .._signals import send, signals
from .dispatcher import Admit, Dispatcher
from .futures import reject, resolve


class Hub:
    """Thread-safe registry of waiters and callbacks by message hash."""

    def __init__(
        self,
        *,
        owner: Any = None,
        name: str = "ccxtpro_sync",
        max_items: int = 10_000,
        overflow: Mapping[str, str | Overflow] | None = None,
        max_lag: float = 5.0,
    ):
        self._owner = owner if owner is not None else self
        self._lock = threading.Lock()
        self._router: Router[Future[Any]] = Router()
        self._with_callbacks, self._with_waiters = self._router.tables()
        self._closed: BaseException | None = None
        #: Filters each update as it is queued for callbacks (under the dispatcher's
        #: lock, so queueing order is the order it decided): e.g. user data never
        #: hands ``on_orders`` an order state older than one it already handed over.
        self.admit: Admit | None = None
        self.dispatcher = Dispatcher(
            self._router.callbacks,
            owner=self._owner,
            name=f"{name}-dispatcher",
            max_items=max_items,
            overflow=overflow,
            max_lag=max_lag,
        )

    # -- readers ------------------------------------------------------------------
    def deliver(
        self, delivery: Delivery, source: str = "", *, url: str = "", wake: bool = True
    ) -> float:
        """Hand one update to its waiters (now) and callbacks (via the dispatcher;
        ``wake=False`` leaves waking it to a later ``dispatcher.wake()``). ``source``
        and ``url`` name the connection it came from, for telemetry. Returns the
        seconds the caller waited for the dispatcher (backpressure)."""
        return self.deliver_many((delivery,), source, url=url, wake=wake)

    def deliver_many(
        self,
        deliveries: Iterable[Delivery],
        source: str = "",
        *,
        url: str = "",
        wake: bool = True,
        stop: threading.Event | None = None,
    ) -> float:
        """:meth:`deliver` for a reader's whole burst, in order: one dispatcher lock
        for all of it instead of one per frame. Waiters are resolved before the
        callback queue can make the caller wait: a full queue never delays them.
        ``stop`` ends such a wait once set (``Dispatcher.put_many``)."""
        with_waiters = self._with_waiters
        if with_waiters:  # else no hash has a waiter: skip the pass over the burst
            if not isinstance(deliveries, (list, tuple)):
                deliveries = list(deliveries)  # iterated twice
            for delivery in deliveries:
                # Unlocked membership checks are safe under the GIL; a waiter added just
                # after the check simply waits for the next update.
                if delivery.message_hash in with_waiters:
                    self._resolve_waiters(delivery, source, url)
        if self._with_callbacks:
            return self.dispatcher.put_many(
                deliveries, wake=wake, admit=self.admit, wanted=self._with_callbacks, stop=stop
            )
        return 0.0

    def _resolve_waiters(self, delivery: Delivery, source: str, url: str) -> None:
        value = delivery.value
        if type(value) is Deferred:
            value = value.resolve()  # None: superseded by a resync, wait for the next
        if value is None:
            return
        message_hash = delivery.message_hash
        with self._lock:
            futures = self._router.pop_waiters(message_hash)
        count = resolve(futures, value)
        if count and signals.message_hash_resolved.receivers:
            send(
                signals.message_hash_resolved,
                self._owner,
                url=url,
                name=source,
                message_hash=message_hash,
                waiters=count,
            )

    def reject(self, message_hashes: Iterable[str], error: BaseException) -> None:
        """Fail the waiters of some hashes (e.g. a refused subscription)."""
        with self._lock:
            futures = [f for h in message_hashes for f in self._router.pop_waiters(h)]
        reject(futures, error)

    def reject_where(self, match: Callable[[str], bool], error: BaseException) -> None:
        """Fail the waiters of every hash ``match`` accepts (a connection gave up)."""
        with self._lock:
            futures = [
                f
                for h in self._router.waiting_hashes()
                if match(h)
                for f in self._router.pop_waiters(h)
            ]
        reject(futures, error)

    # -- consumers ----------------------------------------------------------------
    def waiter(self, message_hashes: Iterable[str]) -> Future[Any]:
        """Register interest in the next update on any of the hashes; returns its future."""
        with self._lock:
            if self._closed is not None:
                raise self._closed
            return self._router.add_waiter(message_hashes, Future())

    def wait(self, future: Future[Any], timeout: float | None, what: str) -> Any:
        """Block on a waiter; on timeout forget it and raise ``RequestTimeout``.

        Whatever ends the wait (a value, the timeout, ``KeyboardInterrupt``, an
        ``OverflowError`` from a huge timeout) the waiter is unregistered."""
        try:
            return future.result(timeout)
        except FutureTimeout:
            if future.done():  # resolved in the meantime: keep the value
                return future.result()
            raise RequestTimeout(f"timed out after {timeout}s waiting for {what}") from None
        finally:
            # Also when resolved: a waiter on several hashes stays under the others.
            with self._lock:
                self._router.discard_waiter(future)

    def discard_waiter(self, future: Future[Any]) -> None:
        """Forget a waiter that will not be waited on after all."""
        with self._lock:
            self._router.discard_waiter(future)
        future.cancel()

    def add_callback(self, message_hash: str, callback: Callable[[Any], object]) -> Handle:
        with self._lock:
            if self._closed is not None:
                raise self._closed
            return self._router.add_callback(message_hash, callback)

    def remove_callback(self, handle: Handle) -> bool:
        with self._lock:
            return self._router.remove_callback(handle)

    def is_wanted(self, message_hash: str) -> bool:
        return self._router.is_wanted(message_hash)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counts: dict[str, Any] = {
                "waiters": self._router.waiter_count(),
                "callbacks": self._router.callback_count(),
            }
        return counts | self.dispatcher.stats()

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def close(self, error: BaseException | None = None, timeout: float | None = 5.0) -> None:
        """Wake every waiter with ``error`` (``ClientClosed`` by default); stop callbacks."""
        with self._lock:
            if self._closed is None:
                self._closed = error or ClientClosed("client closed")
            futures = self._router.pop_all_waiters()
            error = self._closed
        reject(futures, error)
        self.dispatcher.close(timeout)


__all__ = ["Hub", "Overflow", "Policy"]
