"""Observability for tests: connection snapshots, counters and event-driven waits.

The server mutates a :class:`Registry` from the asyncio thread; tests read it and
block on its condition variable from their own thread. Every wait has a timeout
and raises :class:`TimeoutError` on expiry, so tests never sleep blindly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ConnectionInfo:
    """Snapshot of one open WebSocket connection."""

    id: int
    market: str
    route: str | None
    path: str
    combined: bool
    subscriptions: tuple[str, ...]
    messages_sent: int
    messages_received: int
    opened_at: float
    half_open: bool


@dataclass(frozen=True)
class Stats:
    """Server-wide counters plus the open connections."""

    connections: tuple[ConnectionInfo, ...]
    handshakes_accepted: int
    handshakes_refused: int
    connections_closed: int
    messages_sent: int
    messages_received: int
    rest_requests: int
    rest_refused: int
    disconnect_reasons: dict[str, int] = field(default_factory=dict)


class Registry:
    """Thread-safe counters with a condition variable that fires on every change."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.handshakes_accepted = 0
        self.handshakes_refused = 0
        self.connections_closed = 0
        self.messages_sent = 0
        self.messages_received = 0
        self.rest_requests = 0
        self.rest_refused = 0
        self.disconnect_reasons: dict[str, int] = {}
        self.snapshot: Callable[[], tuple[ConnectionInfo, ...]] = tuple

    def bump(self, name: str, by: int = 1) -> None:
        with self.cond:
            setattr(self, name, getattr(self, name) + by)
            self.cond.notify_all()

    def note_disconnect(self, reason: str) -> None:
        with self.cond:
            self.connections_closed += 1
            self.disconnect_reasons[reason] = self.disconnect_reasons.get(reason, 0) + 1
            self.cond.notify_all()

    def changed(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def stats(self) -> Stats:
        with self.cond:
            return Stats(
                self.snapshot(),
                self.handshakes_accepted,
                self.handshakes_refused,
                self.connections_closed,
                self.messages_sent,
                self.messages_received,
                self.rest_requests,
                self.rest_refused,
                dict(self.disconnect_reasons),
            )

    def wait(self, predicate: Callable[[Stats], T | None], timeout: float, what: str) -> T:
        """Block until ``predicate(stats)`` is truthy and return it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                result = predicate(self.stats())
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
                # Wake up periodically too: some state (e.g. snapshots) changes silently.
                self.cond.wait(min(left, 0.05))
