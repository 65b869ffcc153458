"""WS API market-data methods (answered like their REST twins) and ``order.test``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from ccxtpro_sync.simulator import LocalExchange

from .conftest import Factory
from .test_private_support import WsApi

D = Decimal


@pytest.fixture
def ex(make_exchange: Factory) -> LocalExchange:
    exchange = make_exchange(seed=5, auto_publish=False)
    exchange.tick(30)  # some trades, so tickers and averages have data
    return exchange


def weight_used(frame: dict[str, Any]) -> int:
    (entry,) = [r for r in frame["rateLimits"] if r["rateLimitType"] == "REQUEST_WEIGHT"]
    return int(entry["count"])


def test_spot_depth_shape_and_weight_by_limit(ex: LocalExchange) -> None:
    with WsApi(ex.urls("spot")["ws_api"]) as api:
        five = api.call("depth", {"symbol": "BTCUSDT", "limit": 5})
        assert five["status"] == 200, five
        assert set(five["result"]) == {"lastUpdateId", "bids", "asks"}
        assert len(five["result"]["bids"]) == 5 and len(five["result"]["asks"]) == 5
        bid, ask = D(five["result"]["bids"][0][0]), D(five["result"]["asks"][0][0])
        assert bid < ask
        big = api.call("depth", {"symbol": "BTCUSDT", "limit": 500})
        assert weight_used(big) - weight_used(five) == 25  # 101-500 levels: weight 25
        again = api.call("depth", {"symbol": "BTCUSDT"})  # default 100 levels: weight 5
        assert weight_used(again) - weight_used(big) == 5
        assert len(again["result"]["bids"]) == 100
        bad = api.call("depth", {"symbol": "NOPE"})
        assert (bad["status"], bad["error"]["code"]) == (400, -1121)
        missing = api.call("depth", {})
        assert missing["error"]["code"] == -1102
        info = api.call("exchangeInfo", {"symbol": "BTCUSDT"})
        assert info["status"] == 200 and "BTCUSDT" in {
            s["symbol"] for s in info["result"]["symbols"]
        }


def test_futures_depth_and_coinm_subset(ex: LocalExchange) -> None:
    with WsApi(ex.urls("usdm")["ws_api"]) as api:
        book = api.ok("depth", {"symbol": "BTCUSDT", "limit": 5})
        assert set(book) == {"lastUpdateId", "E", "T", "bids", "asks"}
        assert api.call("depth", {"symbol": "BTCUSDT", "limit": 7})["error"]["code"] == -1100
        as_text = api.call("depth", {"symbol": "BTCUSDT", "limit": "5"})
        assert as_text["error"]["code"] == -1100  # INT params are JSON integers on futures
    with WsApi(ex.urls("coinm")["ws_api"]) as api:
        # COIN-M's WS API has the order, account and userDataStream methods only
        assert api.call("depth", {"symbol": "BTCUSD_PERP"})["error"]["code"] == -1020


def test_avg_price(ex: LocalExchange) -> None:
    with WsApi(ex.urls("spot")["ws_api"]) as api:
        avg = api.ok("avgPrice", {"symbol": "BTCUSDT"})
    assert set(avg) == {"mins", "price", "closeTime"} and avg["mins"] == 5
    book = ex.book("spot", "BTCUSDT")
    low, high = D(book.bids[-1][0]), D(book.asks[-1][0])
    assert low <= D(avg["price"]) <= high and len(avg["price"].split(".")[1]) == 8
    rest = requests.get(
        ex.urls("spot")["rest"] + "/api/v3/avgPrice", params={"symbol": "ETHUSDT"}, timeout=5
    )
    assert rest.status_code == 200 and rest.json()["mins"] == 5
    unknown = requests.get(
        ex.urls("spot")["rest"] + "/api/v3/avgPrice", params={"symbol": "NOPE"}, timeout=5
    )
    assert (unknown.status_code, unknown.json()["code"]) == (400, -1121)


@pytest.mark.parametrize(
    ("method", "params", "path"),
    [
        ("ticker.24hr", {"symbol": "BTCUSDT"}, "/api/v3/ticker/24hr"),
        ("ticker.book", {"symbol": "BTCUSDT"}, "/api/v3/ticker/bookTicker"),
        ("trades.recent", {"symbol": "BTCUSDT", "limit": 3}, "/api/v3/trades"),
        ("klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 2}, "/api/v3/klines"),
    ],
)
def test_market_methods_answer_like_their_rest_endpoint(
    ex: LocalExchange, method: str, params: dict[str, Any], path: str
) -> None:
    """Each WS API market method is its REST endpoint: same result shape, same errors; where
    the exchange does not serve the REST endpoint, the method is unsupported (-1020)."""
    rest = requests.get(ex.urls("spot")["rest"] + path, params=params, timeout=5)
    with WsApi(ex.urls("spot")["ws_api"]) as api:
        frame = api.call(method, params)
        bad = api.call(method, {**params, "symbol": "NOPE"})
    if rest.status_code in (404, 405):
        assert frame["error"]["code"] == -1020 and bad["error"]["code"] == -1020
        return
    assert rest.status_code == 200, rest.text
    assert frame["status"] == 200, frame
    expected = rest.json()
    got = frame["result"]
    assert type(got) is type(expected)
    if isinstance(expected, dict):
        assert set(got) == set(expected)
    else:
        assert len(got) == len(expected)
    assert bad["error"]["code"] == -1121


def test_order_test_validates_without_placing(ex: LocalExchange) -> None:
    login = ex.create_test_account("hmac")
    bid = D(ex.book("spot", "BTCUSDT", 1).bids[0][0])
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "price": str(bid - 10),
        "quantity": "0.01000",
    }
    with WsApi(ex.urls("spot")["ws_api"], login.credentials) as api:
        first = api.call("order.test", api.signed(order))
        assert (first["status"], first["result"]) == (200, {}), first
        rates = api.ok("order.test", {**order, "computeCommissionRates": True}, sign=True)
        assert set(rates) == {"standardCommissionForOrder", "taxCommissionForOrder", "discount"}
        assert set(rates["standardCommissionForOrder"]) == {"maker", "taker"}
        heavy = api.call("order.test", api.signed({**order, "computeCommissionRates": True}))
        light = api.call("order.test", api.signed(order))
        assert weight_used(light) - weight_used(heavy) == 1
        # rejected exactly as order.place would reject it
        tiny = {**order, "quantity": "0.00000001"}
        assert (
            api.call("order.test", api.signed(tiny))["error"]["code"]
            == (api.call("order.place", api.signed(tiny))["error"]["code"])
        )
        unsigned = api.call("order.test", order)
        assert unsigned["status"] == 400 and unsigned["error"]["code"] == -1102
        # ORDERS is not counted: no ORDERS entry in the rate limits of a test order
        assert all(r["rateLimitType"] != "ORDERS" for r in first["rateLimits"])
    assert ex.orders(login.api_key) == []
