"""Binance error codes and HTTP statuses → the library's typed exceptions.

One function, :func:`binance_error`, serves the WS API (``status`` plus an
``error`` object), REST (HTTP status, JSON body, ``Retry-After`` header) and
stream errors, so a given failure raises the same class whichever transport
carried it. Every exception keeps Binance's ``code`` (and the HTTP-like
``status``) as attributes; messages are built only from the code, Binance's
``msg`` and the method name, never from request params, so they cannot carry
a key or signature.

Choices worth knowing:

* ``-1003``/429/418 → ``RateLimitExceeded``/``IPBanned`` with ``retry_after``
  in seconds, from ``error.data.retryAfter`` (epoch ms, relative to
  ``data.serverTime`` when present), else the ``Retry-After`` header, else the
  "banned until <ms>" in the message.
* ``-1007``, ``-1006``, ``-1001`` and 5xx → ``ExchangeNotAvailable``: the
  request may or may not have executed ("execution status unknown"); callers
  must reconcile, not blindly retry an order.
* ``-2010``/``-2018``/``-2019`` mentioning insufficient balance or margin →
  ``InsufficientFunds``; other order rejections → ``InvalidOrder``.
* ``-1002`` (UNAUTHORIZED) and ``-2015`` (key, IP or permission rejected) →
  ``PermissionDenied``, an ``AuthenticationError``; ``-1016``
  (SERVICE_SHUTTING_DOWN) → ``OnMaintenance``, an ``ExchangeNotAvailable``.
  Binance documents no code that means "account suspended", so nothing maps
  to ``AccountSuspended``.
* ``-2011`` is ``OrderNotFound`` only for "Unknown order sent."; other cancel
  rejections (e.g. ``cancelRestrictions``) stay ``InvalidOrder``.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import re
import time
from collections.abc import Mapping
from typing import Any, Final

from ..._exceptions import (
    AuthenticationError,
    BadRequest,
    BadSymbol,
    CcxtproSyncError,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidNonce,
    InvalidOrder,
    InvalidSignature,
    IPBanned,
    NotSupported,
    OnMaintenance,
    OrderNotFound,
    PermissionDenied,
    RateLimitExceeded,
)

__all__ = [
    "INVALID_LISTEN_KEY",
    "UNTIMED_BAN",
    "binance_error",
    "from_payload",
    "parse_retry_after",
]

#: ``-1125``: the listenKey does not exist (any more): create a new one.
INVALID_LISTEN_KEY: Final = -1125

#: ``-1016``: "This service is no longer available." (maintenance/shutdown).
SERVICE_SHUTTING_DOWN: Final = -1016
#: How long to hold order calls after a 418 that says neither how long to wait nor
#: when the ban ends: Binance's shortest documented IP ban (2 minutes).
UNTIMED_BAN: Final = 120.0

_MAX_MSG = 300
_BANNED_UNTIL = re.compile(r"banned until (\d{12,})")

#: Codes whose class does not depend on the message.
_BY_CODE: Final[dict[int, type[ExchangeError]]] = {
    -1002: PermissionDenied,  # UNAUTHORIZED: "not authorized to execute this request"
    -1020: NotSupported,  # UNSUPPORTED_OPERATION
    -1021: InvalidNonce,
    -1022: InvalidSignature,
    -1099: AuthenticationError,  # not found, unauthenticated, or unauthorized
    -1100: BadRequest,  # ILLEGAL_CHARS
    -1101: BadRequest,  # TOO_MANY_PARAMETERS
    -1102: BadRequest,  # MANDATORY_PARAM_EMPTY_OR_MALFORMED
    -1103: BadRequest,  # UNKNOWN_PARAM
    -1104: BadRequest,  # UNREAD_PARAMETERS
    -1105: BadRequest,  # PARAM_EMPTY
    -1106: BadRequest,  # PARAM_NOT_REQUIRED
    -1013: InvalidOrder,  # filter failure (spot: "Filter failure: ...")
    -1111: InvalidOrder,  # BAD_PRECISION
    -1112: InvalidOrder,  # NO_ORDERS_ON_BOOK
    -1114: InvalidOrder,  # TIF_NOT_REQUIRED
    -1115: InvalidOrder,  # INVALID_TIF
    -1116: InvalidOrder,  # INVALID_ORDER_TYPE
    -1117: InvalidOrder,  # INVALID_SIDE
    -1120: BadRequest,  # BAD_INTERVAL
    -1121: BadSymbol,
    -1127: BadRequest,  # MORE_THAN_XX_HOURS (startTime..endTime window too long)
    -1128: BadRequest,  # OPTIONAL_PARAMS_BAD_COMBO
    -1125: AuthenticationError,  # INVALID_LISTEN_KEY (as CCXT); user_data re-creates
    -1131: BadRequest,  # BAD_RECV_WINDOW
    -2013: OrderNotFound,  # NO_SUCH_ORDER
    -2014: AuthenticationError,  # BAD_API_KEY_FMT
    -2015: PermissionDenied,  # REJECTED_MBX_KEY: "Invalid API-key, IP, or permissions"
    -2021: InvalidOrder,  # futures: order would immediately trigger
    -2022: InvalidOrder,  # futures: ReduceOnly order is rejected
    -2035: BadRequest,  # user data stream subscription already active
    -2036: BadRequest,  # user data stream subscription not active
    -2042: BadRequest,  # too many user data stream subscriptions
    -4003: InvalidOrder,  # futures: quantity less than or equal to zero
    -4014: InvalidOrder,  # futures: price not increased by tick size
    -4015: InvalidOrder,  # futures: client order id too long
    -4016: InvalidOrder,  # futures: price above the multiplier-up limit
    -4116: InvalidOrder,  # futures: clientOrderId is duplicated (of an open order)
    -4024: InvalidOrder,  # futures: price below the multiplier-down limit
    -4131: InvalidOrder,  # futures: counterparty best price outside the limit
    -4164: InvalidOrder,  # futures: notional below the minimum
}
#: "Execution status unknown" codes (§6.5): the outcome must be reconciled.
_UNKNOWN_OUTCOME: Final = frozenset({-1001, -1006, -1007, -1008})
_ORDER_REJECTED: Final = frozenset({-2010, -2018, -2019, -2020})


def _clip(msg: str) -> str:
    text = " ".join(str(msg).split())
    return text if len(text) <= _MAX_MSG else text[:_MAX_MSG] + "..."


def parse_retry_after(
    *,
    data: Mapping[str, Any] | None = None,
    header: str | float | None = None,
    msg: str = "",
    now_ms: float | None = None,
) -> float | None:
    """Seconds to wait before retrying, from whatever Binance said.

    ``data.retryAfter`` is an epoch-ms instant; it is measured against
    ``data.serverTime`` when given (no clock skew), else ``now_ms``, else the
    local clock. ``header`` is ``Retry-After`` in seconds.
    """
    until: float | None = None
    reference: float | None = now_ms
    if data:
        raw = data.get("retryAfter")
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            until = float(raw)
        server_time = data.get("serverTime")
        if isinstance(server_time, int | float) and not isinstance(server_time, bool):
            reference = float(server_time)
    if until is None and header is not None:
        seconds = _header_seconds(header, reference)
        if seconds is not None:
            return seconds
    if until is None:
        found = _BANNED_UNTIL.search(msg)
        if found:
            until = float(found.group(1))
    if until is None:
        return None
    if reference is None:
        reference = time.time() * 1000
    return _bounded((until - reference) / 1000)


def _header_seconds(header: str | float, reference_ms: float | None) -> float | None:
    """``Retry-After``: seconds (ASCII, as HTTP has them; a number a hostile server
    spells in other digits is no wait at all) or an HTTP-date, measured against
    ``reference_ms`` (else the local clock)."""
    if isinstance(header, int | float) and not isinstance(header, bool):
        return _bounded(float(header))
    text = str(header).strip()
    if text.isascii() and "_" not in text:
        try:
            return _bounded(float(text))
        except ValueError:
            pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, source unknown
        when = when.replace(tzinfo=datetime.UTC)
    now = reference_ms if reference_ms is not None else time.time() * 1000
    return _bounded(when.timestamp() - now / 1000)


#: Longest wait believed: Binance's IP bans last up to 3 days. A larger (or infinite,
#: "1e999") value from a broken or hostile server would hold every order call forever.
MAX_RETRY_AFTER = 3 * 24 * 3600.0


def _bounded(seconds: float) -> float | None:
    if math.isnan(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _tag(error: CcxtproSyncError, code: int | None, status: int | None) -> CcxtproSyncError:
    """Keep Binance's code and status on every class, including network ones."""
    error.code = code  # type: ignore[attr-defined]
    error.status = status  # type: ignore[attr-defined]
    return error


