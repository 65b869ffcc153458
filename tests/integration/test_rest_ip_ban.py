"""A REST 418 IP ban, earned by calls sent on after 429s (the local exchange escalates
as Binance documents), met by the client's REST order calls: a typed ``IPBanned``
with ``Retry-After``, nothing sent into the ban, the order request never sent twice.

Before, a call refused while the ban ran said ``RateLimitExceeded``: a caller that
backs off for a 429's short wait had no way to tell the ban from it."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from ccxtpro_sync import IPBanned
from ccxtpro_sync.simulator import LocalExchange

from .test_order_safety import SPOT, client_for, far_price

BAN = 2.0


def _order_posts(exchange: LocalExchange) -> list[int]:
    return [
        c.status for c in exchange.rest.calls() if (c.method, c.path) == ("POST", "/api/v3/order")
    ]


def test_a_rest_ip_ban_is_typed_honoured_and_never_resends_the_order(
    exchange: LocalExchange, account: Any
) -> None:
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        client.load_markets()
        # Another process on this IP ignores the 429s and earns a ban (scripted short).
        now = [exchange.rest.clock()]
        exchange.rest.clock = lambda: now[0]
        exchange.rest.bans.ban_seconds = BAN
        limit = exchange.rest.pool_limits["spot"]
        exchange.rest.pool_limits["spot"] = 0
        ping = exchange.urls("spot")["rest"] + "/api/v3/ping"
        statuses = [requests.get(ping, timeout=5).status_code for _ in range(4)]
        assert statuses == [429, 429, 429, 418]
        exchange.rest.pool_limits["spot"] = limit

        with pytest.raises(IPBanned) as banned:
            client.create_order(SPOT, "limit", "buy", 0.01, price)
        assert banned.value.retry_after == BAN
        assert _order_posts(exchange) == [418]  # refused, not executed: not resolved
        with pytest.raises(IPBanned) as held:  # honoured: not sent into the ban
            client.create_order(SPOT, "limit", "buy", 0.01, price)
        assert held.value.retry_after is not None and 0 < held.value.retry_after <= BAN
        assert _order_posts(exchange) == [418]
        assert exchange.orders(account.account, open_only=True) == []

        now[0] += BAN  # the ban is over on the exchange; the client holds its Retry-After
        hold = client.rest.held_until - time.monotonic()
        assert 0 < hold <= BAN
        threading.Event().wait(hold)  # the hold itself is what is tested: no event ends it
        placed = client.create_order(SPOT, "limit", "buy", 0.01, price)
        assert _order_posts(exchange) == [418, 200]
        held_orders = exchange.orders(account.account, open_only=True)
        assert [str(o["orderId"]) for o in held_orders] == [placed.id]


def test_a_418_without_retry_after_still_holds_order_calls(
    exchange: LocalExchange, account: Any
) -> None:
    """A ban that names no end (no ``Retry-After``, no date in its body) must not be
    forgotten: an order call sent into a running ban lengthens it. The client holds
    order calls for Binance's shortest documented ban; it sent the next one at once."""
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        client.load_markets()
        exchange.faults.refuse_rest(1, status=418, retry_after=None)
        with pytest.raises(IPBanned):
            client.create_order(SPOT, "limit", "buy", 0.01, price)
        with pytest.raises(IPBanned) as held:
            client.create_order(SPOT, "limit", "buy", 0.01, price)
        assert held.value.retry_after is not None and held.value.retry_after > 60
        assert "not sent" in str(held.value)
        assert _order_posts(exchange) == [418]  # the second was never sent
        assert exchange.orders(account.account, open_only=True) == []
