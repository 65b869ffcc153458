"""The CCXT attributes and helpers a CCXT user reaches for on a Binance client.

``id``, ``has``, ``timeframes``, ``markets_by_id``, ``amount_to_precision``,
``price_to_precision``, ``cost_to_precision``, ``milliseconds()`` and
``iso8601()``, mixed into :class:`~ccxtpro_sync.binance`.

Choices worth knowing:

* ``has`` is derived, not declared: a capability is ``True`` only when the
  client has the method and it works on this product (``_UNSUPPORTED`` lists
  the methods that exist but raise ``NotSupported`` on a product, e.g. mark
  prices on spot), so it stays truthful as REST methods land. ``_EMULATED``
  names the capabilities built from other calls (CCXT's ``"emulated"``).
* ``id`` names the product the client talks to (``binance``, ``binanceusdm``,
  ``binancecoinm``), also for ``binance({"options": {"defaultType": "future"}})``.
* Precision is CCXT's TICK_SIZE mode: amounts are truncated to the lot step,
  prices rounded (half up) to the tick, costs truncated to the cost step (the
  tick when the market has none). Results are ``str`` without trailing zeros
  and computed in ``Decimal``, so ``0.1 + 0.2``-style float noise never leaks.
"""

from __future__ import annotations

import math
import re
import time
from typing import TYPE_CHECKING, Any, Final

from ..._exceptions import InvalidArgument, InvalidOrder
from ..._structures import Market, iso8601
from .precision import cost_to_precision, price_to_precision, to_precision
from .wire import Product

__all__ = ["TIMEFRAMES_BY_PRODUCT", "CcxtSurface"]

_IDS: Final[dict[Product, str]] = {
    "spot": "binance",
    "usdm": "binanceusdm",
    "coinm": "binancecoinm",
}

_FUTURES_INTERVALS: Final = (
    "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
)  # fmt: skip
#: Binance kline intervals per product; only spot has ``1s`` (protocol reference §4.1).
TIMEFRAMES_BY_PRODUCT: Final[dict[Product, tuple[str, ...]]] = {
    "spot": ("1s", *_FUTURES_INTERVALS),
    "usdm": _FUTURES_INTERVALS,
    "coinm": _FUTURES_INTERVALS,
}

#: CCXT capability names, checked against the client's methods (``watchOHLCV`` → ``watch_ohlcv``).
_CAPABILITIES: Final = (
    "loadMarkets",
    "watchTicker", "watchTickers", "watchBidsAsks", "watchTrades", "watchTradesForSymbols",
    "watchOHLCV", "watchOHLCVForSymbols", "watchOrderBook", "watchOrderBookForSymbols",
    "watchMarkPrice", "watchMarkPrices", "watchFundingRate", "watchLiquidations",
    "watchLiquidationsForSymbols", "watchOrders", "watchMyTrades", "watchBalance",
    "watchPositions",
    "unWatchTicker", "unWatchTickers", "unWatchBidsAsks", "unWatchTrades",
    "unWatchTradesForSymbols", "unWatchOHLCV", "unWatchOHLCVForSymbols", "unWatchOrderBook",
    "unWatchOrderBookForSymbols", "unWatchMarkPrice", "unWatchFundingRate",
    "unWatchLiquidations", "unWatchOrders", "unWatchMyTrades", "unWatchBalance",
    "unWatchPositions",
    "createOrderWs", "editOrderWs", "cancelOrderWs", "cancelAllOrdersWs", "fetchOrderWs",
    "fetchOpenOrdersWs", "fetchBalanceWs", "fetchMyTradesWs", "fetchPositionsWs",
    "fetchTime", "fetchStatus", "fetchTicker", "fetchTickers", "fetchBidsAsks", "fetchOrderBook",
    "fetchTrades",
    "fetchOHLCV", "fetchBalance", "createOrder", "cancelOrder", "fetchOrder", "fetchOpenOrders",
    "fetchMyTrades", "fetchPositions", "cancelAllOrders", "editOrder", "fetchClosedOrders",
    "fetchOrders", "fetchFundingRate", "fetchMarkPrice",
)  # fmt: skip
_FUTURES_ONLY: Final = frozenset(
    {
        "watchMarkPrice", "watchMarkPrices", "watchFundingRate", "watchLiquidations",
        "watchLiquidationsForSymbols", "watchPositions", "unWatchMarkPrice",
        "unWatchFundingRate", "unWatchLiquidations", "unWatchPositions", "fetchPositionsWs",
        "fetchPositions", "fetchFundingRate", "fetchMarkPrice",
    }
)  # fmt: skip
#: Methods that exist on every product but raise ``NotSupported`` on some.
_UNSUPPORTED: Final[dict[Product, frozenset[str]]] = {
    "spot": _FUTURES_ONLY,
    # The futures WS API has no cancel-all, open-orders or trade-history method.
    "usdm": frozenset({"cancelAllOrdersWs", "fetchOpenOrdersWs", "fetchMyTradesWs"}),
    "coinm": frozenset({"cancelAllOrdersWs", "fetchOpenOrdersWs", "fetchMyTradesWs"}),
}
#: Capabilities this library builds from other calls rather than one exchange method.
_EMULATED: Final[frozenset[str]] = frozenset()

