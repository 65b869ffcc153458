"""Instrument catalogue: symbol specifications and Binance-shaped ``exchangeInfo``.

Prices and quantities inside the simulator are integers (ticks and lots); a
:class:`SymbolSpec` carries the units that turn them back into the decimal
strings Binance sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal

MarketName = Literal["spot", "usdm", "coinm"]
MARKETS: Final[tuple[MarketName, ...]] = ("spot", "usdm", "coinm")

#: Binance's "never delivers" date for perpetual contracts (2100-12-25).
PERPETUAL_DELIVERY_MS: Final = 4133404800000
#: Spot payloads print every price and quantity with 8 decimals.
SPOT_DECIMALS: Final = 8


def _ms(year: int, month: int, day: int, hour: int = 8) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp() * 1000)


def decimals_of(unit: Decimal) -> int:
    """Number of decimal places needed to print multiples of ``unit``."""
    exponent = unit.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


@dataclass(frozen=True)
class SymbolSpec:
    """One tradable instrument.

    ``start_price`` and ``typical_qty`` only seed the market generator. Futures
    fields are ignored for spot.
    """

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    start_price: Decimal
    typical_qty: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal = Decimal(0)
    pair: str = ""
    contract_type: str = ""
    delivery_date: int = PERPETUAL_DELIVERY_MS
    onboard_date: int = 1569398400000
    margin_asset: str = ""
    contract_size: int = 0
    price_precision: int = -1
    quantity_precision: int = -1

    @property
    def is_perpetual(self) -> bool:
        return self.contract_type == "PERPETUAL"

    @property
    def price_decimals(self) -> int:
        return self.price_precision if self.price_precision >= 0 else decimals_of(self.tick_size)

    @property
    def qty_decimals(self) -> int:
        if self.quantity_precision >= 0:
            return self.quantity_precision
        return decimals_of(self.step_size)


# The three table helpers below take positional rows on purpose: they keep the symbol
# table readable as one line per instrument.
def _spot(  # noqa: PLR0917 - one table row per call
    symbol: str,
    base: str,
    quote: str,
    tick: str,
    step: str,
    price: str,
    qty: str,
    min_notional: str,
) -> SymbolSpec:
    return SymbolSpec(
        symbol,
        base,
        quote,
        Decimal(tick),
        Decimal(step),
        Decimal(price),
        Decimal(qty),
        min_qty=Decimal(step),
        max_qty=Decimal("9000"),
        min_notional=Decimal(min_notional),
    )


def _um(  # noqa: PLR0917 - one table row per call
    symbol: str,
    base: str,
    tick: str,
    step: str,
    price: str,
    qty: str,
    notional: str,
    contract: str = "PERPETUAL",
    delivery: int = PERPETUAL_DELIVERY_MS,
    price_precision: int = -1,
) -> SymbolSpec:
    return SymbolSpec(
        symbol,
        base,
        "USDT",
        Decimal(tick),
        Decimal(step),
        Decimal(price),
        Decimal(qty),
        min_qty=Decimal(step),
        max_qty=Decimal("1000"),
        min_notional=Decimal(notional),
        pair=f"{base}USDT",
        contract_type=contract,
        delivery_date=delivery,
        margin_asset="USDT",
        price_precision=price_precision,
    )


def _cm(  # noqa: PLR0917 - one table row per call
    symbol: str,
    base: str,
    tick: str,
    price: str,
    contract_size: int,
    contract: str = "PERPETUAL",
    delivery: int = PERPETUAL_DELIVERY_MS,
) -> SymbolSpec:
    return SymbolSpec(
        symbol,
        base,
        "USD",
        Decimal(tick),
        Decimal(1),
        Decimal(price),
        Decimal(40),
        min_qty=Decimal(1),
        max_qty=Decimal(1000000),
        pair=f"{base}USD",
        contract_type=contract,
        delivery_date=delivery,
        onboard_date=1597042800000,
        margin_asset=base,
        contract_size=contract_size,
    )


#: 2026-12-25 is the last Friday of the December quarter; delivery is 08:00 UTC.
_DEC_2026: Final = _ms(2026, 12, 25)

DEFAULT_SYMBOLS: Final[Mapping[MarketName, tuple[SymbolSpec, ...]]] = {
    "spot": (
        _spot("BTCUSDT", "BTC", "USDT", "0.01", "0.00001", "65000", "0.05", "5"),
        _spot("ETHUSDT", "ETH", "USDT", "0.01", "0.0001", "3200", "0.8", "5"),
        _spot("BNBUSDT", "BNB", "USDT", "0.01", "0.001", "600", "3", "5"),
        _spot("SOLUSDT", "SOL", "USDT", "0.01", "0.001", "150", "10", "5"),
        _spot("ETHBTC", "ETH", "BTC", "0.00001", "0.0001", "0.0492", "0.8", "0.0001"),
    ),
    "usdm": (
        _um("BTCUSDT", "BTC", "0.10", "0.001", "65010", "0.08", "100", price_precision=2),
        _um("ETHUSDT", "ETH", "0.01", "0.001", "3201", "1.2", "20"),
        _um("SOLUSDT", "SOL", "0.0100", "1", "150.1", "12", "5", price_precision=4),
        _um(
            "BTCUSDT_261225",
            "BTC",
            "0.10",
            "0.001",
            "66200",
            "0.05",
            "100",
            contract="CURRENT_QUARTER",
            delivery=_DEC_2026,
            price_precision=2,
        ),
    ),
    "coinm": (
        _cm("BTCUSD_PERP", "BTC", "0.1", "65005", 100),
        _cm("ETHUSD_PERP", "ETH", "0.01", "3200.5", 10),
        _cm(
            "BTCUSD_261225",
            "BTC",
            "0.1",
            "66150",
            100,
            contract="CURRENT_QUARTER",
            delivery=_DEC_2026,
        ),
    ),
}


@dataclass
class Catalog:
    """The symbols listed per market, in listing order."""

    markets: dict[MarketName, dict[str, SymbolSpec]] = field(default_factory=dict)

    @classmethod
    def build(cls, symbols: Mapping[MarketName, Sequence[str | SymbolSpec]] | None) -> Catalog:
        """Default catalogue, optionally narrowed or extended per market.

        A string picks a default spec by name; a :class:`SymbolSpec` adds a custom one.
        Markets missing from ``symbols`` keep their defaults.
        """
        result: dict[MarketName, dict[str, SymbolSpec]] = {}
        for market in MARKETS:
            defaults = {s.symbol: s for s in DEFAULT_SYMBOLS[market]}
            wanted: Iterable[str | SymbolSpec] = (
                symbols[market] if symbols and market in symbols else defaults.values()
            )
            chosen: dict[str, SymbolSpec] = {}
            for item in wanted:
                if isinstance(item, str):
                    if item.upper() not in defaults:
                        raise ValueError(f"unknown default {market} symbol {item!r}")
                    spec = defaults[item.upper()]
                else:
                    spec = item
                chosen[spec.symbol] = spec
            result[market] = chosen
        return cls(result)

    def get(self, market: MarketName, symbol: str) -> SymbolSpec | None:
        return self.markets[market].get(symbol)

    def symbols(self, market: MarketName) -> list[SymbolSpec]:
        return list(self.markets[market].values())


def _fmt(value: Decimal, places: int) -> str:
    return f"{value:.{places}f}"


def _spot_symbol_info(s: SymbolSpec) -> dict[str, Any]:
    d = SPOT_DECIMALS
    return {
        "symbol": s.symbol,
        "status": "TRADING",
        "baseAsset": s.base,
        "baseAssetPrecision": 8,
        "quoteAsset": s.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": [
            "LIMIT",
            "LIMIT_MAKER",
            "MARKET",
            "STOP_LOSS",
            "STOP_LOSS_LIMIT",
            "TAKE_PROFIT",
            "TAKE_PROFIT_LIMIT",
        ],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": _fmt(s.tick_size, d),
                "maxPrice": _fmt(Decimal(1000000), d),
                "tickSize": _fmt(s.tick_size, d),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": _fmt(s.min_qty, d),
                "maxQty": _fmt(s.max_qty, d),
                "stepSize": _fmt(s.step_size, d),
            },
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": _fmt(Decimal(0), d),
                "maxQty": _fmt(s.max_qty / 10, d),
                "stepSize": _fmt(Decimal(0), d),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": _fmt(s.min_notional, d),
                "applyMinToMarket": True,
                "maxNotional": _fmt(Decimal(9000000), d),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def _futures_symbol_info(market: MarketName, s: SymbolSpec) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": str(s.tick_size * 10),
            "maxPrice": "4529764",
            "tickSize": str(s.tick_size),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": str(s.min_qty),
            "maxQty": str(s.max_qty),
            "stepSize": str(s.step_size),
        },
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": str(s.min_qty),
            "maxQty": str(s.max_qty / 10),
            "stepSize": str(s.step_size),
        },
        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
    ]
    if market == "usdm":
        filters.append({"filterType": "MIN_NOTIONAL", "notional": str(s.min_notional)})
    filters.append(
        {
            "filterType": "PERCENT_PRICE",
            "multiplierUp": "1.0500",
            "multiplierDown": "0.9500",
            "multiplierDecimal": "4",
        }
    )
    info: dict[str, Any] = {
        "symbol": s.symbol,
        "pair": s.pair,
        "contractType": s.contract_type,
        "deliveryDate": s.delivery_date,
        "onboardDate": s.onboard_date,
    }
    if market == "usdm":
        info["status"] = "TRADING"
    else:
        info["contractStatus"] = "TRADING"
        info["contractSize"] = s.contract_size
    info.update(
        {
            "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000",
            "baseAsset": s.base,
            "quoteAsset": s.quote,
            "marginAsset": s.margin_asset,
            "pricePrecision": s.price_decimals,
            "quantityPrecision": s.qty_decimals,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "underlyingSubType": [],
            "triggerProtect": "0.0500",
            "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000,
            "filters": filters,
            "orderTypes": [
                "LIMIT",
                "MARKET",
                "STOP",
                "STOP_MARKET",
                "TAKE_PROFIT",
                "TAKE_PROFIT_MARKET",
                "TRAILING_STOP_MARKET",
            ],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX"] + (["GTD"] if market == "usdm" else []),
        }
    )
    if market == "coinm":
        info["equalQtyPrecision"] = 4
    return info


def exchange_info(
    market: MarketName, specs: Sequence[SymbolSpec], server_time: int, weight_limit: int
) -> dict[str, Any]:
    """Build the ``exchangeInfo`` document for ``market`` listing ``specs``."""
    rate_limits: list[dict[str, Any]] = [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": weight_limit,
        },
    ]
    if market == "spot":
        rate_limits += [
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
            {
                "rateLimitType": "RAW_REQUESTS",
                "interval": "MINUTE",
                "intervalNum": 5,
                "limit": 61000,
            },
        ]
        return {
            "timezone": "UTC",
            "serverTime": server_time,
            "rateLimits": rate_limits,
            "exchangeFilters": [],
            "symbols": [_spot_symbol_info(s) for s in specs],
        }
    rate_limits += [
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
    ]
    doc: dict[str, Any] = {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": rate_limits,
        "exchangeFilters": [],
    }
    if market == "usdm":
        doc["futuresType"] = "U_MARGINED"
        doc["assets"] = [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}]
    doc["symbols"] = [_futures_symbol_info(market, s) for s in specs]
    return doc
