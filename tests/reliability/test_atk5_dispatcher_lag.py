"""Backpressure: an entry's lag is counted from when its first item was queued.

A reader's burst can hold it twice: once for one stream's full entry (up to
``maxLag`` behind that entry's oldest item), then for another's. The second entry,
created after the first wait, was stamped with the time read before that wait, so it
looked ``maxLag`` old at once: its oldest items were dropped without any wait, though
they had been queued a moment before. Both entries are now held alike. Real threads;
the holds end by ``maxLag`` (the callback is held on an event) and what is checked
is what was dropped and how often the reader waited, not how long."""

from __future__ import annotations

import threading

from ccxtpro_sync._core.events import Delivery, Policy
from ccxtpro_sync._core.router import Router
from ccxtpro_sync._sync.dispatcher import Dispatcher

TIMEOUT = 10.0


def test_an_entry_created_after_a_hold_gets_its_own_wait_before_dropping() -> None:
    release = threading.Event()
    running = threading.Event()
    seen: dict[str, list[int]] = {"trades:A": [], "trades:B": [], "trades:C": []}

    def on_trades(batch: list[tuple[str, int]]) -> None:
        for key, n in batch:
            seen[key].append(n)
        running.set()
        release.wait(TIMEOUT)

    router: Router[object] = Router()
    for key in seen:
        router.add_callback(key, on_trades)
    dispatcher = Dispatcher(
        router.callbacks, name="ccxtpro_sync-test-dispatcher", max_items=2, max_lag=0.3
    )

    def burst(key: str, count: int) -> list[Delivery]:
        return [Delivery(key, [(key, n)], Policy.APPEND) for n in range(count)]

    try:
        dispatcher.put_many(burst("trades:C", 1))
        assert running.wait(TIMEOUT)  # the callback holds the dispatcher from here on
        # One burst: A's entry goes past the bound (the reader waits maxLag, then drops
        # A's oldest), then B's entry is created and goes past it too.
        dispatcher.put_many([*burst("trades:A", 3), *burst("trades:B", 3)])
        stats = dispatcher.stats()
    finally:
        release.set()
    dispatcher.close(TIMEOUT)
    # Each full entry made the reader wait once before anything of it was dropped.
    assert stats["reader_blocked"] == 2, stats
    assert stats["dropped"] == 2, stats