_CAMEL: Final = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _method_name(capability: str) -> str:
    """``watchOrderBookForSymbols`` → ``watch_order_book_for_symbols``; ``OHLCV`` stays one word."""
    return _CAMEL.sub("_", capability.replace("OHLCV", "Ohlcv")).lower()


class CcxtSurface:
    """CCXT's exchange attributes and precision helpers (see module docstring)."""

    if TYPE_CHECKING:  # provided by the client
        product: Product

        def market(self, symbol: str) -> Market: ...

        def load_markets(self, reload: bool = False) -> dict[str, Market]: ...

    @property
    def id(self) -> str:
        """CCXT's exchange id: ``binance``, ``binanceusdm`` or ``binancecoinm``."""
        return _IDS[self.product]

    @property
    def has(self) -> dict[str, bool | str]:
        """CCXT's capability map: ``True``, ``False`` or ``"emulated"``, derived from the
        methods this client has and what its product supports."""
        unsupported = _UNSUPPORTED[self.product]
        result: dict[str, bool | str] = {
            "ws": True,
            "spot": self.product == "spot",
            "swap": self.product != "spot",
            "future": self.product != "spot",
            "margin": False,
            "option": False,
        }
        for capability in _CAPABILITIES:
            available = capability not in unsupported and callable(
                getattr(self, _method_name(capability), None)
            )
            if available and capability in _EMULATED:
                result[capability] = "emulated"
            else:
                result[capability] = available
        return result

    @property
    def timeframes(self) -> dict[str, str]:
        """Unified timeframe → Binance kline interval (the same text), for this product."""
        return {tf: tf for tf in TIMEFRAMES_BY_PRODUCT[self.product]}

    @property
    def markets_by_id(self) -> dict[str, list[Market]]:
        """Binance id → its markets (a list, as in CCXT 4; loads markets if needed)."""
        result: dict[str, list[Market]] = {}
        for market in self.load_markets().values():
            result.setdefault(market.id, []).append(market)
        return result

    def amount_to_precision(self, symbol: str, amount: object) -> str:
        """``amount`` truncated to the market's lot step, as ``str``.

        ``InvalidOrder`` when that leaves nothing (below one step), as in CCXT.
        """
        market = self.market(symbol)
        result = to_precision(amount, market.precision.amount, "truncate", "amount")
        if result == "0":
            raise InvalidOrder(
                f"{self.id} amount of {market.symbol} must be at least the amount precision "
                f"{market.precision.amount}, got {amount!r}"
            )
        return result

    def price_to_precision(self, symbol: str, price: object) -> str:
        """``price`` rounded (half up) to the market's tick size, as ``str``."""
        return price_to_precision(self.market(symbol), price)

    def cost_to_precision(self, symbol: str, cost: object) -> str:
        """``cost`` truncated to the market's cost step (its tick size if it has none)."""
        return cost_to_precision(self.market(symbol), cost)

    @staticmethod
    def milliseconds() -> int:
        """The local clock in epoch milliseconds, as CCXT's ``milliseconds()``."""
        return time.time_ns() // 1_000_000

    @staticmethod
    def iso8601(timestamp: Any) -> str | None:
        """Epoch milliseconds as ``2023-01-01T00:00:00.000Z`` (``None`` for ``None`` or
        out-of-range input), as CCXT's ``iso8601()``."""
        if timestamp is None:
            return None
        if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
            raise InvalidArgument(
                f"timestamp must be epoch milliseconds (int), got {type(timestamp).__name__}"
            )
        if isinstance(timestamp, float) and not math.isfinite(timestamp):
            return None
        return iso8601(int(timestamp))
