"""Binance WS API request builders: CCXT's unified arguments → method, params, result parser.

Each builder takes the connection's :class:`RequestContext` and returns a
:class:`WsRequest`; ``BinanceWsApiProtocol.send`` gives it an id, signs it and
keeps its parser until the reply comes. Pure: no ids, no clocks,
no signing, no connection state. Parsers turn a raw ``result`` into the
``Order``/``Trade``/``Balances``/``Position`` the caller receives; an order parser
given the user-data state also tracks the order it parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, NamedTuple

import msgspec

from ..._arguments import check_params, check_symbol
from ..._exceptions import BadRequest, NotSupported, ProtocolError
from ..._structures import Market
from .markets import Markets
from .order_ids import client_order_id, exchange_order_id
from .precision import amount_to_precision, cost_to_precision, price_to_precision
from .private_parsers import (
    parse_account_position,
    parse_account_status,
    parse_futures_balances,
    parse_my_trade,
    parse_order_result,
)
from .private_wire import (
    AccountBalanceEntry,
    AccountPositionEntry,
    AccountStatus,
    OrderResult,
    TradeResult,
)
from .user_data import UserDataState

__all__ = [
    "Params",
    "RequestContext",
    "ResultParser",
    "WsRequest",
    "cancel_all_orders",
    "cancel_order",
    "create_order",
    "edit_order",
    "fetch_balance",
    "fetch_my_trades",
    "fetch_open_orders",
    "fetch_order",
    "fetch_positions",
    "new_order_params",
    "order_ref",
    "unify_params",
]

#: Turns a raw ``result`` into the value a caller receives.
ResultParser = Callable[[msgspec.Raw], Any]
#: Extra params as the caller gives them (CCXT's ``params``).
Params = Mapping[str, Any] | None


class WsRequest(NamedTuple):
    """One WS API request before it has an id or a signature."""

    method: str
    params: dict[str, Any]
    parser: ResultParser | None = None


# --------------------------------------------------------------------------- params


def order_word(value: object, name: str, example: str) -> str:
    """An order's ``type`` or ``side``, upper-cased; ``ArgumentsRequired`` for None,
    ``InvalidArgument`` for anything but a str (nothing is sent either way)."""
    return check_symbol(value, name, example).upper()


def new_order_params(  # noqa: PLR0917 (CCXT's positional arguments)
    market: Market,
    type: str,  # noqa: A002 (CCXT's name)
    side: str,
    amount: Any = None,
    price: Any = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Binance's new-order params (WS API ``order.place`` and REST ``POST order`` take
    the same) from CCXT's arguments; see :func:`create_order`."""
    extra = unify_params(params)
    order_type = order_word(type, "type", "'limit'")
    post_only = bool(extra.pop("postOnly", False))
    cost = extra.pop("cost", None)
    p: dict[str, Any] = {
        "symbol": market.id,
        "side": order_word(side, "side", "'buy'"),
        "type": order_type,
    }
    if post_only:
        if market.spot and order_type == "LIMIT":
            p["type"] = "LIMIT_MAKER"
        elif market.contract:
            extra.setdefault("timeInForce", "GTX")
    if amount is not None:
        p["quantity"] = amount_to_precision(market, amount)
    elif cost is not None and market.spot:
        p["quoteOrderQty"] = cost_to_precision(market, cost)  # truncated: never more than asked
    if price is not None and order_type not in ("MARKET", "STOP_MARKET", "TAKE_PROFIT_MARKET"):
        p["price"] = price_to_precision(market, price)
    if "stopPrice" in extra:
        extra["stopPrice"] = price_to_precision(market, extra["stopPrice"])
    if p["type"] == "LIMIT" or (market.contract and order_type in ("STOP", "TAKE_PROFIT")):
        extra.setdefault("timeInForce", "GTC")
    if market.contract:
        if "reduceOnly" in extra and isinstance(extra["reduceOnly"], bool):
            extra["reduceOnly"] = "true" if extra["reduceOnly"] else "false"
        extra.setdefault("newOrderRespType", "RESULT")
    elif p["type"] == "LIMIT_MAKER":
        extra.pop("timeInForce", None)  # LIMIT_MAKER takes no timeInForce
    p.update(extra)
    # Always an id to look the order up by if the reply is lost (the caller's, checked).
    client_order_id(p, spot=market.spot)
    return p


