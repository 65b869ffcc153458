"""docs/threading.md: the client lock is brief -- never held while a frame waits for pacing."""

from __future__ import annotations

import threading
import time

import ccxtpro_sync
from ccxtpro_sync._core.pacing import TokenBucket
from ccxtpro_sync.simulator import LocalExchange

from .support import make_client, wait_for


def test_client_lock_is_free_while_a_subscribe_waits_for_its_pacing_slot() -> None:
    with LocalExchange(seed=5, auto_publish=False) as ex:
        client = make_client(ccxtpro_sync.binance, ex)
        with client:
            client.on_trades("BTC/USDT", handler=lambda _t: None)
            (conn,) = client._planner.connections()
            conn.wait_ready(10)
            # One frame per five seconds, and the slot already taken: the next
            # SUBSCRIBE must wait for its slot.
            bucket = TokenBucket(0.2, burst=1.0, now=time.monotonic())
            bucket.reserve(time.monotonic())
            conn._bucket = bucket
            outcome: list[BaseException | None] = []

            def subscribe() -> None:
                try:
                    client.on_trades("ETH/USDT", handler=lambda _t: None)
                    outcome.append(None)
                except BaseException as error:
                    outcome.append(error)

            thread = threading.Thread(target=subscribe)
            thread.start()
            wait_for(lambda: bucket._available < 0, 5, "the SUBSCRIBE to wait for pacing")
            got = client._lock.acquire(timeout=1.0)
            if got:
                client._lock.release()
            assert got, "the client lock was held while a frame waited for its pacing slot"
        thread.join(10)  # close() cut the pacing wait short
        assert not thread.is_alive()
