"""Resolving an order request whose reply was lost, by its label, sans-I/O.

An order request whose reply never came may or may not have executed; sending
it again could place a second order. Deribit's equivalent of Binance's
``recvWindow`` is ``valid_until``: "the matching engine answers timed_out"
to a request that reaches it after that instant (server time, ms). So every
order request gets a ``valid_until`` (:func:`with_deadline`), and after a lost
reply the order is looked up with ``private/get_order_state_by_label``
(:func:`lookup_request`, the label is the client order id):

* exactly one order with the label on the instrument → that is the outcome;
* none, and the server's clock is past ``valid_until`` (+ a margin for our
  estimate of it) → the request can no longer execute: ``OrderNotPlaced``
  (placing it again is safe);
* none before that → ``None``: look again later, "not found" proves nothing yet;
* several (a caller reused a label) → ``OrderStatusUnknown``: never guess.

Pure logic: the caller passes the lookup result and its estimate of server time.
"""

from __future__ import annotations

from typing import Any, Final

from ..._exceptions import InvalidArgument, OrderNotPlaced, OrderStatusUnknown, ProtocolError
from ..._structures import Market, Order
from .orders import OrderRequest
from .parsers import Number, parse_order

__all__ = [
    "DEFAULT_VALID_FOR_MS",
    "STALE_MARGIN_MS",
    "lookup_request",
    "resolve_create",
    "with_deadline",
]

#: How long an order request may take to reach the matching engine.
DEFAULT_VALID_FOR_MS: Final = 5000
#: Added to ``valid_until``: our estimate of the server's clock may be off.
STALE_MARGIN_MS: Final = 1000


def with_deadline(
    request: OrderRequest, server_now_ms: int, valid_for_ms: int = DEFAULT_VALID_FOR_MS
) -> int:
    """Give ``request`` a ``valid_until`` (unless the caller set one); returns it."""
    if isinstance(valid_for_ms, bool) or not isinstance(valid_for_ms, int) or valid_for_ms <= 0:
        raise InvalidArgument("valid_for_ms must be a positive int")
    current = request.params.get("valid_until")
    if current is None:
        current = server_now_ms + valid_for_ms
        request.params["valid_until"] = current
    elif isinstance(current, bool) or not isinstance(current, int):
        raise InvalidArgument("valid_until must be epoch milliseconds (an int)")
    return current


def lookup_request(request: OrderRequest, market: Market) -> tuple[str, dict[str, Any]]:
    """``private/get_order_state_by_label`` for the request's label, in the currency
    the instrument is listed under (its settle currency)."""
    currency = market.settle or market.quote
    return "private/get_order_state_by_label", {"currency": currency, "label": request.label}


def resolve_create(
    result: Any,
    request: OrderRequest,
    market: Market,
    server_now_ms: int,
    number: Number = float,
    *,
    margin_ms: int = STALE_MARGIN_MS,
) -> Order | None:
    """The order a lost ``private/buy|sell`` created, ``None`` to look again later,
    or ``OrderNotPlaced``/``OrderStatusUnknown`` (see the module docstring)."""
    if not isinstance(result, list):
        raise ProtocolError("deribit get_order_state_by_label result is not an array")
    matches = [
        item
        for item in result
        if isinstance(item, dict)
        and item.get("label") == request.label
        and item.get("instrument_name") == market.id
    ]
    if len(matches) == 1:
        return parse_order(matches[0], market, number)
    if matches:
        raise OrderStatusUnknown(
            f"{len(matches)} deribit orders carry the label {request.label!r}; "
            "cannot tell which one this request placed",
            client_order_id=request.label,
            symbol=market.symbol,
        )
    valid_until = request.params.get("valid_until")
    if isinstance(valid_until, int) and server_now_ms >= valid_until + margin_ms:
        raise OrderNotPlaced(
            f"deribit order {request.label!r} was not placed: no order carries its label "
            "after its valid_until passed",
            client_order_id=request.label,
            symbol=market.symbol,
        )
    return None