def unify_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """CCXT's unified param names → Binance's (``clientOrderId``, ``triggerPrice``)."""
    out = check_params(params)
    if "clientOrderId" in out:
        out["newClientOrderId"] = out.pop("clientOrderId")
    for alias in ("triggerPrice", "stopPrice"):
        if alias in out and out[alias] is not None:
            out["stopPrice"] = out.pop(alias)
    return out


def order_ref(market: Market, order_id: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Params naming one order (WS API and REST alike): by ``orderId``, or by client id
    when ``params={"clientOrderId": ...}`` is given (Binance's ``origClientOrderId``)."""
    extra = check_params(params)
    p: dict[str, Any] = {"symbol": market.id}
    client_id = extra.pop("clientOrderId", None)
    if client_id is not None:
        p["origClientOrderId"] = client_id
    else:
        p["orderId"] = exchange_order_id(order_id)
    p.update(extra)
    return p


# --------------------------------------------------------------------------- parsers


def _order_parser(
    markets: Markets, market: Market, track: UserDataState | None = None
) -> ResultParser:
    number = _number(markets)

    def parse(raw: msgspec.Raw) -> Any:
        order = parse_order_result(msgspec.json.decode(raw, type=OrderResult), market, number)
        if track is not None and order.status is not None:
            track.track(order)
        return order

    return parse


def _orders_parser(markets: Markets) -> ResultParser:
    def parse(raw: msgspec.Raw) -> Any:
        items = msgspec.json.decode(raw)
        if not isinstance(items, list):
            raise ProtocolError("expected a list of orders")
        orders = []
        for item in items:
            if isinstance(item, dict) and "orderId" in item:
                result = msgspec.convert(item, OrderResult)
                market = markets.by_id(result.symbol)
                orders.append(parse_order_result(result, market, _number(markets)))
            elif isinstance(item, dict) and "orders" in item:
                # an order list (OCO) in cancelAll: its members come as their own reports
                for member in item.get("orderReports", []):
                    result = msgspec.convert(member, OrderResult)
                    market = markets.by_id(result.symbol)
                    orders.append(parse_order_result(result, market, _number(markets)))
        return orders

    return parse


#: ``order.amend.keepPriority``'s ``amendedOrder`` names for fields other results name so.
_AMENDED_SPELLINGS: Final = (("qty", "origQty"), ("cumulativeQuoteQty", "cummulativeQuoteQty"))


def _nested_order_parser(markets: Markets, market: Market, method: str, key: str) -> ResultParser:
    """The order under ``key`` of a result (amend and cancel-replace nest theirs)."""
    number = _number(markets)

    def parse(raw: msgspec.Raw) -> Any:
        body = msgspec.json.decode(raw)
        nested = body.get(key) if isinstance(body, dict) else None
        if not isinstance(nested, dict):
            raise ProtocolError(f"{method} result lacks {key}")
        if key == "amendedOrder":
            # keepPriority spells them "qty" and "cumulativeQuoteQty" and puts the
            # time beside the order, not in it
            for theirs, ours in _AMENDED_SPELLINGS:
                if theirs in nested and ours not in nested:
                    nested[ours] = nested[theirs]
            if "transactTime" in body and "transactTime" not in nested:
                nested["transactTime"] = body["transactTime"]
            # the amended order carries a new client order id ("clientOrderId"); the
            # previous one ("origClientOrderId") no longer names it
            nested.pop("origClientOrderId", None)
        return parse_order_result(msgspec.convert(nested, OrderResult), market, number)

    return parse


# --------------------------------------------------------------------------- requests


class RequestContext(NamedTuple):
    """What a builder needs of the connection: its markets, its market type, and the
    user-data state that tracks the orders a reply reports (``None``: untracked)."""

    markets: Markets | None
    market_type: str
    user_data: UserDataState | None = None


def create_order(  # noqa: PLR0917 (CCXT's positional signature)
    ctx: RequestContext,
    symbol: str,
    type: str,  # noqa: A002 (CCXT's name)
    side: str,
    amount: Any = None,
    price: Any = None,
    params: Mapping[str, Any] | None = None,
) -> WsRequest:
    """``order.place`` from CCXT arguments; the answer is an ``Order``.

    Unified params: ``clientOrderId``, ``triggerPrice``/``stopPrice``,
    ``postOnly`` (spot ``LIMIT_MAKER``, futures ``GTX``), ``reduceOnly``
    (futures), ``cost`` (spot market buy by quote amount), ``timeInForce``;
    anything else is passed to Binance as given.
    """
    loaded = _loaded(ctx.markets)
    market = loaded.market(symbol)
    p = new_order_params(market, type, side, amount, price, params)
    return WsRequest("order.place", p, _order_parser(loaded, market, ctx.user_data))


def edit_order(  # noqa: PLR0917 (CCXT's positional signature)
    ctx: RequestContext,
    order_id: str,
    symbol: str,
    type: str,  # noqa: A002 (CCXT's name)
    side: str,
    amount: Any = None,
    price: Any = None,
    params: Mapping[str, Any] | None = None,
) -> WsRequest:
    """Change an open order; the answer is an ``Order``.

    Futures: ``order.modify`` (price and quantity). Spot: a quantity-only
    decrease keeps queue priority with ``order.amend.keepPriority``;
    anything else is ``order.cancelReplace`` (cancel, then place the new
    order), as spot has no in-place price change.
    """
    loaded = _loaded(ctx.markets)
    market = loaded.market(symbol)
    extra = unify_params(params)
    side = order_word(side, "side", "'buy'")
    if market.contract:
        p: dict[str, Any] = {
            "symbol": market.id,
            "orderId": exchange_order_id(order_id),
            "side": side,
        }
        if amount is not None:
            p["quantity"] = amount_to_precision(market, amount)
        if price is not None:
            p["price"] = price_to_precision(market, price)
        p.update(extra)
        return WsRequest("order.modify", p, _order_parser(loaded, market, ctx.user_data))
    type = order_word(type, "type", "'limit'")  # noqa: A001 - CCXT's name; spot sends it
    if price is None and amount is not None and type != "MARKET":
        p = {
            "symbol": market.id,
            "orderId": exchange_order_id(order_id),
            "newQty": amount_to_precision(market, amount),
        }
        p.update(extra)
        method = "order.amend.keepPriority"
        return WsRequest(method, p, _nested_order_parser(loaded, market, method, "amendedOrder"))
    p = {
        "symbol": market.id,
        "cancelOrderId": exchange_order_id(order_id),
        "cancelReplaceMode": extra.pop("cancelReplaceMode", "STOP_ON_FAILURE"),
        "side": side,
        "type": type,
    }
    if amount is not None:
        p["quantity"] = amount_to_precision(market, amount)
    if price is not None:
        p["price"] = price_to_precision(market, price)
        extra.setdefault("timeInForce", "GTC")
    p.update(extra)
    client_order_id(p, spot=True)  # the new order's id
    method = "order.cancelReplace"
    return WsRequest(method, p, _nested_order_parser(loaded, market, method, "newOrderResponse"))


def cancel_order(
    ctx: RequestContext, order_id: str, symbol: str, params: Params = None
) -> WsRequest:
    """``order.cancel``; ``params={"clientOrderId": ...}`` cancels by client id."""
    return _one_order("order.cancel", ctx, order_id, symbol, params, track=True)


def fetch_order(
    ctx: RequestContext, order_id: str, symbol: str, params: Params = None
) -> WsRequest:
    """``order.status``; the answer is an ``Order``."""
    return _one_order("order.status", ctx, order_id, symbol, params, track=False)


def _one_order(
    method: str, ctx: RequestContext, order_id: str, symbol: str, params: Params, *, track: bool
) -> WsRequest:
    loaded = _loaded(ctx.markets)
    market = loaded.market(symbol)
    p = order_ref(market, order_id, params)
    return WsRequest(method, p, _order_parser(loaded, market, ctx.user_data if track else None))


def cancel_all_orders(ctx: RequestContext, symbol: str, params: Params = None) -> WsRequest:
    """Spot ``openOrders.cancelAll`` for one symbol; the answer is ``[Order]``."""
    if ctx.market_type != "spot":
        raise NotSupported(
            "the futures WS API has no cancel-all method; use REST DELETE allOpenOrders"
        )
    loaded = _loaded(ctx.markets)
    market = loaded.market(symbol)
    p = {"symbol": market.id, **check_params(params)}
    return WsRequest("openOrders.cancelAll", p, _orders_parser(loaded))


def fetch_open_orders(
    ctx: RequestContext, symbol: str | None = None, params: Params = None
) -> WsRequest:
    """Spot ``openOrders.status`` (all symbols when ``symbol`` is None); ``[Order]``."""
    if ctx.market_type != "spot":
        raise NotSupported("the futures WS API has no open-orders method; use REST openOrders")
    p: dict[str, Any] = check_params(params)
    loaded = _loaded(ctx.markets)
    if symbol is not None:
        p["symbol"] = loaded.market(symbol).id
    return WsRequest("openOrders.status", p, _orders_parser(loaded))


def fetch_balance(ctx: RequestContext, params: Params = None) -> WsRequest:
    """Spot ``account.status`` or futures ``v2/account.balance``; ``Balances``."""
    number: Any = ctx.markets.number if ctx.markets is not None else float
    if ctx.market_type == "spot":

        def parse_spot(raw: msgspec.Raw) -> Any:
            return parse_account_status(msgspec.json.decode(raw, type=AccountStatus), number)

        return WsRequest("account.status", check_params(params), parse_spot)

    def parse_futures(raw: msgspec.Raw) -> Any:
        entries = msgspec.json.decode(raw, type=list[AccountBalanceEntry])
        return parse_futures_balances(entries, number)

    return WsRequest("v2/account.balance", check_params(params), parse_futures)


def fetch_positions(
    ctx: RequestContext, symbols: Iterable[str] | None = None, params: Params = None
) -> WsRequest:
    """Futures ``v2/account.position``; ``[Position]`` (unknown symbols skipped)."""
    if ctx.market_type == "spot":
        raise NotSupported("spot has no positions")
    loaded = _loaded(ctx.markets)
    wanted = {loaded.market(s).symbol for s in symbols} if symbols is not None else None
    p: dict[str, Any] = check_params(params)
    if wanted is not None and len(wanted) == 1:
        p.setdefault("symbol", loaded.market(next(iter(wanted))).id)

    def parse(raw: msgspec.Raw) -> Any:
        positions = []
        for entry in msgspec.json.decode(raw, type=list[AccountPositionEntry]):
            market = loaded.get(entry.symbol)
            if market is None or (wanted is not None and market.symbol not in wanted):
                continue
            positions.append(parse_account_position(entry, market, _number(loaded)))
        return positions

    return WsRequest("v2/account.position", p, parse)


def fetch_my_trades(
    ctx: RequestContext,
    symbol: str,
    since: int | None = None,
    limit: int | None = None,
    params: Params = None,
) -> WsRequest:
    """Spot ``myTrades`` for one symbol; ``[Trade]``."""
    if ctx.market_type != "spot":
        raise NotSupported("the futures WS API has no trade-history method; use REST userTrades")
    loaded = _loaded(ctx.markets)
    market = loaded.market(symbol)
    p: dict[str, Any] = {"symbol": market.id, "startTime": since, "limit": limit}
    p.update(check_params(params))

    def parse(raw: msgspec.Raw) -> Any:
        trades = msgspec.json.decode(raw, type=list[TradeResult])
        return [parse_my_trade(t, market, _number(loaded)) for t in trades]

    return WsRequest("myTrades", p, parse)


def _number(markets: Markets) -> Any:
    """The markets' converter (float or Decimal); Any as the parsers are generic in it."""
    return markets.number


def _loaded(markets: Markets | None) -> Markets:
    """The markets a request needs (``None``: the caller has not loaded them yet)."""
    if markets is None:
        raise BadRequest("load markets before trading")
    return markets
