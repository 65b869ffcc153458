"""REST order routes (TRADE, SIGNED): place, test, cancel, cancel all.

* spot: ``POST /api/v3/order``, ``POST /api/v3/order/test``,
  ``DELETE /api/v3/order``, ``DELETE /api/v3/openOrders``;
* USD-M / COIN-M: ``POST {root}/v1/order``, ``DELETE {root}/v1/order``,
  ``DELETE {root}/v1/allOpenOrders`` (and ``POST /fapi/v1/order/test``).

Params and results are the WS API's (``order.place``/``order.cancel``/
``openOrders.cancelAll`` share their handlers), so both transports act on the
same orders with the same rules: ``newClientOrderId`` is honoured, a second
open order with the same client id is rejected, ``origClientOrderId`` names an
order. New orders count against the account's ORDERS limits, shared with the WS
API. Scripted order faults (:mod:`.order_faults`) apply here too: ``"drop"``
and ``"none"`` close the connection with no response; ``"unknown"`` answers
``-1007``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .accounts import ApiKey
from .auth import require, verify_rest
from .catalog import MarketName
from .engine import now_ms
from .order_faults import GARBLED_RESULT, UNKNOWN_STATUS, UNTIMED_BAN_ERROR, foreign
from .order_input import parse_new_order, symbol_of
from .rest import POOLS, PREFIXES, ApiError, DropConnection, RestRequest
from .ws_methods import Call, open_orders_cancel_all, order_cancel, order_place

if TYPE_CHECKING:
    from .private import PrivateExchange

Action = Callable[[Call], Any]


def install(core: PrivateExchange) -> None:
    """Register the order routes of every market."""
    spot = PREFIXES["spot"]
    _trade(core, "spot", "POST", f"{spot}/order", order_place, fault="order.place", new=True)
    _trade(core, "spot", "POST", f"{spot}/order/test", _order_test)
    _trade(core, "spot", "DELETE", f"{spot}/order", order_cancel, fault="order.cancel")
    _trade(core, "spot", "DELETE", f"{spot}/openOrders", open_orders_cancel_all)
    futures: tuple[tuple[MarketName, str], ...] = (("usdm", "/fapi"), ("coinm", "/dapi"))
    for market, root in futures:
        _trade(core, market, "POST", f"{root}/v1/order", order_place, fault="order.place", new=True)
        _trade(core, market, "DELETE", f"{root}/v1/order", order_cancel, fault="order.cancel")
        _trade(core, market, "DELETE", f"{root}/v1/allOpenOrders", _cancel_all_futures)
    _trade(core, "usdm", "POST", "/fapi/v1/order/test", _order_test)


def _order_test(call: Call) -> Any:
    """Validate a new order as ``POST order`` would, without placing it."""
    matching = call.core.matching
    parse_new_order(
        call.core.catalog, call.market, call.params, lambda s: matching.state(call.market, s)
    )
    return {}


def _cancel_all_futures(call: Call) -> Any:
    spec = symbol_of(call.core.catalog, call.market, call.params)
    matching = call.core.matching
    for order in list(matching.open_orders(call.key.account, call.market, spec.symbol)):
        matching.cancel(order)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def _trade(
    core: PrivateExchange,
    market: MarketName,
    method: str,
    path: str,
    action: Action,
    *,
    fault: str | None = None,
    new: bool = False,
) -> None:
    limits = core.limits["spot" if market == "spot" else "futures"]

    def handler(req: RestRequest) -> Any:
        core.order_log.record("rest", market, f"{method} {path}", req.params)
        key: ApiKey = verify_rest(req, core.accounts, now_ms())
        require(key, "TRADE")
        call = Call(market, dict(req.params), key, core)
        with core.engine.lock:
            if new:
                limits.charge_order(key.account.uid)
            faults = core.ws.faults
            scripted = faults.orders.take(fault) if faults is not None and fault else None
            if scripted is None:
                return action(call)
            if scripted.answer == "foreign":  # acted on; the reply names another order
                return foreign(action(call))
            if scripted.execute:
                with contextlib.suppress(ApiError):  # a rejection is lost like a success
                    action(call)
        if scripted.answer == "unknown":
            raise ApiError(*UNKNOWN_STATUS)
        if scripted.answer == "banned":
            raise ApiError(*UNTIMED_BAN_ERROR)
        if scripted.answer == "garbled":
            return GARBLED_RESULT
        if scripted.answer == "none" and faults is not None:  # outside the engine lock
            faults.orders.released.wait(60.0)
        raise DropConnection

    core.rest.route(method, path, handler, weight=1, pool=POOLS[market])
