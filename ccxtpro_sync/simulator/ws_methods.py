"""Trading and account methods of the WS API (reference §6.4, §6.6), per market.

Each entry of :data:`SPOT_METHODS` / :data:`FUTURES_METHODS` says its weight,
its security type and whether it counts against ``ORDERS``; the connection
layer (:mod:`.ws_api`) authenticates and rate-limits before calling the
handler with a :class:`Call`. Session and subscription methods live there,
because they act on the connection rather than the account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from .account_views import (
    futures_balances,
    futures_positions,
    my_trades,
    open_orders,
    order_status,
)
from .accounts import ApiKey
from .auth import ApiDataError
from .catalog import MarketName
from .order_input import decimal_param, int_param, parse_new_order, symbol_of, to_lots, to_ticks
from .orders import SimOrder
from .private_shapes import (
    Obj,
    futures_order,
    spot_account_status,
    spot_amend_result,
    spot_cancel_result,
    spot_order_result,
)
from .rest import ApiError

if TYPE_CHECKING:
    from .private import PrivateExchange

UNKNOWN_ORDER: Final = "Unknown order sent."


@dataclass
class Call:
    """One authenticated request as a handler sees it."""

    market: MarketName
    params: dict[str, Any]
    key: ApiKey
    core: PrivateExchange


@dataclass(frozen=True)
class Method:
    handler: Callable[[Call], Any]
    weight: int | Callable[[Mapping[str, Any]], int]
    security: str  # "SIGNED" (TRADE / USER_DATA) or "USER_STREAM" (apiKey only)
    trade: bool = False  # needs the TRADE permission
    orders: bool = False  # counts against ORDERS


# --------------------------------------------------------------------------- helpers


def _order_ref(
    call: Call, id_name: str = "orderId", client_name: str = "origClientOrderId"
) -> tuple[str, int | None, str | None]:
    spec = symbol_of(call.core.catalog, call.market, call.params)
    order_id = int_param(call.params, id_name)
    client_id = call.params.get(client_name) or None
    if order_id is None and client_id is None:
        raise ApiError(
            -1102, f"Param '{client_name}' or '{id_name}' must be sent, but both were empty/null!"
        )
    return spec.symbol, order_id, client_id


def _open_order(call: Call, symbol: str, order_id: int | None, client_id: str | None) -> SimOrder:
    order = call.core.matching.find(call.key.account, call.market, symbol, order_id, client_id)
    if order is None or not order.is_open:
        raise ApiError(-2011, UNKNOWN_ORDER)
    return order


def _place(call: Call, params: Mapping[str, Any]) -> SimOrder:
    matching = call.core.matching
    req = parse_new_order(
        call.core.catalog, call.market, params, lambda s: matching.state(call.market, s)
    )
    return matching.place(call.key.account, req)


def _resp_type(params: Mapping[str, Any], order_type: str) -> str:
    """``newOrderRespType``: LIMIT and MARKET default to FULL, other types to ACK."""
    default = "FULL" if order_type in ("LIMIT", "MARKET") else "ACK"
    resp = str(params.get("newOrderRespType") or default)
    if resp not in ("ACK", "RESULT", "FULL"):
        raise ApiError(
            -1100,
            "Illegal characters found in parameter 'newOrderRespType'; "
            "legal range is 'ACK, RESULT, FULL'.",
        )
    return resp


def _render(call: Call, order: SimOrder, params: Mapping[str, Any]) -> Obj:
    st = call.core.matching.state(call.market, order.symbol)
    if call.market == "spot":
        return spot_order_result(order, st, _resp_type(params, order.type))
    return futures_order(order, st)


# --------------------------------------------------------------------------- spot + futures


def order_place(call: Call) -> Obj:
    if call.market == "spot":
        _resp_type(call.params, str(call.params.get("type")))  # reject before executing
    order = _place(call, call.params)
    return _render(call, order, call.params)


def order_test(call: Call) -> Obj:
    """``order.test``: validated like ``order.place`` (filters, params), never placed."""
    matching = call.core.matching
    order_type = str(call.params.get("type"))
    parse_new_order(
        call.core.catalog, call.market, call.params, lambda s: matching.state(call.market, s)
    )
    _resp_type(call.params, order_type)
    if str(call.params.get("computeCommissionRates", "false")).lower() != "true":
        return {}
    account = call.key.account
    zero = f"{Decimal(0):.8f}"
    return {
        "standardCommissionForOrder": {
            "maker": f"{Decimal(str(account.maker_fee)):.8f}",
            "taker": f"{Decimal(str(account.taker_fee)):.8f}",
        },
        "taxCommissionForOrder": {"maker": zero, "taker": zero},
        "discount": {
            "enabledForAccount": False,
            "enabledForSymbol": False,
            "discountAsset": "BNB",
            "discount": f"{Decimal('0.25'):.8f}",
        },
    }


def _order_test_weight(params: Mapping[str, Any]) -> int:
    return 20 if str(params.get("computeCommissionRates", "false")).lower() == "true" else 1


def order_cancel(call: Call) -> Obj:
    symbol, order_id, client_id = _order_ref(call)
    order = _open_order(call, symbol, order_id, client_id)
    restriction = call.params.get("cancelRestrictions")
    if restriction and call.market == "spot":
        if restriction not in ("ONLY_NEW", "ONLY_PARTIALLY_FILLED"):
            raise ApiError(
                -1145, "cancelRestrictions has to be either ONLY_NEW or ONLY_PARTIALLY_FILLED."
            )
        if (restriction == "ONLY_NEW") != (order.status == "NEW"):
            raise ApiError(-2011, "Order was not canceled due to cancel restrictions.")
    call.core.matching.cancel(order, call.params.get("newClientOrderId") or None)
    st = call.core.matching.state(call.market, symbol)
    if call.market == "spot":
        return spot_cancel_result(order, st)
    return futures_order(order, st)


def order_status_method(call: Call) -> Obj:
    return order_status(call.core.matching, call.key.account, call.market, call.params)


# --------------------------------------------------------------------------- spot only


def open_orders_status(call: Call) -> list[Obj]:
    return open_orders(call.core.matching, call.key.account, call.market, call.params)


def open_orders_cancel_all(call: Call) -> list[Obj]:
    spec = symbol_of(call.core.catalog, call.market, call.params)
    matching = call.core.matching
    orders = sorted(
        matching.open_orders(call.key.account, call.market, spec.symbol), key=lambda o: o.order_id
    )
    if not orders:
        raise ApiError(-2011, UNKNOWN_ORDER)
    st = matching.state(call.market, spec.symbol)
    return [spot_cancel_result(matching.cancel(o), st) for o in orders]


def order_amend_keep_priority(call: Call) -> Obj:
    symbol, order_id, client_id = _order_ref(call)
    new_qty = decimal_param(call.params, "newQty")
    if new_qty is None:
        raise ApiError(
            -1102, "Mandatory parameter 'newQty' was not sent, was empty/null, or malformed."
        )
    order = _open_order(call, symbol, order_id, client_id)
    spec = call.core.matching.state(call.market, symbol).spec
    lots = to_lots(call.market, spec, new_qty)
    if lots >= order.orig_lots:
        raise ApiError(-2038, "The requested quantity must be less than the order's quantity.")
    execution_id = call.core.matching.amend_keep_priority(
        order, lots, call.params.get("newClientOrderId") or None
    )
    return spot_amend_result(order, call.core.matching.state(call.market, symbol), execution_id)


def order_cancel_replace(call: Call) -> Obj:
    """Cancel, then place; Binance's -2021 (409) / -2022 (400) with ``data`` on failure."""
    params = call.params
    mode = params.get("cancelReplaceMode")
    if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
        raise ApiError(
            -1102,
            "Mandatory parameter 'cancelReplaceMode' was not sent, was empty/null, or malformed.",
        )
    matching = call.core.matching
    parse_new_order(
        call.core.catalog, call.market, params, lambda s: matching.state(call.market, s)
    )  # bad new order: plain error
    symbol, order_id, client_id = _order_ref(call, "cancelOrderId", "cancelOrigClientOrderId")
    st = matching.state(call.market, symbol)
    cancel_response: Obj
    try:
        old = _open_order(call, symbol, order_id, client_id)
        matching.cancel(old, params.get("cancelNewClientOrderId") or None)
        cancel_response, cancelled = spot_cancel_result(old, st), True
    except ApiError as error:
        cancel_response, cancelled = {"code": error.code, "msg": error.msg}, False
    new_response: Obj | None = None
    placed = False
    if cancelled or mode == "ALLOW_FAILURE":
        try:
            order = _place(call, params)
            new_response, placed = _render(call, order, params), True
        except ApiError as error:
            new_response = {"code": error.code, "msg": error.msg}
    result = {
        "cancelResult": "SUCCESS" if cancelled else "FAILURE",
        "newOrderResult": "SUCCESS"
        if placed
        else ("FAILURE" if new_response is not None else "NOT_ATTEMPTED"),
        "cancelResponse": cancel_response,
        "newOrderResponse": new_response,
    }
    if cancelled and placed:
        return result
    if cancelled or placed:
        raise ApiDataError(-2021, "Order cancel-replace partially failed.", 409, result)
    raise ApiDataError(-2022, "Order cancel-replace failed.", 400, result)


