"""ccxtpro_sync: live crypto-exchange websocket data and trading, threaded and synchronous.

Everything public is importable from this package; modules with a leading
underscore are private and may change without notice.
"""

from __future__ import annotations

from ._core.events import Policy, RawMessage
from ._credentials import Credentials
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
from ._exchanges.binance.client import binance, binancecoinm, binanceusdm
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

__version__ = "0.1.0"

__all__ = [
    "OHLCV",
    "AuthenticationError",
    "BadRequest",
    "BadSymbol",
    "Balance",
    "Balances",
    "CcxtproSyncError",
    "ClientClosed",
    "ConnectionClosed",
    "ConnectionInfo",
    "Credentials",
    "DDoSProtection",
    "ExchangeError",
    "ExchangeNotAvailable",
    "Fee",
    "FundingRate",
    "IPBanned",
    "InsufficientFunds",
    "InvalidNonce",
    "InvalidOrder",
    "InvalidSignature",
    "Liquidation",
    "Market",
    "NetworkError",
    "NotSupported",
    "Order",
    "OrderBook",
    "OrderBookDesync",
    "OrderNotFound",
    "Policy",
    "Position",
    "ProtocolError",
    "RateLimitExceeded",
    "RawMessage",
    "RequestTimeout",
    "Signals",
    "Stream",
    "Subscription",
    "Ticker",
    "Trade",
    "__version__",
    "binance",
    "binancecoinm",
    "binanceusdm",
    "default_reconnect_policy",
    "signals",
    "to_jsonable",
]
