"""atk11: a hash whose pending list is replaced by a ``LATEST`` value mid-burst.

``put_many`` appends a burst of one hash's ``APPEND`` items without lookups after
the first, keeping the list it extended. A ``LATEST`` update of the same hash in
between (an adapter may publish both under one key) replaces that list in the store;
an item after it must go into the store's new entry, not the replaced list, where
it would be lost without a count.
"""

from __future__ import annotations

import threading
from typing import Any

from ccxtpro_sync._core.events import Delivery, Policy
from ccxtpro_sync._sync.hub import Hub

TIMEOUT = 10.0
HASH = "custom:BTC/USDT"


def test_atk11_an_append_after_a_latest_of_the_same_hash_is_not_lost() -> None:
    hub = Hub(name="test-hub")
    got: list[Any] = []
    entered, gate, done = threading.Event(), threading.Event(), threading.Event()

    def on_gate(value: Any) -> None:  # holds the dispatcher while the burst queues
        entered.set()
        gate.wait(TIMEOUT)

    def on_value(value: Any) -> None:
        got.append(value)
        if value == [3, 4]:
            done.set()

    try:
        hub.add_callback("gate", on_gate)
        hub.add_callback(HASH, on_value)
        hub.deliver_many([Delivery("gate", 1)])
        assert entered.wait(TIMEOUT)
        hub.deliver_many(
            [
                Delivery(HASH, [1], Policy.APPEND),
                Delivery(HASH, [2], Policy.APPEND),  # extends the list: the fast path's
                Delivery(HASH, "snapshot", Policy.LATEST),  # replaces it
                Delivery(HASH, [3], Policy.APPEND),  # a new list after the value
                Delivery(HASH, [4], Policy.APPEND),
            ]
        )
        stats = hub.stats()
        assert stats["queued"] == 1 and stats["coalesced"] == 1
        gate.set()
        assert done.wait(TIMEOUT), got
        assert got == [[3, 4]]
    finally:
        gate.set()
        hub.close()
