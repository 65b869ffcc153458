"""The threads that fetch REST depth snapshots for order books that need one.

Exchange-neutral: the exchange gives the request (``fetch(symbol, limit)`` → the
body) and the weight its REST answers report. The reader thread must never block
on REST, so a book that needs a snapshot only *asks* (``request``, non-blocking).
A small pool of workers (``workers``, started one by one as the queue outgrows the
idle ones) fetches snapshots concurrently within the REST weight budget, honours
``Retry-After`` on 429/418, and hands each body to ``apply`` (which feeds it to the
book through the connection that carries it). A symbol asked for twice is fetched
once, and one symbol is never in flight twice, so each book's sync rules see one
snapshot at a time whatever the pool does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .._core.snapshot_scheduler import SnapshotScheduler
from .._exceptions import CcxtproSyncError, ClientClosed, DDoSProtection, RateLimitExceeded
from .placement import start_thread

_log = logging.getLogger("ccxtpro_sync")

#: Workers by default: enough to hide a round trip behind others (startup with hundreds
#: of books), few enough that a 429 finds at most this many requests already sent.
DEFAULT_WORKERS = 4
#: Pause before a refused worker start is tried again (doubling up to the cap, seconds).
_FIRST_RETRY = 0.05
_MAX_RETRY = 2.0

#: A log record held back until ``_cond`` is released: (level, format, name, error).
_Note = tuple[int, str, str, BaseException | None]


def _say(note: _Note | None) -> None:
    if note is not None:
        level, text, name, error = note
        if error is None:
            _log.log(level, text, name)
        else:
            _log.log(level, text, name, error)


class SnapshotFetcher:
    """Fetches depth snapshots on up to ``workers`` daemon threads (started on demand).

    All state is under ``_cond``; it is never held while a request runs or while
    ``apply`` feeds a book. ``close()`` wakes idle workers; one in a request returns
    when the REST client is closed (which aborts its socket) or at its timeout.
    """

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
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self._default_limit = default_limit
        self._fetch_body = fetch
        self._used_weight = used_weight
        self._rest_timeout = rest_timeout
        self._scheduler = scheduler
        self._apply = apply
        self._name = name
        self._workers = workers
        self._cond = threading.Condition()
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._idle = 0  # workers waiting on _cond for something due
        #: No worker runs and the system refused to start one: queued snapshots wait
        #: for a start that works. Books still waiting ask again (``stalled``), and each
        #: ask retries the start, at most once per ``_retry_pause`` (doubling to 2 s).
        self._stalled = False
        self._retry_at = 0.0
        self._retry_pause = _FIRST_RETRY
        self.fetched = 0
        self.failures = 0

    @property
    def stalled(self) -> bool:
        """True while queued snapshots have no worker (a start was refused): a book
        still waiting for one should ask again, which retries the start. A plain read,
        safe without the lock (a hint, re-checked under it)."""
        return self._stalled

    @property
    def threads(self) -> list[threading.Thread]:
        with self._cond:
            return list(self._threads)

    def request(self, symbol: str, limit: int) -> None:
        """Ask for a snapshot of ``symbol``; returns at once (safe under other locks)."""
        with self._cond:
            if self._closed:
                return
            self._scheduler.request(symbol, limit)
            note = self._grow()
            self._cond.notify()
        _say(note)  # a logging handler is user code: never under ``_cond``

    def cancel(self, symbol: str) -> None:
        """Forget ``symbol``'s queued request (its book is gone): it would spend weight
        on a snapshot no book reads. One in flight ends as it will (nobody applies it)."""
        with self._cond:
            self._scheduler.cancel(symbol)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the workers; idempotent. Joins each within ``timeout`` plus one REST
        timeout in all (a request in flight ends by then; closing the REST client
        first ends it at once)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout + self._rest_timeout
        me = threading.current_thread()
        for thread in threads:
            if thread is not me:
                thread.join(max(0.0, deadline - time.monotonic()))

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
        reported and, on 429/418, the ``Retry-After`` pause, or the scheduler's own
        when it names none (snapshots wait too)."""
        with self._cond:
            now = time.monotonic()
            used = self._used_weight()
            if used is not None:
                self._scheduler.used_weight(used, now)
            if isinstance(error, DDoSProtection):  # with or without a Retry-After
                self._scheduler.throttle(now, error.retry_after)
                self._cond.notify_all()

    def _grow(self) -> _Note | None:
        """Under ``_cond``: one more worker when work waits, none is idle and the pool
        is not full (a single book never costs more than one thread). Returns what to
        log, for the caller to log once it has released ``_cond``."""
        note: _Note | None = None
        if self._idle == 0 and len(self._threads) < self._workers and self._scheduler.pending:
            now = time.monotonic()
            if self._stalled and now < self._retry_at:
                return None  # refused moments ago: the next ask after the pause tries again
            n = len(self._threads)
            name = self._name if n == 0 else f"{self._name}-{n + 1}"
            try:
                self._threads.append(start_thread(self._work, name))
            except RuntimeError as error:  # "can't start new thread": a resource limit
                # Never on the caller (a reader, which would give its connection up):
                # the request stays queued. With no worker at all nothing would take
                # it, so the books waiting for one ask again (``stalled``) and the
                # next ask after a pause tries the start again.
                if not self._stalled:
                    note = (
                        logging.WARNING,
                        "%s: could not start a snapshot thread: %s",
                        name,
                        error,
                    )
                if not self._threads:
                    self._stalled = True
                    self._retry_at = now + self._retry_pause
                    self._retry_pause = min(self._retry_pause * 2, _MAX_RETRY)
                return note
            if self._stalled:  # a recovery, not a problem
                note = (logging.DEBUG, "%s: snapshot thread started after a refusal", name, None)
            self._stalled = False
            self._retry_pause = _FIRST_RETRY
        return note

    def _next(self) -> tuple[str, int] | None:
        """Wait for one snapshot that may be sent now; ``None`` once closed."""
        with self._cond:
            job, note = self._wait_for_job()
        _say(note)
        return job

    def _wait_for_job(self) -> tuple[tuple[str, int] | None, _Note | None]:
        """Under ``_cond``: ``_next``'s job and what to log after releasing it."""
        while True:
            if self._closed:
                return None, None
            now = time.monotonic()
            due = self._scheduler.due(now, most=1)
            if due:
                symbol, limit = due[0]
                note = self._grow()  # more may be due than this worker can take
                return (symbol, limit or self._default_limit), note
            wake = self._scheduler.next_ready_at(now)
            self._idle += 1
            try:
                self._cond.wait(None if wake is None else max(0.0, wake - now))
            finally:
                self._idle -= 1

    def _work(self) -> None:
        while (job := self._next()) is not None:
            self._fetch(*job)

    def _fetch(self, symbol: str, limit: int) -> None:
        try:
            body = self._fetch_body(symbol, limit)
        except DDoSProtection as error:
            _log.warning("depth snapshot for %s throttled: %s", symbol, error)
            with self._cond:
                self.failures += 1
                self._scheduler.failed(
                    symbol, time.monotonic(), retry_after=error.retry_after, throttled=True
                )
                self._cond.notify_all()
            return
        except ClientClosed:
            with self._cond:
                self._scheduler.completed(symbol)  # closing: aborted on purpose
            return
        except CcxtproSyncError as error:
            _log.warning("depth snapshot for %s failed: %s", symbol, error)
            with self._cond:
                self.failures += 1
                # None lets the scheduler back off exponentially per symbol.
                self._scheduler.failed(symbol, time.monotonic())
                self._cond.notify_all()
            return
        except Exception:  # a bug must not end the worker with the symbol stuck in flight
            _log.exception("depth snapshot for %s failed", symbol)
            with self._cond:
                self.failures += 1
                self._scheduler.failed(symbol, time.monotonic())
                self._cond.notify_all()
            return
        with self._cond:
            self._scheduler.completed(symbol)
            used = self._used_weight()
            if used is not None:
                self._scheduler.used_weight(used, time.monotonic())
            self.fetched += 1
            self._cond.notify_all()  # a slot is free: a waiting worker may take the next
        try:
            self._apply(symbol, body, limit)
        except Exception:  # a malformed snapshot must not end the worker
            _log.exception("applying the depth snapshot for %s failed", symbol)
