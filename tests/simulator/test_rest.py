"""REST endpoints: shapes, errors, weights and REST faults."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal

import pytest
import requests

from ccxtpro_sync._exchanges.binance.rest import BinanceRest
from ccxtpro_sync.simulator import LocalExchange

from .conftest import Factory
from .test_market_streams import by_stream, combined, drain

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
    unknown = requests.get(base + "/api/v3/nothing", timeout=5)
    wrong_method = requests.post(base + "/api/v3/depth", timeout=5)
    assert (unknown.status_code, wrong_method.status_code) == (404, 405)
    for r in (unknown, wrong_method):  # Binance's error shape, not an empty body
        assert r.json() == {"code": -1020, "msg": "This operation is not supported."}
        assert r.headers["Content-Type"].startswith("application/json")


def test_weight_budget_429(make_exchange: Factory) -> None:
    ex = make_exchange(auto_publish=False, rest_weight={"spot": 12})
    ex.rest.clock = lambda: 600.0  # pin the minute window
    assert get(ex, "spot", "/depth", symbol="BTCUSDT").status_code == 200  # 5
    assert get(ex, "spot", "/depth", symbol="BTCUSDT").status_code == 200  # 10
    r = get(ex, "spot", "/depth", symbol="BTCUSDT")  # 15 > 12: refused, not charged
    assert r.status_code == 429 and r.json()["code"] == -1003
    assert r.headers["Retry-After"] == "60" and r.headers["X-MBX-USED-WEIGHT-1M"] == "10"
    assert get(ex, "spot", "/ping").headers["X-MBX-USED-WEIGHT-1M"] == "11"  # still fits
    ex.rest.clock = lambda: 660.0  # next minute: budget resets
    assert get(ex, "spot", "/ping").headers["X-MBX-USED-WEIGHT-1M"] == "1"
    assert ex.stats().rest_refused == 1


def test_calls_sent_on_after_429s_earn_an_escalating_418_ban(make_exchange: Factory) -> None:
    """Binance bans an IP that keeps calling after 429s (418 + Retry-After, longer for
    repeat offenders); the local exchange answered 429 for ever. Durations scripted."""
    ex = make_exchange(auto_publish=False, rest_weight={"spot": 12})
    ex.rest.bans.ban_seconds = 5.0
    now = [600.0]
    ex.rest.clock = lambda: now[0]
    for _ in range(2):
        assert get(ex, "spot", "/depth", symbol="BTCUSDT").status_code == 200  # 10 used
    statuses = [get(ex, "spot", "/depth", symbol="BTCUSDT").status_code for _ in range(4)]
    assert statuses == [429, 429, 429, 418]
    banned = get(ex, "spot", "/ping")  # within the budget, but the IP is banned
    assert banned.status_code == 418 and banned.headers["Retry-After"] == "5"
    assert banned.json()["code"] == -1003 and "IP banned until" in banned.json()["msg"]
    assert banned.headers["X-MBX-USED-WEIGHT-1M"] == "10"  # refused calls cost nothing
    assert get(ex, "usdm", "/ping").status_code == 200  # another weight pool
    now[0] = 605.0  # the ban is over
    assert get(ex, "spot", "/ping").status_code == 200
    # an accepted call ends the refusals in a row; a repeat offence bans twice as long
    assert [get(ex, "spot", "/depth", symbol="BTCUSDT").status_code for _ in range(3)] == [429] * 3
    assert get(ex, "spot", "/ping").status_code == 200
    statuses = [get(ex, "spot", "/depth", symbol="BTCUSDT").status_code for _ in range(4)]
    again = get(ex, "spot", "/ping")
    assert statuses == [429, 429, 429, 418] and again.headers["Retry-After"] == "10"
    ex.rest.bans.lift()
    now[0] = 660.0  # the next minute: weight resets
    assert get(ex, "spot", "/ping").status_code == 200


def test_the_ban_is_capped_at_three_days() -> None:
    from ccxtpro_sync.simulator.rest_bans import LONGEST_BAN, RestBans

    bans = RestBans(ban_after=0)
    seconds = [bans.refused("spot", "ip", 0.0) for _ in range(13)]
    assert seconds[0] == 120.0 and seconds[1] == 240.0 and seconds[-1] == LONGEST_BAN
    assert bans.banned_for("spot", "ip", LONGEST_BAN - 1) == 1.0
    assert bans.banned_for("spot", "other", 0.0) is None


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


def test_delay_rest_holds_matching_answers_and_the_journal_lists_each_call(
    ex: LocalExchange,
) -> None:
    delay = 0.3
    ex.faults.delay_rest(delay, "/depth")
    ex.faults.refuse_rest(count=1, status=429, retry_after=1)
    assert get(ex, "spot", "/ping").status_code == 429
    assert get(ex, "spot", "/depth", symbol="BTCUSDT", limit=5).status_code == 200
    assert get(ex, "spot", "/time").status_code == 200
    ex.faults.clear()
    assert get(ex, "spot", "/depth", symbol="BTCUSDT", limit=5).status_code == 200
    calls = ex.rest.calls()
    assert [(c.method, c.path, c.status) for c in calls] == [
        ("GET", "/api/v3/ping", 429),
        ("GET", "/api/v3/depth", 200),
        ("GET", "/api/v3/time", 200),
        ("GET", "/api/v3/depth", 200),
    ]
    assert calls[1].answered - calls[1].arrived >= delay  # the matching path was held
    assert all(a.arrived <= b.arrived <= b.answered for a, b in itertools.pairwise(calls))
    # only paths containing the match are held, and clear() ends it
    ex.faults.delay_rest(delay, "/depth")
    assert ex.faults.take_rest_delay("/api/v3/depth") == delay
    assert ex.faults.take_rest_delay("/api/v3/time") == 0.0
    ex.faults.clear()
    assert ex.faults.take_rest_delay("/api/v3/depth") == 0.0


def test_custom_route(ex: LocalExchange) -> None:
    ex.add_rest_route(
        "POST", "/api/v3/echo", lambda req: {"got": req.params}, weight=3, pool="spot"
    )
    r = requests.post(ex.urls("spot")["rest"] + "/api/v3/echo?a=1", data={"b": "2"}, timeout=5)
    assert r.json() == {"got": {"a": "1", "b": "2"}}
    assert r.headers["X-MBX-USED-WEIGHT-1M"] == "3"


# -- market data beyond depth -----------------------------------------------------------------

TICKER_KEYS = {
    "symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "lastPrice", "lastQty",
    "openPrice", "highPrice", "lowPrice", "volume", "openTime", "closeTime", "firstId",
    "lastId", "count",
}  # fmt: skip
TICKER_EXTRA = {
    "spot": {"prevClosePrice", "bidPrice", "bidQty", "askPrice", "askQty", "quoteVolume"},
    "usdm": {"quoteVolume"},
    "coinm": {"pair", "baseVolume"},
}


def used(r: requests.Response) -> int:
    return int(r.headers["X-MBX-USED-WEIGHT-1M"])


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_ticker_24hr_shapes_and_weights(ex: LocalExchange, market: str) -> None:
    ex.rest.clock = lambda: 600.0
    ex.tick(30)
    one = get(ex, market, "/ticker/24hr", symbol=SYMBOL[market])
    assert set(one.json()) == TICKER_KEYS | TICKER_EXTRA[market]
    assert one.json()["symbol"] == SYMBOL[market] and one.json()["count"] > 0
    every = get(ex, market, "/ticker/24hr")
    rows = every.json()
    assert isinstance(rows, list) and SYMBOL[market] in {r["symbol"] for r in rows}
    single, whole = (2, 80) if market == "spot" else (1, 40)
    assert (used(one), used(every)) == (single, single + whole)


def test_spot_ticker_symbols_param(ex: LocalExchange) -> None:
    ex.rest.clock = lambda: 600.0
    r = get(ex, "spot", "/ticker/24hr", symbols='["ETHBTC","BTCUSDT"]')
    assert [row["symbol"] for row in r.json()] == ["ETHBTC", "BTCUSDT"] and used(r) == 2
    bad = get(ex, "spot", "/ticker/24hr", symbols='["NOPEUSDT"]')
    assert bad.status_code == 400 and bad.json()["code"] == -1121
    malformed = get(ex, "spot", "/ticker/24hr", symbols="BTCUSDT")
    assert malformed.status_code == 400 and malformed.json()["code"] == -1100


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_book_ticker_is_the_true_top_of_book(ex: LocalExchange, market: str) -> None:
    ex.tick(10)
    row = get(ex, market, "/ticker/bookTicker", symbol=SYMBOL[market]).json()
    book = ex.engine.book(market, SYMBOL[market], 1)  # type: ignore[arg-type]
    assert (row["bidPrice"], row["bidQty"]) == book.bids[0]
    assert (row["askPrice"], row["askQty"]) == book.asks[0]
    assert ("time" in row) == (market != "spot")
    assert isinstance(get(ex, market, "/ticker/bookTicker").json(), list)


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_rest_agg_trades_are_the_streamed_ones(ex: LocalExchange, market: str) -> None:
    stream = SYMBOL[market].lower() + "@aggTrade"
    route = "/market" if market == "usdm" else ""
    with combined(ex, market, [stream], route) as ws:
        ex.tick(40)
        pushed = by_stream(drain(ex, ws, market, stream))[stream]
    assert pushed
    rows = get(ex, market, "/aggTrades", symbol=SYMBOL[market], limit=1000).json()
    by_id = {row["a"]: row for row in rows}
    for event in pushed:
        row = by_id[event["a"]]
        assert {k: row[k] for k in "pqflTm"} == {k: event[k] for k in "pqflTm"}


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_trades_and_historical_trades(ex: LocalExchange, market: str) -> None:
    ex.tick(60)
    recent = get(ex, market, "/trades", symbol=SYMBOL[market], limit=10).json()
    assert len(recent) == 10
    ids = [t["id"] for t in recent]
    assert ids == list(range(ids[0], ids[0] + 10))  # consecutive, oldest first
    qty_key = "baseQty" if market == "coinm" else "quoteQty"
    assert {"id", "price", "qty", qty_key, "time", "isBuyerMaker"} <= set(recent[0])
    capped = get(ex, market, "/trades", symbol=SYMBOL[market], limit=5000).json()
    assert 10 <= len(capped) <= 1000
    # historicalTrades is MARKET_DATA: an API key is required, no signature
    path = ex.urls(market)["rest"] + PREFIX[market] + "/historicalTrades"  # type: ignore[arg-type]
    params = {"symbol": SYMBOL[market], "fromId": ids[3], "limit": 4}
    no_key = requests.get(path, params=params, timeout=5)
    assert no_key.status_code == 401 and no_key.json()["code"] == -2014
    key = ex.create_test_account("hmac").credentials.api_key
    older = requests.get(path, params=params, headers={"X-MBX-APIKEY": key}, timeout=5).json()
    assert [t["id"] for t in older] == ids[3:7] and older == recent[3:7]


def test_agg_trades_paging_rules(ex: LocalExchange) -> None:
    ex.tick(80)
    rows = get(ex, "spot", "/aggTrades", symbol="BTCUSDT", limit=1000).json()
    assert len(rows) > 10 and [r["a"] for r in rows] == sorted(r["a"] for r in rows)
    page = get(ex, "spot", "/aggTrades", symbol="BTCUSDT", fromId=rows[4]["a"], limit=3).json()
    assert [r["a"] for r in page] == [r["a"] for r in rows[4:7]]  # fromId inclusive
    t0 = rows[0]["T"]
    timed = get(ex, "spot", "/aggTrades", symbol="BTCUSDT", startTime=t0, endTime=t0 + 3_600_000)
    assert timed.status_code == 200 and all(r["T"] >= t0 for r in timed.json())
    wide = get(ex, "spot", "/aggTrades", symbol="BTCUSDT", startTime=t0, endTime=t0 + 3_600_001)
    assert wide.status_code == 400 and wide.json()["code"] == -1127
    mixed = get(ex, "spot", "/aggTrades", symbol="BTCUSDT", fromId=1, startTime=t0)
    assert mixed.status_code == 400 and mixed.json()["code"] == -1128
    default = get(ex, "spot", "/aggTrades", symbol="BTCUSDT").json()
    assert default[-1] == rows[-1]  # no selector: the most recent


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_klines(ex: LocalExchange, market: str) -> None:
    ex.rest.clock = lambda: 600.0
    ex.tick(30)
    r = get(ex, market, "/klines", symbol=SYMBOL[market], interval="1m")
    rows = r.json()
    assert rows and all(len(row) == 12 and row[0] % 60_000 == 0 for row in rows)
    last = rows[-1]
    assert last[6] == last[0] + 59_999 and last[8] > 0  # close time, trade count
    assert used(r) == (2 if market == "spot" else 5)  # futures: by limit (default 500)
    since = get(ex, market, "/klines", symbol=SYMBOL[market], interval="1m", startTime=last[0])
    assert since.json() == [last]
    bad = get(ex, market, "/klines", symbol=SYMBOL[market], interval="7m")
    assert bad.status_code == 400 and bad.json()["code"] == -1120
    missing = get(ex, market, "/klines", symbol=SYMBOL[market])
    assert missing.status_code == 400 and missing.json()["code"] == -1102


def test_system_status(ex: LocalExchange) -> None:
    r = requests.get(ex.urls("spot")["rest"] + "/sapi/v1/system/status", timeout=5)
    assert r.json() == {"status": 0, "msg": "normal"}


@pytest.mark.parametrize(
    ("path", "market", "top"),
    [
        ("/fapi/v2/account", "usdm", {"feeTier", "canTrade", "totalWalletBalance"}),
        ("/fapi/v3/account", "usdm", {"totalWalletBalance", "availableBalance"}),
        ("/dapi/v1/account", "coinm", {"feeTier", "canTrade", "updateTime"}),
    ],
)
def test_futures_account_routes(ex: LocalExchange, path: str, market: str, top: set[str]) -> None:
    account = ex.create_test_account("hmac")
    rest = BinanceRest(ex.urls(market)["rest"], market)  # type: ignore[arg-type]
    try:
        unsigned = requests.get(ex.urls(market)["rest"] + path, timeout=5)  # type: ignore[arg-type]
        assert unsigned.status_code == 401 and unsigned.json()["code"] == -2014
        answer = json.loads(rest.signed_raw("GET", path, account.credentials))
    finally:
        rest.close()
    assert top | {"assets", "positions"} <= set(answer)
    asset = {a["asset"]: a for a in answer["assets"]}
    margin = "USDT" if market == "usdm" else "BTC"
    assert {"walletBalance", "availableBalance", "unrealizedProfit", "marginBalance"} <= set(
        asset[margin]
    )
    assert Decimal(asset[margin]["walletBalance"]) > 0  # a funded test account
