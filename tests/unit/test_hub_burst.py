"""``Hub.deliver_many`` on a reader's burst: what each kind of update becomes.

The queueing of a burst has hot paths of its own (a ``LATEST`` value, an item
appended to a pending ``BLOCK`` list) besides the store's methods; these tests pin
what all of them must keep: waiters get every hash they wait on, only hashes with
callbacks are queued, ``LATEST`` values coalesce and are counted, ``APPEND`` items
keep their order across bursts, and the dispatcher thread starts only once
something is queued for it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from ccxtpro_sync._core.events import Delivery, Policy
from ccxtpro_sync._sync.hub import Hub

TIMEOUT = 10.0


def _trades(first: int, count: int, message_hash: str = "trades:BTC/USDT") -> list[Delivery]:
    return [Delivery(message_hash, [n], Policy.APPEND) for n in range(first, first + count)]


def test_a_burst_reaches_waiters_and_queues_only_hashes_with_callbacks() -> None:
    hub = Hub(name="test-hub")
    seen: list[int] = []
    done = threading.Event()
    entered, gate = threading.Event(), threading.Event()

    def on_gate(value: Any) -> None:  # holds the dispatcher while the bursts queue
        entered.set()
        gate.wait(TIMEOUT)

    def on_trades(batch: list[int]) -> None:
        seen.extend(batch)
        if seen and seen[-1] == 599:
            done.set()

    try:
        hub.add_callback("gate", on_gate)
        hub.add_callback("trades:BTC/USDT", on_trades)
        waiter = hub.waiter(["trades:ETH/USDT"])
        hub.deliver_many([Delivery("gate", 1)])
        assert entered.wait(TIMEOUT)
        hub.deliver_many(_trades(0, 300) + _trades(7, 1, "trades:ETH/USDT"))
        assert waiter.result(TIMEOUT) == [7]
        hub.deliver_many(_trades(300, 300))
        # One APPEND entry; ETH has no callback, so it is not queued.
        assert hub.stats()["queued"] == 1
        gate.set()
        assert done.wait(TIMEOUT)
        assert seen == list(range(600))  # in order, across the two bursts
    finally:
        gate.set()
        hub.close()


def test_latest_values_coalesce_and_are_counted() -> None:
    hub = Hub(name="test-hub")
    got: list[Any] = []
    done = threading.Event()

    def on_ticker(value: Any) -> None:
        got.append(value)
        done.set()

    try:
        hub.add_callback("ticker:BTC/USDT", on_ticker)
        burst = [Delivery("ticker:BTC/USDT", n) for n in range(5)]
        hub.deliver_many(burst, wake=False)
        assert hub.stats()["coalesced"] == 4
        hub.dispatcher.wake()
        assert done.wait(TIMEOUT)
        assert got == [4]  # only the newest
    finally:
        hub.close()


def test_a_one_shot_iterable_reaches_both_waiters_and_callbacks() -> None:
    hub = Hub(name="test-hub")
    seen: list[int] = []
    done = threading.Event()

    def on_trades(batch: list[int]) -> None:
        seen.extend(batch)
        if len(seen) == 3:
            done.set()

    def burst() -> Iterator[Delivery]:
        yield from _trades(0, 3)

    try:
        hub.add_callback("trades:BTC/USDT", on_trades)
        waiter = hub.waiter(["trades:BTC/USDT"])
        hub.deliver_many(burst())
        assert waiter.result(TIMEOUT) == [0]
        assert done.wait(TIMEOUT)
        assert seen == [0, 1, 2]
    finally:
        hub.close()


def test_the_dispatcher_starts_only_when_something_is_queued() -> None:
    hub = Hub(name="test-hub")
    try:
        hub.add_callback("trades:BTC/USDT", lambda batch: None)
        hub.deliver_many(_trades(0, 2, "trades:ETH/USDT"))  # no callback for ETH
        assert hub.dispatcher.thread is None
        hub.deliver_many(_trades(0, 2))
        assert hub.dispatcher.thread is not None
    finally:
        hub.close()
    assert hub.dispatcher.thread is not None
    hub.dispatcher.thread.join(TIMEOUT)
    assert not hub.dispatcher.thread.is_alive()


def test_a_one_stream_burst_past_max_items_waits_trims_and_counts_as_before() -> None:
    # After its first item, a burst of one hash is appended without lookups: crossing
    # the high-water mark and max_items must still trim the oldest items, count them
    # and signal them, also when other hashes (and another policy) come in between.
    from ccxtpro_sync._signals import signals

    hub = Hub(name="test-hub", max_items=10, max_lag=0.0)
    seen: list[int] = []
    latest: list[Any] = []
    drops: list[int] = []
    entered, gate, done = threading.Event(), threading.Event(), threading.Event()

    def on_gate(value: Any) -> None:
        entered.set()
        gate.wait(TIMEOUT)

    def on_trades(batch: list[int]) -> None:
        seen.extend(batch)
        if seen and seen[-1] == 39:
            done.set()

    def on_dropped(sender: Any, *, message_hash: str, count: int, **_: Any) -> None:
        assert message_hash == "trades:BTC/USDT"
        drops.append(count)

    signals.message_dropped.connect(on_dropped, sender=hub)
    try:
        hub.add_callback("gate", on_gate)
        hub.add_callback("trades:BTC/USDT", on_trades)
        hub.add_callback("ticker:BTC/USDT", latest.append)
        eth: list[list[int]] = []
        hub.add_callback("trades:ETH/USDT", eth.append)
        hub.deliver_many([Delivery("gate", 1)])
        assert entered.wait(TIMEOUT)
        burst = [*_trades(0, 20), Delivery("ticker:BTC/USDT", "t1"), *_trades(20, 20)]
        burst.insert(5, Delivery("ticker:BTC/USDT", "t0"))
        burst.insert(3, _trades(99, 1, "trades:ETH/USDT")[0])  # a new entry in between
        hub.deliver_many(burst)
        stats = hub.stats()
        assert stats["dropped"] == 30 and sum(drops) == 30
        assert stats["queued"] == 3 and stats["coalesced"] == 1
        gate.set()
        assert done.wait(TIMEOUT)
        assert seen == list(range(30, 40))  # the newest max_items, in order
        wait_until = threading.Event()
        hub.add_callback("gate", lambda value: wait_until.set())
        hub.deliver_many([Delivery("gate", 2)])  # queued after ETH's entry: runs after it
        assert wait_until.wait(TIMEOUT)
        assert eth == [[99]] and latest == ["t1"]
    finally:
        gate.set()
        signals.message_dropped.disconnect(on_dropped, sender=hub)
        hub.close()
