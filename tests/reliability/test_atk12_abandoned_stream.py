"""A ``stream_*`` iterator broken out of and dropped must let go of its subscription.

``for trade in client.stream_trades(symbol): ... break`` (a notebook cell run again
and again) leaves no reference to the stream. The stream must then unsubscribe, as
``Stream``'s documentation promises, instead of staying on the wire with a buffer of
up to ``maxPending`` items per hash filling for as long as the client lives.
"""

from __future__ import annotations

import gc
import threading
from typing import Any

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import exchange_streams, fast_config, wait_for

SPOT = "BTC/USDT"


def first_trades(client: Any, symbol: str) -> Any:
    for trades in client.stream_trades(symbol, timeout=20):
        return trades  # the loop is left with the stream still open
    raise AssertionError("the stream ended")


def test_a_stream_left_by_break_and_dropped_unsubscribes(exchange: LocalExchange) -> None:
    with ccxtpro_sync.binance(fast_config(exchange)) as client:
        for _ in range(3):  # the same cell, run three times
            assert first_trades(client, SPOT)
        wait_for(
            lambda: ("spot", "btcusdt@aggTrade") not in exchange_streams(exchange.stats()),
            10,
            "the abandoned stream to be unsubscribed",
        )
        assert client.hub.stats()["callbacks"] == 0
        assert not any(info.subscriptions for info in client.connections())
        # A stream still referenced stays open and keeps receiving.
        kept = client.stream_trades(SPOT, timeout=20)
        gc.collect()
        assert next(kept) and next(kept)
        kept.close()


def test_a_stream_dropped_inside_a_callback_is_released_and_delivery_goes_on(
    exchange: LocalExchange,
) -> None:
    """Dropped on the dispatcher thread (inside a callback), the stream is released
    by the dispatcher at its next update, and the other consumers keep receiving."""
    released = threading.Event()
    seen: list[Any] = []

    with ccxtpro_sync.binance(fast_config(exchange)) as client:
        holder: list[Any] = [client.stream_trades("ETH/USDT", timeout=20)]
        assert next(holder[0])

        def on_ticker(ticker: Any) -> None:
            seen.append(ticker)
            if holder:
                holder.clear()  # the last reference goes here, on the dispatcher
                released.set()

        with client.on_ticker(SPOT, on_ticker):
            assert released.wait(20)
            wait_for(
                lambda: ("spot", "ethusdt@aggTrade") not in exchange_streams(exchange.stats()),
                10,
                "the stream dropped in a callback to be unsubscribed",
            )
            count = len(seen)
            wait_for(lambda: len(seen) > count, 10, "tickers to keep coming")


def test_iterating_a_stream_inside_a_callback_says_why_at_once(exchange: LocalExchange) -> None:
    """The dispatcher feeds ``stream_*`` iterators; a callback runs on the dispatcher. A
    ``next()`` there waited for itself until its timeout, then blamed the market ("no
    update within ..."); now it says what is wrong, at once."""
    outcome: list[BaseException] = []
    done = threading.Event()

    def on_ticker(ticker: Any) -> None:
        if done.is_set():
            return
        with client.stream_trades(SPOT, timeout=600) as trades:
            try:
                next(trades)
            except BaseException as error:  # what next() raised is the point
                outcome.append(error)
        done.set()

    with ccxtpro_sync.binance(fast_config(exchange)) as client, client.on_ticker(SPOT, on_ticker):
        assert done.wait(30), "next() in the callback sat out its timeout"
        assert len(outcome) == 1 and isinstance(outcome[0], ccxtpro_sync.NotSupported)
        assert "callback" in str(outcome[0])
        # The same stream type works from another thread meanwhile.
        with client.stream_trades(SPOT, timeout=20) as trades:
            assert next(trades)
