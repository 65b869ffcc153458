"""CCXT Pro's caches for the Deribit client (``newUpdates``, ``tradesLimit``,
``OHLCVLimit``, ``ordersLimit``).

``watch_trades``, ``watch_ohlcv(_for_symbols)``, ``watch_orders``,
``watch_my_trades`` and ``watch_positions`` answer from these caches, as the Binance
client does: with ``newUpdates`` (the default) what arrived since the previous call,
else the cached history; both filtered by ``since``/``limit``. The caches are ``_core.cache``'s;
this only keeps one set per client and puts a lock around it.

Writers: the adapters of every connection, on their reader threads, append before
the update is delivered (so a watcher woken by it finds it here), and the user-data
reconcile before it delivers. Orders, trades and positions of the account reach the
caches after the ``UserDataLedger``, so each is cached once. The lock is a leaf: held for
the cache operation only, never while user code runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from ..._core.cache import (
    DEFAULT_LIMIT,
    ArrayCache,
    ArrayCacheBySymbol,
    ArrayCacheBySymbolById,
    ArrayCacheByTimestamp,
)
from ..._exceptions import InvalidArgument
from ..._structures import OHLCV, Order, Position, Trade

__all__ = ["DeribitCaches", "cache_limit"]


def cache_limit(value: object, name: str) -> int:
    """A cache size from the config (``tradesLimit``, ...): an int >= 1."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise InvalidArgument(f"{name} must be an int >= 1, got {type(value).__name__} {value!r}")


class DeribitCaches:
    """One client's trades (per symbol), candles (per symbol and timeframe), orders
    and own trades, behind one lock."""

    def __init__(
        self,
        *,
        trades_limit: int = DEFAULT_LIMIT,
        ohlcv_limit: int = DEFAULT_LIMIT,
        orders_limit: int = DEFAULT_LIMIT,
    ) -> None:
        self._lock = threading.Lock()
        self._trades_limit = trades_limit
        self._ohlcv_limit = ohlcv_limit
        self._trades: dict[str, ArrayCache[Trade]] = {}
        self._ohlcv: dict[tuple[str, str], ArrayCacheByTimestamp[OHLCV]] = {}
        self._orders: ArrayCacheBySymbolById[Order] = ArrayCacheBySymbolById(orders_limit)
        self._my_trades: ArrayCache[Trade] = ArrayCache(trades_limit)
        # Deribit accounts are one-way: one position per instrument.
        self._positions: ArrayCacheBySymbol[Position] = ArrayCacheBySymbol(DEFAULT_LIMIT)

    # -- writers (reader threads, the reconcile) ------------------------------------------
    def add_trades(self, symbol: str, trades: Iterable[Trade]) -> None:
        with self._lock:
            cache = self._trades.get(symbol)
            if cache is None:
                cache = self._trades[symbol] = ArrayCache(self._trades_limit)
            for trade in trades:
                cache.append(trade)

    def add_candle(self, symbol: str, timeframe: str, candle: OHLCV) -> None:
        with self._lock:
            key = (symbol, timeframe)
            cache = self._ohlcv.get(key)
            if cache is None:
                cache = self._ohlcv[key] = ArrayCacheByTimestamp(self._ohlcv_limit)
            cache.append(candle)

    def add_user(self, kind: str, items: Iterable[Any]) -> None:
        """Orders (``kind`` ``orders``), own trades (``myTrades``) or positions
        (``positions``); other kinds are not cached."""
        cache = self._user_cache(kind)
        if cache is None:
            return
        with self._lock:
            for item in items:
                cache.append(item)

    def _user_cache(self, kind: str) -> Any:
        if kind == "orders":
            return self._orders
        if kind == "myTrades":
            return self._my_trades
        if kind == "positions":
            return self._positions
        return None

    # -- readers (watch_* callers) -------------------------------------------------------
    def trades_unread(self, symbol: str) -> bool:
        with self._lock:
            cache = self._trades.get(symbol)
            return cache is not None and cache.has_unread(symbol)

    def read_trades(
        self, symbol: str, since: int | None, limit: int | None, *, new_updates: bool
    ) -> list[Trade]:
        with self._lock:
            cache = self._trades.get(symbol)
            if cache is None:
                return []
            return cache.read(symbol, since, limit, new_updates=new_updates)

    def ohlcv_unread(self, symbol: str, timeframe: str) -> bool:
        with self._lock:
            cache = self._ohlcv.get((symbol, timeframe))
            return cache is not None and cache.has_unread()

    def read_ohlcv(
        self,
        symbol: str,
        timeframe: str,
        since: int | None,
        limit: int | None,
        *,
        new_updates: bool,
    ) -> list[OHLCV]:
        with self._lock:
            cache = self._ohlcv.get((symbol, timeframe))
            if cache is None:
                return []
            return cache.read(since, limit, new_updates=new_updates)

    def user_unread(self, kind: str, symbol: str | None) -> bool:
        cache = self._user_cache(kind)
        with self._lock:
            return bool(cache.has_unread(symbol))

    def read_user(
        self,
        kind: str,
        symbol: str | None,
        since: int | None,
        limit: int | None,
        *,
        new_updates: bool,
    ) -> list[Any]:
        cache = self._user_cache(kind)
        with self._lock:
            items: list[Any] = cache.read(symbol, since, limit, new_updates=new_updates)
            return items
