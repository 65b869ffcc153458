"""The thread that fetches REST depth snapshots for order books that need one.

Exchange-neutral: the exchange gives the request (``fetch(symbol, limit)`` → the
body) and the weight its REST answers report. The reader thread must never block
on REST, so a book that needs a snapshot only *asks* (``request``, non-blocking).
This thread fetches snapshots one at a time within the REST weight budget, honours
``Retry-After`` on 429/418, and hands each body to ``apply`` (which feeds it to the
book through the connection that carries it). A symbol asked for twice is fetched once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .._core.snapshot_scheduler import SnapshotScheduler
from .._exceptions import CcxtproSyncError, ClientClosed, DDoSProtection, RateLimitExceeded
from .lazy_thread import LazyThread

_log = logging.getLogger("ccxtpro_sync")


class SnapshotFetcher(LazyThread):
    """Fetches depth snapshots on its own daemon thread (started on first request)."""

    def __init__(
        self,
        fetch: Callable[[str, int], bytes],
        used_weight: Callable[[], int | None],
        scheduler: SnapshotScheduler,
        apply: Callable[[str, bytes, int], None],
        *,
        rest_timeout: float,
        name: str = "ccxtpro_sync-snapshots",
        default_limit: int = 1000,
    ) -> None:
        self._default_limit = default_limit
        self._fetch_body = fetch
        self._used_weight = used_weight
        self._rest_timeout = rest_timeout
        self._scheduler = scheduler
        self._apply = apply
        super().__init__(name)
        self.fetched = 0
        self.failures = 0

    def request(self, symbol: str, limit: int) -> None:
        """Ask for a snapshot of ``symbol``; returns at once (safe under other locks)."""
        self._enqueue(lambda: self._scheduler.request(symbol, limit))

    def close(self, timeout: float = 5.0) -> None:
        self._shut(timeout + self._rest_timeout)

    def admit(self, weight: int, what: str) -> None:
        """Charge a direct REST call to the shared budget, or raise ``RateLimitExceeded``
        (with ``retry_after``) without sending when a ``Retry-After`` pause is running or
        the minute's weight is used up."""
        with self._cond:
            wait = self._scheduler.admit(weight, time.monotonic())
        if wait > 0:
            raise RateLimitExceeded(
                f"{what}: REST weight budget exhausted; retry in {wait:.1f}s", retry_after=wait
            )

    def settled(self, error: BaseException | None) -> None:
        """Fold a direct call's outcome into the budget: the used weight Binance
        reported and, on 429/418, the ``Retry-After`` pause (snapshots wait too)."""
        with self._cond:
            now = time.monotonic()
            used = self._used_weight()
            if used is not None:
                self._scheduler.used_weight(used, now)
            if isinstance(error, DDoSProtection) and error.retry_after is not None:
                self._scheduler.pause(error.retry_after, now)
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    now = time.monotonic()
                    due = self._scheduler.due(now)
                    if due:
                        break
                    wake = self._scheduler.next_ready_at(now)
                    self._cond.wait(None if wake is None else max(0.0, wake - now))
            for symbol, limit in due:
                if self._closed:
                    return
                self._fetch(symbol, limit or self._default_limit)

    def _fetch(self, symbol: str, limit: int) -> None:
        try:
            body = self._fetch_body(symbol, limit)
        except DDoSProtection as error:
            self.failures += 1
            _log.warning("depth snapshot for %s throttled: %s", symbol, error)
            with self._cond:
                self._scheduler.failed(symbol, time.monotonic(), retry_after=error.retry_after)
            return
        except ClientClosed:
            return  # closing: the request was aborted on purpose
        except CcxtproSyncError as error:
            self.failures += 1
            _log.warning("depth snapshot for %s failed: %s", symbol, error)
            with self._cond:
                # None lets the scheduler back off exponentially per symbol.
                self._scheduler.failed(symbol, time.monotonic())
            return
        with self._cond:
            self._scheduler.completed(symbol)
            used = self._used_weight()
            if used is not None:
                self._scheduler.used_weight(used, time.monotonic())
        self.fetched += 1
        try:
            self._apply(symbol, body, limit)
        except Exception:  # a malformed snapshot must not end the fetcher
            _log.exception("applying the depth snapshot for %s failed", symbol)
