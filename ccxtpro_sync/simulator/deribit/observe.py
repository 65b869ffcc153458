"""What tests can observe: open connections, counters, event-driven waits."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ConnInfo:
    """Snapshot of one open WebSocket connection."""

    id: int
    path: str
    client_id: str | None
    subscriptions: tuple[str, ...]
    cod: bool
    heartbeat: float | None
    half_open: bool


@dataclass(frozen=True)
class Stats:
    connections: tuple[ConnInfo, ...]
    handshakes_accepted: int
    disconnect_reasons: dict[str, int]
    cod_cancelled: int


class Registry:
    """Mutated on the server loop, read and waited on from test threads."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.handshakes_accepted = 0
        self.reasons: Counter[str] = Counter()
        self.cod_cancelled = 0
        self.snapshot: Callable[[], tuple[ConnInfo, ...]] = tuple

    def changed(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def stats(self) -> Stats:
        with self.cond:
            return Stats(
                self.snapshot(), self.handshakes_accepted, dict(self.reasons), self.cod_cancelled
            )

    def wait(self, predicate: Callable[[Stats], T | None], timeout: float, what: str) -> T:
        """Block until ``predicate(stats)`` is truthy; ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = predicate(self.stats())
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
                self.cond.wait(min(left, 0.5))
