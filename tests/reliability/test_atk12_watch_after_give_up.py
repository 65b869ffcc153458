"""A ``watch_*`` after its connection gave up must subscribe again, not wait on nothing.

A watch holds its streams until ``un_watch_*``. When the connection carrying them
gives up (its reconnect policy is spent), the held streams die with it; the next
``watch_*`` of the same stream must open a new connection (or fail at once with the
connection's final error), whatever the caller did in between. A script that retries
``watch_ticker`` in a loop after a network error is the common case.
"""

from __future__ import annotations

import ccxtpro_sync
from ccxtpro_sync import ExchangeNotAvailable, RequestTimeout
from ccxtpro_sync.simulator import LocalExchange

from .support import fast_config, wait_for
from .test_hostile_transport import giving_up_client, outcome_of, refused_url

SPOT = "BTC/USDT"


def test_a_retried_watch_after_a_give_up_fails_at_once_then_reconnects(
    exchange: LocalExchange,
) -> None:
    with refused_url() as url, giving_up_client(exchange, ws=url) as client:
        client.load_markets()
        first = outcome_of(lambda: client.watch_ticker(SPOT, timeout=600))
        assert isinstance(first, ExchangeNotAvailable)
        # The user's retry loop calls again, touching nothing else of the client: the
        # same final error at once (a new connection that gives up too), not a wait
        # for the whole timeout on a stream nobody subscribes.
        again = outcome_of(lambda: client.watch_ticker(SPOT, timeout=600), within=15)
        assert isinstance(again, ExchangeNotAvailable) and not isinstance(again, RequestTimeout)
        # The exchange is back: the next call subscribes on a new connection.
        client.endpoints = client.endpoints.replace(ws=exchange.urls("spot")["ws"])
        ticker = outcome_of(lambda: client.watch_ticker(SPOT, timeout=20))
        assert isinstance(ticker, ccxtpro_sync.Ticker) and ticker.symbol == SPOT


def test_a_watch_held_on_a_live_connection_that_gives_up_subscribes_again(
    exchange: LocalExchange,
) -> None:
    """The connection worked, then its reconnects were refused: the held watch ended
    with it, and the next watch (the exchange back) gets a ticker on a new connection."""
    config = fast_config(
        exchange,
        reconnect=ccxtpro_sync.default_reconnect_policy(initial=0.01, maximum=0.05, max_attempts=2),
    )
    with ccxtpro_sync.binance(config) as client:
        assert client.watch_ticker(SPOT, timeout=20).symbol == SPOT
        [conn] = client._planner.connections()
        # Reconnects refused with a final status: the reader gives up at once.
        exchange.faults.refuse_handshakes(count=1_000, status=403)
        exchange.faults.drop()
        wait_for(lambda: conn.finished, 20, "the connection to give up")
        exchange.faults.clear()
        ticker = outcome_of(lambda: client.watch_ticker(SPOT, timeout=20))
        assert isinstance(ticker, ccxtpro_sync.Ticker) and ticker.symbol == SPOT
