"""A background thread for the client's own blocking chores.

Reconciling user data after a reconnect and keeping a futures listenKey
alive both need blocking requests, which must run neither on a reader thread
(it would stop reading the replies) nor on the dispatcher (it would hold up
user callbacks). They run here, one at a time, in submission order; timed
jobs run when due. A job that raises is logged and the next one runs.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

from .placement import start_thread

_log = logging.getLogger("ccxtpro_sync")

Job = Callable[[], object]


class Worker:
    """One daemon thread running submitted and scheduled jobs (started on first use)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._cond = threading.Condition()
        self._jobs: list[tuple[float, int, Job]] = []  # heap by due time, then FIFO
        self._serial = itertools.count()
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def submit(self, job: Job, *, delay: float = 0.0) -> None:
        """Run ``job`` on the worker thread after ``delay`` seconds (non-blocking)."""
        with self._cond:
            if self._closed:
                return
            heapq.heappush(self._jobs, (time.monotonic() + delay, next(self._serial), job))
            if self._thread is None:
                self._thread = start_thread(self._run, self._name)
            self._cond.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Drop pending jobs, let the running one finish, stop. Idempotent."""
        with self._cond:
            self._closed = True
            self._jobs.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    if self._jobs:
                        wait = self._jobs[0][0] - time.monotonic()
                        if wait <= 0:
                            job = heapq.heappop(self._jobs)[2]
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
            try:
                job()
            except Exception:
                _log.exception("%s: background job %r failed", self._name, job)
