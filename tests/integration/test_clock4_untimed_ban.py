"""clock4: a WS API 418 that names no end still holds the next order.

Binance's ban replies carry ``data.retryAfter``; one that does not (nor a date in its
message) set no hold, so the next order was sent straight into the ban, which
lengthens it. The client now holds order calls for 120 s, Binance's shortest
documented IP ban, as its REST path does.
"""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync import IPBanned, RateLimitExceeded
from ccxtpro_sync.simulator import LocalExchange

from .test_order_safety import SPOT, TIMEOUT, client_for, far_price, held


def test_a_418_without_retry_after_holds_the_next_ws_order(
    exchange: LocalExchange, account: Any
) -> None:
    with client_for(exchange, account) as spot:
        price = far_price(spot, SPOT)
        exchange.faults.order_outcome("banned", execute=False)
        with pytest.raises(IPBanned) as banned:
            spot.create_order_ws(SPOT, "limit", "buy", 0.01, price, timeout=TIMEOUT)
        assert banned.value.retry_after is None  # the ban said nothing of its length
        with pytest.raises(RateLimitExceeded) as held_off:
            spot.create_order_ws(SPOT, "limit", "buy", 0.01, price, timeout=TIMEOUT)
    assert held_off.value.retry_after is not None and 110 < held_off.value.retry_after <= 120
    # neither order reached the book: the second was never sent
    assert exchange.faults.orders.hits == {"order.place": 1}
    assert held(exchange, account) == []


def test_the_scripted_untimed_ban_on_rest_and_its_rule(
    exchange: LocalExchange, account: Any
) -> None:
    with pytest.raises(ValueError, match="refused"):
        exchange.faults.order_outcome("banned", execute=True)
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        exchange.faults.order_outcome("banned", execute=False)
        with pytest.raises(IPBanned) as banned:
            client.create_order(SPOT, "limit", "buy", 0.01, price, timeout=TIMEOUT)
        assert banned.value.retry_after is None
        with pytest.raises(IPBanned) as held_off:  # the REST path's own hold
            client.create_order(SPOT, "limit", "buy", 0.01, price, timeout=TIMEOUT)
        assert held_off.value.retry_after is not None and held_off.value.retry_after > 110
    assert exchange.faults.orders.hits == {"order.place": 1}
    assert held(exchange, account) == []
