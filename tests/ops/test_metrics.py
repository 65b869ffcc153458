"""Each ``ConnectionInfo`` figure, read from a client on the local exchange."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ccxtpro_sync import ClientClosed, RateLimitExceeded
from ccxtpro_sync._sync.hub import Hub
from ccxtpro_sync.simulator import LocalExchange

from .conftest import SPOT, make, wait_until

#: Generator steps that publish at least one 1-second ticker (tick_interval 0.05).
TICKER_TICKS = 25
#: Trades published one by one: enough callback calls that losing one in ten shows.
LOCKSTEP = 30


@pytest.fixture
def quiet() -> Iterator[LocalExchange]:
    """An exchange that publishes only when the test ticks it."""
    with LocalExchange(seed=5, auto_publish=False) as ex:
        yield ex


def only(client: Any) -> Any:
    [info] = client.connections()
    return info


def test_state_goes_connecting_open_reconnecting_open_closed(exchange: LocalExchange) -> None:
    exchange.faults.delay_handshakes(1.0, count=1)
    client = make(exchange)
    try:
        subscription = client.on_ticker(SPOT, lambda t: None)
        assert only(client).state == "connecting"
        wait_until(lambda: only(client).state == "open", what="open")
        assert only(client).connected_for is not None and only(client).connected_for >= 0
        exchange.faults.refuse_handshakes(count=1000, status=503, retry_after=0)
        exchange.faults.drop()
        wait_until(lambda: only(client).state == "reconnecting", what="reconnecting")
        assert only(client).connected_for is None
        assert only(client).last_error  # the drop, then each refused handshake
        exchange.faults.clear()
        wait_until(lambda: only(client).state == "open", what="open again")
        subscription.cancel()
    finally:
        name = only(client).name
        client.close()
    assert client.connections() == []  # a closed client holds no connection
    final = client.connection_info(name)
    assert final.state == "closed" and final.connected_for is None


def test_subscriptions_and_confirmed(exchange: LocalExchange) -> None:
    with make(exchange) as client:
        client.watch_ticker(SPOT)
        client.watch_trades(SPOT)
        info = wait_until(lambda: (i := only(client)).confirmed == 2 and i, what="confirmed")
        assert sorted(info.subscriptions) == ["btcusdt@aggTrade", "btcusdt@ticker"]
        assert info.in_flight_requests == 0
        client.un_watch_trades(SPOT)
        info = wait_until(lambda: (i := only(client)).confirmed == 1 and i, what="unsubscribed")
        assert info.subscriptions == ["btcusdt@ticker"]


def test_waiter_count(quiet: LocalExchange) -> None:
    with make(quiet) as client:
        client.load_markets()
        got: list[Any] = []
        watcher = threading.Thread(target=lambda: got.append(client.watch_ticker(SPOT)))
        watcher.start()
        quiet.wait_for_subscription("btcusdt@ticker", timeout=10)
        assert wait_until(lambda: only(client).waiters == 1, what="one waiter")
        quiet.tick(TICKER_TICKS)
        watcher.join(10)
        assert got and only(client).waiters == 0


def test_callbacks_queue_coalesced_delivered_and_errors(exchange: LocalExchange) -> None:
    release = threading.Event()
    entered = threading.Event()

    def stuck(trades: Any) -> None:
        entered.set()
        release.wait(10)

    def raising(ticker: Any) -> None:
        raise ValueError("boom")

    with make(exchange) as client:
        try:
            with client.on_trades(SPOT, stuck), client.on_ticker(SPOT, raising):
                assert only(client).callbacks == 2
                assert entered.wait(10)
                # The dispatcher is busy in ``stuck``: ticker updates wait and coalesce.
                info = wait_until(
                    lambda: (i := only(client)).queued >= 1 and i.coalesced >= 1 and i,
                    what="queued and coalesced updates",
                )
                assert info.delivered == 0
                release.set()
                wait_until(lambda: only(client).callback_errors >= 1, what="callback error")
                wait_until(lambda: only(client).delivered >= 1, what="a delivery")
        finally:
            release.set()
        assert only(client).callbacks == 0


def _agg_trade(trade_id: int) -> dict[str, Any]:
    return {
        "e": "aggTrade", "E": 1_700_000_000_000 + trade_id, "s": "BTCUSDT", "a": trade_id,
        "p": "50000.00", "q": "0.001", "f": trade_id, "l": trade_id,
        "T": 1_700_000_000_000 + trade_id, "m": False, "M": True,
    }  # fmt: skip


def test_delivered_counts_the_calls_the_callback_really_received(quiet: LocalExchange) -> None:
    """Trades in lockstep (one call each): ``delivered`` must match the handler's own
    count and the ids it saw must run without a gap."""
    seen: list[int] = []
    cond = threading.Condition()

    def handler(trades: Any) -> None:
        with cond:
            seen.extend(int(t.id) for t in trades)
            cond.notify_all()

    with make(quiet) as client, client.on_trades(SPOT, handler=handler):
        quiet.wait_for_subscription("btcusdt@aggTrade", timeout=10)
        for trade_id in range(LOCKSTEP):
            quiet.publish("spot", "btcusdt@aggTrade", _agg_trade(trade_id))
            with cond:
                assert cond.wait_for(lambda t=trade_id: t in seen, 10), f"lost {trade_id}: {seen}"
        assert seen == list(range(LOCKSTEP))
        delivered = wait_until(
            lambda: (n := only(client).delivered) >= LOCKSTEP and n, what="the last count"
        )
        assert delivered == LOCKSTEP


def test_dropped_with_a_small_pending_bound(exchange: LocalExchange) -> None:
    release = threading.Event()
    with make(exchange) as client:
        # max_lag: the reader waits that long for the stuck callback, then drops
        client.hub = Hub(owner=client, name=f"ccxtpro_sync-{client.name}", max_items=2, max_lag=0.5)
        try:
            with client.on_trades(SPOT, lambda trades: release.wait(10)):
                wait_until(lambda: only(client).dropped >= 3, what="dropped trades")
        finally:
            release.set()


def test_cache_sizes(exchange: LocalExchange) -> None:
    with make(exchange, tradesLimit=5) as client:
        client.watch_ohlcv(SPOT, "1m")
        client.watch_order_book(SPOT)
        for _ in range(10):
            client.watch_trades(SPOT)
        sizes = only(client).cache_sizes
        assert 1 <= sizes[f"trades:{SPOT}"] <= 5
        assert sizes[f"ohlcv:{SPOT}:1m"] >= 1
        book = client.watch_order_book(SPOT)
        assert sizes[f"orderbook:{SPOT}"] > 10
        assert only(client).cache_sizes[f"orderbook:{SPOT}"] >= len(book.bids)


def test_connects_and_reconnects(exchange: LocalExchange) -> None:
    with make(exchange) as client:
        client.watch_ticker(SPOT)
        assert (only(client).connects, only(client).reconnects) == (1, 0)
        exchange.faults.drop()
        wait_until(lambda: only(client).reconnects == 1, what="a reconnect")
        client.watch_ticker(SPOT)
        info = only(client)
        assert info.connects == 2 and info.state == "open"
        assert info.subscriptions == ["btcusdt@ticker"]


def test_requests_rejected_and_protocol_errors(exchange: LocalExchange) -> None:
    with LocalExchange(seed=1, speed=10.0, tick_interval=0.01, max_streams={"spot": 1}) as small:
        with make(small) as client:
            client.watch_ticker(SPOT)
            with pytest.raises(RateLimitExceeded):
                client.watch_trades(SPOT, timeout=5)
            assert only(client).requests_rejected == 1
            assert only(client).protocol_errors == 0
            small.faults.send_malformed("invalid_json")
            wait_until(lambda: only(client).protocol_errors == 1, what="a protocol error")
            before = only(client).messages
            client.watch_ticker(SPOT)
            assert only(client).messages > before


def test_first_update_latency_per_session(exchange: LocalExchange) -> None:
    exchange.faults.delay_messages(0.3)
    with make(exchange) as client:
        assert client.connections() == []
        client.watch_ticker(SPOT)
        slow = only(client).first_update_latency
        assert slow is not None and 0.3 <= slow < 5
        exchange.faults.delay_messages(0)
        exchange.faults.drop()
        wait_until(lambda: only(client).reconnects == 1, what="a reconnect")
        client.watch_ticker(SPOT)
        fast = only(client).first_update_latency
        assert fast is not None and fast < slow


def test_max_gap_and_last_message_age(quiet: LocalExchange) -> None:
    seen = threading.Semaphore(0)
    with make(quiet) as client, client.on_ticker(SPOT, lambda t: seen.release()):
        quiet.wait_for_subscription("btcusdt@ticker", timeout=10)
        quiet.tick(TICKER_TICKS)
        assert seen.acquire(timeout=10)
        assert only(client).first_update_latency is not None
        first_age = only(client).last_message_age
        assert first_age is not None
        # Silence: the age grows; the gap is recorded when the next frame comes.
        wait_until(lambda: only(client).last_message_age >= 0.3, what="an old message")
        gap_before = only(client).max_gap
        ticked = time.monotonic()
        quiet.tick(TICKER_TICKS)
        assert seen.acquire(timeout=10)
        info = only(client)
        assert info.max_gap >= 0.3 > gap_before
        # the age starts again from the new frame, read after the tick (a bound that
        # holds however long a loaded machine takes to get here)
        age = info.last_message_age
        assert age is not None and age <= time.monotonic() - ticked


def test_replies_count_as_messages_but_not_as_updates(quiet: LocalExchange) -> None:
    with make(quiet) as client, client.on_ticker(SPOT, lambda t: None):
        quiet.wait_for_subscription("btcusdt@ticker", timeout=10)
        wait_until(lambda: only(client).confirmed == 1, what="the first stream confirmed")
        before = only(client).messages
        # A live SUBSCRIBE on the open socket: its acknowledgement is a frame, not data.
        with client.on_trades(SPOT, lambda t: None):
            wait_until(lambda: only(client).confirmed == 2, what="the SUBSCRIBE acknowledged")
            info = only(client)
        assert info.messages > before
        assert info.first_update_latency is None and info.last_message_age is None
        assert info.max_gap == 0.0


def test_figures_survive_close(exchange: LocalExchange) -> None:
    client = make(exchange)
    client.watch_ticker(SPOT)
    name = only(client).name
    client.close()
    assert client.connections() == []
    info = client.connection_info(name)  # the final figures stay reachable by name
    assert info.state == "closed" and info.messages >= 1 and info.waiters == 0
    with pytest.raises(ClientClosed):
        client.watch_ticker(SPOT)
