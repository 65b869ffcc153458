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


def read_the_old_burst_whole(
    monkeypatch: pytest.MonkeyPatch, old_name: list[str], gate: threading.Event
) -> None:
    """Once ``old_name`` names a connection and until ``gate`` opens, that connection's
    reader keeps what it reads until an aggregate trade frame is followed by a book
    ticker frame, then hands it all over as one read (what a reader that fell behind
    reads at once). Every client made after this call."""

    class WholeBurstParser(FrameParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._kept: list[tuple[int, bytes]] = []

        def feed(self, data: bytes) -> list[tuple[int, bytes]]:
            messages = self._kept + super().feed(data)
            self._kept = []
            name = threading.current_thread().name
            if gate.is_set() or not old_name or name != f"ccxtpro_sync-reader-{old_name[0]}":
                return messages
            trade = next((i for i, (_, m) in enumerate(messages) if b"@aggTrade" in m), None)
            if trade is not None and any(b"@bookTicker" in m for _, m in messages[trade + 1 :]):
                return messages
            self._kept = messages  # read on: the burst is not whole yet
            return []

    monkeypatch.setattr(connection_module, "FrameParser", WholeBurstParser)
