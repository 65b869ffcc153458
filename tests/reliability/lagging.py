"""Readers made to lag on purpose, for the rotation tests: the old connection's reader
held during the overlap while the replacement reads ahead, or the replacement's
reader held. Each helper patches one seam of a live client; the gates are the
test's own ``threading.Event`` objects."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from ccxtpro_sync._core.frames import FrameParser
from ccxtpro_sync._sync import connection as connection_module
from ccxtpro_sync._sync.connection import Connection
from ccxtpro_sync.simulator import LocalExchange

from .support import wait_for


def lag_the_old_reader(
    client: Any, old: Connection, gate: threading.Event, lagging: threading.Event
) -> None:
    """Hold ``old``'s reader on each frame of a stream in the overlap (``lagging`` set
    first) until ``gate`` opens: the old reader falls behind, on both routes (plain
    and raw-log-on)."""
    router = old.query(lambda protocol: protocol.router)
    route, route_raw = router.route, router.route_raw

    def lag(stream: str) -> None:
        if client._delivered.in_overlap(stream) and not gate.is_set():
            lagging.set()
            gate.wait(30)  # the old reader falls behind until the gate opens

    def lagging_route(stream: str, data: Any, now: float) -> Any:
        lag(stream)
        return route(stream, data, now)

    def lagging_route_raw(stream: str, data: Any, now: float, raw: Any) -> Any:
        lag(stream)
        return route_raw(stream, data, now, raw)

    router.route, router.route_raw = lagging_route, lagging_route_raw


def run_the_replacement_ahead(
    client: Any,
    ex: LocalExchange,
    gate: threading.Event,
    lagging: threading.Event,
    then: Callable[[], None] | None = None,
) -> None:
    """Once the next replacement connection is ready, tick until the old reader lags
    and the replacement has read 8 more messages, run ``then`` (a fault, a churn),
    and open ``gate``. Only the first replacement after this call does so."""
    planner = client._planner
    make = planner._new_connection

    def make_ahead(route: str, index: int) -> Any:
        conn = make(route, index)
        ready = conn.wait_ready

        def ready_then_run_ahead(timeout: float) -> Any:
            result = ready(timeout)
            if gate.is_set():
                return result
            start = conn.messages
            try:  # several ticks reach the replacement while the old reader is stuck
                wait_for(
                    lambda: ex.tick(1) or (lagging.is_set() and conn.messages >= start + 8),
                    10,
                    "the replacement ahead of the old connection",
                )
                if then is not None:
                    then()
            finally:
                gate.set()  # the old reader goes on with its backlog
            return result

        conn.wait_ready = ready_then_run_ahead
        return conn

    planner._new_connection = make_ahead


def hold_the_new_reader(
    monkeypatch: pytest.MonkeyPatch, gate: threading.Event, held: list[Connection]
) -> None:
    """Once a connection is in ``held``, its reader waits for ``gate`` before it parses
    what it read (every client made after this call)."""

    class GatedParser(FrameParser):
        def feed(self, data: bytes) -> list[tuple[int, bytes]]:
            if held and threading.current_thread().name == f"ccxtpro_sync-reader-{held[0].name}":
                assert gate.wait(30), "the new reader was never let go"
            return super().feed(data)

    monkeypatch.setattr(connection_module, "FrameParser", GatedParser)
