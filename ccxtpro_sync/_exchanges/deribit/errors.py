"""Deribit error codes → the library's typed exceptions.

Codes come from the protocol reference §1, where CCXT's table, a third-party
code list and live captures agree (the docs' own error table disagrees with all
of them and is not used). Messages are built from the code, Deribit's message,
``data.reason`` and the method name only, never from request params, so they
cannot carry a secret. Every exception keeps ``code`` (and ``reason`` when
Deribit gave one).

Choices worth knowing:

* 13009 is Deribit's one code for a missing, invalid or expired token (and a
  bad signature): :class:`InvalidToken`, an ``AuthenticationError`` that says
  "authenticate again from credentials".
* 10028 ``too_many_requests`` (Deribit also ends the session), 10047 and 10066
  → ``RateLimitExceeded``.
* 10040 ``retry`` and 13028 → the transient ``ExchangeNotAvailable``; 11051
  ``system_maintenance`` and 10041 ``settlement_in_progress`` (the daily seconds of
  settlement) → ``OnMaintenance``, an ``ExchangeNotAvailable``, as in CCXT.
  None of these say whether an order request executed, so an order sender must
  reconcile, never resend blindly.
* Order validation codes → ``InvalidOrder``; 10009 → ``InsufficientFunds``;
  10020 → ``BadSymbol``; 11029 ``invalid_arguments`` and 11043 ``bad_argument`` →
  ``BadRequest`` (CCXT's classes; where this table is more specific than CCXT's, the
  class is a subclass of CCXT's, so CCXT-style ``except`` clauses still match).
* An operation on an order that is not (or no longer) open → ``OrderNotFound``,
  CCXT's unified answer to cancelling an order already cancelled or filled:
  10004 ``order_not_found``, 10010 ``already_closed`` and 10029
  ``not_owner_of_order`` (as in CCXT's Deribit table), and 11044
  ``not_open_order`` and 11008 ``already_filled``, which CCXT's table leaves at
  ``InvalidOrder``. ``OrderNotFound`` is an ``InvalidOrder``, so code that catches
  the broader class still does.
"""

from __future__ import annotations

from typing import Any, Final

from ..._exceptions import (
    AuthenticationError,
    BadRequest,
    BadSymbol,
    CcxtproSyncError,
    DDoSProtection,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidOrder,
    NotSupported,
    OnMaintenance,
    OrderNotFound,
    PermissionDenied,
    RateLimitExceeded,
)

__all__ = ["TIMED_OUT", "TOO_MANY_REQUESTS", "UNAUTHORIZED", "InvalidToken", "deribit_error"]

#: 13009: missing, wrong or expired token, or a bad signature.
UNAUTHORIZED: Final = 13009
#: 10028: rate limit exceeded; Deribit terminates the session too.
TOO_MANY_REQUESTS: Final = 10028
#: 13888 ``timed_out``: an order request reached the matching engine after its
#: ``valid_until`` and was not processed (the order callers make it ``OrderNotPlaced``).
TIMED_OUT: Final = 13888

_MAX_TEXT = 200


class InvalidToken(AuthenticationError):
    """The access token is missing, invalid or expired (Deribit 13009): authenticate
    again from credentials (connection-scoped tokens do not survive a reconnect)."""


_RATE: Final = frozenset({10028, 10047, 10066})
_TRANSIENT: Final = frozenset({10040, 11056, 13028})
_MAINTENANCE: Final = frozenset({10041, 11051})

_BY_CODE: Final[dict[int, type[ExchangeError]]] = {
    10000: AuthenticationError,  # authorization_required
    13004: AuthenticationError,  # invalid_credentials
    13009: InvalidToken,  # unauthorized
    13021: PermissionDenied,  # forbidden: the token's scope is too small
    13778: PermissionDenied,  # raw_subscriptions_not_available_for_unauthorized
    # order validation
    10002: InvalidOrder,  # qty_too_low
    10003: InvalidOrder,  # order_overlap
    10005: InvalidOrder,  # price_too_low
    10006: InvalidOrder,  # price_too_low4idx
    10007: InvalidOrder,  # price_too_high
    10008: InvalidOrder,  # price_too_high4idx
    10009: InsufficientFunds,  # not_enough_funds
    10020: BadSymbol,  # invalid_or_unsupported_instrument
    10021: InvalidOrder,  # invalid_amount
    10023: InvalidOrder,  # invalid_price
    10026: InvalidOrder,  # price_precision_exceeded
    10027: InvalidOrder,  # non_integer_contract_amount
    10043: InvalidOrder,  # price_wrong_tick
    11029: BadRequest,  # invalid_arguments (CCXT: BadRequest)
    11030: InvalidOrder,  # other_reject
    11036: InvalidOrder,  # invalid_trigger_price
    11043: BadRequest,  # bad_argument (CCXT: BadRequest)
    11054: InvalidOrder,  # post_only_reject
    13019: InvalidOrder,  # orderbook_closed
    # order state
    10004: OrderNotFound,  # order_not_found (by id or label)
    10010: OrderNotFound,  # already_closed
    10029: OrderNotFound,  # not_owner_of_order
    11008: OrderNotFound,  # already_filled
    11044: OrderNotFound,  # not_open_order (cancel/edit of a cancelled or filled order)
    13032: InvalidOrder,  # non_unique_order_label
    # requests and sessions
    10030: NotSupported,  # must_be_websocket_request
    10049: ExchangeError,  # cancel_on_disconnect_failed
    13042: ExchangeError,  # cod_not_enabled
    11050: BadRequest,  # bad_request
    11052: BadRequest,  # subscribe_error_unsubscribed
    13010: BadRequest,  # value_required
    13011: BadRequest,  # value_too_short
    13020: BadRequest,  # not_found
    -32700: BadRequest,  # parse error
    -32601: BadRequest,  # method not found (CCXT: BadRequest)
    -32602: BadRequest,  # invalid params
    -32000: BadRequest,  # missing params
}


def _text(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "..."


def _reason(data: Any) -> str | None:
    """``data.reason`` (an object), or ``data`` itself when it is a string."""
    if isinstance(data, dict):
        reason = data.get("reason")
        return _text(reason) if isinstance(reason, str) and reason else None
    if isinstance(data, str) and data:
        return _text(data)
    return None


def deribit_error(
    code: int, message: str = "", data: Any = None, *, method: str | None = None
) -> CcxtproSyncError:
    """The typed exception for one Deribit error object."""
    reason = _reason(data)
    where = f"deribit {method}" if method else "deribit"
    text = f"{where} error {code}"
    if message:
        text += f" {_text(message)}"
    if reason:
        text += f": {reason}"
    if code in _RATE:
        error: CcxtproSyncError = RateLimitExceeded(text)
    elif code in _MAINTENANCE:  # system_maintenance, settlement_in_progress
        error = OnMaintenance(text)
    elif code in _TRANSIENT:
        error = ExchangeNotAvailable(text)
    else:
        error = _BY_CODE.get(code, ExchangeError)(text, code=code)
    # Network-side classes take no code argument; keep it as on Binance's errors.
    setattr(error, "code", code)  # noqa: B010
    setattr(error, "reason", reason)  # noqa: B010
    return error


def is_rate_limit(error: BaseException) -> bool:
    """True for a rate-limit error (the session is being ended by Deribit)."""
    return isinstance(error, DDoSProtection)
