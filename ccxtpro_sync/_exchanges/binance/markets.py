"""Binance ``exchangeInfo`` → CCXT ``Market``s, and a lookup container. Pure.

Unified symbols follow CCXT:

==========================  =======================  ==========================
product / contract          Binance id               unified symbol
==========================  =======================  ==========================
spot                        ``BTCUSDT``              ``BTC/USDT``
USD-M perpetual             ``BTCUSDT``              ``BTC/USDT:USDT``
USD-M delivery              ``BTCUSDT_261225``       ``BTC/USDT:USDT-261225``
COIN-M perpetual            ``BTCUSD_PERP``          ``BTC/USD:BTC``
COIN-M delivery             ``BTCUSD_261225``        ``BTC/USD:BTC-261225``
==========================  =======================  ==========================

Precision is CCXT's TICK_SIZE mode: ``precision.price`` is ``tickSize`` and
``precision.amount`` is ``stepSize`` as numbers. Asset codes are used as
Binance spells them (no CCXT common-currency renames).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, Final

import msgspec

from ..._exceptions import BadSymbol, ProtocolError
from ..._markets import MarketTable
from ..._numbers import Num, NumberConverter, finite, number_type
from ..._structures import Limits, Market, MinMax, Precision, iso8601
from .wire import Product

__all__ = ["Markets", "parse_market", "parse_markets"]

#: Base-tier (VIP 0) fees, as fractions; account-specific fees need a private call.
_FEES: Final[dict[Product, tuple[str, str]]] = {
    "spot": ("0.001", "0.001"),
    "usdm": ("0.0005", "0.0002"),
    "coinm": ("0.0005", "0.0002"),
}
_NAMES: Final[dict[Product, str]] = {
    "spot": "binance spot",
    "usdm": "binance USD-M futures",
    "coinm": "binance COIN-M futures",
}


def _filters(raw: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {f["filterType"]: f for f in raw.get("filters", ()) if "filterType" in f}


def _num(value: Any, number: NumberConverter, *, zero_is_none: bool = False) -> Num | None:
    """A filter value (a string, sometimes an int) as a number; ``""``/missing → ``None``."""
    if value is None or value == "":
        return None
    result = number(str(value))
    if zero_is_none and not result:
        return None
    return result


def _digits(value: Any, number: NumberConverter) -> Num | None:
    """Digit count → tick size (8 → 1e-8), CCXT's TICK_SIZE view of a precision."""
    if value is None:
        return None
    return number(f"1e-{int(value)}")


def _yymmdd(ms: int) -> str:
    iso = iso8601(ms)
    if iso is None:
        raise ValueError(f"bad delivery date {ms}")
    return iso[2:4] + iso[5:7] + iso[8:10]


def parse_market(
    raw: Mapping[str, Any], product: Product, number: NumberConverter = float
) -> Market:
    """One ``symbols[]`` entry of an exchangeInfo document → ``Market``.

    ``number`` must be the converter later used for stream parsing.
    Raises ``KeyError``/``ValueError``/``TypeError`` on a malformed entry;
    :func:`parse_markets` turns those into ``ProtocolError``.
    """
    market_id: str = raw["symbol"]
    base_id: str = raw["baseAsset"]
    quote_id: str = raw["quoteAsset"]
    base, quote = base_id.upper(), quote_id.upper()
    filters = _filters(raw)
    price_filter = filters.get("PRICE_FILTER", {})
    lot = filters.get("LOT_SIZE", {})
    market_lot = filters.get("MARKET_LOT_SIZE", {})
    taker, maker = _FEES[product]

    if product == "spot":
        notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
        return Market(
            id=market_id,
            lowercaseId=market_id.lower(),
            symbol=f"{base}/{quote}",
            base=base,
            quote=quote,
            baseId=base_id,
            quoteId=quote_id,
            type="spot",
            spot=True,
            margin=bool(raw.get("isMarginTradingAllowed", False)),
            swap=False,
            future=False,
            contract=False,
            active=raw.get("status") == "TRADING",
            taker=number(taker),
            maker=number(maker),
            precision=Precision(
                amount=_num(lot.get("stepSize"), number),
                price=_num(price_filter.get("tickSize"), number),
                base=_digits(raw.get("baseAssetPrecision"), number),
                quote=_digits(raw.get("quoteAssetPrecision", raw.get("quotePrecision")), number),
            ),
            limits=Limits(
                amount=MinMax(
                    min=_num(lot.get("minQty"), number), max=_num(lot.get("maxQty"), number)
                ),
                market=MinMax(
                    min=_num(market_lot.get("minQty"), number),
                    max=_num(market_lot.get("maxQty"), number),
                ),
                price=MinMax(
                    min=_num(price_filter.get("minPrice"), number, zero_is_none=True),
                    max=_num(price_filter.get("maxPrice"), number, zero_is_none=True),
                ),
                cost=MinMax(
                    min=_num(notional.get("minNotional"), number),
                    max=_num(notional.get("maxNotional"), number),
                ),
            ),
            info=dict(raw),
        )

    # USD-M ("status") and COIN-M ("contractStatus") contracts.
    settle_id: str = raw["marginAsset"]
    settle = settle_id.upper()
    contract_type = str(raw.get("contractType", ""))
    swap = "PERPETUAL" in contract_type
    expiry: int | None = None
    symbol = f"{base}/{quote}:{settle}"
    if not swap:
        expiry = int(raw["deliveryDate"])
        symbol += "-" + _yymmdd(expiry)
    inverse = product == "coinm"
    status = raw.get("contractStatus", raw.get("status"))
    min_notional = filters.get("MIN_NOTIONAL", {})
    return Market(
        id=market_id,
        lowercaseId=market_id.lower(),
        symbol=symbol,
        base=base,
        quote=quote,
        settle=settle,
        baseId=base_id,
        quoteId=quote_id,
        settleId=settle_id,
        type="swap" if swap else "future",
        subType="inverse" if inverse else "linear",
        spot=False,
        swap=swap,
        future=not swap,
        contract=True,
        linear=not inverse,
        inverse=inverse,
        active=status == "TRADING",
        taker=number(taker),
        maker=number(maker),
        contractSize=number(str(raw.get("contractSize", 1))),
        expiry=expiry,
        expiryDatetime=iso8601(expiry),
        created=raw.get("onboardDate"),
        precision=Precision(
            amount=_num(lot.get("stepSize"), number),
            price=_num(price_filter.get("tickSize"), number),
            base=_digits(raw.get("baseAssetPrecision"), number),
            quote=_digits(raw.get("quotePrecision"), number),
        ),
        limits=Limits(
            amount=MinMax(min=_num(lot.get("minQty"), number), max=_num(lot.get("maxQty"), number)),
            market=MinMax(
                min=_num(market_lot.get("minQty"), number),
                max=_num(market_lot.get("maxQty"), number),
            ),
            price=MinMax(
                min=_num(price_filter.get("minPrice"), number, zero_is_none=True),
                max=_num(price_filter.get("maxPrice"), number, zero_is_none=True),
            ),
            cost=MinMax(min=_num(min_notional.get("notional"), number)),
        ),
        info=dict(raw),
    )


