"""CCXT's ``(symbol, since, limit, params)`` of the Deribit ``fetch_*_ws`` lists as
Deribit's JSON-RPC params (protocol reference §7; Deribit's order-history docs)."""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync._exceptions import InvalidArgument
from ccxtpro_sync._exchanges.deribit.queries import (
    history_requests,
    open_orders_requests,
    since_limit,
    trades_requests,
)
from ccxtpro_sync._structures import Trade

from ._fixtures import markets


def _eth() -> Any:
    return markets().by_id("ETH-PERPETUAL")


def test_own_trades_map_since_limit_and_until() -> None:
    assert trades_requests(_eth(), 1700000000000, 100, {"until": 1700000100000}) == [
        (
            "private/get_user_trades_by_instrument",
            {
                "instrument_name": "ETH-PERPETUAL",
                "sorting": "asc",
                "start_timestamp": 1700000000000,
                "end_timestamp": 1700000100000,
                "count": 100,
            },
        )
    ]
    assert trades_requests(_eth()) == [
        (
            "private/get_user_trades_by_instrument",
            {"instrument_name": "ETH-PERPETUAL", "sorting": "asc"},
        )
    ]
    by_currency = trades_requests(None, None, 5, {"historical": True})
    assert [(m, p["currency"]) for m, p in by_currency] == [
        ("private/get_user_trades_by_currency", c) for c in ("BTC", "ETH", "USDC")
    ]
    assert all(p["count"] == 5 and p["historical"] is True for _, p in by_currency)
    assert trades_requests(None, params={"code": "eth"}) == [
        ("private/get_user_trades_by_currency", {"currency": "ETH", "sorting": "asc"})
    ]


@pytest.mark.parametrize(
    ("since", "limit", "params"),
    [(-1, None, None), (None, 0, None), (None, 1001, None), (None, None, {"currency": "DOGE"}),
     (None, None, {"until": "soon"}), (None, None, ["not", "a", "dict"])],
)  # fmt: skip
def test_bad_arguments_fail_before_any_request(since: Any, limit: Any, params: Any) -> None:
    with pytest.raises(InvalidArgument):
        trades_requests(None, since, limit, params)


def test_open_orders_and_history() -> None:
    assert open_orders_requests(None) == [("private/get_open_orders", {})]
    assert open_orders_requests(_eth(), {"type": "limit"}) == [
        (
            "private/get_open_orders_by_instrument",
            {"instrument_name": "ETH-PERPETUAL", "type": "limit"},
        )
    ]
    assert open_orders_requests(None, {"currency": "BTC", "kind": "future"}) == [
        ("private/get_open_orders_by_currency", {"currency": "BTC", "kind": "future"})
    ]
    assert history_requests(_eth(), None, 7) == [
        (
            "private/get_order_history_by_instrument",
            {"instrument_name": "ETH-PERPETUAL", "count": 7, "include_unfilled": True},
        )
    ]
    # Deribit's history has no time filter: with ``since`` the newest 1000 are asked.
    ((_, params),) = history_requests(None, 1, 7, {"currency": "USDC", "include_unfilled": False})
    assert params == {"currency": "USDC", "count": 1000, "include_unfilled": False}


def _trade(ts: int) -> Trade:
    return Trade(id=str(ts), timestamp=ts, symbol="ETH/USD:ETH")


def test_since_limit_is_ccxts_rule() -> None:
    items = [_trade(t) for t in (30, 10, 20, 40)]
    assert [t.timestamp for t in since_limit(items, None, None)] == [10, 20, 30, 40]
    assert [t.timestamp for t in since_limit(items, None, 2)] == [30, 40]  # newest
    assert [t.timestamp for t in since_limit(items, 20, 2)] == [20, 30]  # first from since
    assert [t.timestamp for t in since_limit(items, 25, None)] == [30, 40]
