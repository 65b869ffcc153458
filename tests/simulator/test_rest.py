"""REST endpoints: shapes, errors, weights and REST faults."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from ccxtpro_sync.simulator import LocalExchange

from .conftest import Factory

PREFIX = {"spot": "/api/v3", "usdm": "/fapi/v1", "coinm": "/dapi/v1"}
SYMBOL = {"spot": "BTCUSDT", "usdm": "BTCUSDT", "coinm": "BTCUSD_PERP"}


def get(ex: LocalExchange, market: str, endpoint: str, **params: object) -> requests.Response:
    url = ex.urls(market)["rest"] + PREFIX[market] + endpoint  # type: ignore[arg-type]
    return requests.get(url, params=params, timeout=5)


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_ping_and_time(ex: LocalExchange, market: str) -> None:
    assert get(ex, market, "/ping").json() == {}
    r = get(ex, market, "/time")
    assert r.status_code == 200 and isinstance(r.json()["serverTime"], int)
    assert r.headers["X-MBX-USED-WEIGHT-1M"] == "2"  # ping + time, 1 each


def test_spot_exchange_info(ex: LocalExchange) -> None:
    r = get(ex, "spot", "/exchangeInfo")
    info = r.json()
    assert r.headers["X-MBX-USED-WEIGHT-1M"] == "20"
    assert info["timezone"] == "UTC" and isinstance(info["serverTime"], int)
    assert info["exchangeFilters"] == []
    assert {
        "rateLimitType": "REQUEST_WEIGHT",
        "interval": "MINUTE",
        "intervalNum": 1,
        "limit": 6000,
    } in info["rateLimits"]
    symbols = {s["symbol"]: s for s in info["symbols"]}
    assert set(symbols) == {"BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "ETHBTC"}
    btc = symbols["BTCUSDT"]
    assert (btc["status"], btc["baseAsset"], btc["quoteAsset"]) == ("TRADING", "BTC", "USDT")
    assert btc["baseAssetPrecision"] == 8 and btc["quotePrecision"] == 8
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert {"NOTIONAL", "MARKET_LOT_SIZE"} <= set(filters)
    # symbol / symbols filters
    one = get(ex, "spot", "/exchangeInfo", symbol="ETHBTC").json()["symbols"]
    assert [s["symbol"] for s in one] == ["ETHBTC"]
    two = get(ex, "spot", "/exchangeInfo", symbols='["ETHBTC","SOLUSDT"]').json()["symbols"]
    assert [s["symbol"] for s in two] == ["SOLUSDT", "ETHBTC"]
    bad = get(ex, "spot", "/exchangeInfo", symbol="NOPEUSDT")
    assert bad.status_code == 400 and bad.json() == {"code": -1121, "msg": "Invalid symbol."}


def test_futures_exchange_info(ex: LocalExchange) -> None:
    um = get(ex, "usdm", "/exchangeInfo").json()
    assert um["futuresType"] == "U_MARGINED"
    assert um["rateLimits"][0]["limit"] == 2400
    syms = {s["symbol"]: s for s in um["symbols"]}
    assert set(syms) == {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BTCUSDT_261225"}
    perp, quarter = syms["BTCUSDT"], syms["BTCUSDT_261225"]
    assert perp["contractType"] == "PERPETUAL" and perp["deliveryDate"] == 4133404800000
    assert quarter["contractType"] == "CURRENT_QUARTER"
    assert quarter["deliveryDate"] == 1798185600000  # 2026-12-25 08:00 UTC
    for key in (
        "pair",
        "onboardDate",
        "marginAsset",
        "pricePrecision",
        "quantityPrecision",
        "status",
        "baseAsset",
        "quoteAsset",
    ):
        assert key in perp
    assert {f["filterType"] for f in perp["filters"]} >= {
        "PRICE_FILTER",
        "LOT_SIZE",
        "MARKET_LOT_SIZE",
        "MIN_NOTIONAL",
    }
    cm = get(ex, "coinm", "/exchangeInfo").json()
    cms = {s["symbol"]: s for s in cm["symbols"]}
    assert set(cms) == {"BTCUSD_PERP", "ETHUSD_PERP", "BTCUSD_261225"}
    btc = cms["BTCUSD_PERP"]
    assert btc["contractSize"] == 100 and btc["contractStatus"] == "TRADING"
    assert btc["marginAsset"] == "BTC" and btc["pair"] == "BTCUSD" and "status" not in btc


def _check_book(body: dict[str, object], tick: Decimal, n: int) -> None:
    bids = [(Decimal(p), Decimal(q)) for p, q in body["bids"]]  # type: ignore[attr-defined]
    asks = [(Decimal(p), Decimal(q)) for p, q in body["asks"]]  # type: ignore[attr-defined]
    assert len(bids) == len(asks) == n
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0][0] < asks[0][0]
    assert all(p % tick == 0 and q > 0 for p, q in bids + asks)


def test_spot_depth_and_weights(ex: LocalExchange) -> None:
    r = get(ex, "spot", "/depth", symbol="BTCUSDT")
    assert r.headers["X-MBX-USED-WEIGHT-1M"] == "5"
    body = r.json()
    assert set(body) == {"lastUpdateId", "bids", "asks"}
    _check_book(body, Decimal("0.01"), 100)
    assert body["lastUpdateId"] == ex.book("spot", "BTCUSDT").last_update_id
    used = 5
    for limit, weight in ((100, 5), (101, 25), (500, 25), (1000, 50), (5000, 250)):
        r = get(ex, "spot", "/depth", symbol="ETHBTC", limit=limit)
        used += weight
        assert r.status_code == 200 and r.headers["X-MBX-USED-WEIGHT-1M"] == str(used)
    # more than 5000 truncates; the book has a few hundred levels per side
    deep = get(ex, "spot", "/depth", symbol="ETHBTC", limit=9999).json()
    assert 200 <= len(deep["bids"]) <= 5000


@pytest.mark.parametrize("market", ["usdm", "coinm"])
def test_futures_depth(ex: LocalExchange, market: str) -> None:
    symbol = SYMBOL[market]
    r = get(ex, market, "/depth", symbol=symbol, limit=50)
    body = r.json()
    assert r.headers["X-MBX-USED-WEIGHT-1M"] == "2"
    assert list(body) == ["lastUpdateId", "E", "T", "bids", "asks"]
    _check_book(body, Decimal("0.1"), 50)
    assert (
        get(ex, market, "/depth", symbol=symbol, limit=1000).headers["X-MBX-USED-WEIGHT-1M"] == "22"
    )
    bad = get(ex, market, "/depth", symbol=symbol, limit=7)
    assert bad.status_code == 400 and bad.json()["code"] == -1100


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, -1102),
        ({"symbol": "NOPE"}, -1121),
        ({"symbol": "btcusdt"}, -1100),
        ({"symbol": "BTCUSDT", "limit": "abc"}, -1100),
        ({"symbol": "BTCUSDT", "limit": 0}, -1100),
    ],
)
def test_spot_depth_errors(ex: LocalExchange, params: dict[str, object], code: int) -> None:
    r = get(ex, "spot", "/depth", **params)
    assert r.status_code == 400
    assert r.json()["code"] == code and isinstance(r.json()["msg"], str)


def test_unknown_path_and_method(ex: LocalExchange) -> None:
    base = ex.urls("spot")["rest"]
    assert requests.get(base + "/api/v3/nothing", timeout=5).status_code == 404
    assert requests.post(base + "/api/v3/depth", timeout=5).status_code == 405


def test_weight_budget_429(make_exchange: Factory) -> None:
    ex = make_exchange(auto_publish=False, rest_weight={"spot": 12})
    ex.rest.clock = lambda: 600.0  # pin the minute window
    assert get(ex, "spot", "/depth", symbol="BTCUSDT").status_code == 200  # 5
    assert get(ex, "spot", "/depth", symbol="BTCUSDT").status_code == 200  # 10
    r = get(ex, "spot", "/depth", symbol="BTCUSDT")  # 15 > 12
    assert r.status_code == 429 and r.json()["code"] == -1003
    assert r.headers["Retry-After"] == "60" and r.headers["X-MBX-USED-WEIGHT-1M"] == "15"
    ex.rest.clock = lambda: 660.0  # next minute: budget resets
    assert get(ex, "spot", "/ping").headers["X-MBX-USED-WEIGHT-1M"] == "1"
    assert ex.stats().rest_refused == 1


def test_futures_pool_is_shared(ex: LocalExchange) -> None:
    ex.rest.clock = lambda: 600.0
    get(ex, "usdm", "/depth", symbol="BTCUSDT", limit=1000)  # 20
    r = get(ex, "coinm", "/ping")
    assert r.headers["X-MBX-USED-WEIGHT-1M"] == "21"
    assert get(ex, "spot", "/ping").headers["X-MBX-USED-WEIGHT-1M"] == "1"


@pytest.mark.parametrize("status", [429, 418])
def test_refuse_rest_fault(ex: LocalExchange, status: int) -> None:
    ex.faults.refuse_rest(count=2, status=status, retry_after=7)
    for _ in range(2):
        r = get(ex, "spot", "/ping")
        assert r.status_code == status and r.headers["Retry-After"] == "7"
        assert r.json()["code"] == -1003
    assert "banned" in r.json()["msg"] if status == 418 else "Too much" in r.json()["msg"]
    assert get(ex, "spot", "/ping").status_code == 200


def test_custom_route(ex: LocalExchange) -> None:
    ex.add_rest_route(
        "POST", "/api/v3/echo", lambda req: {"got": req.params}, weight=3, pool="spot"
    )
    r = requests.post(ex.urls("spot")["rest"] + "/api/v3/echo?a=1", data={"b": "2"}, timeout=5)
    assert r.json() == {"got": {"a": "1", "b": "2"}}
    assert r.headers["X-MBX-USED-WEIGHT-1M"] == "3"
