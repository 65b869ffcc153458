"""Celery helpers (extra ``celery``): one client per worker process.

    from ccxtpro_sync.contrib.celery import worker_client

    market_client = worker_client(lambda: ccxtpro_sync.binance())

    @app.task
    def last_price(symbol: str) -> float:
        return market_client.get().watch_ticker(symbol, timeout=10).last

With the prefork pool the client is made in each child by
``worker_process_init`` and closed by ``worker_process_shutdown``; the parent
never has one, so nothing crosses the fork. Pools that do not fork work too
(``solo`` also sends ``worker_process_init``; otherwise the first ``get()``
makes the client), and ``worker_shutdown`` closes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

try:
    from celery import signals as celery_signals
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "ccxtpro_sync.contrib.celery needs Celery: pip install 'ccxtpro_sync[celery]'"
    ) from error

from .._sync.base_client import BaseClient
from ._process import ProcessLocalClient

__all__ = ["WorkerClient", "worker_client"]

C = TypeVar("C", bound=BaseClient)


class WorkerClient(ProcessLocalClient[C]):
    """A :class:`~ccxtpro_sync.contrib.ProcessLocalClient` tied to Celery's worker signals."""

    def __init__(self, factory: Callable[[], C], *, eager: bool = True) -> None:
        super().__init__(factory)
        uid = f"ccxtpro_sync-{id(self)}"
        if eager:
            celery_signals.worker_process_init.connect(
                self._on_process_init, weak=False, dispatch_uid=f"{uid}-init"
            )
        celery_signals.worker_process_shutdown.connect(
            self._on_shutdown, weak=False, dispatch_uid=f"{uid}-process-shutdown"
        )
        celery_signals.worker_shutdown.connect(
            self._on_shutdown, weak=False, dispatch_uid=f"{uid}-shutdown"
        )

    def _on_process_init(self, **_: Any) -> None:
        self.start()  # cheap: no socket opens before the first subscription

    def _on_shutdown(self, **_: Any) -> None:
        self.close(timeout=2.0)

    def disconnect(self) -> None:
        """Stop listening to Celery's signals (the client itself is left as is)."""
        uid = f"ccxtpro_sync-{id(self)}"
        celery_signals.worker_process_init.disconnect(dispatch_uid=f"{uid}-init")
        celery_signals.worker_process_shutdown.disconnect(dispatch_uid=f"{uid}-process-shutdown")
        celery_signals.worker_shutdown.disconnect(dispatch_uid=f"{uid}-shutdown")


def worker_client(factory: Callable[[], C], *, eager: bool = True) -> WorkerClient[C]:
    """A per-worker-process client made by ``factory``.

    ``eager`` creates it as each prefork child starts rather than on the first task.
    """
    return WorkerClient(factory, eager=eager)
