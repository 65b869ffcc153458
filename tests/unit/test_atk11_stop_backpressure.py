"""atk11: a producer's ``stop`` ends its backpressure wait without dropping.

A reader waiting for the dispatcher (its callback queue full) must stop waiting when
its connection closes (a rotation retiring it, ``close_connection()``), and what it
already read must still reach the callbacks: the closing is no reason to drop it."""

from __future__ import annotations

import threading

from ccxtpro_sync._core.events import Delivery, Policy
from ccxtpro_sync._sync.hub import Hub

from ..reliability.support import wait_for

TIMEOUT = 10.0
HASH = "trades:BTC/USDT"


def test_atk11_stop_ends_a_backpressure_wait_and_drops_nothing() -> None:
    hub = Hub(name="test-hub", max_items=10, max_lag=60.0)
    seen: list[int] = []
    entered, gate, done = threading.Event(), threading.Event(), threading.Event()
    stop = threading.Event()
    returned: list[float] = []

    def on_trades(batch: list[int]) -> None:
        entered.set()
        gate.wait(TIMEOUT)  # the first batch holds the dispatcher
        seen.extend(batch)
        if seen[-1] == 40:
            done.set()

    def produce() -> None:
        burst = [Delivery(HASH, [n], Policy.APPEND) for n in range(1, 41)]
        returned.append(hub.deliver_many(burst, stop=stop))

    try:
        hub.add_callback(HASH, on_trades)
        hub.deliver_many([Delivery(HASH, [0], Policy.APPEND)])
        assert entered.wait(TIMEOUT)
        producer = threading.Thread(target=produce, name="atk11-producer")
        producer.start()
        wait_for(lambda: hub.stats()["reader_blocked"] >= 1, TIMEOUT, "the producer to wait")
        stop.set()
        hub.dispatcher.wake_producers()
        producer.join(TIMEOUT)
        assert not producer.is_alive() and len(returned) == 1
        assert hub.stats()["dropped"] == 0
        gate.set()
        assert done.wait(TIMEOUT)
        assert seen == list(range(41))  # everything read, in order
    finally:
        gate.set()
        hub.close()
