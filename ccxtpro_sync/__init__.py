"""ccxtpro_sync: live crypto-exchange websocket data and trading, threaded and synchronous.

Everything public is importable from this package; modules with a leading
underscore are private and may change without notice.
"""

from __future__ import annotations

from ._core.events import Policy, RawMessage
from ._exceptions import (
    AccountSuspended,
    ArgumentsRequired,
    AuthenticationError,
    BadRequest,
    BadSymbol,
    BaseError,
    CcxtproSyncError,
    ClientClosed,
    ConnectionClosed,
    DDoSProtection,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidArgument,
    InvalidNonce,
    InvalidOrder,
    InvalidSignature,
    IPBanned,
    NetworkError,
    NotSupported,
    OnMaintenance,
    OrderBookDesync,
    OrderNotFound,
    OrderNotPlaced,
    OrderStatusUnknown,
    PermissionDenied,
    ProtocolError,
    RateLimitExceeded,
    RequestTimeout,
)
from ._exchanges.binance.client import binance, binancecoinm, binanceusdm
from ._exchanges.binance.credentials import Credentials
from ._exchanges.binance.dead_man import CancelOnDisconnectState
from ._exchanges.binance.key_permissions import KeyPermissions
from ._exchanges.deribit.client import DeribitClient, deribit
from ._orderbook import OrderBook
from ._signals import Signals, signals
from ._structures import (
    OHLCV,
    Balance,
    Balances,
    Fee,
    FundingRate,
    Liquidation,
    Market,
    Order,
    Position,
    Ticker,
    Trade,
    to_jsonable,
)
from ._sync.consumers import Stream, Subscription
from ._sync.info import ConnectionInfo
from ._sync.reconnect import default_reconnect_policy
from .preflight import CheckResult, PreflightConfig, PreflightReport, run_preflight
from .websocket import WebSocketClient

__version__ = "0.1.0"

__all__ = [
    "OHLCV",
    "AccountSuspended",
    "ArgumentsRequired",
    "AuthenticationError",
    "BadRequest",
    "BadSymbol",
    "Balance",
    "Balances",
    "BaseError",
    "CancelOnDisconnectState",
    "CcxtproSyncError",
    "CheckResult",
    "ClientClosed",
    "ConnectionClosed",
    "ConnectionInfo",
    "Credentials",
    "DDoSProtection",
    "DeribitClient",
    "ExchangeError",
    "ExchangeNotAvailable",
    "Fee",
    "FundingRate",
    "IPBanned",
    "InsufficientFunds",
    "InvalidArgument",
    "InvalidNonce",
    "InvalidOrder",
    "InvalidSignature",
    "KeyPermissions",
    "Liquidation",
    "Market",
    "NetworkError",
    "NotSupported",
    "OnMaintenance",
    "Order",
    "OrderBook",
    "OrderBookDesync",
    "OrderNotFound",
    "OrderNotPlaced",
    "OrderStatusUnknown",
    "PermissionDenied",
    "Policy",
    "Position",
    "PreflightConfig",
    "PreflightReport",
    "ProtocolError",
    "RateLimitExceeded",
    "RawMessage",
    "RequestTimeout",
    "Signals",
    "Stream",
    "Subscription",
    "Ticker",
    "Trade",
    "WebSocketClient",
    "__version__",
    "binance",
    "binancecoinm",
    "binanceusdm",
    "default_reconnect_policy",
    "deribit",
    "run_preflight",
    "signals",
    "to_jsonable",
]
