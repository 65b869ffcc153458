"""User callbacks that raise or block never stall the reader; overflow is counted."""

from __future__ import annotations

import threading
from typing import Any

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import make_client, signal_logs, wait_for, wait_wire_matches

#: Trades published one by one, each waiting for its callback: enough calls that
#: losing one in ten would show.
LOCKSTEP = 40
#: More trades than the dispatcher's pending store keeps for one hash (10 000).
FLOOD = 12_000


def agg_trade(trade_id: int) -> dict[str, Any]:
    return {
        "e": "aggTrade", "E": 1_700_000_000_000 + trade_id, "s": "BTCUSDT", "a": trade_id,
        "p": "50000.00", "q": "0.001", "f": trade_id, "l": trade_id,
        "T": 1_700_000_000_000 + trade_id, "m": False, "M": True,
    }  # fmt: skip


def test_raising_and_blocked_callbacks_leave_the_reader_running(exchange: LocalExchange) -> None:
    client = make_client(ccxtpro_sync.binance, exchange)
    release = threading.Event()
    blocked = threading.Event()

    def raises(batch: Any) -> None:
        raise RuntimeError("user bug")

    calls = [0]  # what the blocking callback really received, not the library's counter

    def blocks(ticker: Any) -> None:
        calls[0] += 1
        blocked.set()
        release.wait(30)

    try:
        with client, signal_logs(client) as logs:
            client.on_bids_asks("ETH/USDT", raises)
            errors = logs["callback_error"].wait_for(3, timeout=5)  # called again after raising
            assert all(isinstance(e.payload["error"], RuntimeError) for e in errors)
            client.on_bids_asks("BTC/USDT", blocks)
            wait_wire_matches(exchange, [client])
            assert blocked.wait(5)
            # the dispatcher is stuck in user code: waiters still resolve on the reader
            for _ in range(5):
                assert client.watch_trades("BTC/USDT", timeout=5)
                assert client.watch_ticker("ETH/USDT", timeout=5).symbol == "ETH/USDT"
            # book tickers keep coming and coalesce to the newest while the callback blocks
            stats = wait_for(
                lambda: (s := client.hub.stats())["coalesced"] >= 10 and s,
                timeout=5,
                what="book tickers to coalesce",
            )
            assert stats["queued"] >= 1
            assert not logs["connection_closed"].events
            before = calls[0]
            release.set()
            wait_for(
                lambda: calls[0] > before + 5,
                timeout=10,
                what="the callback to be called again once it returns",
            )
    finally:
        release.set()


def test_append_overflow_drops_the_oldest_and_signals_it() -> None:
    with LocalExchange(seed=1, auto_publish=False) as ex:
        # maxLag: the reader waits that long for the stuck handler, then drops the oldest
        client = make_client(
            ccxtpro_sync.binance, ex, readTimeout=30.0, pingInterval=5.0, maxLag=0.5
        )
        release = threading.Event()
        entered = threading.Event()
        received: list[int] = []
        done = threading.Event()

        def handler(batch: list[Any]) -> None:
            entered.set()
            release.wait(30)
            received.extend(int(t.id) for t in batch)
            if received and received[-1] == FLOOD:
                done.set()

        try:
            with client, signal_logs(client) as logs:
                client.on_trades("BTC/USDT", handler)
                wait_wire_matches(ex, [client])
                ex.publish("spot", "btcusdt@aggTrade", agg_trade(0))
                assert entered.wait(5)  # the dispatcher now holds trade 0 and blocks
                for trade_id in range(1, FLOOD + 1):
                    ex.publish("spot", "btcusdt@aggTrade", agg_trade(trade_id))
                wait_for(
                    lambda: client.hub.stats()["dropped"] >= FLOOD - 10_000,
                    timeout=20,
                    what="the flood to reach the dispatcher's store",
                )
                stats = client.hub.stats()
                assert stats["dropped"] == FLOOD - 10_000
                drops = logs["message_dropped"].wait_until(
                    lambda ps: sum(p["count"] for p in ps) >= FLOOD - 10_000, 10, "the signals"
                )
                assert sum(p["count"] for p in drops) == FLOOD - 10_000
                assert all(p["message_hash"] == "trades:BTC/USDT" for p in drops)
                release.set()
                assert done.wait(10)
                # what survived is the newest 10 000, in order, after the first one
                assert received == [0, *range(FLOOD - 10_000 + 1, FLOOD + 1)]
                assert not logs["connection_closed"].events
        finally:
            release.set()


def test_every_update_reaches_the_callback_and_the_delivered_count_is_honest() -> None:
    """Lockstep: a trade is published only once the previous one reached the callback,
    so each is its own call. The ids the callback saw must be consecutive, and the
    ``delivered`` figure must equal the calls the callback really received."""
    with LocalExchange(seed=1, auto_publish=False) as ex:
        client = make_client(ccxtpro_sync.binance, ex, readTimeout=30.0, pingInterval=5.0)
        received: list[list[int]] = []
        cond = threading.Condition()

        def handler(batch: list[Any]) -> None:
            with cond:
                received.append([int(t.id) for t in batch])
                cond.notify_all()

        def reached(trade_id: int) -> bool:
            return any(trade_id in batch for batch in received)

        with client:
            client.on_trades("BTC/USDT", handler=handler)
            wait_wire_matches(ex, [client])
            for trade_id in range(LOCKSTEP):
                ex.publish("spot", "btcusdt@aggTrade", agg_trade(trade_id))
                with cond:
                    assert cond.wait_for(lambda t=trade_id: reached(t), 10), (
                        f"trade {trade_id} never reached the callback: {received}"
                    )
            assert received == [[i] for i in range(LOCKSTEP)]
            # the counter is bumped after the callback returns: wait for the last one
            delivered = wait_for(
                lambda: (n := client.hub.stats()["delivered"]) >= LOCKSTEP and n,
                timeout=10,
                what="the last delivery to be counted",
            )
            assert delivered == len(received) == LOCKSTEP
