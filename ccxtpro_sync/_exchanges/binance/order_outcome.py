"""Resolving an order request whose reply was lost, without ever sending it twice.

An order request (place, cancel, amend) whose reply does not come back has an
*unknown* outcome: the connection was lost after the frame left, no reply came
in time, Binance answered ``-1007`` ("execution status unknown"), a REST
call got a 5xx or timed out, or a reply came that cannot be read (a
``ProtocolError``: the request may well have executed). Retrying it blindly
could place a second order, so instead the client looks the order up by its
client order id and decides:

* **place** (and cancel-replace's new order): the order exists → it is
  returned (unless it was created before the request left: a reused client
  order id names an older order, which is not the outcome). It does not
  exist → look again until the request has gone *stale*: its ``timestamp``
  + ``recvWindow`` (+ a margin for our estimate of the server's clock) has
  passed on the server's clock. Our estimate of that clock (local wall clock
  plus an offset) is only a hint: a forward step of the local clock would make
  a request still in flight look stale. So when the estimate says stale, the
  server's time is *read* (a lower bound of its clock, as the read is answered
  before the look-up leaves) and only that makes the verdict; if the read
  fails the request is not stale yet and is looked up again. Binance rejects a
  request that reaches it after that (``-1021``), so a request still in flight
  somewhere can no longer execute, and "not found" is final →
  ``OrderNotPlaced``. "Not found" before that instant proves nothing: the
  request may still be queued at the exchange (``-1007`` says exactly that).
* **cancel**: the order is no longer open → it is returned (cancelled, or
  whatever ended it). Still open once the request is stale → the cancel did
  not execute → ``OrderNotPlaced`` (``action="cancel"``).
* **amend** (same order id): the order's state once the request is stale is
  final with respect to it, and is returned.
* **cancel-replace** whose new order was not placed: the cancel half may have
  executed all the same (Binance cancels first, then places), so the old order
  is looked up too (``replaced``) and its state goes into the
  ``OrderNotPlaced``: cancelled, still open, or unknown when no look-up answers
  in time. Never guessed from the new order's fate. When the new order's fate
  itself stays unknown (``OrderStatusUnknown``), the old order is looked up all
  the same, in time set aside for it: a final status (cancelled, filled) is
  reported at once; "open" only once the request is stale (before that its
  cancel half may still execute), else its state is reported as unknown.

If none of this can be learnt before the caller's deadline (the connection
does not come back, every query times out), ``OrderStatusUnknown`` is raised
with the client order id and symbol. Neither error is a ``NetworkError``, so
no retry policy retries them.

Pure logic: the caller passes the query, the server clock and the deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

import msgspec

from ..._exceptions import (
    BaseError,
    ClientClosed,
    ConnectionClosed,
    ExchangeNotAvailable,
    NetworkError,
    OrderNotFound,
    OrderNotPlaced,
    OrderStatusUnknown,
    ProtocolError,
    RequestTimeout,
)
from ..._numbers import same_ascii_number
from ..._structures import Order

__all__ = [
    "DEFAULT_RECV_WINDOW_MS",
    "STALE_MARGIN_MS",
    "Action",
    "SentOrder",
    "check_answer",
    "is_unknown_outcome",
    "replaced",
    "replaced_found",
    "replaced_unknown",
    "resolve",
    "stale_check",
]

Action = Literal["create", "cancel", "edit"]

#: Binance's ``recvWindow`` when a request sends none.
DEFAULT_RECV_WINDOW_MS: Final = 5000
#: Added to ``timestamp + recvWindow``: our estimate of the server's clock may be off.
STALE_MARGIN_MS: Final = 1000
#: Pause between two look-ups (doubling up to the cap).
_FIRST_PAUSE: Final = 0.05
_MAX_PAUSE: Final = 0.5


@dataclass(frozen=True)
class SentOrder:
    """What was sent: enough to look it up and to know when it has gone stale."""

    action: Action
    symbol: str
    client_order_id: str | None
    #: Server time (ms) after which the request can no longer execute.
    stale_at_ms: float
    order_id: str | None = None
    #: Server time (ms) the request's timestamp is at least (None: not known). An order
    #: created before it (a reused client order id) cannot be this request's outcome.
    sent_at_ms: float | None = None

    def label(self) -> str:
        if self.client_order_id is not None:
            return f"clientOrderId {self.client_order_id}"
        return f"orderId {self.order_id}"


def is_unknown_outcome(error: BaseException) -> bool:
    """Whether ``error`` leaves a sent request's outcome unknown.

    ``close()`` (``ClientClosed``) also leaves it unknown, but nothing can be
    looked up any more; the caller reports that at once.
    """
    if isinstance(error, ConnectionClosed | RequestTimeout | ProtocolError):
        return True
    return isinstance(error, ExchangeNotAvailable)


def _same_id(got: str | None, sent: str) -> bool:
    # Binance reads an order id as a number: "0123" names order 123
    if got == sent:
        return True
    return got is not None and same_ascii_number(got, sent)


def check_answer(order: Order, client_id: str | None, order_id: str | None) -> Order:
    """``order`` if it is the one a request named (by ``client_id`` and/or ``order_id``).

    A success reply that names another order (a reply meant for another request, a
    replayed one) says nothing about this request: ``ProtocolError``, an unknown
    outcome, which is resolved by looking the order up rather than guessed.
    """
    if client_id is not None and order.clientOrderId != client_id:
        raise ProtocolError(
            f"the order reply names clientOrderId {order.clientOrderId!r}, not {client_id!r}"
        )
    if order_id is not None and not _same_id(order.id, order_id):
        raise ProtocolError(f"the order reply names orderId {order.id!r}, not {order_id!r}")
    return order


def _older(order: Order, sent: SentOrder) -> bool:
    """Whether ``order`` was created before ``sent`` was built (with the margin for
    our estimate of the server's clock), so it is another order with the same id."""
    if sent.sent_at_ms is None or order.timestamp is None:
        return False
    return order.timestamp < sent.sent_at_ms - STALE_MARGIN_MS


def _unknown(sent: SentOrder, why: str, cause: BaseException | None) -> OrderStatusUnknown:
    return OrderStatusUnknown(
        f"{sent.action} {sent.symbol} ({sent.label()}): outcome "
        f"unknown ({why}); look the order up before acting again",
        client_order_id=sent.client_order_id,
        symbol=sent.symbol,
        action=sent.action,
        cause=cause,
        order_id=sent.order_id,
    )


def _not_executed(sent: SentOrder) -> OrderNotPlaced:
    what = {
        "create": "the order was not placed",
        "cancel": "the cancel did not execute; the order is still open",
        "edit": "the new order was not placed",
    }[sent.action]
    return OrderNotPlaced(
        f"{sent.symbol} ({sent.label()}): the reply was lost and {what} "
        "(the request can no longer execute)",
        client_order_id=sent.client_order_id,
        symbol=sent.symbol,
        action=sent.action,
        order_id=sent.order_id,
    )


def stale_check(
    sent: SentOrder,
    server_now_ms: Callable[[], float],
    server_time: Callable[[float], float],
    deadline: float,
    failed: Callable[[BaseException], None] = lambda _: None,
) -> Callable[[], bool]:
    """A check whether ``sent`` can no longer execute, to call just before a look-up
    is sent. ``server_now_ms()`` (our estimate of the server's clock) must say so
    first, so a look-up costs no extra request until then; the verdict then rests on
    ``server_time(timeout)``, the server's clock read afresh (a lower bound of it when
    the look-up leaves). A read that fails (``failed`` is told why) is "not stale"."""

    def check() -> bool:
        if server_now_ms() < sent.stale_at_ms:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            return server_time(remaining) >= sent.stale_at_ms
        except BaseError as error:  # not read: the request may still execute
            failed(error)
            return False

    return check


def resolve(
    sent: SentOrder,
    query: Callable[[float], Order],
    server_now_ms: Callable[[], float],
    deadline: float,
    cause: BaseException,
    *,
    server_time: Callable[[float], float],
    closed: Callable[[], bool] = lambda: False,
    same_order: bool = False,
) -> Order:
    """Decide the outcome of ``sent`` (see the module docstring) before ``deadline``
    (``time.monotonic()``). ``query(timeout)`` returns the order or raises
    ``OrderNotFound``. ``server_now_ms()``: our estimate of the server's clock;
    ``server_time(timeout)``: the server's clock read from it (see ``stale_check``).
    ``same_order``: an amend that keeps the order's id."""
    pause = _FIRST_PAUSE
    idle = threading.Event()  # never set: an interruptible, bounded pause
    last: BaseException = cause

    def failed(error: BaseException) -> None:
        nonlocal last
        last = error

    is_stale = stale_check(sent, server_now_ms, server_time, deadline, failed)
    while True:
        if closed():
            raise _unknown(sent, "the client was closed", last)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _unknown(sent, f"no answer in time; last error: {last}", last)
        # Only a look-up *sent* after the request went stale can be final: one sent
        # earlier may have been answered before a late request executed.
        stale = is_stale()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _unknown(sent, f"no answer in time; last error: {last}", last)
        try:
            order = query(remaining)
        except OrderNotFound as error:
            if sent.action == "cancel" or same_order:
                raise  # the order named by the request does not exist at all
            if stale:
                raise _not_executed(sent) from None
            last = error
        except ClientClosed as error:
            raise _unknown(sent, "the client was closed", error) from error
        except NetworkError as error:  # still disconnected, throttled, 5xx: look again
            last = error
        else:
            if sent.action == "cancel":
                if order.status != "open":
                    return order
                if stale:
                    raise _not_executed(sent)
            elif not same_order and _older(order, sent):
                # an earlier order that carries the same client order id: not ours
                if stale:
                    raise _not_executed(sent)
            elif not same_order or stale:
                return order
        wait = min(pause, max(0.0, deadline - time.monotonic()))
        idle.wait(wait)
        pause = min(pause * 2, _MAX_PAUSE)


def _old_order_state(
    old_id: str,
    query: Callable[[float], Order],
    deadline: float,
    closed: Callable[[], bool],
    stale: Callable[[], bool],
) -> tuple[str, Order | None, str]:
    """The status of ``old_id``, the order a cancel-replace was to cancel, looked up
    with ``query`` until ``deadline``: ``(status, order, why)``. A final status is
    final whenever it is read; ``"open"`` only once ``stale()`` (read before the
    look-up leaves) says the request can no longer execute (before that its cancel
    half may still run): it is looked up again until then, else ``"unknown"``."""
    pause = _FIRST_PAUSE
    idle = threading.Event()  # never set: an interruptible, bounded pause
    why = "no look-up answered in time"
    while not closed():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        final = stale()
        try:
            found = check_answer(query(remaining), None, old_id)
        except OrderNotFound:
            return "unknown", None, "the exchange does not know it"
        except ClientClosed:
            break
        except NetworkError as failed:  # still disconnected, throttled, foreign: again
            why = f"no look-up answered in time; last error: {failed}"
        except BaseError as failed:  # refused otherwise: the state stays unknown
            return "unknown", None, f"the look-up failed: {failed!r}"
        else:
            if found.status is None:
                return "unknown", None, "the look-up gave no status"
            if found.status != "open" or final:
                return found.status, found, ""
            why = "still open at the last look-up, but the request could still execute"
        idle.wait(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, _MAX_PAUSE)
    if closed():
        why = "the client was closed"
    return "unknown", None, why


def _describe(old_id: str, status: str, why: str) -> str:
    state = f"the replaced order {old_id} is {status}"
    if status == "unknown":
        state += f" ({why}; look it up before acting again)"
    return state


def replaced(
    error: OrderNotPlaced,
    old_id: str,
    query: Callable[[float], Order],
    deadline: float,
    *,
    closed: Callable[[], bool] = lambda: False,
) -> OrderNotPlaced:
    """``error`` (a cancel-replace whose new order was not placed, the request stale)
    with the state of the order it was to cancel, ``old_id``, looked up with ``query``
    until ``deadline``: the request can no longer execute, so the first answer is final."""
    status, found, why = _old_order_state(old_id, query, deadline, closed, lambda: True)
    return OrderNotPlaced(
        f"{error}; {_describe(old_id, status, why)}",
        client_order_id=error.client_order_id,
        symbol=error.symbol,
        action=error.action,
        order_id=error.order_id,
        replaced_id=old_id,
        replaced_status=status,
        replaced_order=found,
    )


def replaced_found(
    order: Order,
    old_id: str,
    query: Callable[[float], Order],
    deadline: float,
    *,
    closed: Callable[[], bool] = lambda: False,
) -> Order:
    """``order`` (the new order a lost cancel-replace reply was resolved to) with the
    state of the order it was to cancel, ``old_id``, in its ``info`` (``replaced_id``,
    ``replaced_status``, ``replaced_order``: as on ``OrderNotPlaced``, the order as a
    dict). The request has executed (its new order exists), so the first answer is
    final; with ``ALLOW_FAILURE`` the cancel half may have failed, so it is not guessed."""
    status, found, _ = _old_order_state(old_id, query, deadline, closed, lambda: True)
    info = order["info"]
    info = dict(info) if isinstance(info, dict) else {"raw": info}
    info.update(
        replaced_id=old_id,
        replaced_status=status,
        replaced_order=None if found is None else found.to_dict(),
    )
    return msgspec.structs.replace(order, info=info)


def replaced_unknown(
    error: OrderStatusUnknown,
    old_id: str,
    query: Callable[[float], Order],
    deadline: float,
    *,
    stale: Callable[[], bool],
    closed: Callable[[], bool] = lambda: False,
) -> OrderStatusUnknown:
    """``error`` (a cancel-replace whose new order's fate could not be learnt) with the
    state of the order it was to cancel, ``old_id``: a final status (the cancel half
    executed, or the order ended otherwise) as soon as a look-up reads it; ``"open"``
    only once ``stale()``; otherwise ``"unknown"``. Never guessed."""
    status, found, why = _old_order_state(old_id, query, deadline, closed, stale)
    return OrderStatusUnknown(
        f"{error}; {_describe(old_id, status, why)}",
        client_order_id=error.client_order_id,
        symbol=error.symbol,
        action=error.action,
        cause=error.cause,
        order_id=error.order_id,
        replaced_id=old_id,
        replaced_status=status,
        replaced_order=found,
    )
