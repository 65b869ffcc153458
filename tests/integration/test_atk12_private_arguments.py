"""Careless arguments to the private methods, against the local exchange: typed errors at
once and nothing placed.

``create_order(symbol, None, ...)`` said "'NoneType' object has no attribute 'upper'";
``watch_orders``/``watch_my_trades``/``watch_positions`` took any ``since``/``limit``
(``limit=True`` waited out the timeout); ``watch_positions("BTC/USDT:USDT")`` read the
symbol as a list of letters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import ArgumentsRequired, InvalidArgument
from ccxtpro_sync.simulator import LocalExchange

from .test_binance_private import far_price

SPOT, USDM = "BTC/USDT", "BTC/USDT:USDT"


@pytest.fixture
def spot(exchange: LocalExchange, account: Any) -> Iterator[ccxtpro_sync.binance]:
    config = {"environment": "local", "local": exchange, "timeout": 30}
    with ccxtpro_sync.binance({**config, "credentials": account.credentials}) as client:
        yield client


@pytest.fixture
def usdm(exchange: LocalExchange, account: Any) -> Iterator[ccxtpro_sync.binanceusdm]:
    config = {"environment": "local", "local": exchange, "timeout": 30}
    with ccxtpro_sync.binanceusdm({**config, "credentials": account.credentials}) as client:
        yield client


@pytest.mark.parametrize("method", ["create_order", "create_order_ws"])
@pytest.mark.parametrize(
    ("order_type", "side", "error"),
    [
        (None, "buy", ArgumentsRequired),
        ("limit", None, ArgumentsRequired),
        (5, "buy", InvalidArgument),
        ("limit", b"buy", InvalidArgument),
    ],
)
def test_an_order_type_or_side_of_the_wrong_type_is_refused_unsent(
    spot: Any, method: str, order_type: Any, side: Any, error: type
) -> None:
    with pytest.raises(error):
        getattr(spot, method)(SPOT, order_type, side, 0.001, 50_000)
    assert spot.fetch_open_orders(SPOT) == []


def test_an_edit_with_no_side_is_refused_unsent(spot: Any) -> None:
    order = spot.create_order(SPOT, "limit", "buy", 0.001, 50_000)
    with pytest.raises(ArgumentsRequired):
        spot.edit_order_ws(order.id, SPOT, "limit", None, 0.002, 50_001)
    with pytest.raises(ArgumentsRequired):
        spot.edit_order_ws(order.id, SPOT, None, "buy", 0.001, 50_001)
    [still] = spot.fetch_open_orders(SPOT)
    assert (still.id, still.amount, still.price) == (order.id, 0.001, 50_000)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.watch_orders(SPOT, limit=True),
        lambda c: c.watch_orders(SPOT, limit=0),
        lambda c: c.watch_orders(since=-1),
        lambda c: c.watch_my_trades(SPOT, limit=True),
        lambda c: c.watch_my_trades(since="yesterday"),
    ],
)
def test_user_data_watch_since_and_limit_are_checked(spot: Any, call: Any) -> None:
    with pytest.raises(InvalidArgument):
        call(spot)


def test_watch_positions_takes_one_symbol_as_a_str(usdm: Any) -> None:
    with pytest.raises(InvalidArgument):
        usdm.watch_positions([USDM], limit=True)
    listening, changed = threading.Event(), threading.Event()
    with (
        usdm.on_orders(handler=lambda orders: listening.set()),
        usdm.on_positions(USDM, lambda positions: changed.set()),
    ):
        # A first order's event shows the user-data stream is live before the fill.
        usdm.create_order(USDM, "limit", "buy", 0.01, far_price(usdm, USDM, "buy"))
        assert listening.wait(30)
        usdm.create_order(USDM, "market", "buy", 0.01)
        assert changed.wait(30)
        # One symbol as a str: that symbol's position, not BadSymbol for "B".
        positions = usdm.watch_positions(USDM, timeout=30)
    assert [p.symbol for p in positions] == [USDM]
