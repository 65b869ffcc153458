"""ccxtpro_sync: live crypto-exchange websocket data and trading, threaded and synchronous.

Everything public is importable from this package; modules with a leading
underscore are private and may change without notice.
"""

from __future__ import annotations

from ._core.events import Policy
from ._exceptions import (
    AuthenticationError,
    BadRequest,
    BadSymbol,
    CcxtproSyncError,
    ClientClosed,
    ConnectionClosed,
    DDoSProtection,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidNonce,
    InvalidOrder,
    InvalidSignature,
    IPBanned,
    NetworkError,
    NotSupported,
    OrderBookDesync,
    OrderNotFound,
    ProtocolError,
    RateLimitExceeded,
    RequestTimeout,
)
from ._signals import Signals, signals
from ._sync.reconnect import default_reconnect_policy

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "BadRequest",
    "BadSymbol",
    "CcxtproSyncError",
    "ClientClosed",
    "ConnectionClosed",
    "DDoSProtection",
    "ExchangeError",
    "ExchangeNotAvailable",
    "IPBanned",
    "InsufficientFunds",
    "InvalidNonce",
    "InvalidOrder",
    "InvalidSignature",
    "NetworkError",
    "NotSupported",
    "OrderBookDesync",
    "OrderNotFound",
    "Policy",
    "ProtocolError",
    "RateLimitExceeded",
    "RequestTimeout",
    "Signals",
    "__version__",
    "default_reconnect_policy",
    "signals",
]
