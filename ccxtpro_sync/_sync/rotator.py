"""The rotation thread: replaces connections before their lifetime ends, or on request.

Exchange-neutral. It wakes at the earliest due rotation (each connection's open
time plus the configured maximum age, minus jitter and a per-connection stagger)
or when asked (``request``: a ``serverShutdown`` notice, ``client.rotate``), and
rotates one connection at a time, ``stagger`` seconds apart, so that many
connections never reconnect in one burst (exchanges cap connection attempts).
The rotation itself is the planner's make-before-break ``rotate``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from .._core.rotation import rotation_deadline
from .connection import Connection
from .placement import start_thread

__all__ = ["Rotator"]

_log = logging.getLogger("ccxtpro_sync")


class Rotator:
    """Schedules make-before-break rotations on its own thread (started on demand)."""

    def __init__(
        self,
        rotate: Callable[[Connection], object],
        connections: Callable[[], list[Connection]],
        *,
        max_age: float | None,
        jitter: float,
        stagger: float,
        name: str,
        rng: random.Random | None = None,
    ) -> None:
        self._rotate = rotate
        self._connections = connections
        self.max_age = max_age
        self._jitter = jitter
        self.stagger = stagger
        self._name = name
        self._rng = rng or random.Random()
        self._cond = threading.Condition()
        self._requested: list[Connection] = []
        #: conn -> (the connected_at it was planned for, when to rotate it)
        self._due: dict[Connection, tuple[float, float]] = {}
        self._planned = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        #: Rotations done, and the last error of a failed one (figures for tests/ops).
        self.rotations = 0
        self.last_error: BaseException | None = None

    def start(self) -> None:
        """Start the thread if rotations can be due (idempotent)."""
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = start_thread(self._run, f"ccxtpro_sync-rotator-{self._name}")

    def request(self, conn: Connection) -> bool:
        """Rotate ``conn`` soon; False once closed. Never blocks (a reader may call it)."""
        with self._cond:
            if self._closed:
                return False
            if conn not in self._requested:
                self._requested.append(conn)
            self._cond.notify_all()
        self.start()
        return True

    def stop(self) -> None:
        """Start no rotation from now on (a rotation in progress goes on)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def close(self, timeout: float) -> None:
        """Stop and join the thread (idempotent). Close the connections between
        ``stop`` and ``close``: a rotation in progress then fails at once."""
        self.stop()
        with self._cond:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # -- the thread ----------------------------------------------------------------------
    def _next(self, live: list[Connection]) -> tuple[Connection | None, float]:
        """The connection to rotate now, else how long to sleep. Under ``_cond``."""
        if self._requested:
            return self._requested.pop(0), 0.0
        if self.max_age is None:
            return None, 3600.0
        now = time.monotonic()
        best: tuple[float, Connection] | None = None
        for conn in list(self._due):
            if conn not in live:
                del self._due[conn]
        for conn in live:
            opened = conn.connected_at
            if opened is None or conn.finished:
                continue
            planned = self._due.get(conn)
            if planned is None or planned[0] != opened:
                deadline = rotation_deadline(
                    opened,
                    self.max_age,
                    jitter=self._jitter,
                    index=self._planned % 8,
                    stagger=self.stagger,
                    rng=self._rng,
                )
                self._planned += 1
                planned = (opened, deadline)
                self._due[conn] = planned
            if best is None or planned[1] < best[0]:
                best = (planned[1], conn)
        if best is None:
            return None, min(self.max_age, 60.0)
        if best[0] <= now:
            del self._due[best[1]]
            return best[1], 0.0
        return None, min(best[0] - now, 60.0)

    def _run(self) -> None:
        while True:
            # Read outside ``_cond``: the client's lock is never taken under it.
            live = self._connections() if self.max_age is not None else []
            with self._cond:
                if self._closed:
                    return
                conn, wait = self._next(live)
                if conn is None:
                    self._cond.wait(wait)
                    continue
            try:
                self._rotate(conn)
                self.rotations += 1
            except Exception as error:  # reported; the old connection carries on
                self.last_error = error
                _log.warning("%s: rotation of %s failed: %r", self._name, conn.name, error)
            with self._cond:
                # Pace: the next rotation (and its connection attempt) waits its turn.
                if not self._closed and self.stagger > 0:
                    self._cond.wait(self.stagger)
