"""Shared fixtures: a local exchange per test, and a check that nothing leaks threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ccxtpro_sync.simulator import LocalExchange


def library_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ccxtpro_sync")]


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Every test must leave no library thread behind (rule 4 of docs/threading.md)."""
    before = set(library_threads())
    yield
    deadline = time.monotonic() + 5.0
    leaked = [t for t in library_threads() if t not in before]
    for thread in leaked:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in leaked if t.is_alive()]
    assert not alive, f"library threads still alive after the test: {alive}"


@pytest.fixture
def exchange() -> Iterator[LocalExchange]:
    """A fresh local exchange on free ports, streams sped up for quick tests."""
    with LocalExchange(seed=7, speed=10.0, tick_interval=0.01) as ex:
        yield ex
