"""atk6: an order reply that names another order is not taken for this one.

The local exchange acts on the request, then answers it with a success reply whose
order ids are another order's (``faults.order_outcome("foreign")``), as a reply
meant for a different request (a swapped id, a replayed answer) would look. The
client returned that other order as the caller's: a placed order reported under an
id the exchange never gave it. Such a reply is unreadable as an answer to this
request, so the outcome is resolved by looking the order up (never sending it again).
"""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync.simulator import LocalExchange

from .test_order_safety import SPOT, TIMEOUT, USDM, client_for, far_price, held


@pytest.mark.parametrize("market", ["spot", "usdm"])
@pytest.mark.parametrize("api", ["ws", "rest"])
def test_a_placed_order_answered_with_another_order_is_resolved_to_its_own(
    exchange: LocalExchange, account: Any, market: str, api: str
) -> None:
    symbol = SPOT if market == "spot" else USDM
    with client_for(exchange, account, market) as client:
        price = far_price(client, symbol)
        exchange.faults.order_outcome("foreign", execute=True)
        create = client.create_order_ws if api == "ws" else client.create_order
        order = create(
            symbol, "limit", "buy", 0.01, price, {"clientOrderId": "mine-1"}, timeout=TIMEOUT
        )
    orders = held(exchange, account, market)
    assert [(str(o["orderId"]), o["clientOrderId"]) for o in orders] == [(order.id, "mine-1")]
    assert order.clientOrderId == "mine-1" and order.status == "open"
    assert exchange.faults.orders.hits == {"order.place": 1}  # sent once


@pytest.mark.parametrize("api", ["ws", "rest"])
def test_a_cancel_answered_with_another_order_is_resolved_to_the_cancelled_one(
    exchange: LocalExchange, account: Any, api: str
) -> None:
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        placed = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        exchange.faults.order_outcome("foreign", execute=True, methods=["order.cancel"])
        cancel = client.cancel_order_ws if api == "ws" else client.cancel_order
        cancelled = cancel(placed.id, SPOT, timeout=TIMEOUT)
    assert cancelled.id == placed.id and cancelled.clientOrderId == placed.clientOrderId
    assert cancelled.status == "canceled"
    assert exchange.orders(account.account, open_only=True) == []
    assert exchange.faults.orders.hits == {"order.cancel": 1}


def test_a_replaced_order_answered_with_another_order_is_resolved_to_the_new_one(
    exchange: LocalExchange, account: Any
) -> None:
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        placed = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        exchange.faults.order_outcome("foreign", execute=True, methods=["order.cancelReplace"])
        replaced = client.edit_order_ws(placed.id, SPOT, "limit", "buy", 0.01, price * 0.99)
    open_now = exchange.orders(account.account, open_only=True)
    assert [(str(o["orderId"]), o["clientOrderId"]) for o in open_now] == [
        (replaced.id, replaced.clientOrderId)
    ]
    assert exchange.faults.orders.hits == {"order.cancelReplace": 1}


def test_a_futures_amend_answered_with_another_order_is_resolved_to_the_amended_one(
    exchange: LocalExchange, account: Any
) -> None:
    with client_for(exchange, account, "usdm") as client:
        price = far_price(client, USDM)
        placed = client.create_order_ws(USDM, "limit", "buy", 0.01, price)
        exchange.faults.order_outcome("foreign", execute=True, methods=["order.modify"])
        amended = client.edit_order_ws(
            placed.id, USDM, "limit", "buy", 0.02, price, timeout=TIMEOUT
        )
    assert amended.id == placed.id and amended.clientOrderId == placed.clientOrderId
    assert amended.amount == 0.02
    assert exchange.faults.orders.hits == {"order.modify": 1}


def test_an_order_amended_in_place_reports_its_new_amount_and_cost(
    exchange: LocalExchange, account: Any
) -> None:
    """Spot ``order.amend.keepPriority`` nests the order under ``amendedOrder`` with
    Binance's ``qty`` and ``cumulativeQuoteQty`` spellings: the amended order came
    back with no amount (and no cost) at all."""
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        placed = client.create_order_ws(SPOT, "limit", "buy", 0.02, price)
        amended = client.edit_order_ws(placed.id, SPOT, "limit", "buy", 0.01, None, timeout=TIMEOUT)
    assert amended.id == placed.id and amended.status == "open"
    assert amended.amount == 0.01 and amended.filled == 0 and amended.remaining == 0.01
    assert amended.cost == 0
