"""A daemon thread started by its first request and woken through one condition.

REST-fetching helpers (gap backfill, depth snapshots) queue work under a lock
and must return at once; their thread starts only when there is work, and
closing wakes it so that it exits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .placement import start_thread

_log = logging.getLogger("ccxtpro_sync")


class LazyThread:
    """Base: ``_enqueue`` work under ``_cond``, start the thread on first use, ``_shut`` it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def _run(self) -> None:
        raise NotImplementedError

    def _enqueue(self, add: Callable[[], object]) -> None:
        """Run ``add`` under the lock unless closed, start the thread if needed, wake it."""
        with self._cond:
            if self._closed:
                return
            add()
            if self._thread is None:
                try:
                    self._thread = start_thread(self._run, self._name)
                except RuntimeError as error:  # "can't start new thread": a resource limit
                    # Never on the caller (a reader): the work stays queued and the
                    # next request tries again.
                    _log.warning("%s: could not start its thread: %s", self._name, error)
                    return
            self._cond.notify()

    def _shut(self, join_timeout: float) -> None:
        """Mark closed, wake the thread and join it (not from the thread itself)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(join_timeout)