def account_status(call: Call) -> Obj:
    omit = str(call.params.get("omitZeroBalances", "false")).lower() == "true"
    return spot_account_status(call.key.account, omit)


def my_trades_method(call: Call) -> list[Obj]:
    return my_trades(call.core.matching, call.key.account, call.params)


# --------------------------------------------------------------------------- futures only


def order_modify(call: Call) -> Obj:
    symbol, order_id, client_id = _order_ref(call)
    order = _open_order(call, symbol, order_id, client_id)
    spec = call.core.matching.state(call.market, symbol).spec
    side = call.params.get("side")
    if side != order.side:
        raise ApiError(-1117, "Invalid side.")
    price = decimal_param(call.params, "price")
    quantity = decimal_param(call.params, "quantity")
    if price is None:
        raise ApiError(
            -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."
        )
    if quantity is None:
        raise ApiError(
            -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."
        )
    lots = to_lots(call.market, spec, quantity)
    if lots <= order.executed_lots:
        raise ApiError(-2010, "Order would result in a quantity below the executed quantity.")
    call.core.matching.modify(order, lots, to_ticks(call.market, spec, price))
    return futures_order(order, call.core.matching.state(call.market, symbol))


def account_balance(call: Call) -> list[Obj]:
    return futures_balances(call.core.matching, call.key.account, call.market)


