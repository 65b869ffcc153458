"""``order.place`` params → a validated :class:`~.orders.NewOrder`, with Binance's errors.

Filters come from the catalogue's :class:`~.catalog.SymbolSpec`, the same values
``exchangeInfo`` publishes: tick size, step size, min/max quantity, min
notional. Spot reports ``-1013 Filter failure: ...``; futures use their own
codes (``-4014`` tick, ``-1111`` precision, ``-4164`` notional).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from .auth import missing
from .catalog import Catalog, MarketName, SymbolSpec
from .market import ASK, BID, SymbolState
from .orders import NewOrder, OrderSide
from .params import long_param
from .rest import ApiError

SPOT_TYPES: Final = ("LIMIT", "LIMIT_MAKER", "MARKET")
FUTURES_TYPES: Final = ("LIMIT", "MARKET")
SPOT_TIF: Final = ("GTC", "IOC", "FOK")
FUTURES_TIF: Final = ("GTC", "IOC", "FOK", "GTX")
_DECIMAL_RANGE: Final = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"


def symbol_of(catalog: Catalog, market: MarketName, params: Mapping[str, Any]) -> SymbolSpec:
    symbol = params.get("symbol")
    if not symbol:
        raise missing("symbol")
    spec = catalog.get(market, str(symbol))
    if spec is None:
        raise ApiError(-1121, "Invalid symbol.")
    return spec


def decimal_param(params: Mapping[str, Any], name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ApiError(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '{_DECIMAL_RANGE}'.",
        ) from None
    if not value.is_finite() or value < 0:
        raise ApiError(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '{_DECIMAL_RANGE}'.",
        )
    return value


def int_param(params: Mapping[str, Any], name: str) -> int | None:
    """A LONG parameter, parsed as every route parses one (``params.long_param``)."""
    return long_param(params, name)


def _filter(market: MarketName, name: str, futures: tuple[int, str]) -> ApiError:
    if market == "spot":
        return ApiError(-1013, f"Filter failure: {name}")
    return ApiError(*futures)


def to_ticks(market: MarketName, spec: SymbolSpec, price: Decimal) -> int:
    ticks = price / spec.tick_size
    if price <= 0 or ticks != ticks.to_integral_value():
        raise _filter(market, "PRICE_FILTER", (-4014, "Price not increased by tick size."))
    return int(ticks)


def to_lots(market: MarketName, spec: SymbolSpec, qty: Decimal, name: str = "LOT_SIZE") -> int:
    if qty <= 0 and market != "spot":
        raise ApiError(-4003, "Quantity less than or equal to zero.")
    lots = qty / spec.step_size
    if lots != lots.to_integral_value():
        raise _filter(
            market, name, (-1111, "Precision is over the maximum defined for this asset.")
        )
    max_qty = spec.max_qty / 10 if name == "MARKET_LOT_SIZE" else spec.max_qty
    if qty < spec.min_qty or qty > max_qty:
        raise _filter(market, name, (-1013, f"Filter failure: {name}"))
    return int(lots)


def _side(params: Mapping[str, Any]) -> OrderSide:
    side = params.get("side")
    if not side:
        raise missing("side")
    if side not in ("BUY", "SELL"):
        raise ApiError(-1117, "Invalid side.")
    return "BUY" if side == "BUY" else "SELL"


def parse_new_order(
    catalog: Catalog, market: MarketName, params: Mapping[str, Any], st_of: Any
) -> NewOrder:
    """Validate ``params``; ``st_of(symbol)`` gives the live :class:`SymbolState` (for the
    notional of market orders)."""
    spec = symbol_of(catalog, market, params)
    side = _side(params)
    order_type = params.get("type")
    if not order_type:
        raise missing("type")
    if order_type not in (SPOT_TYPES if market == "spot" else FUTURES_TYPES):
        raise ApiError(-1116, "Invalid orderType.")
    tif = params.get("timeInForce")
    price = decimal_param(params, "price")
    quantity = decimal_param(params, "quantity")
    quote_qty = decimal_param(params, "quoteOrderQty") if market == "spot" else None
    reduce_only = str(params.get("reduceOnly", "false")).lower() == "true"
    req = NewOrder(
        market,
        spec.symbol,
        side,
        str(order_type),
        "GTC",
        client_order_id=params.get("newClientOrderId") or None,
        reduce_only=reduce_only and market != "spot",
    )
    if order_type == "MARKET":
        if tif is not None and market == "spot":
            raise ApiError(-1106, "Parameter 'timeInForce' sent when not required.")
        if quantity is None and quote_qty is None:
            raise ApiError(
                -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
            )
        if quantity is not None:
            req.lots = to_lots(
                market, spec, quantity, "MARKET_LOT_SIZE" if market == "spot" else "LOT_SIZE"
            )
        else:
            assert quote_qty is not None
            req.quote_qty = quote_qty
        st: SymbolState = st_of(spec.symbol)
        best = st.book.best(ASK if side == "BUY" else BID) or st.last_price
        _check_notional(
            market,
            spec,
            quote_qty
            if quote_qty is not None
            else best * spec.tick_size * (quantity or Decimal(0)),
            req.reduce_only,
        )
        return req
    if order_type == "LIMIT":
        if not tif:
            raise missing("timeInForce")
        if tif not in (SPOT_TIF if market == "spot" else FUTURES_TIF):
            raise ApiError(-1115, "Invalid timeInForce.")
        req.time_in_force = str(tif)
    elif tif is not None:
        raise ApiError(-1106, "Parameter 'timeInForce' sent when not required.")
    if price is None:
        raise missing("price")
    if quantity is None:
        raise missing("quantity")
    req.price = to_ticks(market, spec, price)
    req.lots = to_lots(market, spec, quantity)
    _check_notional(market, spec, price * quantity, req.reduce_only)
    return req


def _check_notional(
    market: MarketName, spec: SymbolSpec, notional: Decimal, reduce_only: bool
) -> None:
    if market == "coinm" or reduce_only or notional >= spec.min_notional:
        return
    if market == "spot":
        raise ApiError(-1013, "Filter failure: NOTIONAL")
    raise ApiError(
        -4164,
        f"Order's notional must be no smaller than {spec.min_notional} "
        "(unless you choose reduce only).",
    )
