"""The callback dispatcher: user callbacks run here, never on the reader thread.

The reader hands updates to ``put_many`` and returns at once; the dispatcher
thread takes them from a bounded, per-hash coalescing store (see
``_core.pending``) and calls every callback registered for the hash, with no
library lock held. A raising callback is logged and signalled and the next
one runs; a slow callback makes updates coalesce (``LATEST``) or drop the
oldest queued items (``APPEND``), counted and signalled, and never blocks the
reader.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .._core.events import Deferred, Delivery
from .._core.pending import PendingUpdates
from .._core.router import Handle
from .._signals import send, signals

_log = logging.getLogger("ccxtpro_sync")

CallbackLookup = Callable[[str], tuple[Handle, ...]]


#: Filters an update as it is queued: the update, a trimmed copy, or None to drop it.
Admit = Callable[[Delivery], Delivery | None]


class Dispatcher:
    """One daemon thread running callbacks in arrival order of their message hash."""

    def __init__(
        self,
        lookup: CallbackLookup,
        *,
        owner: Any = None,
        name: str = "ccxtpro_sync-dispatcher",
        max_items: int = 10_000,
    ) -> None:
        self._lookup = lookup
        self._owner = owner if owner is not None else self
        self._name = name
        self._pending = PendingUpdates(max_items)
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self._idle = True
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self.callback_errors = 0

    # -- producer side (reader threads) -------------------------------------
    def put_many(
        self,
        deliveries: Iterable[Delivery],
        *,
        wake: bool = True,
        admit: Admit | None = None,
    ) -> None:
        """Queue updates in order, under one lock for a reader's whole burst.
        ``wake=False`` leaves waking the dispatcher to a later :meth:`wake`.
        ``admit`` (pure, quick) may drop or trim each update, under the same lock
        as the queueing, so what it lets through is queued in the order it decided."""
        dropped: list[tuple[str, int]] = []
        with self._cond:
            if self._closed:
                return
            put = self._pending.put
            for admitted in deliveries:
                delivery = admitted if admit is None else admit(admitted)
                if delivery is None:
                    continue
                count = put(delivery.message_hash, delivery.value, delivery.policy)
                if count:
                    dropped.append((delivery.message_hash, count))
            if self._thread is None:
                self._start()
            if wake and self._idle:
                self._cond.notify()
        if dropped and signals.message_dropped.receivers:
            for message_hash, count in dropped:
                send(
                    signals.message_dropped,
                    self._owner,
                    message_hash=message_hash,
                    count=count,
                    reason="callback queue full",
                )

    def wake(self) -> None:
        """Let the dispatcher run what deferred puts queued (cheap when nothing waits)."""
        if self._idle and self._pending:
            with self._cond:
                if self._idle and self._pending:
                    self._cond.notify()

    # -- consumer side ---------------------------------------------------------
    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending = self._pending
        cond = self._cond
        while True:
            with cond:
                item = pending.pop()
                while item is None:
                    if self._closed:
                        return
                    self._idle = True
                    cond.wait()
                    self._idle = False
                    item = pending.pop()
            message_hash, value = item
            if type(value) is Deferred:
                value = value.resolve()
                if value is None:
                    continue
            for handle in self._lookup(message_hash):
                self._call(handle, value)

    def _call(self, handle: Handle, value: Any) -> None:
        try:
            handle.callback(value)
            self.delivered += 1
        except Exception as error:
            self.callback_errors += 1
            _log.exception("callback %r for %s raised", handle.callback, handle.message_hash)
            send(
                signals.callback_error,
                self._owner,
                message_hash=handle.message_hash,
                callback=handle.callback,
                error=error,
            )

    # -- lifecycle ---------------------------------------------------------------
    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {
                "queued": len(self._pending),
                "coalesced": self._pending.coalesced,
                "dropped": self._pending.dropped,
                "delivered": self.delivered,
                "callback_errors": self.callback_errors,
            }

    def close(self, timeout: float | None = 5.0) -> None:
        """Stop after the callback now running; pending updates are discarded. Idempotent."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
