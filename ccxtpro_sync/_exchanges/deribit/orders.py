"""Order request params for Deribit's ``private/*`` trading methods, from
CCXT-style arguments, sans-I/O.

Every order carries a ``label``: the caller's ``clientOrderId`` (or Deribit's
own ``label`` param), checked against Deribit's rule (at most 64 characters),
or a generated one (``cps-`` + 28 hex digits), so an order whose reply was lost
can be found with ``private/get_order_state_by_label``. Checks happen before
anything is sent, as ``InvalidOrder``/``InvalidArgument`` that cost no request.

CCXT mapping (protocol reference §7): ``postOnly`` → ``post_only`` and
``reject_post_only`` (reject rather than re-price); ``timeInForce``
GTC/GTD/IOC/FOK → Deribit's names (``PO`` = post-only GTC); ``triggerPrice``/
``stopLossPrice`` → ``stop_limit``/``stop_market``, ``takeProfitPrice`` →
``take_limit``/``take_market``, each with ``trigger_price`` and ``trigger``
(default ``last_price``); ``trailingAmount`` → ``trailing_stop`` +
``trigger_offset``; ``reduceOnly`` → ``reduce_only``. Amounts are in
Deribit's units (USD on inverse futures, base coin otherwise).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from ..._exceptions import ArgumentsRequired, InvalidArgument, InvalidOrder
from ..._structures import Market

__all__ = [
    "LABEL_MAX",
    "OrderRequest",
    "cancel_all_params",
    "cancel_by_label_params",
    "cancel_params",
    "create_order_request",
    "edit_order_params",
    "last_trades_request",
    "new_label",
    "order_state_by_label_params",
    "order_state_params",
    "positions_params",
    "validate_label",
]

#: ``label``: "user defined label for the order (maximum 64 characters)".
LABEL_MAX: Final = 64
_PREFIX: Final = "cps-"
_TIF: Final = {
    "GTC": "good_til_cancelled",
    "GTD": "good_til_day",
    "IOC": "immediate_or_cancel",
    "FOK": "fill_or_kill",
}
_TRIGGERS: Final = ("index_price", "mark_price", "last_price")
#: Deribit params passed through as given (validated by the exchange).
_PASS_THROUGH: Final = frozenset(
    {"display_amount", "mmp", "advanced", "valid_until", "trigger", "contracts"}
)
#: CCXT-style keys this module consumes.
_CONSUMED: Final = frozenset(
    {
        "clientOrderId",
        "label",
        "postOnly",
        "reduceOnly",
        "timeInForce",
        "triggerPrice",
        "stopPrice",
        "stopLossPrice",
        "takeProfitPrice",
        "trailingAmount",
    }
)


def new_label() -> str:
    """A fresh label within Deribit's rule (32 characters)."""
    return _PREFIX + secrets.token_hex(14)


def validate_label(value: Any) -> str:
    """``value`` as a label, or ``InvalidOrder`` naming the rule it breaks."""
    if not isinstance(value, str):
        raise InvalidOrder(f"clientOrderId must be a string, not {type(value).__name__}")
    if not 1 <= len(value) <= LABEL_MAX or not value.isprintable():
        raise InvalidOrder(
            f"clientOrderId {value[:40]!r} is invalid: 1 to {LABEL_MAX} printable characters"
        )
    return value


