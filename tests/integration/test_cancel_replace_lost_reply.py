"""A spot cancel-replace whose reply is lost and whose new order turns out not placed:
the error also says what became of the order it was to cancel.

Binance cancels the old order first, then places the new one. When the reply is
lost and the new order does not exist once the request is stale, the old order may
be cancelled (the cancel executed, the new order was rejected) or still open (the
request never executed). ``OrderNotPlaced(action="edit")`` said only that the new
order was not placed, which invites placing it again next to an order still open,
or assuming one is open that was cancelled. Now the old order is looked up and its
state reported; the local exchange scripts the lost replies.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ccxtpro_sync import OrderNotFound, OrderNotPlaced, OrderStatusUnknown, RequestTimeout
from ccxtpro_sync._exchanges.binance.order_outcome import (
    replaced,
    replaced_found,
    replaced_unknown,
)
from ccxtpro_sync._structures import Order
from ccxtpro_sync.simulator import LocalExchange

from .test_order_safety import SPOT, TIMEOUT, client_for, far_price


def test_a_replace_that_never_executed_reports_the_old_order_still_open(
    exchange: LocalExchange, account: Any
) -> None:
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        old = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        exchange.faults.order_outcome("unknown", execute=False, methods=["order.cancelReplace"])
        with pytest.raises(OrderNotPlaced) as caught:
            client.edit_order_ws(old.id, SPOT, "limit", "buy", 0.02, price, timeout=TIMEOUT)
    error = caught.value
    assert error.action == "edit" and error.replaced_id == old.id
    assert error.replaced_status == "open"
    assert error.replaced_order.id == old.id and error.replaced_order.amount == 0.01
    assert f"replaced order {old.id} is open" in str(error)
    held = exchange.orders(account.account, open_only=True)
    assert [str(o["orderId"]) for o in held] == [old.id]


def test_a_replace_whose_new_order_was_rejected_reports_the_old_order_cancelled(
    exchange: LocalExchange, account: Any
) -> None:
    """The cancel executed, the new order was refused (1000 BTC with 10,000 USDT),
    and the reply was lost: nothing is open any more, and the error says so."""
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        old = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        exchange.faults.order_outcome("drop", execute=True, methods=["order.cancelReplace"])
        with pytest.raises(OrderNotPlaced) as caught:
            client.edit_order_ws(old.id, SPOT, "limit", "buy", 1000, price, timeout=TIMEOUT)
    error = caught.value
    assert error.action == "edit" and error.replaced_id == old.id
    assert error.replaced_status == "canceled"
    assert error.replaced_order.id == old.id
    assert exchange.orders(account.account, open_only=True) == []
    assert exchange.faults.orders.hits == {"order.cancelReplace": 1}


#: Shorter than the time a request takes to go stale (RECV_WINDOW + the 1 s margin):
#: the new order's fate stays unknown.
SHORT = 1.2


def test_a_replace_whose_outcome_stays_unknown_reports_the_old_order_cancelled(
    exchange: LocalExchange, account: Any
) -> None:
    """The cancel executed, the new order was refused, Binance answered -1007 and the
    caller's time ran out before the request went stale: the new order's fate is
    unknown, but the old order's is not, and the error says so (it said nothing)."""
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        old = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        exchange.faults.order_outcome("unknown", execute=True, methods=["order.cancelReplace"])
        with pytest.raises(OrderStatusUnknown) as caught:
            client.edit_order_ws(old.id, SPOT, "limit", "buy", 1000, price, timeout=SHORT)
    error = caught.value
    assert error.action == "edit" and error.replaced_id == old.id
    assert error.replaced_status == "canceled"
    assert error.replaced_order.id == old.id
    assert f"replaced order {old.id} is canceled" in str(error)
    assert exchange.orders(account.account, open_only=True) == []
    assert exchange.faults.orders.hits == {"order.cancelReplace": 1}


def test_an_old_order_still_open_while_the_request_could_execute_is_unknown(
    exchange: LocalExchange, account: Any
) -> None:
    """The request never executed, but the caller's time ran out before it went stale:
    an open old order may still be cancelled by it, so it is not reported open."""
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        old = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        exchange.faults.order_outcome("unknown", execute=False, methods=["order.cancelReplace"])
        with pytest.raises(OrderStatusUnknown) as caught:
            client.edit_order_ws(old.id, SPOT, "limit", "buy", 0.02, price, timeout=SHORT)
    error = caught.value
    assert error.replaced_id == old.id and error.replaced_status == "unknown"
    assert error.replaced_order is None
    assert "could still execute" in str(error)
    held = exchange.orders(account.account, open_only=True)
    assert [str(o["orderId"]) for o in held] == [old.id]


# -- the look-up of the old order, without sockets ------------------------------------------


def _not_placed() -> OrderNotPlaced:
    return OrderNotPlaced(
        "BTC/USDT (clientOrderId n-1): the reply was lost and the new order was not placed",
        client_order_id="n-1",
        symbol=SPOT,
        action="edit",
    )


def _order(order_id: str, status: str) -> Order:
    return Order(id=order_id, symbol=SPOT, status=status)


