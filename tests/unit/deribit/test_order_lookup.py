"""A lost create reply resolved by label, never by sending the order again."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ccxtpro_sync._exceptions import (
    InvalidArgument,
    OrderNotPlaced,
    OrderStatusUnknown,
    ProtocolError,
)
from ccxtpro_sync._exchanges.deribit.order_lookup import (
    lookup_request,
    resolve_cancel,
    resolve_create,
    resolve_edit,
    with_deadline,
)
from ccxtpro_sync._exchanges.deribit.orders import (
    OrderRequest,
    create_order_request,
    edit_order_params,
)

from ._fixtures import load, markets

NOW = 1_767_978_363_000


def _sent() -> tuple[Any, Any]:
    market = markets().by_id("ETH_USDC-PERPETUAL")
    request = create_order_request(market, "limit", "buy", 0.001, 2973.55, {"clientOrderId": "O-1"})
    with_deadline(request, NOW)
    return market, request


def _documented_order() -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(load("buy_limit_result.json")["result"]["order"])
    return order


def test_requests_get_a_valid_until_and_a_label_lookup() -> None:
    market, request = _sent()
    assert request.params["valid_until"] == NOW + 5000
    assert with_deadline(request, NOW + 99) == NOW + 5000  # never moved once set
    assert lookup_request(request, market) == (
        "private/get_order_state_by_label",
        {"currency": "USDC", "label": "O-1"},
    )
    with pytest.raises(InvalidArgument):
        with_deadline(create_order_request(market, "market", "buy", 1), NOW, 0)


def test_found_order_is_the_outcome() -> None:
    market, request = _sent()
    other = dict(_documented_order(), label="someone-else", order_id="USDC-1")
    order = resolve_create([other, _documented_order()], request, market, NOW)
    assert order is not None and order.id == "USDC-104819327443" and order.clientOrderId == "O-1"


def test_not_found_is_final_only_after_valid_until() -> None:
    market, request = _sent()
    assert resolve_create([], request, market, NOW + 5999) is None  # may still execute
    with pytest.raises(OrderNotPlaced) as info:
        resolve_create([], request, market, NOW + 6000)
    assert info.value.client_order_id == "O-1" and info.value.symbol == "ETH/USDC:USDC"


def test_a_reused_label_is_never_guessed() -> None:
    market, request = _sent()
    twin = dict(_documented_order(), order_id="USDC-2")
    with pytest.raises(OrderStatusUnknown):
        resolve_create([_documented_order(), twin], request, market, NOW + 10_000)
    with pytest.raises(ProtocolError):
        resolve_create({"order": 1}, request, market, NOW)


def test_lost_cancel_outcomes() -> None:
    market = markets().by_id("ETH_USDC-PERPETUAL")
    raw = _documented_order()
    oid = raw["order_id"]
    cancelled = dict(raw, order_state="cancelled")
    order = resolve_cancel(cancelled, oid, market, NOW + 6000, NOW)
    assert order is not None and order.status == "canceled"
    still_open = dict(raw, order_state="open")
    assert resolve_cancel(still_open, oid, market, NOW + 6000, NOW) is None  # may still run
    with pytest.raises(OrderNotPlaced) as caught:
        resolve_cancel(still_open, oid, market, NOW + 6000, NOW + 6000)
    assert caught.value.action == "cancel" and caught.value.order_id == oid
    with pytest.raises(ProtocolError):
        resolve_cancel(dict(raw, order_id="other"), oid, market, NOW, NOW)


def test_lost_edit_outcomes() -> None:
    market = markets().by_id("ETH_USDC-PERPETUAL")
    raw = dict(_documented_order(), order_state="open")
    oid = raw["order_id"]
    params = edit_order_params(oid, raw["amount"] * 2, raw["price"] + 1)
    with_deadline(OrderRequest("private/edit", params, ""), NOW)
    edited = dict(raw, amount=params["amount"], price=params["price"])
    order = resolve_edit(edited, params, market, NOW)
    assert order is not None and order.amount == params["amount"]
    assert resolve_edit(raw, params, market, NOW) is None  # old values, edit may still run
    with pytest.raises(OrderNotPlaced) as caught:
        resolve_edit(raw, params, market, NOW + 6000)
    assert caught.value.action == "edit"
    with pytest.raises(OrderNotPlaced):  # no longer open: it can no longer be edited
        resolve_edit(dict(raw, order_state="filled"), params, market, NOW)