def binance_error(
    code: int | None,
    msg: str = "",
    *,
    status: int | None = None,
    data: Mapping[str, Any] | None = None,
    retry_after_header: str | float | None = None,
    method: str | None = None,
    now_ms: float | None = None,
) -> CcxtproSyncError:
    """The typed exception for a Binance error (see module docstring for the rules)."""
    text = _clip(msg)
    where = f"binance {method}" if method else "binance"
    label = f"{where} error {code}" if code is not None else f"{where} HTTP {status}"
    message = f"{label}: {text}" if text else label
    lowered = text.lower()

    if code == -1003 or status in (418, 429):
        retry_after = parse_retry_after(
            data=data, header=retry_after_header, msg=text, now_ms=now_ms
        )
        banned = status == 418 or "banned" in lowered
        cls = IPBanned if banned else RateLimitExceeded
        return _tag(cls(message, retry_after=retry_after), code, status)
    if code == SERVICE_SHUTTING_DOWN:
        return _tag(OnMaintenance(message), code, status)
    if code in _UNKNOWN_OUTCOME or (status is not None and status >= 500):
        return _tag(ExchangeNotAvailable(f"{message} (execution status unknown)"), code, status)
    if code in _ORDER_REJECTED:
        if "insufficient" in lowered:
            return _tag(InsufficientFunds(message, code=code), code, status)
        return _tag(InvalidOrder(message, code=code), code, status)
    if code == -2011:
        cls_2011 = OrderNotFound if "unknown order" in lowered else InvalidOrder
        return _tag(cls_2011(message, code=code), code, status)
    if code is not None and code in _BY_CODE:
        return _tag(_BY_CODE[code](message, code=code), code, status)
    if status == 401:
        return _tag(AuthenticationError(message, code=code), code, status)
    return _tag(ExchangeError(message, code=code), code, status)


def from_payload(
    payload: Mapping[str, Any],
    *,
    status: int | None = None,
    retry_after_header: str | float | None = None,
    method: str | None = None,
    now_ms: float | None = None,
) -> CcxtproSyncError:
    """``binance_error`` for a decoded ``{"code", "msg", ["data"]}`` object (REST body or
    the WS API ``error`` member)."""
    raw_code = payload.get("code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    data = payload.get("data")
    return binance_error(
        code,
        str(payload.get("msg", "")),
        status=status,
        data=data if isinstance(data, Mapping) else None,
        retry_after_header=retry_after_header,
        method=method,
        now_ms=now_ms,
    )
