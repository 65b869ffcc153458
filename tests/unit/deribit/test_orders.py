"""Order request params from CCXT-style arguments."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from ccxtpro_sync._exceptions import ArgumentsRequired, InvalidArgument, InvalidOrder
from ccxtpro_sync._exchanges.deribit.orders import (
    LABEL_MAX,
    cancel_all_params,
    cancel_by_label_params,
    cancel_params,
    create_order_request,
    edit_order_params,
    last_trades_request,
    new_label,
    order_state_by_label_params,
    order_state_params,
    positions_params,
)

from ._fixtures import load, markets


def _eth() -> Any:
    return markets().by_id("ETH-PERPETUAL")


def test_market_buy_matches_the_documented_request() -> None:
    documented = load("buy_market_request.json")
    request = create_order_request(_eth(), "market", "buy", 40, params={"label": "market0000234"})
    assert request.method == documented["method"] == "private/buy"
    assert request.params == documented["params"]
    assert request.label == "market0000234"


def test_limit_sell_with_client_order_id_and_flags() -> None:
    request = create_order_request(
        _eth(),
        "limit",
        "sell",
        Decimal("10"),
        Decimal("2500.5"),
        {"clientOrderId": "my-order-1", "postOnly": True, "reduceOnly": True},
    )
    assert request.method == "private/sell"
    assert request.params == {
        "instrument_name": "ETH-PERPETUAL",
        "amount": Decimal("10"),
        "price": Decimal("2500.5"),
        "label": "my-order-1",
        "type": "limit",
        "post_only": True,
        "reject_post_only": True,
        "reduce_only": True,
    }


def test_generated_labels_follow_deribits_rule() -> None:
    first = create_order_request(_eth(), "market", "buy", 1)
    second = create_order_request(_eth(), "market", "buy", 1)
    assert first.label != second.label
    assert first.params["label"] == first.label
    assert re.fullmatch(r"cps-[0-9a-f]{28}", first.label)
    assert len(new_label()) <= LABEL_MAX


@pytest.mark.parametrize(
    ("order_type", "price", "params", "expected"),
    [
        (
            "limit",
            100,
            {"triggerPrice": 99},
            {"type": "stop_limit", "trigger_price": 99, "trigger": "last_price"},
        ),
        (
            "market",
            None,
            {"stopLossPrice": 90, "trigger": "mark_price"},
            {"type": "stop_market", "trigger_price": 90, "trigger": "mark_price"},
        ),
        (
            "limit",
            100,
            {"takeProfitPrice": 120},
            {"type": "take_limit", "trigger_price": 120, "trigger": "last_price"},
        ),
        (
            "market",
            None,
            {"takeProfitPrice": 120},
            {"type": "take_market", "trigger_price": 120, "trigger": "last_price"},
        ),
        (
            "market",
            None,
            {"trailingAmount": 5},
            {"type": "trailing_stop", "trigger_offset": 5, "trigger": "last_price"},
        ),
        (
            "limit",
            100,
            {"timeInForce": "IOC"},
            {"type": "limit", "time_in_force": "immediate_or_cancel"},
        ),
        ("limit", 100, {"timeInForce": "FOK"}, {"type": "limit", "time_in_force": "fill_or_kill"}),
        (
            "limit",
            100,
            {"timeInForce": "PO"},
            {
                "type": "limit",
                "time_in_force": "good_til_cancelled",
                "post_only": True,
                "reject_post_only": True,
            },
        ),
        ("limit", 100, {"display_amount": 2}, {"type": "limit", "display_amount": 2}),
    ],
)
def test_order_type_variants(
    order_type: str, price: Any, params: dict[str, Any], expected: dict[str, Any]
) -> None:
    request = create_order_request(_eth(), order_type, "buy", 3, price, params)
    body = dict(request.params)
    for key in ("instrument_name", "amount", "label"):
        body.pop(key)
    body.pop("price", None)
    assert body == expected


@pytest.mark.parametrize(
    ("order_type", "side", "amount", "price", "params", "error"),
    [
        ("limit", "buy", 1, None, {}, ArgumentsRequired),
        ("market", "buy", 1, 100, {}, InvalidOrder),
        ("stop", "buy", 1, 100, {}, InvalidOrder),
        ("limit", "long", 1, 100, {}, InvalidOrder),
        ("limit", "buy", 0, 100, {}, InvalidOrder),
        ("limit", "buy", float("nan"), 100, {}, InvalidOrder),
        ("limit", "buy", 1, float("inf"), {}, InvalidOrder),
        ("limit", "buy", "1", 100, {}, InvalidOrder),
        ("limit", "buy", 1, 100, {"clientOrderId": "x" * 65}, InvalidOrder),
        ("limit", "buy", 1, 100, {"clientOrderId": ""}, InvalidOrder),
        ("limit", "buy", 1, 100, {"clientOrderId": 5}, InvalidOrder),
        ("limit", "buy", 1, 100, {"triggerPrice": 1, "takeProfitPrice": 2}, InvalidOrder),
        ("limit", "buy", 1, 100, {"postOnly": True, "timeInForce": "IOC"}, InvalidOrder),
        ("market", "buy", 1, None, {"postOnly": True}, InvalidOrder),
        ("limit", "buy", 1, 100, {"timeInForce": "GTX"}, InvalidOrder),
        ("limit", "buy", 1, 100, {"triggerPrice": 99, "trigger": "best_price"}, InvalidOrder),
        ("limit", "buy", 1, 100, {"trailingAmount": 5}, InvalidOrder),
        ("limit", "buy", 1, 100, {"reduceOnly": "yes"}, InvalidOrder),
        ("limit", "buy", 1, 100, {"typo_param": 1}, InvalidArgument),
    ],
)
def test_bad_orders_are_refused_before_sending(
    order_type: str, side: str, amount: Any, price: Any, params: dict[str, Any], error: type
) -> None:
    with pytest.raises(error):
        create_order_request(_eth(), order_type, side, amount, price, params)


def test_edit_cancel_and_queries() -> None:
    assert edit_order_params("ETH-1", 5, 101.5, {"postOnly": True}) == {
        "order_id": "ETH-1",
        "amount": 5,
        "price": 101.5,
        "post_only": True,
        "reject_post_only": True,
    }
    with pytest.raises(InvalidArgument):
        edit_order_params("ETH-1", 5, 101.5, {"label": "x"})
    with pytest.raises(ArgumentsRequired):
        edit_order_params("", 5)
    assert cancel_params("ETH-1") == {"order_id": "ETH-1"}
    assert cancel_by_label_params("my-order-1") == {"label": "my-order-1"}
    assert cancel_all_params() == ("private/cancel_all", {"detailed": True})
    assert cancel_all_params(_eth()) == (
        "private/cancel_all_by_instrument",
        {"instrument_name": "ETH-PERPETUAL", "type": "all", "detailed": True},
    )
    assert order_state_params("ETH-1") == {"order_id": "ETH-1"}
    assert order_state_by_label_params("ETH", "my-order-1") == {
        "currency": "ETH",
        "label": "my-order-1",
    }
    assert positions_params() == {"currency": "any"}


def test_trade_backfill_request_matches_the_documented_one() -> None:
    documented = load("get_last_trades_request.json")
    method, params = last_trades_request(markets().by_id("BTC-PERPETUAL"), 271252856)
    assert (method, params) == (documented["method"], documented["params"])
    with pytest.raises(InvalidArgument):
        last_trades_request(_eth(), -1)
