"""Client order ids: every order request carries one, so a lost reply can be looked up.

Binance's rules for ``newClientOrderId`` (spot and futures API docs):

* spot: ``^[a-zA-Z0-9-_]{1,36}$``, unique among the account's open orders;
* futures: ``^[\\.A-Z\\:/a-z0-9_-]{1,36}$``.

A caller's id (``params={"clientOrderId": ...}`` or Binance's own
``newClientOrderId``) is checked here before anything is sent, so a bad one is
an ``InvalidOrder`` that costs no request weight. Without one, an id is
generated: a fixed prefix plus 28 random hex digits (32 characters, valid on
every product), unique enough that two requests never share one.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any, Final

from ..._exceptions import InvalidArgument, InvalidOrder

__all__ = [
    "client_order_id",
    "exchange_order_id",
    "new_client_order_id",
    "validate_client_order_id",
]

_SPOT: Final = re.compile(r"[a-zA-Z0-9_-]{1,36}")
_FUTURES: Final = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
#: Marks ids this library generated (visible in the exchange's order lists).
PREFIX: Final = "cps-"


_ORDER_ID: Final = re.compile(r"[0-9]{1,20}")


def exchange_order_id(value: Any, name: str = "id") -> int:
    """Binance's numeric ``orderId`` from the ``id`` a caller passed (``Order.id``, a
    ``str``, or an ``int``); anything else is an ``InvalidArgument`` before sending
    (``int()`` would truncate ``1.9`` to order 1 and name no argument on ``"abc"``)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _ORDER_ID.fullmatch(value):
        return int(value)
    raise InvalidArgument(
        f"{name} must be Binance's numeric order id (a str like '12345', as on Order.id), "
        f"got {type(value).__name__} {value!r:.40}; to name an order by client order id "
        "pass params={'clientOrderId': ...}"
    )


def new_client_order_id() -> str:
    """A fresh id within both products' rules (``cps-`` + 28 hex digits)."""
    return PREFIX + secrets.token_hex(14)


def validate_client_order_id(value: Any, *, spot: bool) -> str:
    """``value`` as a client order id, or ``InvalidOrder`` naming the rule it breaks."""
    if not isinstance(value, str):
        raise InvalidOrder(f"clientOrderId must be a string, not {type(value).__name__}")
    pattern = _SPOT if spot else _FUTURES
    if pattern.fullmatch(value) is None:
        allowed = "letters, digits, '-' and '_'" if spot else "letters, digits, '.:/_-'"
        raise InvalidOrder(
            f"clientOrderId {value[:40]!r} is invalid: 1 to 36 characters, {allowed} only"
        )
    return value


def client_order_id(params: dict[str, Any], *, spot: bool, key: str = "newClientOrderId") -> str:
    """Take the caller's id out of ``params`` (``clientOrderId`` or ``key``), validated,
    or generate one; ``params[key]`` is set to it. Returns the id."""
    given: Mapping[str, Any] = params
    value = given.get("clientOrderId")
    if value is None:
        value = given.get(key)
    params.pop("clientOrderId", None)
    chosen = new_client_order_id() if value is None else validate_client_order_id(value, spot=spot)
    params[key] = chosen
    return chosen
