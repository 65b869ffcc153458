"""Trigger (stop/take) order parameters (reference §7), sans-I/O.

``stop_*`` orders fire when the trigger price is crossed against the position
(buy: price rises to it; sell: falls to it); ``take_*`` orders fire the other way.
Until then they are ``untriggered`` and not in the book; then ``*_market`` orders
execute as market orders and ``*_limit`` orders as limit orders at ``price``.
"""

from __future__ import annotations

from typing import Any, Final

from .errors import INVALID_TRIGGER_PRICE, RpcError, bad_param
from .instruments import Instrument

TRIGGER_TYPES: Final = ("stop_limit", "stop_market", "take_limit", "take_market")
SOURCES: Final = ("index_price", "mark_price", "last_price")


def parse_trigger(
    order_type: Any, params: dict[str, Any], inst: Instrument, trigger_price: float | None
) -> tuple[str, float] | None:
    """``(trigger source, trigger price)`` for trigger types, ``None`` otherwise."""
    if order_type not in TRIGGER_TYPES:
        if "trigger_price" in params:
            raise bad_param("trigger_price", "only for stop and take orders")
        return None
    if trigger_price is None:
        raise bad_param("trigger_price", "value must be present")
    if trigger_price <= 0 or not inst.on_tick(trigger_price):
        raise RpcError(INVALID_TRIGGER_PRICE, {"param": "trigger_price", "reason": "invalid"})
    source = params.get("trigger", "last_price")
    if source not in SOURCES:
        raise bad_param("trigger", "must be index_price, mark_price or last_price")
    return str(source), trigger_price
