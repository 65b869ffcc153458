"""REST order routes of the local exchange: place, test, cancel, cancel all, client ids."""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync.simulator import LocalExchange

from .test_private_support import rest

ROOTS = {"spot": "/api/v3", "usdm": "/fapi/v1", "coinm": "/dapi/v1"}
SYMBOLS = {"spot": "BTCUSDT", "usdm": "BTCUSDT", "coinm": "BTCUSD_PERP"}


def limit_buy(ex: LocalExchange, market: str, **extra: Any) -> dict[str, Any]:
    """A resting limit buy well below the book."""
    book = ex.book(market, SYMBOLS[market], 1)  # type: ignore[arg-type]
    price = round(float(book.bids[0][0]) * 0.8, 1)
    qty = "1" if market == "coinm" else "0.01"
    return {"symbol": SYMBOLS[market], "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "price": f"{price:.1f}", "quantity": qty, **extra}  # fmt: skip


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_place_query_cancel_by_client_order_id(ex: LocalExchange, market: str) -> None:
    acct = ex.create_test_account("hmac")
    creds, root = acct.credentials, ROOTS[market]
    placed = rest(ex, "POST", f"{root}/order", creds, limit_buy(ex, market, newClientOrderId="k1"))
    assert placed.status_code == 200, placed.text
    assert placed.json()["clientOrderId"] == "k1" and placed.json()["status"] == "NEW"
    duplicate = rest(
        ex, "POST", f"{root}/order", creds, limit_buy(ex, market, newClientOrderId="k1")
    )
    expected = (-2010, "Duplicate order sent.") if market == "spot" else (
        -4116, "ClientOrderId is duplicated.")  # fmt: skip
    assert duplicate.status_code == 400
    assert (duplicate.json()["code"], duplicate.json()["msg"]) == expected
    ref = {"symbol": SYMBOLS[market], "origClientOrderId": "k1"}
    status = rest(ex, "GET", f"{root}/order", creds, ref)
    assert status.json()["orderId"] == placed.json()["orderId"]
    cancelled = rest(ex, "DELETE", f"{root}/order", creds, ref)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELED"
    again = rest(ex, "DELETE", f"{root}/order", creds, ref)
    assert again.status_code == 400 and again.json()["code"] == -2011
    # a cancelled id may be used again
    reused = rest(ex, "POST", f"{root}/order", creds, limit_buy(ex, market, newClientOrderId="k1"))
    assert reused.status_code == 200
    assert len(ex.orders(acct.account, market)) == 2  # type: ignore[arg-type]


def test_order_test_validates_and_places_nothing(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac")
    creds = acct.credentials
    ok = rest(ex, "POST", "/api/v3/order/test", creds, limit_buy(ex, "spot"))
    assert ok.status_code == 200 and ok.json() == {}
    bad = rest(ex, "POST", "/api/v3/order/test", creds, limit_buy(ex, "spot", side="UP"))
    assert bad.status_code == 400 and bad.json()["code"] == -1117
    futures = rest(ex, "POST", "/fapi/v1/order/test", creds, limit_buy(ex, "usdm"))
    assert futures.status_code == 200 and futures.json() == {}
    assert ex.orders(acct.account) == [] and ex.orders(acct.account, "usdm") == []


def test_cancel_all_open_orders(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac")
    creds = acct.credentials
    for _ in range(2):
        assert rest(ex, "POST", "/api/v3/order", creds, limit_buy(ex, "spot")).status_code == 200
        assert rest(ex, "POST", "/fapi/v1/order", creds, limit_buy(ex, "usdm")).status_code == 200
    spot = rest(ex, "DELETE", "/api/v3/openOrders", creds, {"symbol": "BTCUSDT"})
    assert [o["status"] for o in spot.json()] == ["CANCELED", "CANCELED"]
    futures = rest(ex, "DELETE", "/fapi/v1/allOpenOrders", creds, {"symbol": "BTCUSDT"})
    assert futures.json() == {"code": 200, "msg": "The operation of cancel all open order is done."}
    assert ex.orders(acct.account, open_only=True) == []
    assert ex.orders(acct.account, "usdm", open_only=True) == []


def test_trading_needs_the_trade_permission(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac")
    ex.set_permissions(acct.credentials.api_key, ["USER_DATA"])
    refused = rest(ex, "POST", "/api/v3/order", acct.credentials, limit_buy(ex, "spot"))
    assert refused.status_code == 401 and refused.json()["code"] == -2015
    assert ex.orders(acct.account) == []