def account_position(call: Call) -> list[Obj]:
    return futures_positions(
        call.core.matching, call.key.account, call.market, call.params, only_active=True
    )


def futures_account_status(call: Call) -> Obj:
    balances = futures_balances(call.core.matching, call.key.account, call.market)
    positions = futures_positions(
        call.core.matching, call.key.account, call.market, {}, only_active=True
    )
    return {
        "assets": balances,
        "positions": positions,
        "canTrade": True,
        "updateTime": call.key.account.update_time,
    }


def listen_key_start(call: Call) -> Obj:
    return {"listenKey": call.core.listen_keys.create(call.key.account, call.market)}


def listen_key_ping(call: Call) -> Obj:
    key = call.params.get("listenKey") or None
    return {"listenKey": call.core.listen_keys.keepalive(call.key.account, call.market, key)}


def listen_key_stop(call: Call) -> Obj:
    call.core.listen_keys.close(call.key.account, call.market, call.params.get("listenKey") or None)
    return {}


SPOT_METHODS: Final[dict[str, Method]] = {
    "order.place": Method(order_place, 1, "SIGNED", trade=True, orders=True),
    "order.test": Method(order_test, _order_test_weight, "SIGNED", trade=True),
    "order.cancel": Method(order_cancel, 1, "SIGNED", trade=True),
    "order.cancelReplace": Method(order_cancel_replace, 1, "SIGNED", trade=True, orders=True),
    "order.amend.keepPriority": Method(order_amend_keep_priority, 4, "SIGNED", trade=True),
    "openOrders.cancelAll": Method(open_orders_cancel_all, 1, "SIGNED", trade=True),
    "order.status": Method(order_status_method, 4, "SIGNED"),
    "openOrders.status": Method(
        open_orders_status, lambda p: 6 if p.get("symbol") else 80, "SIGNED"
    ),
    "account.status": Method(account_status, 20, "SIGNED"),
    "myTrades": Method(my_trades_method, 20, "SIGNED"),
}

FUTURES_METHODS: Final[dict[str, Method]] = {
    "order.place": Method(order_place, 0, "SIGNED", trade=True, orders=True),
    "order.cancel": Method(order_cancel, 1, "SIGNED", trade=True),
    "order.modify": Method(order_modify, 1, "SIGNED", trade=True, orders=True),
    "order.status": Method(order_status_method, 1, "SIGNED"),
    "account.balance": Method(account_balance, 5, "SIGNED"),
    "v2/account.balance": Method(account_balance, 5, "SIGNED"),
    "account.position": Method(account_position, 5, "SIGNED"),
    "v2/account.position": Method(account_position, 5, "SIGNED"),
    "account.status": Method(futures_account_status, 5, "SIGNED"),
    "v2/account.status": Method(futures_account_status, 5, "SIGNED"),
    "userDataStream.start": Method(listen_key_start, 1, "USER_STREAM"),
    "userDataStream.ping": Method(listen_key_ping, 1, "USER_STREAM"),
    "userDataStream.stop": Method(listen_key_stop, 1, "USER_STREAM"),
}
