"""Resolving an order request whose reply was lost, by its label, sans-I/O.

An order request whose reply never came may or may not have executed; sending
it again could place a second order. Deribit's equivalent of Binance's
``recvWindow`` is ``valid_until``: "the matching engine answers timed_out"
to a request that reaches it after that instant (server time, ms). So every
order request gets a ``valid_until`` (:func:`with_deadline`), and after a lost
reply the order is looked up with ``private/get_order_state_by_label``
(:func:`lookup_request`, the label is the client order id):

* exactly one order with the label on the instrument, created after the request
  left (less the margin: an older one carries a reused label) → that is the outcome;
* none, and the server's clock is past ``valid_until`` (+ a margin for our
  estimate of it) → the request can no longer execute: ``OrderNotPlaced``
  (placing it again is safe);
* none before that → ``None``: look again later, "not found" proves nothing yet;
* several (a caller reused a label) → ``OrderStatusUnknown``: never guess.

A lost ``private/cancel`` or ``private/edit`` reply is resolved with
``private/get_order_state`` of the order id (:func:`resolve_cancel`,
:func:`resolve_edit`):

* cancel: the order is no longer open (cancelled — also by an earlier cancel —,
  filled, rejected) → that ``Order``; still open once the request is stale →
  ``OrderNotPlaced(action="cancel")``. ``private/cancel`` takes no
  ``valid_until``, so the request counts as stale once the server's clock passes
  the instant it was sent + ``DEFAULT_VALID_FOR_MS`` + the margin: the same window
  a create or edit gets, an assumption about how long a request can be in flight.
* edit (sent with a ``valid_until``): the order carries the requested amount and
  price → that ``Order`` (the edit took effect); otherwise, once the order is no
  longer open (only open orders can be edited) or ``valid_until`` + the margin has
  passed → ``OrderNotPlaced(action="edit")``.

Until an outcome is final they return ``None``: look again later.

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
    "resolve_cancel",
    "resolve_create",
    "resolve_edit",
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


def _older(item: dict[str, Any], sent_at_ms: int | None, margin_ms: int) -> bool:
    created = item.get("creation_timestamp")
    if sent_at_ms is None or isinstance(created, bool) or not isinstance(created, int | float):
        return False
    return created < sent_at_ms - margin_ms


def resolve_create(
    result: Any,
    request: OrderRequest,
    market: Market,
    server_now_ms: int,
    number: Number = float,
    *,
    margin_ms: int = STALE_MARGIN_MS,
    sent_at_ms: int | None = None,
) -> Order | None:
    """The order a lost ``private/buy|sell`` created, ``None`` to look again later,
    or ``OrderNotPlaced``/``OrderStatusUnknown`` (see the module docstring).
    ``sent_at_ms``: server time when the request left; an order created before it
    (less the margin) carries a reused label and is not this request's."""
    if not isinstance(result, list):
        raise ProtocolError("deribit get_order_state_by_label result is not an array")
    matches = [
        item
        for item in result
        if isinstance(item, dict)
        and item.get("label") == request.label
        and item.get("instrument_name") == market.id
        and not _older(item, sent_at_ms, margin_ms)
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


def _state_order(result: Any, order_id: str, market: Market, number: Number) -> Order:
    if not isinstance(result, dict) or result.get("order_id") != order_id:
        raise ProtocolError("deribit get_order_state result is not the order asked for")
    return parse_order(result, market, number)


def resolve_cancel(  # noqa: PLR0917 - mirrors resolve_create
    result: Any,
    order_id: str,
    market: Market,
    stale_at_ms: int,
    server_now_ms: int,
    number: Number = float,
) -> Order | None:
    """The outcome of a lost ``private/cancel`` from ``get_order_state``: the order
    once it is not open, ``None`` to look again, ``OrderNotPlaced`` once it is still
    open at ``stale_at_ms`` (server time) or later."""
    order = _state_order(result, order_id, market, number)
    if order.status != "open":
        return order
    if server_now_ms >= stale_at_ms:
        raise OrderNotPlaced(
            f"deribit cancel of order {order_id!r} did not execute: the order is still "
            "open after the request went stale",
            client_order_id=order.clientOrderId,
            symbol=market.symbol,
            action="cancel",
            order_id=order_id,
        )
    return None


def _same(value: Any, wanted: Any) -> bool:
    try:
        return float(value) == float(wanted)
    except (TypeError, ValueError):
        return False


def resolve_edit(
    result: Any,
    params: dict[str, Any],
    market: Market,
    server_now_ms: int,
    number: Number = float,
    *,
    margin_ms: int = STALE_MARGIN_MS,
) -> Order | None:
    """The outcome of a lost ``private/edit`` (its ``params``) from
    ``get_order_state``: the order if it carries the requested amount and price,
    ``OrderNotPlaced`` once it provably does not, else ``None`` (look again)."""
    order_id = params["order_id"]
    order = _state_order(result, order_id, market, number)
    took = _same(result.get("amount"), params.get("amount")) and (
        "price" not in params or _same(result.get("price"), params["price"])
    )
    if took:
        return order
    valid_until = params.get("valid_until")
    stale = isinstance(valid_until, int) and server_now_ms >= valid_until + margin_ms
    if order.status != "open" or stale:
        raise OrderNotPlaced(
            f"deribit edit of order {order_id!r} did not execute: the order does not "
            "carry the requested amount/price "
            + ("and is no longer open" if order.status != "open" else "after valid_until"),
            client_order_id=order.clientOrderId,
            symbol=market.symbol,
            action="edit",
            order_id=order_id,
        )
    return None
