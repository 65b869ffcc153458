"""One client per process: created on first use, dropped (never closed) across a fork."""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from .._sync.base_client import BaseClient

__all__ = ["ProcessLocalClient"]

_log = logging.getLogger("ccxtpro_sync")

C = TypeVar("C", bound=BaseClient)


class ProcessLocalClient(Generic[C]):
    """Holds the client of the current process, made by ``factory``.

    ``get()`` returns it, creating it in this process if needed. After a
    ``fork()`` the child forgets the parent's client without touching its
    sockets and makes its own on the next ``get()``: a client must not cross
    a fork. ``close()`` closes the current process's client (idempotent);
    a later ``get()`` creates a new one.
    """

    def __init__(self, factory: Callable[[], C]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._client: C | None = None
        self._pid = os.getpid()
        method = weakref.WeakMethod(self._after_fork)

        def after_fork() -> None:
            bound = method()
            if bound is not None:
                bound()

        os.register_at_fork(after_in_child=after_fork)

    @property
    def started(self) -> bool:
        """Whether this process has a live client."""
        client = self._client
        return client is not None and self._pid == os.getpid() and not client.closed

    def get(self) -> C:
        """The client of this process, created on first use."""
        client = self._client
        if client is not None and self._pid == os.getpid() and not client.closed:
            return client
        with self._lock:
            if self._pid != os.getpid():  # forked without the at-fork hook running
                self._forget()
            client = self._client
            if client is None or client.closed:
                client = self._client = self._factory()
                _log.info("ccxtpro_sync: created %r in process %d", client, self._pid)
            return client

    start = get

    def close(self, timeout: float = 5.0) -> None:
        """Close this process's client, if it has one. Idempotent."""
        with self._lock:
            client, self._client = self._client, None
            mine = self._pid == os.getpid()
        if client is not None and mine and not client.closed:
            client.close(timeout)
            _log.info("ccxtpro_sync: closed %r in process %d", client, self._pid)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # the parent may have held it while forking
        self._forget()

    def _forget(self) -> None:
        inherited, self._client = self._client, None
        self._pid = os.getpid()
        if inherited is not None:
            inherited.close()  # in a child this only marks the parent's copy closed

    def __repr__(self) -> str:
        return f"<ProcessLocalClient {'started' if self.started else 'idle'} pid={self._pid}>"
