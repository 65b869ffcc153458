"""Unified structures: CCXT key names, encoding, dict-style access, iso8601."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccxtpro_sync._exchanges.binance import wire as w
from ccxtpro_sync._exchanges.binance.parsers import parse_ticker
from ccxtpro_sync._orderbook import LocalOrderBook
from ccxtpro_sync._structures import (
    OHLCV,
    Balance,
    Balances,
    Fee,
    FundingRate,
    Liquidation,
    Market,
    Order,
    Position,
    Ticker,
    Trade,
    iso8601,
    to_jsonable,
)

# CCXT's documented key sets (the unified API manual's structures).
CCXT_KEYS = {
    Ticker: {
        "symbol", "info", "timestamp", "datetime", "high", "low", "bid", "bidVolume", "ask",
        "askVolume", "vwap", "open", "close", "last", "previousClose", "change", "percentage",
        "average", "baseVolume", "quoteVolume", "markPrice", "indexPrice",
    },
    Trade: {
        "info", "id", "timestamp", "datetime", "symbol", "order", "type", "side",
        "takerOrMaker", "price", "amount", "cost", "fee", "fees",
    },
    Order: {
        "id", "clientOrderId", "datetime", "timestamp", "lastTradeTimestamp",
        "lastUpdateTimestamp", "status", "symbol", "type", "timeInForce", "side", "price",
        "average", "amount", "filled", "remaining", "cost", "trades", "fee", "fees", "info",
        "reduceOnly", "postOnly", "triggerPrice", "stopPrice", "takeProfitPrice", "stopLossPrice",
    },
    FundingRate: {
        "info", "symbol", "markPrice", "indexPrice", "interestRate", "estimatedSettlePrice",
        "timestamp", "datetime", "fundingRate", "fundingTimestamp", "fundingDatetime",
        "nextFundingRate", "nextFundingTimestamp", "nextFundingDatetime", "previousFundingRate",
        "previousFundingTimestamp", "previousFundingDatetime", "interval",
    },
    Liquidation: {
        "info", "symbol", "contracts", "contractSize", "price", "side", "baseValue",
        "quoteValue", "timestamp", "datetime",
    },
    Position: {
        "info", "id", "symbol", "timestamp", "datetime", "lastUpdateTimestamp", "isolated",
        "hedged", "side", "contracts", "contractSize", "entryPrice", "markPrice", "lastPrice",
        "notional", "leverage", "collateral", "initialMargin", "maintenanceMargin",
        "initialMarginPercentage", "maintenanceMarginPercentage", "unrealizedPnl",
        "realizedPnl", "liquidationPrice", "marginMode", "marginRatio", "percentage",
        "stopLossPrice", "takeProfitPrice",
    },
}  # fmt: skip

MARKET_KEYS = {
    "id", "lowercaseId", "symbol", "base", "quote", "settle", "baseId", "quoteId", "settleId",
    "type", "subType", "spot", "margin", "swap", "future", "option", "active", "contract",
    "linear", "inverse", "taker", "maker", "contractSize", "expiry", "expiryDatetime", "strike",
    "optionType", "precision", "limits", "marginModes", "created", "info",
}  # fmt: skip


@pytest.mark.parametrize("cls", list(CCXT_KEYS))
def test_ccxt_keys_present(cls: type[msgspec.Struct]) -> None:
    assert CCXT_KEYS[cls] <= set(cls.__struct_fields__)


def test_market_keys_and_nested_shapes() -> None:
    assert set(Market.__struct_fields__) >= MARKET_KEYS
    market = Market(
        id="BTCUSDT",
        lowercaseId="btcusdt",
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        baseId="BTC",
        quoteId="USDT",
        type="spot",
        spot=True,
        swap=False,
        future=False,
        contract=False,
    )
    encoded = json.loads(msgspec.json.encode(market))
    assert encoded["precision"] == {
        "amount": None,
        "price": None,
        "cost": None,
        "base": None,
        "quote": None,
    }
    assert set(encoded["limits"]) == {"amount", "price", "cost", "leverage", "market"}
    assert encoded["limits"]["amount"] == {"min": None, "max": None}


def test_trade_encodes_with_ccxt_keys_and_all_of_them() -> None:
    trade = Trade(id="1", symbol="BTC/USDT", side="buy", price=1.5, amount=2.0, cost=3.0)
    encoded = json.loads(msgspec.json.encode(trade))
    assert set(encoded) == CCXT_KEYS[Trade]
    assert encoded["takerOrMaker"] is None and encoded["fees"] == []


def test_dict_style_access() -> None:
    ticker = Ticker(symbol="BTC/USDT", bid=1.0, bidVolume=2.0)
    assert ticker["bidVolume"] == 2.0
    assert ticker.get("ask") is None and ticker.get("nope", 5) == 5
    with pytest.raises(KeyError):
        ticker["nope"]
    with pytest.raises(KeyError):
        ticker["to_dict"]  # methods are not keys
    assert ticker.keys()[:3] == ("symbol", "timestamp", "datetime")
    assert ticker.to_dict()["bid"] == 1.0


def test_membership_iteration_and_dict_views() -> None:
    ticker = Ticker(symbol="BTC/USDT", last=2.0, info={"c": "2.0"})
    assert "last" in ticker and "info" in ticker
    assert "nope" not in ticker and 0 not in ticker and "to_dict" not in ticker
    assert list(ticker) == list(CCXT_KEYS_ORDER) and len(ticker) == len(CCXT_KEYS_ORDER)
    assert (
        dict(ticker.items())
        == dict(ticker)
        == dict(zip(ticker.keys(), ticker.values(), strict=True))
    )
    assert dict(ticker)["last"] == 2.0 and dict(ticker)["info"] == {"c": "2.0"}
    assert ticker["info"]["c"] == "2.0"


CCXT_KEYS_ORDER = Ticker.__struct_fields__


SPOT_TICKER = (
    b'{"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00","w":"0.0018",'
    b'"x":"0.0009","c":"0.0025","Q":"10","b":"0.0024","B":"10","a":"0.0026","A":"100",'
    b'"o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,'
    b'"F":0,"L":18150,"n":18151}'
)


def _bnbbtc() -> Market:
    return Market(
        id="BNBBTC",
        lowercaseId="bnbbtc",
        symbol="BNB/BTC",
        base="BNB",
        quote="BTC",
        baseId="BNB",
        quoteId="BTC",
        type="spot",
        spot=True,
        swap=False,
        future=False,
        contract=False,
    )


@pytest.mark.parametrize("number", [float, Decimal])
def test_parsed_ticker_info_is_the_exchange_dict(number: type) -> None:
    event = w.decode(w.DECODERS["ticker"], SPOT_TICKER)
    ticker = parse_ticker(event, _bnbbtc(), number)
    # The attribute stays the decoded wire struct: no conversion on the hot path.
    assert ticker.info is event
    # Dict access converts it to Binance's own payload, as CCXT's info is.
    assert ticker["info"] == json.loads(SPOT_TICKER)
    assert ticker["info"]["c"] == "0.0025" and ticker.get("info")["b"] == "0.0024"
    assert dict(ticker)["info"]["s"] == "BNBBTC"
    plain = ticker.to_dict()
    assert plain["info"] == json.loads(SPOT_TICKER)
    # JSON-ready: json.dumps works on to_dict() and with the to_jsonable hook.
    decoded = json.loads(json.dumps(plain))
    assert decoded == json.loads(json.dumps(ticker, default=to_jsonable))
    assert decoded["symbol"] == "BNB/BTC" and set(decoded) == set(Ticker.__struct_fields__)
    if number is Decimal:
        assert decoded["last"] == "0.0025"  # exact numbers become strings, never floats
    else:
        assert decoded["last"] == 0.0025


def test_nested_structures_become_builtins() -> None:
    fee = Fee(currency="BNB", cost=Decimal("0.1"))
    trade = Trade(symbol="X", fee=fee, fees=[fee], info={"t": 1})
    order = Order(id="1", symbol="X", trades=[trade], fee=fee, fees=[fee])
    out = order.to_dict()
    assert out["fee"] == {"currency": "BNB", "cost": "0.1"}
    assert out["trades"][0]["fees"] == [{"currency": "BNB", "cost": "0.1"}]
    assert out["trades"][0]["info"] == {"t": 1}
    assert json.loads(json.dumps(out)) == out
    assert json.loads(json.dumps(order, default=to_jsonable)) == out
    assert "fee" in order and dict(order)["fee"] is fee


def test_to_jsonable_rejects_foreign_objects() -> None:
    with pytest.raises(TypeError, match="object is not JSON serializable"):
        json.dumps({"x": object()}, default=to_jsonable)


def test_ohlcv_and_book_to_json() -> None:
    candle = OHLCV(1, 2.0, 3.0, 1.0, 2.5, 10.0)
    assert json.loads(json.dumps([candle], default=to_jsonable)) == [[1, 2.0, 3.0, 1.0, 2.5, 10.0]]
    book = LocalOrderBook("BTC/USDT", number=Decimal)
    book.reset([["1.5", "2"]], [["1.6", "3"]], nonce=9, timestamp=0)
    snap = book.snapshot()
    assert "bids" in snap and "info" not in snap and len(snap) == len(list(snap))
    assert dict(snap)["nonce"] == 9 and snap.get("asks") == [[Decimal("1.6"), Decimal("3")]]
    assert snap.to_dict()["bids"] == [["1.5", "2"]]
    assert json.loads(json.dumps(snap, default=to_jsonable))["datetime"] == iso8601(0)
    assert [k for k, _ in snap.items()] == list(snap.keys())


def test_a_candle_converts_to_json_ready_builtins() -> None:
    """A candle has the JSON-ready conversions every structure has: CCXT's list
    (``to_list``) and its named fields (``to_dict``), ``Decimal`` as strings."""
    exact = OHLCV(60_000, Decimal("2.5"), Decimal("3"), Decimal("1"), Decimal("2.75"), None)
    assert json.loads(json.dumps(exact.to_list())) == [60_000, "2.5", "3", "1", "2.75", None]
    assert json.loads(json.dumps(exact.to_dict())) == {
        "timestamp": 60_000,
        "open": "2.5",
        "high": "3",
        "low": "1",
        "close": "2.75",
        "volume": None,
    }
    candles = [OHLCV(1, 2.0, 3.0, 1.0, 2.5, 10.0), exact]
    as_lists = json.loads(json.dumps([c.to_list() for c in candles]))
    assert as_lists == [[1, 2.0, 3.0, 1.0, 2.5, 10.0], [60_000, "2.5", "3", "1", "2.75", None]]
    assert json.loads(json.dumps(candles, default=to_jsonable)) == as_lists
    assert [list(d.values()) for d in (c.to_dict() for c in candles)] == as_lists


def test_fee_omits_missing_rate() -> None:
    assert json.loads(msgspec.json.encode(Fee(currency="BNB", cost=0.1))) == {
        "currency": "BNB",
        "cost": 0.1,
    }


def test_order_defaults_are_independent() -> None:
    a = Order(id="1", symbol="X")
    b = Order(id="2", symbol="X")
    a.trades.append(Trade(symbol="X"))
    assert b.trades == [] and b.fees == []


def test_ohlcv_is_list_like() -> None:
    candle = OHLCV(1, 2.0, 3.0, 1.0, 2.5, 10.0)
    ts, o, h, low, c, v = candle
    assert (ts, o, h, low, c, v) == (1, 2.0, 3.0, 1.0, 2.5, 10.0)
    assert candle[0] == 1 and candle[-1] == 10.0 and len(candle) == 6
    assert candle.close == 2.5
    assert msgspec.json.encode(candle) == b"[1,2.0,3.0,1.0,2.5,10.0]"
    assert msgspec.json.decode(b"[1,2.0,3.0,1.0,2.5,10.0]", type=OHLCV) == candle


def test_decimal_numbers() -> None:
    ticker = Ticker(symbol="BTC/USDT", bid=Decimal("0.1"))
    assert json.loads(msgspec.json.Encoder(decimal_format="number").encode(ticker))["bid"] == 0.1
    assert msgspec.json.decode(msgspec.json.encode(ticker), type=Ticker).bid == Decimal("0.1")


def test_balances_shape() -> None:
    balances = Balances(
        balances={
            "BTC": Balance(free=1.0, used=0.5, total=1.5),
            "USDT": Balance(free=10.0, used=0.0, total=10.0),
        },
        timestamp=1672531200000,
        datetime="2023-01-01T00:00:00.000Z",
        info={"raw": True},
    )
    assert balances["BTC"].free == 1.0 and balances["BTC"]["total"] == 1.5
    assert balances["free"] == {"BTC": 1.0, "USDT": 10.0}
    assert balances.used == {"BTC": 0.5, "USDT": 0.0}
    assert balances.total["USDT"] == 10.0
    assert balances["info"] == {"raw": True} and balances["timestamp"] == 1672531200000
    assert "BTC" in balances and "ETH" not in balances
    assert list(balances) == ["BTC", "USDT"] and len(balances) == 2
    assert balances.get("ETH") is None
    with pytest.raises(KeyError):
        balances["ETH"]
    with pytest.raises(KeyError):
        balances["BTC"]["locked"]
    ccxt = balances.to_ccxt()
    assert ccxt["BTC"] == {"free": 1.0, "used": 0.5, "total": 1.5}
    assert ccxt["total"] == {"BTC": 1.5, "USDT": 10.0}
    assert ccxt["datetime"] == "2023-01-01T00:00:00.000Z"


def test_balances_are_dict_like_and_json_ready() -> None:
    balances = Balances(
        balances={"BTC": Balance(free=Decimal("1"), used=Decimal("0.5"), total=Decimal("1.5"))},
        timestamp=0,
        datetime=iso8601(0),
        info={"B": [{"a": "BTC", "f": "1"}]},
    )
    assert "free" in balances and "info" in balances and "BTC" in balances
    assert balances.keys() == ["BTC"] and dict(balances) == {"BTC": balances["BTC"]}
    assert balances.items() == [("BTC", balances["BTC"])] and balances.values() == [balances["BTC"]]
    assert dict(balances["BTC"]) == {"free": 1, "used": Decimal("0.5"), "total": Decimal("1.5")}
    assert "free" in balances["BTC"] and len(balances["BTC"]) == 3
    out = json.loads(json.dumps(balances, default=to_jsonable))
    assert out == json.loads(json.dumps(balances.to_dict()))
    assert out["BTC"] == {"free": "1", "used": "0.5", "total": "1.5"}
    assert out["free"] == {"BTC": "1"} and out["info"] == {"B": [{"a": "BTC", "f": "1"}]}


# --------------------------------------------------------------------------- iso8601


def test_iso8601_examples() -> None:
    assert iso8601(0) == "1970-01-01T00:00:00.000Z"
    assert iso8601(1672515782136) == "2022-12-31T19:43:02.136Z"
    assert iso8601(1672515782001) == "2022-12-31T19:43:02.001Z"
    assert iso8601(None) is None
    assert iso8601(-1) is None
    assert iso8601(10**20) is None


@given(st.integers(min_value=0, max_value=253_402_300_799_999))
def test_iso8601_matches_datetime(ms: int) -> None:
    expected = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)
    assert iso8601(ms) == expected.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def test_iso8601_day_cache_switches_days() -> None:
    day = 86_400_000
    assert iso8601(day - 1) == "1970-01-01T23:59:59.999Z"
    assert iso8601(day) == "1970-01-02T00:00:00.000Z"
    assert iso8601(day - 1) == "1970-01-01T23:59:59.999Z"
