"""Binance WS API request builders: CCXT's unified arguments → method, params, result parser.

Each builder returns a :class:`WsRequest`; the protocol (``ws_api.py``) gives it an
id, signs it and keeps its parser until the reply comes. Pure: no ids, no clocks,
no signing, no connection state. Parsers turn a raw ``result`` into the
``Order``/``Trade``/``Balances``/``Position`` the caller receives; an order parser
given the user-data state also tracks the order it parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import msgspec

from ..._arguments import check_params
from ..._exceptions import BadRequest, NotSupported, ProtocolError
from ..._structures import Market
from .markets import Markets
from .order_ids import client_order_id, exchange_order_id
from .precision import amount_to_precision, price_to_precision
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


class WsRequest(NamedTuple):
    """One WS API request before it has an id or a signature."""

    method: str
    params: dict[str, Any]
    parser: ResultParser | None = None


# --------------------------------------------------------------------------- params


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
    order_type = type.upper()
    post_only = bool(extra.pop("postOnly", False))
    cost = extra.pop("cost", None)
    p: dict[str, Any] = {"symbol": market.id, "side": side.upper(), "type": order_type}
    if post_only:
        if market.spot and order_type == "LIMIT":
            p["type"] = "LIMIT_MAKER"
        elif market.contract:
            extra.setdefault("timeInForce", "GTX")
    if amount is not None:
        p["quantity"] = amount_to_precision(market, amount)
    elif cost is not None and market.spot:
        p["quoteOrderQty"] = price_to_precision(market, cost)
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


def _nested_order_parser(markets: Markets, market: Market, method: str, key: str) -> ResultParser:
    """The order under ``key`` of a result (amend and cancel-replace nest theirs)."""
    number = _number(markets)

    def parse(raw: msgspec.Raw) -> Any:
        body = msgspec.json.decode(raw)
        nested = body.get(key) if isinstance(body, dict) else None
        if not isinstance(nested, dict):
            raise ProtocolError(f"{method} result lacks {key}")
        return parse_order_result(msgspec.convert(nested, OrderResult), market, number)

    return parse


# --------------------------------------------------------------------------- requests


def create_order(  # noqa: PLR0917 (CCXT's positional signature)
    markets: Markets | None,
    track: UserDataState | None,
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
    loaded = _loaded(markets)
    market = loaded.market(symbol)
    p = new_order_params(market, type, side, amount, price, params)
    return WsRequest("order.place", p, _order_parser(loaded, market, track))


def edit_order(  # noqa: PLR0917 (CCXT's positional signature)
    markets: Markets | None,
    track: UserDataState | None,
    id: str,  # noqa: A002
    symbol: str,
    type: str,  # noqa: A002
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
    loaded = _loaded(markets)
    market = loaded.market(symbol)
    extra = unify_params(params)
    if market.contract:
        p: dict[str, Any] = {
            "symbol": market.id,
            "orderId": exchange_order_id(id),
            "side": side.upper(),
        }
        if amount is not None:
            p["quantity"] = amount_to_precision(market, amount)
        if price is not None:
            p["price"] = price_to_precision(market, price)
        p.update(extra)
        return WsRequest("order.modify", p, _order_parser(loaded, market, track))
    if price is None and amount is not None and type.upper() != "MARKET":
        p = {
            "symbol": market.id,
            "orderId": exchange_order_id(id),
            "newQty": amount_to_precision(market, amount),
        }
        p.update(extra)
        method = "order.amend.keepPriority"
        return WsRequest(method, p, _nested_order_parser(loaded, market, method, "amendedOrder"))
    p = {
        "symbol": market.id,
        "cancelOrderId": exchange_order_id(id),
        "cancelReplaceMode": extra.pop("cancelReplaceMode", "STOP_ON_FAILURE"),
        "side": side.upper(),
        "type": type.upper(),
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
    markets: Markets | None,
    track: UserDataState | None,
    id: str,  # noqa: A002 (CCXT's name)
    symbol: str,
    params: Mapping[str, Any] | None = None,
) -> WsRequest:
    """``order.cancel``; ``params={"clientOrderId": ...}`` cancels by client id."""
    return _one_order("order.cancel", markets, track, id, symbol, params)


def _one_order(  # noqa: PLR0917
    method: str,
    markets: Markets | None,
    track: UserDataState | None,
    order_id: str,
    symbol: str,
    params: Mapping[str, Any] | None,
) -> WsRequest:
    loaded = _loaded(markets)
    market = loaded.market(symbol)
    p = order_ref(market, order_id, params)
    return WsRequest(method, p, _order_parser(loaded, market, track))


def cancel_all_orders(
    markets: Markets | None, market_type: str, symbol: str, params: Mapping[str, Any] | None = None
) -> WsRequest:
    """Spot ``openOrders.cancelAll`` for one symbol; the answer is ``[Order]``."""
    if market_type != "spot":
        raise NotSupported(
            "the futures WS API has no cancel-all method; use REST DELETE allOpenOrders"
        )
    loaded = _loaded(markets)
    market = loaded.market(symbol)
    p = {"symbol": market.id, **check_params(params)}
    return WsRequest("openOrders.cancelAll", p, _orders_parser(loaded))


def fetch_order(
    markets: Markets | None,
    id: str,  # noqa: A002 (CCXT's name)
    symbol: str,
    params: Mapping[str, Any] | None = None,
) -> WsRequest:
    """``order.status``; the answer is an ``Order``."""
    return _one_order("order.status", markets, None, id, symbol, params)


def fetch_open_orders(
    markets: Markets | None,
    market_type: str,
    symbol: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> WsRequest:
    """Spot ``openOrders.status`` (all symbols when ``symbol`` is None); ``[Order]``."""
    if market_type != "spot":
        raise NotSupported("the futures WS API has no open-orders method; use REST openOrders")
    p: dict[str, Any] = check_params(params)
    loaded = _loaded(markets)
    if symbol is not None:
        p["symbol"] = loaded.market(symbol).id
    return WsRequest("openOrders.status", p, _orders_parser(loaded))


def fetch_balance(
    number: Any, market_type: str, params: Mapping[str, Any] | None = None
) -> WsRequest:
    """Spot ``account.status`` or futures ``v2/account.balance``; ``Balances`` with
    ``number`` (``float`` or ``Decimal``) as its converter."""
    if market_type == "spot":

        def parse_spot(raw: msgspec.Raw) -> Any:
            return parse_account_status(msgspec.json.decode(raw, type=AccountStatus), number)

        return WsRequest("account.status", check_params(params), parse_spot)

    def parse_futures(raw: msgspec.Raw) -> Any:
        entries = msgspec.json.decode(raw, type=list[AccountBalanceEntry])
        return parse_futures_balances(entries, number)

    return WsRequest("v2/account.balance", check_params(params), parse_futures)


def fetch_positions(
    markets: Markets | None,
    market_type: str,
    symbols: Iterable[str] | None = None,
    params: Mapping[str, Any] | None = None,
) -> WsRequest:
    """Futures ``v2/account.position``; ``[Position]`` (unknown symbols skipped)."""
    if market_type == "spot":
        raise NotSupported("spot has no positions")
    loaded = _loaded(markets)
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


def fetch_my_trades(  # noqa: PLR0917 (CCXT's positional signature)
    markets: Markets | None,
    market_type: str,
    symbol: str,
    since: int | None = None,
    limit: int | None = None,
    params: Mapping[str, Any] | None = None,
) -> WsRequest:
    """Spot ``myTrades`` for one symbol; ``[Trade]``."""
    if market_type != "spot":
        raise NotSupported("the futures WS API has no trade-history method; use REST userTrades")
    loaded = _loaded(markets)
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
