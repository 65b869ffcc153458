"""User data's reconciler thread is started once per client, however many threads ask
for user data at the same moment (three watchers at once leaked a second reconciler
that ``close()`` never stopped)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from ccxtpro_sync import DeribitClient
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture

ex = exchange_fixture(seed=8, auto_publish=False, min_heartbeat=1.0)


@pytest.fixture
def switch_often() -> Iterator[None]:
    """Threads hand over the GIL as often as the interpreter allows: the window
    between "no reconciler yet" and "started one" is then crossed by other threads."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def reconcilers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ccxtpro_sync-deribit-reconcile"]


def test_concurrent_first_user_data_calls_start_one_reconciler(
    ex: LocalDeribit, client: DeribitClient, switch_often: None
) -> None:
    client.wait_ready(10)
    client.load_markets()
    before = reconcilers()
    gate = threading.Barrier(12)
    errors: list[BaseException] = []

    def first_use() -> None:
        gate.wait(10)
        try:
            client._start_user_data(10)
        except BaseException as error:  # reported below
            errors.append(error)

    starters = [threading.Thread(target=first_use) for _ in range(12)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(20)
    assert not errors
    started = [t for t in reconcilers() if t not in before]
    assert len(started) == 1, f"{len(started)} reconciler threads for one client"
    client.close()
    started[0].join(5)
    assert not started[0].is_alive()
