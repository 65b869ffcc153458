"""exchangeInfo → Market parsing and the Markets lookup container."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from ccxtpro_sync._exceptions import BadRequest, BadSymbol, ProtocolError
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_markets

# --------------------------------------------------------------------------- fixtures
# Shaped like real responses (abridged: fewer symbols, rateLimits trimmed).

_SPOT_FILTERS_BTCUSDT: list[dict[str, Any]] = [
    {
        "filterType": "PRICE_FILTER",
        "minPrice": "0.01000000",
        "maxPrice": "1000000.00000000",
        "tickSize": "0.01000000",
    },
    {
        "filterType": "LOT_SIZE",
        "minQty": "0.00001000",
        "maxQty": "9000.00000000",
        "stepSize": "0.00001000",
    },
    {"filterType": "ICEBERG_PARTS", "limit": 10},
    {
        "filterType": "MARKET_LOT_SIZE",
        "minQty": "0.00000000",
        "maxQty": "115.46328887",
        "stepSize": "0.00000000",
    },
    {
        "filterType": "TRAILING_DELTA",
        "minTrailingAboveDelta": 10,
        "maxTrailingAboveDelta": 2000,
        "minTrailingBelowDelta": 10,
        "maxTrailingBelowDelta": 2000,
    },
    {
        "filterType": "PERCENT_PRICE_BY_SIDE",
        "bidMultiplierUp": "5",
        "bidMultiplierDown": "0.2",
        "askMultiplierUp": "5",
        "askMultiplierDown": "0.2",
        "avgPriceMins": 5,
    },
    {
        "filterType": "NOTIONAL",
        "minNotional": "5.00000000",
        "applyMinToMarket": True,
        "maxNotional": "9000000.00000000",
        "applyMaxToMarket": False,
        "avgPriceMins": 5,
    },
    {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
    {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
]

SPOT_EXCHANGE_INFO: dict[str, Any] = {
    "timezone": "UTC",
    "serverTime": 1767225600000,
    "rateLimits": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}
    ],
    "exchangeFilters": [],
    "symbols": [
        {
            "symbol": "BTCUSDT",
            "status": "TRADING",
            "baseAsset": "BTC",
            "baseAssetPrecision": 8,
            "quoteAsset": "USDT",
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": [
                "LIMIT",
                "LIMIT_MAKER",
                "MARKET",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT_LIMIT",
            ],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "amendAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": True,
            "filters": _SPOT_FILTERS_BTCUSDT,
            "permissions": [],
            "permissionSets": [["SPOT", "MARGIN", "TRD_GRP_004"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        },
        {
            "symbol": "ETHBTC",
            "status": "BREAK",
            "baseAsset": "ETH",
            "baseAssetPrecision": 8,
            "quoteAsset": "BTC",
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "MARKET"],
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": "0.00001000",
                    "maxPrice": "922327.00000000",
                    "tickSize": "0.00001000",
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": "0.00010000",
                    "maxQty": "100000.00000000",
                    "stepSize": "0.00010000",
                },
                {
                    "filterType": "MIN_NOTIONAL",
                    "minNotional": "0.00010000",
                    "applyToMarket": True,
                    "avgPriceMins": 5,
                },
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
        },
    ],
}


def _um_filters(tick: str, step: str, notional: str) -> list[dict[str, Any]]:
    return [
        {
            "minPrice": "556.80",
            "maxPrice": "4529764",
            "filterType": "PRICE_FILTER",
            "tickSize": tick,
        },
        {"stepSize": step, "filterType": "LOT_SIZE", "maxQty": "1000", "minQty": step},
        {"stepSize": step, "filterType": "MARKET_LOT_SIZE", "maxQty": "120", "minQty": step},
        {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
        {"limit": 10, "filterType": "MAX_NUM_ALGO_ORDERS"},
        {"notional": notional, "filterType": "MIN_NOTIONAL"},
        {
            "multiplierDown": "0.9500",
            "multiplierUp": "1.0500",
            "multiplierDecimal": "4",
            "filterType": "PERCENT_PRICE",
        },
    ]


_UM_COMMON: dict[str, Any] = {
    "maintMarginPercent": "2.5000",
    "requiredMarginPercent": "5.0000",
    "baseAsset": "BTC",
    "quoteAsset": "USDT",
    "marginAsset": "USDT",
    "pricePrecision": 2,
    "quantityPrecision": 3,
    "baseAssetPrecision": 8,
    "quotePrecision": 8,
    "underlyingType": "COIN",
    "underlyingSubType": ["PoW"],
    "triggerProtect": "0.0500",
    "liquidationFee": "0.012500",
    "marketTakeBound": "0.05",
    "maxMoveOrderLimit": 10000,
    "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT"],
    "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
    "permissionSets": ["GRID", "COPY"],
}

USDM_EXCHANGE_INFO: dict[str, Any] = {
    "timezone": "UTC",
    "serverTime": 1767225600000,
    "futuresType": "U_MARGINED",
    "rateLimits": [],
    "exchangeFilters": [],
    "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
    "symbols": [
        _UM_COMMON
        | {
            "symbol": "BTCUSDT",
            "pair": "BTCUSDT",
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "filters": _um_filters("0.10", "0.001", "100"),
        },
        _UM_COMMON
        | {
            "symbol": "BTCUSDT_261225",
            "pair": "BTCUSDT",
            "contractType": "CURRENT_QUARTER",
            "deliveryDate": 1798185600000,
            "onboardDate": 1782460800000,
            "status": "TRADING",
            "filters": _um_filters("0.10", "0.001", "5"),
        },
        _UM_COMMON
        | {
            "symbol": "ETHUSDT",
            "pair": "ETHUSDT",
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "SETTLING",
            "baseAsset": "ETH",
            "filters": _um_filters("0.01", "0.001", "20"),
        },
    ],
}


def _cm_filters(tick: str) -> list[dict[str, Any]]:
    return [
        {"minPrice": "1000", "maxPrice": "4520958", "filterType": "PRICE_FILTER", "tickSize": tick},
        {"stepSize": "1", "filterType": "LOT_SIZE", "maxQty": "1000000", "minQty": "1"},
        {"stepSize": "1", "filterType": "MARKET_LOT_SIZE", "maxQty": "60000", "minQty": "1"},
        {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
        {"limit": 20, "filterType": "MAX_NUM_ALGO_ORDERS"},
        {
            "multiplierDown": "0.9500",
            "multiplierUp": "1.0500",
            "multiplierDecimal": "4",
            "filterType": "PERCENT_PRICE",
        },
    ]


_CM_COMMON: dict[str, Any] = {
    "pair": "BTCUSD",
    "contractStatus": "TRADING",
    "contractSize": 100,
    "marginAsset": "BTC",
    "maintMarginPercent": "2.5000",
    "requiredMarginPercent": "5.0000",
    "baseAsset": "BTC",
    "quoteAsset": "USD",
    "pricePrecision": 1,
    "quantityPrecision": 0,
    "baseAssetPrecision": 8,
    "quotePrecision": 8,
    "equalQtyPrecision": 4,
    "maxMoveOrderLimit": 10000,
    "triggerProtect": "0.0500",
    "underlyingType": "COIN",
    "underlyingSubType": [],
    "liquidationFee": "0.015000",
    "marketTakeBound": "0.05",
    "orderTypes": ["LIMIT", "MARKET", "STOP", "TAKE_PROFIT"],
    "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
}

COINM_EXCHANGE_INFO: dict[str, Any] = {
    "timezone": "UTC",
    "serverTime": 1767225600000,
    "rateLimits": [],
    "exchangeFilters": [],
    "symbols": [
        _CM_COMMON
        | {
            "symbol": "BTCUSD_PERP",
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1597042800000,
            "filters": _cm_filters("0.1"),
        },
        _CM_COMMON
        | {
            "symbol": "BTCUSD_261225",
            "contractType": "CURRENT_QUARTER",
            "deliveryDate": 1798185600000,
            "onboardDate": 1782460800000,
            "filters": _cm_filters("0.1"),
        },
        _CM_COMMON
        | {
            "symbol": "ETHUSD_PERP",
            "pair": "ETHUSD",
            "baseAsset": "ETH",
            "marginAsset": "ETH",
            "contractSize": 10,
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1597042800000,
            "filters": _cm_filters("0.01"),
        },
    ],
}


@pytest.fixture(scope="module")
def spot() -> Markets:
    return parse_markets(SPOT_EXCHANGE_INFO, "spot")


@pytest.fixture(scope="module")
def usdm() -> Markets:
    return parse_markets(USDM_EXCHANGE_INFO, "usdm")


@pytest.fixture(scope="module")
def coinm() -> Markets:
    return parse_markets(COINM_EXCHANGE_INFO, "coinm")


# --------------------------------------------------------------------------- spot


def test_spot_market(spot: Markets) -> None:
    m = spot.market("BTC/USDT")
    assert (m.id, m.lowercaseId, m.symbol) == ("BTCUSDT", "btcusdt", "BTC/USDT")
    assert (m.base, m.quote, m.baseId, m.quoteId, m.settle) == ("BTC", "USDT", "BTC", "USDT", None)
    assert m.type == "spot" and m.spot and not (m.swap or m.future or m.contract)
    assert m.linear is None and m.inverse is None and m.contractSize is None
    assert m.margin is True and m.active is True
    assert (m.taker, m.maker) == (0.001, 0.001)
    assert m.precision.price == 0.01
    assert m.precision.amount == 0.00001
    assert m.precision.base == 1e-8 and m.precision.quote == 1e-8
    assert (m.limits.amount.min, m.limits.amount.max) == (0.00001, 9000.0)
    assert (m.limits.price.min, m.limits.price.max) == (0.01, 1000000.0)
    assert (m.limits.cost.min, m.limits.cost.max) == (5.0, 9000000.0)
    assert m.limits.market.max == 115.46328887
    assert m.limits.leverage.max is None
    assert m.expiry is None
    assert m.info["symbol"] == "BTCUSDT"
    assert m["precision"]["price"] == 0.01  # CCXT-style access all the way down


def test_spot_inactive_and_min_notional(spot: Markets) -> None:
    m = spot.market("ETH/BTC")
    assert m.active is False and m.margin is False
    assert m.limits.cost.min == 0.0001 and m.limits.cost.max is None
    assert m.limits.market.min is None


def test_decimal_mode_markets() -> None:
    markets = parse_markets(SPOT_EXCHANGE_INFO, "spot", Decimal)
    m = markets.market("BTC/USDT")
    assert m.precision.price == Decimal("0.01")
    assert isinstance(m.precision.amount, Decimal) and isinstance(m.taker, Decimal)
    assert m.precision.base == Decimal("1e-8")
    assert markets.number_type is Decimal  # markets.number: the checked Decimal converter
    cm = parse_markets(COINM_EXCHANGE_INFO, "coinm", Decimal).market("BTC/USD:BTC")
    assert cm.contractSize == Decimal(100)


# --------------------------------------------------------------------------- USD-M


def test_usdm_perpetual(usdm: Markets) -> None:
    m = usdm.market("BTC/USDT:USDT")
    assert m.id == "BTCUSDT" and m.settle == "USDT" and m.settleId == "USDT"
    assert m.type == "swap" and m.swap and m.contract and not m.future and not m.spot
    assert m.linear is True and m.inverse is False and m.subType == "linear"
    assert m.contractSize == 1.0
    assert m.expiry is None and m.expiryDatetime is None
    assert m.created == 1569398400000
    assert m.precision.price == 0.1 and m.precision.amount == 0.001
    assert m.limits.cost.min == 100.0
    assert (m.limits.price.min, m.limits.market.max) == (556.8, 120.0)
    assert (m.taker, m.maker) == (0.0005, 0.0002)


def test_usdm_delivery(usdm: Markets) -> None:
    m = usdm.market("BTC/USDT:USDT-261225")
    assert m.id == "BTCUSDT_261225"
    assert m.type == "future" and m.future and not m.swap
    assert m.expiry == 1798185600000
    assert m.expiryDatetime == "2026-12-25T08:00:00.000Z"
    assert usdm.by_id("btcusdt_261225") is m


def test_usdm_status(usdm: Markets) -> None:
    assert usdm.market("ETH/USDT:USDT").active is False


# --------------------------------------------------------------------------- COIN-M


def test_coinm_perpetual(coinm: Markets) -> None:
    m = coinm.market("BTC/USD:BTC")
    assert m.id == "BTCUSD_PERP" and m.lowercaseId == "btcusd_perp"
    assert m.type == "swap" and m.inverse is True and m.linear is False
    assert m.subType == "inverse"
    assert m.settle == "BTC" and m.contractSize == 100.0
    assert m.active is True
    assert m.limits.cost.min is None
    assert coinm.market("ETH/USD:ETH").contractSize == 10.0


def test_coinm_delivery(coinm: Markets) -> None:
    m = coinm.market("BTC/USD:BTC-261225")
    assert m.id == "BTCUSD_261225" and m.future and m.inverse
    assert m.expiryDatetime == "2026-12-25T08:00:00.000Z"


# --------------------------------------------------------------------------- container


def test_lookup_by_id_any_case(usdm: Markets, coinm: Markets, spot: Markets) -> None:
    assert spot.by_id("btcusdt") is spot.by_id("BTCUSDT") is spot.market("BTC/USDT")
    assert coinm.by_id("btcusd_perp").symbol == "BTC/USD:BTC"
    assert usdm.market("btcusdt").symbol == "BTC/USDT:USDT"  # market() accepts ids, like CCXT
    assert spot.market("btc/usdt").symbol == "BTC/USDT"
    assert spot["BTC/USDT"] is spot.market("BTC/USDT")


def test_container_protocol(spot: Markets, usdm: Markets) -> None:
    assert len(spot) == 2 and len(usdm) == 3
    assert "BTC/USDT" in spot and "BTCUSDT" in spot and "XRP/USDT" not in spot
    assert 42 not in spot
    assert spot.symbols == ["BTC/USDT", "ETH/BTC"]
    assert spot.ids == ["BTCUSDT", "ETHBTC"]
    assert set(iter(usdm)) == {"BTC/USDT:USDT", "BTC/USDT:USDT-261225", "ETH/USDT:USDT"}
    assert len(usdm.values()) == 3
    assert usdm.product == "usdm" and spot.product == "spot"
    assert spot.get("NOPE/USDT") is None
    assert "3 markets" in repr(usdm)


def test_bad_symbol_suggests_close_matches(usdm: Markets) -> None:
    with pytest.raises(BadSymbol) as info:
        usdm.market("BTC/USDT")
    message = str(info.value)
    assert "USD-M" in message and "'BTC/USDT:USDT'" in message
    assert "settle currency" in message
    assert isinstance(info.value, BadRequest)


def test_bad_symbol_on_spot_hints_at_futures(spot: Markets) -> None:
    with pytest.raises(BadSymbol, match=r"did you mean 'BTC/USDT'.*USD-M or COIN-M"):
        spot.market("BTC/USDT:USDT")
    with pytest.raises(BadSymbol, match="has no market 'xyzxyz'"):
        spot.by_id("xyzxyz")


def test_active_market_wins_a_symbol_clash() -> None:
    doc = copy.deepcopy(USDM_EXCHANGE_INFO)
    old = doc["symbols"][0] | {"symbol": "BTCUSDT_OLD", "status": "PENDING_TRADING"}
    doc["symbols"].insert(0, old)
    markets = parse_markets(doc, "usdm")
    assert markets.market("BTC/USDT:USDT").id == "BTCUSDT"
    assert markets.by_id("btcusdt_old").active is False


# --------------------------------------------------------------------------- input handling


def test_accepts_raw_json(usdm: Markets) -> None:
    from_bytes = parse_markets(json.dumps(USDM_EXCHANGE_INFO).encode(), "usdm")
    from_str = parse_markets(json.dumps(USDM_EXCHANGE_INFO), "usdm")
    assert from_bytes.values() == from_str.values() == usdm.values()


@pytest.mark.parametrize(
    "document",
    [b"{not json", b"[]", {"symbols": "nope"}, {"timezone": "UTC"}],
)
def test_malformed_document(document: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_markets(document, "spot")


def test_malformed_entry_names_the_symbol() -> None:
    doc = copy.deepcopy(SPOT_EXCHANGE_INFO)
    del doc["symbols"][1]["baseAsset"]
    with pytest.raises(ProtocolError, match="ETHBTC"):
        parse_markets(doc, "spot")


def test_missing_filters_give_none() -> None:
    doc = {
        "symbols": [
            {"symbol": "ABCUSDT", "status": "TRADING", "baseAsset": "ABC", "quoteAsset": "USDT"}
        ]
    }
    m = parse_markets(doc, "spot").market("ABC/USDT")
    assert m.precision.price is None and m.limits.amount.min is None
    assert m.precision.base is None
