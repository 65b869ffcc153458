"""Unified structures: CCXT key names, encoding, dict-style access, iso8601."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