def _positive(name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InvalidOrder(f"{name} must be a number, not {type(value).__name__}")
    finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    if not finite or not value > 0:
        raise InvalidOrder(f"{name} must be a positive finite number")
    return value


class OrderRequest:
    """One order request: the ``method`` to call, its ``params`` and the ``label``
    that identifies the order if the reply is lost."""

    __slots__ = ("label", "method", "params")

    def __init__(self, method: str, params: dict[str, Any], label: str) -> None:
        self.method = method
        self.params = params
        self.label = label

    def __repr__(self) -> str:
        return f"OrderRequest({self.method!r}, label={self.label!r})"


def create_order_request(  # noqa: PLR0917 - CCXT argument order
    market: Market,
    type: str,  # noqa: A002 - CCXT's name
    side: str,
    amount: Any,
    price: Any = None,
    params: Mapping[str, Any] | None = None,
) -> OrderRequest:
    """``private/buy`` or ``private/sell`` for a CCXT-style ``create_order``."""
    extra = dict(params or {})
    if side not in ("buy", "sell"):
        raise InvalidOrder(f"side must be 'buy' or 'sell', not {side!r}")
    if type not in ("limit", "market"):
        raise InvalidOrder(
            f"type must be 'limit' or 'market' (stops via triggerPrice, stopLossPrice, "
            f"takeProfitPrice or trailingAmount), not {type!r}"
        )
    out: dict[str, Any] = {"instrument_name": market.id, "amount": _positive("amount", amount)}
    limit = type == "limit"
    if limit:
        if price is None:
            raise ArgumentsRequired("a limit order needs a price")
        out["price"] = _positive("price", price)
    elif price is not None:
        raise InvalidOrder("a market order takes no price")
    label_given = extra.get("clientOrderId", extra.get("label"))
    label = new_label() if label_given is None else validate_label(label_given)
    out["label"] = label

    trigger = extra.get("triggerPrice", extra.get("stopPrice"))
    stop_loss = extra.get("stopLossPrice")
    take_profit = extra.get("takeProfitPrice")
    trailing = extra.get("trailingAmount")
    given = [x is not None for x in (trigger, stop_loss, take_profit, trailing)]
    if sum(given) > 1:
        raise InvalidOrder(
            "give at most one of triggerPrice, stopLossPrice, takeProfitPrice, trailingAmount"
        )
    order_type = type
    if trigger is not None or stop_loss is not None:
        order_type = "stop_limit" if limit else "stop_market"
        out["trigger_price"] = _positive(
            "triggerPrice", trigger if trigger is not None else stop_loss
        )
    elif take_profit is not None:
        order_type = "take_limit" if limit else "take_market"
        out["trigger_price"] = _positive("takeProfitPrice", take_profit)
    elif trailing is not None:
        if limit:
            raise InvalidOrder("a trailing stop is a market order")
        order_type = "trailing_stop"
        out["trigger_offset"] = _positive("trailingAmount", trailing)
    out["type"] = order_type
    if order_type != type:
        trigger_source = extra.get("trigger", "last_price")
        if trigger_source not in _TRIGGERS:
            raise InvalidOrder(f"trigger must be one of {', '.join(_TRIGGERS)}")
        out["trigger"] = trigger_source

    tif = extra.get("timeInForce")
    post_only = extra.get("postOnly")
    if tif == "PO":
        post_only, tif = True, "GTC"
    if tif is not None:
        name = _TIF.get(tif)
        if name is None:
            raise InvalidOrder(f"timeInForce must be one of GTC, GTD, IOC, FOK or PO, not {tif!r}")
        out["time_in_force"] = name
    if post_only is not None:
        if not isinstance(post_only, bool):
            raise InvalidOrder("postOnly must be a bool")
        if post_only:
            if not limit:
                raise InvalidOrder("postOnly needs a limit order")
            if out.get("time_in_force", "good_til_cancelled") != "good_til_cancelled":
                raise InvalidOrder("postOnly is allowed with GTC only")
            out["post_only"] = True
            out["reject_post_only"] = True
    reduce_only = extra.get("reduceOnly")
    if reduce_only is not None:
        if not isinstance(reduce_only, bool):
            raise InvalidOrder("reduceOnly must be a bool")
        out["reduce_only"] = reduce_only
    for key, value in extra.items():
        if key in _CONSUMED or key == "trigger":
            continue
        if key not in _PASS_THROUGH and key not in ("post_only", "reduce_only", "time_in_force"):
            raise InvalidArgument(f"unknown deribit order param {key!r}")
        out.setdefault(key, value)
    return OrderRequest("private/buy" if side == "buy" else "private/sell", out, label)


def edit_order_params(
    order_id: str, amount: Any, price: Any = None, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``private/edit`` params (open orders only; ``postOnly``/``reduceOnly``/
    ``triggerPrice`` may be changed; ``advanced`` must be re-sent by the caller)."""
    if not isinstance(order_id, str) or not order_id:
        raise ArgumentsRequired("edit needs the order id")
    extra = dict(params or {})
    out: dict[str, Any] = {"order_id": order_id, "amount": _positive("amount", amount)}
    if price is not None:
        out["price"] = _positive("price", price)
    if extra.pop("postOnly", None):
        out["post_only"] = True
        out["reject_post_only"] = True
    reduce_only = extra.pop("reduceOnly", None)
    if reduce_only is not None:
        out["reduce_only"] = bool(reduce_only)
    trigger = extra.pop("triggerPrice", None)
    if trigger is not None:
        out["trigger_price"] = _positive("triggerPrice", trigger)
    for key, value in extra.items():
        if key not in ("advanced", "valid_until", "trigger_offset", "contracts"):
            raise InvalidArgument(f"unknown deribit edit param {key!r}")
        out[key] = value
    return out


def cancel_params(order_id: str) -> dict[str, Any]:
    """``private/cancel`` params."""
    if not isinstance(order_id, str) or not order_id:
        raise ArgumentsRequired("cancel needs the order id")
    return {"order_id": order_id}


def cancel_by_label_params(label: str) -> dict[str, Any]:
    """``private/cancel_by_label`` params."""
    return {"label": validate_label(label)}


def cancel_all_params(market: Market | None = None) -> tuple[str, dict[str, Any]]:
    """``private/cancel_all`` (every instrument) or ``cancel_all_by_instrument``, with
    ``detailed: true`` so the reply lists the cancelled orders, not just their count."""
    if market is None:
        return "private/cancel_all", {"detailed": True}
    return "private/cancel_all_by_instrument", {
        "instrument_name": market.id,
        "type": "all",
        "detailed": True,
    }


def order_state_params(order_id: str) -> dict[str, Any]:
    """``private/get_order_state`` params."""
    if not isinstance(order_id, str) or not order_id:
        raise ArgumentsRequired("fetch_order needs the order id")
    return {"order_id": order_id}


def order_state_by_label_params(currency: str, label: str) -> dict[str, Any]:
    """``private/get_order_state_by_label`` params (the label is the client order id)."""
    return {"currency": currency, "label": validate_label(label)}


def last_trades_request(
    market: Market, start_seq: int, count: int = 1000
) -> tuple[str, dict[str, Any]]:
    """``public/get_last_trades_by_instrument`` from ``start_seq`` on, oldest first:
    the backfill after a reconnect (start at the last ``trade_seq`` seen + 1)."""
    if isinstance(start_seq, bool) or not isinstance(start_seq, int) or start_seq < 0:
        raise InvalidArgument("start_seq must be a non-negative int")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
        raise InvalidArgument("count must be an int from 1 to 1000")
    params = {"instrument_name": market.id, "start_seq": start_seq, "count": count}
    params["sorting"] = "asc"
    return "public/get_last_trades_by_instrument", params


def positions_params(currency: str = "any", kind: str | None = None) -> dict[str, Any]:
    """``private/get_positions`` params."""
    params: dict[str, Any] = {"currency": currency}
    if kind is not None:
        params["kind"] = kind
    return params
