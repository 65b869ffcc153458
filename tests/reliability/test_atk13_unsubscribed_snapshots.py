"""Books unsubscribed while their snapshots wait behind the pool: their queued requests
go with them. Before, each was still fetched later, for no book, and charged to the
minute's weight: a program that subscribes and drops many books (a screener moving
through symbols) spent the budget on snapshots nobody would read, and the books it
kept waited for the next minute."""

from __future__ import annotations

import ccxtpro_sync

from .support import BookWatcher, make_client, wait_for, wait_wire_matches
from .test_snapshot_pool import _depth_calls, _exchange, _pairs


def test_unsubscribed_books_fetch_no_queued_snapshot() -> None:
    pairs = _pairs(20)
    with _exchange(len(pairs)) as ex:
        ex.faults.delay_rest(0.5, "/depth")  # one at a time, slowly: the rest queue up
        client = make_client(
            ccxtpro_sync.binance,
            ex,
            options={"snapshotLimit": 100, "snapshotConcurrency": 1},
        )
        with client:
            client.load_markets()
            scheduler = client._fetcher._scheduler
            sub = client.on_order_book([s for s, _ in pairs], BookWatcher())
            wait_wire_matches(ex, [client])

            def queued() -> bool:
                ex.tick(1)  # a book asks for its snapshot on its first diff
                return len(scheduler.pending) >= len(pairs) - 2

            wait_for(queued, 30, "the books' snapshot requests queued behind the pool")
            sub.cancel()
            wait_wire_matches(ex, [client])  # unsubscribed on the wire
            assert scheduler.pending == []
            wait_for(lambda: not scheduler.in_flight, 10, "the request in flight to end")
            # at most the requests already in flight when the books went were sent
            assert len(_depth_calls(ex)) <= 2, _depth_calls(ex)

            # a book subscribed again asks afresh and syncs
            watcher = BookWatcher()
            symbol = pairs[0][0]
            again = client.on_order_book([symbol], watcher)
            wait_wire_matches(ex, [client])
            ex.faults.delay_rest(0, "/depth")

            def synced() -> bool:
                ex.tick(1)
                history = watcher.books.get(symbol)
                return history is not None and history.updates > 0

            wait_for(synced, 30, "the book subscribed again to sync")
            again.cancel()