def parse_markets(
    document: Mapping[str, Any] | bytes | str,
    product: Product,
    number: NumberConverter = float,
) -> Markets:
    """Parse a whole exchangeInfo response (decoded, or raw JSON) into :class:`Markets`.

    ``product`` says which endpoint it came from: ``"spot"``
    (``/api/v3/exchangeInfo``), ``"usdm"`` (``/fapi/v1``) or ``"coinm"``
    (``/dapi/v1``). If two entries map to one unified symbol, an active one wins.
    """
    if isinstance(document, bytes | str):
        try:
            document = msgspec.json.decode(document)
        except msgspec.DecodeError as exc:
            raise ProtocolError(f"exchangeInfo is not JSON: {exc}") from exc
    symbols = document.get("symbols") if isinstance(document, Mapping) else None
    if not isinstance(symbols, list):
        raise ProtocolError("exchangeInfo has no 'symbols' list")
    markets: list[Market] = []
    for raw in symbols:
        try:
            markets.append(parse_market(raw, product, number))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            name = raw.get("symbol", "?") if isinstance(raw, Mapping) else "?"
            raise ProtocolError(f"malformed exchangeInfo entry {name!r}: {exc!r}") from exc
    return Markets(markets, product, number=number)


class Markets(MarketTable):
    """Markets of one Binance product, looked up by unified symbol or Binance id.

    Ids match case-insensitively, so stream ids (``"btcusdt"``) work. Unknown
    names raise ``BadSymbol`` naming close matches. Immutable after construction,
    so any thread may read it.
    """

    __slots__ = ("_by_id", "_by_symbol", "number", "number_type", "product")

    def __init__(
        self, markets: Iterable[Market], product: Product, *, number: NumberConverter = float
    ) -> None:
        self.product: Product = product
        #: The converter to parse streams with: the markets' own (``float`` or
        #: ``Decimal``), checked so that NaN and infinities are a ``ProtocolError``.
        self.number: NumberConverter = finite(number)
        #: ``float`` or ``Decimal``: which one, for choosing fast paths.
        self.number_type: NumberConverter = number_type(number)
        self._by_symbol: dict[str, Market] = {}
        self._by_id: dict[str, Market] = {}
        for market in markets:
            for index, key in ((self._by_symbol, market.symbol), (self._by_id, market.lowercaseId)):
                current = index.get(key)
                if current is None or (market.active and not current.active):
                    index[key] = market

    def market(self, symbol: str) -> Market:
        """The market for a unified symbol (or, like CCXT, a Binance id)."""
        found = self._by_symbol.get(symbol)
        if found is not None:
            return found
        found = self._by_id.get(symbol.lower()) or self._by_symbol.get(symbol.upper())
        if found is not None:
            return found
        raise self._bad_symbol(symbol)

    __getitem__ = market

    def by_id(self, market_id: str) -> Market:
        """The market for a Binance id, any case (``"BTCUSDT"``, ``"btcusd_perp"``)."""
        found = self._by_id.get(market_id.lower())
        if found is None:
            raise self._bad_symbol(market_id)
        return found

    def __repr__(self) -> str:
        return f"<Markets {self.product}: {len(self)} markets>"

    @property
    def ids(self) -> list[str]:
        """Binance ids, sorted."""
        return sorted(m.id for m in self._by_id.values())

    def _bad_symbol(self, symbol: str) -> BadSymbol:
        name = _NAMES[self.product]
        message = f"{name} has no market {symbol!r}"
        candidates = list(self._by_symbol) + [m.id for m in self._by_id.values()]
        close = difflib.get_close_matches(symbol.upper(), candidates, n=3, cutoff=0.6)
        if close:
            message += "; did you mean " + ", ".join(repr(c) for c in dict.fromkeys(close)) + "?"
        if self.product == "spot" and ":" in symbol:
            message += " Contract symbols ('BASE/QUOTE:SETTLE') are on USD-M or COIN-M futures."
        elif self.product != "spot" and ":" not in symbol and "/" in symbol:
            message += " Futures symbols name their settle currency, e.g. 'BTC/USDT:USDT'."
        return BadSymbol(message)
