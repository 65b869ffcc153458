"""atk8: an order amended in place (``order.amend.keepPriority``) carries a new client
order id, and the client reports that one.

Binance gives the amended order ``newClientOrderId`` (a random one when none is
sent); the reply's ``amendedOrder`` holds it as ``clientOrderId`` and the previous
one as ``origClientOrderId``. The client read ``origClientOrderId`` first (right for
a cancel's result, where ``clientOrderId`` is the cancel's own id), so the amended
order came back under its old id: cancelling by it was refused as "unknown order"
(``OrderNotFound``) with the order live on the book.
"""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync.simulator import LocalExchange

from .test_order_safety import SPOT, TIMEOUT, client_for, far_price


def test_an_order_amended_in_place_reports_its_new_client_order_id(
    exchange: LocalExchange, account: Any
) -> None:
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        placed = client.create_order_ws(SPOT, "limit", "buy", 0.02, price, {"clientOrderId": "a-1"})
        amended = client.edit_order_ws(
            placed.id, SPOT, "limit", "buy", 0.01, None, {"clientOrderId": "a-2"}, timeout=TIMEOUT
        )
        assert amended.id == placed.id and amended.clientOrderId == "a-2"
        [held] = exchange.orders(account.account, open_only=True)
        assert held["clientOrderId"] == amended.clientOrderId
        cancelled = client.cancel_order_ws(
            amended.id, SPOT, {"clientOrderId": amended.clientOrderId}, timeout=TIMEOUT
        )
    assert cancelled.id == placed.id and cancelled.status == "canceled"
    assert exchange.orders(account.account, open_only=True) == []


def test_the_amendment_event_reports_the_new_client_order_id(
    exchange: LocalExchange, account: Any
) -> None:
    """The ``executionReport`` of an amendment (``x: REPLACED``) has the new id in
    ``c`` and the previous one in ``C``; the order cache showed the previous one."""
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        with client.stream_orders(SPOT, timeout=TIMEOUT) as updates:  # subscribed from here
            placed = client.create_order_ws(
                SPOT, "limit", "buy", 0.02, price, {"clientOrderId": "b-1"}
            )
            client.edit_order_ws(
                placed.id, SPOT, "limit", "buy", 0.01, None, {"clientOrderId": "b-2"}
            )
            seen: list[Any] = []
            while not any(o.id == placed.id and o.amount == 0.01 for o in seen):
                seen += next(updates)
    amended = [o for o in seen if o.id == placed.id and o.amount == 0.01]
    assert [o.clientOrderId for o in amended] == ["b-2"]


@pytest.mark.parametrize("lost", [False, True])
def test_an_amendment_without_a_client_order_id_reports_the_one_binance_picked(
    exchange: LocalExchange, account: Any, lost: bool
) -> None:
    """No ``newClientOrderId`` sent: Binance gives the amended order a random one. The
    client reports that one, from the reply or, when the reply is lost, the look-up."""
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        placed = client.create_order_ws(SPOT, "limit", "buy", 0.02, price, {"clientOrderId": "c-1"})
        if lost:
            exchange.faults.order_outcome(
                "drop", execute=True, methods=["order.amend.keepPriority"]
            )
        amended = client.edit_order_ws(placed.id, SPOT, "limit", "buy", 0.01, None, timeout=TIMEOUT)
        [held] = exchange.orders(account.account, open_only=True)
        assert amended.id == placed.id and amended.amount == 0.01
        assert amended.clientOrderId == held["clientOrderId"] != "c-1"
        cancelled = client.cancel_order_ws(
            amended.id, SPOT, {"clientOrderId": amended.clientOrderId}, timeout=TIMEOUT
        )
    assert cancelled.id == placed.id and cancelled.status == "canceled"
    assert exchange.faults.orders.hits == ({"order.amend.keepPriority": 1} if lost else {})
