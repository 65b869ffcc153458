"""atk6: a lost order reply is never resolved to an older order that shares its id.

A careless caller reuses a client order id (Binance refuses it only among *open*
orders): the first order with it, placed a while ago, was cancelled; the second
request's reply is lost.
Looking the id up finds the first order, which the client returned as the outcome
of the second request: "your order is cancelled" for an order that was never placed,
or was placed and is open. An order created before the request left cannot be its
outcome; the look-up goes on until the request is stale, then ``OrderNotPlaced``.
"""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync import OrderNotPlaced
from ccxtpro_sync.simulator import LocalExchange, matching

from .test_order_safety import SPOT, TIMEOUT, client_for, far_price, held


@pytest.mark.parametrize("api", ["ws", "rest"])
@pytest.mark.parametrize("execute", [False, True])
def test_a_lost_reply_is_not_resolved_to_an_older_order_with_the_same_client_id(
    exchange: LocalExchange, account: Any, api: str, execute: bool, monkeypatch: Any
) -> None:
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        create = client.create_order_ws if api == "ws" else client.create_order
        real_now = matching.now_ms
        # the exchange dates the first order a minute back (no test waits for a clock)
        monkeypatch.setattr(matching, "now_ms", lambda: real_now() - 60_000)
        first = create(SPOT, "limit", "buy", 0.01, price, {"clientOrderId": "again"})
        monkeypatch.setattr(matching, "now_ms", real_now)
        client.cancel_order_ws(first.id, SPOT)
        exchange.faults.order_outcome("drop", execute=execute)
        if not execute:
            with pytest.raises(OrderNotPlaced):
                create(
                    SPOT, "limit", "buy", 0.02, price, {"clientOrderId": "again"}, timeout=TIMEOUT
                )
            assert exchange.orders(account.account, open_only=True) == []
            return
        second = create(
            SPOT, "limit", "buy", 0.02, price, {"clientOrderId": "again"}, timeout=TIMEOUT
        )
    open_now = exchange.orders(account.account, open_only=True)
    assert [str(o["orderId"]) for o in open_now] == [second.id] != [first.id]
    assert second.status == "open" and second.amount == 0.02
    assert len(held(exchange, account)) == 2
