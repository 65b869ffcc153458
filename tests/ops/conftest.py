"""Helpers for the operations tests: clients on the local exchange, signal recorders."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from blinker import Signal

import ccxtpro_sync
from ccxtpro_sync import default_reconnect_policy, signals
from ccxtpro_sync.simulator import LocalExchange

SPOT = "BTC/USDT"
Event = tuple[Any, dict[str, Any]]


def make(exchange: LocalExchange, kind: type = ccxtpro_sync.binance, **config: Any) -> Any:
    """A client on ``exchange`` that reconnects within a fraction of a second."""
    settings = {
        "environment": "local",
        "local": exchange,
        "timeout": 10,
        "reconnect": default_reconnect_policy(initial=0.05, maximum=0.2),
        **config,
    }
    return kind(settings)


class Recorder:
    """Every (sender, payload) one signal sends; waits on a condition, never sleeps."""

    def __init__(self, signal: Signal) -> None:
        self.signal = signal
        self.events: list[Event] = []
        self._cond = threading.Condition()
        signal.connect(self._receive, weak=False)

    def _receive(self, sender: Any, **payload: Any) -> None:
        with self._cond:
            self.events.append((sender, payload))
            self._cond.notify_all()

    def wait_for(
        self, predicate: Callable[[Any, dict[str, Any]], bool], timeout: float = 10.0
    ) -> Event:
        """The first event (old or new) that satisfies ``predicate(sender, payload)``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for sender, payload in self.events:
                    if predicate(sender, payload):
                        return sender, payload
                left = deadline - time.monotonic()
                assert left > 0, f"{self.signal.name}: no matching event in {self.events!r:.500}"
                self._cond.wait(left)

    def close(self) -> None:
        self.signal.disconnect(self._receive)


@pytest.fixture
def record() -> Iterator[Callable[[str], Recorder]]:
    """``record("connection_started")`` → a Recorder, disconnected after the test."""
    made: list[Recorder] = []

    def start(name: str) -> Recorder:
        recorder = Recorder(signals.all()[name])
        made.append(recorder)
        return recorder

    yield start
    for recorder in made:
        recorder.close()


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll a figure the library exposes only by reading (e.g. ``connection_info``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.01)


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python that imports this checkout of ccxtpro_sync."""
    import os
    from pathlib import Path

    root = str(Path(ccxtpro_sync.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", **extra}
