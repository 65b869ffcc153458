"""Every error ccxtpro_sync raises, in one place.

Names follow CCXT's taxonomy where it has one, so code written against CCXT
catches the same things. No class shadows a builtin; the timeout class also
subclasses the builtin ``TimeoutError`` so ``except TimeoutError`` works.

    BaseError (alias CcxtproSyncError)
    ├── NetworkError                      transport trouble; usually retryable
    │   ├── RequestTimeout                a blocking call ran out of time (also TimeoutError)
    │   ├── ConnectionClosed              the websocket went away (code/reason attached)
    │   │   └── ClientClosed              close() was called; waiters are woken with this
    │   ├── ExchangeNotAvailable          5xx, connect refused
    │   │   └── OnMaintenance             -1016 SERVICE_SHUTTING_DOWN
    │   ├── ProtocolError                 a frame that is not what the protocol promises
    │   └── DDoSProtection
    │       └── RateLimitExceeded         429 / -1003; ``retry_after`` in seconds when known
    │           └── IPBanned              418; the exchange has banned this IP for a while
    ├── ExchangeError                     the exchange understood and said no
    │   ├── AuthenticationError           -2014, bad key, missing credentials
    │   │   ├── InvalidSignature          -1022
    │   │   ├── InvalidNonce              -1021, timestamp outside recvWindow
    │   │   ├── PermissionDenied          -1002 UNAUTHORIZED, -2015 key/IP/permission rejected
    │   │   └── AccountSuspended          the account may not trade (no documented code maps here)
    │   ├── ArgumentsRequired             a call lacks an argument it needs (raised before sending)
    │   ├── BadRequest                    malformed or unsupported request
    │   │   ├── BadSymbol                 unknown or unsupported symbol (raised before sending)
    │   │   └── InvalidArgument           a wrong type or value passed to the API (also TypeError
    │   │                                 and ValueError); raised before anything is sent
    │   ├── InsufficientFunds             -2010 insufficient balance
    │   ├── InvalidOrder                  order rejected for its parameters
    │   │   ├── OrderNotFound             -2013
    │   │   └── OrderNotPlaced            a lost reply resolved: the order does not exist
    │   └── NotSupported                  the exchange/market type has no such feature
    ├── OrderStatusUnknown                an order request's fate could not be learnt in time
    └── OrderBookDesync                   a local book lost its sequence and is being resynced
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccountSuspended",
    "ArgumentsRequired",
    "AuthenticationError",
    "BadRequest",
    "BadSymbol",
    "BaseError",
    "CcxtproSyncError",
    "ClientClosed",
    "ConnectionClosed",
    "DDoSProtection",
    "ExchangeError",
    "ExchangeNotAvailable",
    "IPBanned",
    "InsufficientFunds",
    "InvalidArgument",
    "InvalidNonce",
    "InvalidOrder",
    "InvalidSignature",
    "NetworkError",
    "NotSupported",
    "OnMaintenance",
    "OrderBookDesync",
    "OrderNotFound",
    "OrderNotPlaced",
    "OrderStatusUnknown",
    "PermissionDenied",
    "ProtocolError",
    "RateLimitExceeded",
    "RequestTimeout",
]


class BaseError(Exception):
    """Base class of every error raised by ccxtpro_sync (CCXT's root name)."""


#: The root's original name; the same class, so either spelling catches everything.
CcxtproSyncError = BaseError


class NetworkError(BaseError):
    """The transport failed; the request may be retried."""


class RequestTimeout(NetworkError, TimeoutError):
    """A blocking call did not complete within its timeout."""


class ConnectionClosed(NetworkError):
    """The websocket connection closed. ``code`` and ``reason`` come from the close frame."""

    def __init__(self, message: str, *, code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class ClientClosed(ConnectionClosed):
    """The client (or one connection) was closed by ``close()``; nothing more will arrive."""


class ExchangeNotAvailable(NetworkError):
    """The exchange is unreachable or answered with a server-side failure."""


class OnMaintenance(ExchangeNotAvailable):
    """The exchange (or this service of it) is down for maintenance or shutting down."""


class ProtocolError(NetworkError):
    """A frame or response broke the protocol (malformed JSON, unexpected shape)."""


class DDoSProtection(NetworkError):
    """The exchange throttled us."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        #: Seconds to wait before trying again, when the exchange said so.
        self.retry_after = retry_after


class RateLimitExceeded(DDoSProtection):
    """A rate limit was exceeded (HTTP 429, Binance -1003)."""


class IPBanned(RateLimitExceeded):
    """The IP is banned for a while after repeated rate-limit breaches (HTTP 418)."""


class ExchangeError(BaseError):
    """The exchange rejected the request. ``code`` is the exchange's own error code."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class AuthenticationError(ExchangeError):
    """Credentials are missing, malformed or not accepted."""


class InvalidSignature(AuthenticationError):
    """The request signature did not verify."""


class InvalidNonce(AuthenticationError):
    """The request timestamp fell outside the exchange's receive window."""


class PermissionDenied(AuthenticationError):
    """The key is valid but may not do this (missing permission, IP not whitelisted)."""


class AccountSuspended(AuthenticationError):
    """The account is suspended or restricted from this action."""


class ArgumentsRequired(ExchangeError):
    """The call needs an argument that was not given (e.g. a symbol)."""


class BadRequest(ExchangeError):
    """The request was malformed or names something the exchange does not know."""


class BadSymbol(BadRequest):
    """The symbol is unknown or not supported for this market type."""


class InvalidArgument(BadRequest, TypeError, ValueError):
    """An argument has the wrong type or value (a callable where a symbol goes, a
    negative timeout, a non-``str`` secret ...). Raised before anything is sent.

    Also a ``TypeError`` and a ``ValueError``, so Python-style ``except`` clauses
    catch it as well as CCXT-style ``except BadRequest``.
    """


class InsufficientFunds(ExchangeError):
    """The account balance does not cover the request."""


class InvalidOrder(ExchangeError):
    """The order was rejected for its parameters."""


class OrderNotFound(InvalidOrder):
    """The order does not exist (or no longer does)."""


class OrderNotPlaced(InvalidOrder):
    """An order request's reply was lost, and once the request could no longer execute
    (its ``recvWindow`` had passed) the exchange showed it had not: the order does not
    exist (``action="create"``/``"edit"``; placing it again is safe), or a cancelled
    order is still open (``action="cancel"``).

    A cancel-replace (``action="edit"`` with ``replaced_id``) cancels the old order
    first, so its new order missing says nothing of the old one: the old order is
    looked up too, and ``replaced_status`` says what it is (``"canceled"``, ``"open"``,
    another final status, or ``"unknown"`` when it could not be learnt in time), with
    the order itself in ``replaced_order``."""

    def __init__(
        self,
        message: str,
        *,
        client_order_id: str | None,
        symbol: str,
        action: str = "create",
        order_id: str | None = None,
        replaced_id: str | None = None,
        replaced_status: str | None = None,
        replaced_order: Any = None,
    ) -> None:
        super().__init__(message)
        self.client_order_id = client_order_id
        self.symbol = symbol
        #: ``create``, ``cancel`` (the cancel did not execute) or ``edit``.
        self.action = action
        self.order_id = order_id
        #: The order a cancel-replace was to cancel (None for other requests).
        self.replaced_id = replaced_id
        #: Its status once the request could no longer execute: ``"canceled"``,
        #: ``"open"``, ``"closed"``, ``"expired"``..., or ``"unknown"``.
        self.replaced_status = replaced_status
        #: That order as looked up (an ``Order``), or None when ``"unknown"``.
        self.replaced_order = replaced_order


class NotSupported(ExchangeError):
    """The exchange or market type does not offer this feature."""


class OrderStatusUnknown(BaseError):
    """An order request (place, cancel, amend) was sent but its outcome could not be
    learnt before the caller's timeout: it may or may not have executed.

    Deliberately not a ``NetworkError`` (nor ``TimeoutError``): retry policies that
    retry network trouble must not retry this. Look the order up by
    ``client_order_id`` (``fetch_order(..., params={"clientOrderId": ...})``) before
    doing anything else with it.

    A cancel-replace (``action="edit"`` with ``replaced_id``) may have cancelled the
    old order whatever became of the new one: the old order is looked up too, and
    ``replaced_status``/``replaced_order`` say what it is, as on ``OrderNotPlaced``
    (``"open"`` only once the request could no longer execute; ``"unknown"`` when
    that could not be learnt in time).
    """

    def __init__(
        self,
        message: str,
        *,
        client_order_id: str | None,
        symbol: str,
        action: str = "create",
        cause: BaseException | None = None,
        order_id: str | None = None,
        replaced_id: str | None = None,
        replaced_status: str | None = None,
        replaced_order: Any = None,
    ) -> None:
        super().__init__(message)
        #: The client order id the request carried (None: a cancel named by ``order_id``).
        self.client_order_id = client_order_id
        self.symbol = symbol
        self.order_id = order_id
        #: ``create``, ``cancel`` or ``edit``.
        self.action = action
        #: What made the outcome unknown (lost connection, timeout, -1007...).
        self.cause = cause
        #: The order a cancel-replace was to cancel (None for other requests).
        self.replaced_id = replaced_id
        #: Its status: a final one (``"canceled"``, ``"closed"``...), ``"open"`` (the
        #: request could no longer execute) or ``"unknown"``.
        self.replaced_status = replaced_status
        #: That order as looked up (an ``Order``), or None when ``"unknown"``.
        self.replaced_order = replaced_order


class OrderBookDesync(BaseError):
    """A local order book missed an update and is being rebuilt from a fresh snapshot."""

    def __init__(self, message: str, *, symbol: str) -> None:
        super().__init__(message)
        self.symbol = symbol
