"""Lock order (docs/threading.md): a reader never waits for the client lock."""

from __future__ import annotations

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import BookWatcher, make_client, wait_wire_matches


def test_first_snapshot_request_does_not_need_the_client_lock() -> None:
    with LocalExchange(seed=4, auto_publish=False, speed=10.0, tick_interval=0.01) as ex:
        client = make_client(ccxtpro_sync.binance, ex)
        books = BookWatcher()
        with client:
            client.on_order_book("BTC/USDT", books)
            wait_wire_matches(ex, [client])
            # Hold the client lock as the planner does while it queues a SUBSCRIBE and
            # waits for Connection._lock: the reader must still sync the book meanwhile.
            with client._lock:
                ex.tick(1)
                target = ex.book("spot", "BTCUSDT").last_update_id
                synced = books.reached_within("BTC/USDT", target, timeout=3)
            books.wait_nonce("BTC/USDT", target)  # unblocked now; let the fetch finish
            assert synced, "the reader blocked on the client lock while holding its own"