def test_an_old_order_no_look_up_finds_in_time_is_unknown() -> None:
    def query(remaining: float) -> Order:
        raise RequestTimeout("no answer")

    error = replaced(_not_placed(), "42", query, time.monotonic() + 0.3)
    assert error.replaced_status == "unknown" and error.replaced_order is None
    assert "look it up" in str(error) and "no answer" in str(error)
    assert (error.client_order_id, error.action, error.replaced_id) == ("n-1", "edit", "42")


def test_the_old_orders_look_up_skips_foreign_answers_and_unknown_orders_stay_unknown() -> None:
    answers = iter([_order("7", "open"), _order("42", "canceled")])
    error = replaced(_not_placed(), "42", lambda _: next(answers), time.monotonic() + 5)
    assert error.replaced_status == "canceled" and error.replaced_order.id == "42"

    def missing(remaining: float) -> Order:
        raise OrderNotFound("Order does not exist.")

    error = replaced(_not_placed(), "42", missing, time.monotonic() + 5)
    assert error.replaced_status == "unknown" and "does not know it" in str(error)
    closed = replaced(_not_placed(), "42", missing, time.monotonic() + 5, closed=lambda: True)
    assert closed.replaced_status == "unknown"


def _unknown() -> OrderStatusUnknown:
    return OrderStatusUnknown(
        "edit BTC/USDT (clientOrderId n-1): outcome unknown",
        client_order_id="n-1",
        symbol=SPOT,
        action="edit",
        cause=RequestTimeout("no answer"),
    )


def test_an_open_old_order_is_reported_open_only_once_the_request_is_stale() -> None:
    stale = iter([False, False, True])
    looked: list[int] = []

    def query(remaining: float) -> Order:
        looked.append(1)
        return _order("42", "open")

    error = replaced_unknown(
        _unknown(), "42", query, time.monotonic() + 5, stale=lambda: next(stale)
    )
    assert (error.replaced_status, error.replaced_order.id, len(looked)) == ("open", "42", 3)
    assert isinstance(error.cause, RequestTimeout) and error.client_order_id == "n-1"
    never = replaced_unknown(_unknown(), "42", query, time.monotonic() + 0.3, stale=lambda: False)
    assert never.replaced_status == "unknown" and never.replaced_order is None


def test_a_final_old_order_is_reported_whenever_it_is_read() -> None:
    closed = _order("42", "closed")
    error = replaced_unknown(
        _unknown(), "42", lambda _: closed, time.monotonic() + 5, stale=lambda: False
    )
    assert error.replaced_status == "closed" and error.replaced_order.id == "42"


# -- a lost reply resolved to the new order: the old order's state too ----------------------


def test_a_lost_allow_failure_replace_resolved_to_the_new_order_reports_the_old_one(
    exchange: LocalExchange, account: Any
) -> None:
    """ALLOW_FAILURE places the new order even when the cancel half fails, so finding
    the new order says nothing about the old one: its state is looked up and carried
    in the returned order's ``info`` (it was not: the caller could not tell)."""
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        gone = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        client.cancel_order_ws(gone.id, SPOT)  # the cancel half will fail
        exchange.faults.order_outcome("drop", execute=True, methods=["order.cancelReplace"])
        new = client.edit_order_ws(
            gone.id,
            SPOT,
            "limit",
            "buy",
            0.02,
            price,
            {"cancelReplaceMode": "ALLOW_FAILURE", "clientOrderId": "new-2"},
            timeout=TIMEOUT,
        )
    assert (new.clientOrderId, new.status, new.amount) == ("new-2", "open", 0.02)
    assert new.info["replaced_id"] == gone.id and new.info["replaced_status"] == "canceled"
    assert new.info["replaced_order"]["id"] == gone.id
    assert str(new["info"]["orderId"]) == new.id  # Binance's own fields are kept
    assert exchange.faults.orders.hits == {"order.cancelReplace": 1}


def test_a_lost_replace_resolved_to_the_new_order_reports_the_old_one_cancelled(
    exchange: LocalExchange, account: Any
) -> None:
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        old = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        exchange.faults.order_outcome("unknown", execute=True, methods=["order.cancelReplace"])
        new = client.edit_order_ws(old.id, SPOT, "limit", "buy", 0.02, price, timeout=TIMEOUT)
    assert new.id != old.id and new.status == "open"
    assert new.info["replaced_id"] == old.id and new.info["replaced_status"] == "canceled"
    held = exchange.orders(account.account, open_only=True)
    assert [str(o["orderId"]) for o in held] == [new.id]


def test_a_found_new_order_whose_old_order_no_look_up_reads_says_unknown() -> None:
    def query(remaining: float) -> Order:
        raise RequestTimeout("no answer")

    new = Order(id="43", symbol=SPOT, status="open", info={"orderId": 43})
    found = replaced_found(new, "42", query, time.monotonic() + 0.3)
    assert found.info == {
        "orderId": 43,
        "replaced_id": "42",
        "replaced_status": "unknown",
        "replaced_order": None,
    }
    assert (found.id, found.status, new.info) == ("43", "open", {"orderId": 43})  # a copy
