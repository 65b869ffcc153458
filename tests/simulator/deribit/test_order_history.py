"""The local Deribit's order history (``private/get_order_history_by_instrument`` and
``..._by_currency``), as Deribit documents it: closed orders, newest first, ``count``
(default 20, at most 1000) and ``offset`` paging, unfilled ones only with
``include_unfilled``; and the documented ``count``/``sorting``/``start_timestamp`` of
the user-trade lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ccxtpro_sync.simulator.deribit import LocalDeribit
from ccxtpro_sync.simulator.deribit.limits import RateLimits

from .conftest import Factory, Rpc

PERP = "BTC-PERPETUAL"
ETH = "ETH-PERPETUAL"


@pytest.fixture
def ex(make_deribit: Factory) -> LocalDeribit:
    """Seed 7, driven by hand, with room for a few dozen orders at once."""
    return make_deribit(seed=7, auto_publish=False, rate_limits=RateLimits(matching_burst=100.0))


@pytest.fixture
def trader(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> Rpc:
    client = rpc()
    client.login(ex)
    return client


def _order(trader: Rpc, instrument: str = PERP, **params: Any) -> str:
    result = trader.result("private/buy", {"instrument_name": instrument, **params})
    order_id: str = result["order"]["order_id"]
    return order_id


def _history(trader: Rpc, **params: Any) -> list[str]:
    method = "private/get_order_history_by_" + (
        "instrument" if "instrument_name" in params else "currency"
    )
    return [o["order_id"] for o in trader.result(method, params)]


def test_closed_orders_newest_first_with_count_and_offset(ex: LocalDeribit, trader: Rpc) -> None:
    low = ex.book(PERP).bids[-1][0] - 100
    filled = [_order(trader, amount=10, type="market") for _ in range(3)]
    resting = _order(trader, amount=10, type="limit", price=low)  # open: not history
    cancelled = _order(trader, amount=10, type="limit", price=low)
    trader.result("private/cancel", {"order_id": cancelled})
    eth = _order(trader, ETH, amount=1, type="market")
    newest_first = list(reversed(filled))
    assert _history(trader, instrument_name=PERP) == newest_first
    assert _history(trader, instrument_name=PERP, include_unfilled=True) == [
        cancelled,
        *newest_first,
    ]
    assert resting not in _history(trader, instrument_name=PERP, include_unfilled=True)
    assert _history(trader, instrument_name=PERP, count=2) == newest_first[:2]
    assert _history(trader, instrument_name=PERP, count=2, offset=2) == newest_first[2:]
    assert _history(trader, instrument_name=PERP, offset=3) == []
    assert _history(trader, currency="BTC") == newest_first
    assert _history(trader, currency="ETH", kind="future") == [eth]
    assert _history(trader, currency="ETH", kind="option") == []
    # Flags the local exchange has nothing to tell apart from are still accepted.
    assert _history(trader, instrument_name=PERP, include_old=True, historical=True) == (
        newest_first
    )


def test_count_defaults_to_twenty_and_is_at_most_a_thousand(ex: LocalDeribit, trader: Rpc) -> None:
    for _ in range(21):
        _order(trader, amount=10, type="market")
    assert len(_history(trader, instrument_name=PERP)) == 20
    assert len(_history(trader, instrument_name=PERP, count=1000)) == 21
    for bad in ({"count": 0}, {"count": 1001}, {"offset": -1}, {"include_unfilled": "yes"}):
        error = trader.error(
            "private/get_order_history_by_instrument", {"instrument_name": PERP, **bad}
        )
        assert error["code"] == -32602 and error["data"]["param"] == next(iter(bad))
    error = trader.error("private/get_order_history_by_currency", {})
    assert error["data"]["param"] == "currency"


def test_history_needs_a_login_with_trade_read(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> None:
    anonymous = rpc()
    error = anonymous.error("private/get_order_history_by_currency", {"currency": "BTC"})
    assert error["code"] == 13009  # unauthorized
    reader = rpc()
    reader.login(ex, scope="trade:none")
    error = reader.error("private/get_order_history_by_currency", {"currency": "BTC"})
    assert error["code"] == 13021  # forbidden: the scope lacks trade:read


def test_user_trades_count_sorting_and_start_timestamp(ex: LocalDeribit, trader: Rpc) -> None:
    ids = []
    for _ in range(4):
        result = trader.result(
            "private/buy", {"instrument_name": PERP, "amount": 10, "type": "market"}
        )
        ids += [t["trade_id"] for t in result["trades"]]
    page = trader.result(
        "private/get_user_trades_by_instrument",
        {"instrument_name": PERP, "count": 2, "sorting": "asc"},
    )
    assert [t["trade_id"] for t in page["trades"]] == ids[-2:] and page["has_more"]
    page = trader.result(
        "private/get_user_trades_by_instrument",
        {"instrument_name": PERP, "count": 2, "sorting": "desc"},
    )
    assert [t["trade_id"] for t in page["trades"]] == ids[-1:-3:-1]
    everything = trader.result(
        "private/get_user_trades_by_instrument", {"instrument_name": PERP, "count": 100}
    )["trades"]
    second = min(t["timestamp"] for t in everything if t["trade_id"] == ids[1])
    page = trader.result(
        "private/get_user_trades_by_instrument",
        {"instrument_name": PERP, "start_timestamp": second, "count": 1, "sorting": "asc"},
    )
    assert [t["timestamp"] >= second for t in page["trades"]] == [True]
