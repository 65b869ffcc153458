"""REST market data and balances on the streaming client: ``fetch_*``.

Every call shares the REST weight budget with order-book snapshots (one
:class:`~ccxtpro_sync._core.snapshot_scheduler.SnapshotScheduler` per client):
its weight is charged before it is sent, and while a ``Retry-After`` pause runs
(from any 429/418, a snapshot's or a ``fetch_*``'s) or the minute's weight is
used up, it fails at once with ``RateLimitExceeded`` and sends nothing. Symbols,
limits and timeouts are checked before anything is sent; answers are the same
unified structures the websocket side returns.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..._arguments import check_params
from ..._credentials import Credentials
from ..._exceptions import BadRequest
from ..._orderbook import OrderBook
from ..._structures import OHLCV, Balances, Market, Ticker, Trade
from ..._sync.snapshot_fetcher import SnapshotFetcher
from .depth_weights import (
    futures_depth_weight,
    spot_depth_weight,
)
from .private_parsers import parse_account_status
from .private_wire import AccountStatus
from .rest import BinanceRest
from .rest_parsers import (
    KlineRow,
    RestAggTrade,
    RestBookTicker,
    RestFuturesAccount,
    RestTicker,
    RestTrade,
    decode,
    parse_rest_agg_trade,
    parse_rest_book_ticker,
    parse_rest_futures_balance,
    parse_rest_kline,
    parse_rest_order_book,
    parse_rest_ticker,
    parse_rest_trade,
)
from .wire import DepthSnapshot, Product

if TYPE_CHECKING:
    from .market_data import MarketData

#: Public REST prefix per product.
PREFIX: dict[str, str] = {"spot": "/api/v3", "usdm": "/fapi/v1", "coinm": "/dapi/v1"}
#: Signed account read per product (USD-M: v3, the current version of the account read).
ACCOUNT_PATH: dict[str, tuple[str, int]] = {
    "spot": ("/api/v3/account", 20),
    "usdm": ("/fapi/v3/account", 5),
    "coinm": ("/dapi/v1/account", 5),
}
#: ``aggTrades`` serves at most one hour from ``startTime`` (Binance's rule).
AGG_WINDOW_MS = 3_600_000
MAX_TRADES = 1000
MAX_KLINES: dict[str, int] = {"spot": 1000, "usdm": 1500, "coinm": 1500}
#: Longest timeout accepted (a week): beyond that a number is a mistake, not a wait.
MAX_TIMEOUT = 7 * 86_400.0


def check_timeout(timeout: object, default: float) -> float:
    """``timeout=`` of a ``fetch_*``: ``None`` (the client's default) or a positive,
    finite number of seconds; anything else is a ``BadRequest`` naming it."""
    if timeout is None:
        return default
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise BadRequest(f"timeout must be a number of seconds, not {type(timeout).__name__}")
    if not math.isfinite(timeout) or timeout <= 0 or timeout > MAX_TIMEOUT:
        raise BadRequest(
            f"timeout must be > 0 and at most {MAX_TIMEOUT:.0f} seconds, not {timeout}"
        )
    return float(timeout)


def check_limit(limit: object, name: str = "limit") -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise BadRequest(f"{name} must be a positive integer, not {limit!r}")
    return limit


def check_since(since: object) -> int | None:
    if since is None:
        return None
    if isinstance(since, bool) or not isinstance(since, int) or since < 0:
        raise BadRequest(f"since must be a timestamp in milliseconds, not {since!r}")
    return since


class BinanceRestMarket:
    """``fetch_*`` over REST; mixed into ``binance`` (which provides the attributes below)."""

    if TYPE_CHECKING:
        product: Product
        rest: BinanceRest
        timeout: float
        _fetcher: SnapshotFetcher
        _trades_kind: str
        _recv_window: int | None

        @property
        def data(self) -> MarketData: ...

        def market(self, symbol: str) -> Market: ...

        def _check_usable(self) -> None: ...

        def _require_credentials(self) -> Credentials: ...

    # -- plumbing --------------------------------------------------------------------------
    def _rest_get(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        weight: int,
        timeout: float,
        *,
        signed: bool = False,
    ) -> bytes:
        """One GET within the shared weight budget; the budget learns its outcome."""
        self._check_usable()
        query = {k: v for k, v in check_params(params).items() if v is not None}
        what = f"GET {path}"
        credentials = self._require_credentials() if signed else None
        self._fetcher.admit(weight, what)
        error: BaseException | None = None
        try:
            if credentials is not None:
                body: bytes = self.rest.signed_raw(
                    "GET",
                    path,
                    credentials,
                    query,
                    recv_window=self._recv_window,
                    timeout=timeout,
                )
            else:
                body = self.rest.get(path, query, timeout=timeout)
            return body
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._fetcher.settled(error)

    def _converter(self) -> Any:
        return self.data.markets.number

    def _rest_symbol(self, symbol: object) -> Market:
        if not isinstance(symbol, str):
            raise BadRequest(f"symbol must be a str like 'BTC/USDT', not {type(symbol).__name__}")
        return self.market(symbol)

    # -- time and status ---------------------------------------------------------------------
    def fetch_time(
        self, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> int:
        """The exchange's clock in milliseconds (``GET /time``, weight 1)."""
        seconds = check_timeout(timeout, self.timeout)
        body = self._rest_get(f"{PREFIX[self.product]}/time", params, 1, seconds)
        answer = decode(body, dict[str, int], "time")
        return int(answer["serverTime"])

    def fetch_status(
        self, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """CCXT's status dict: ``status`` is ``"ok"`` or ``"maintenance"``.

        Spot asks ``/sapi/v1/system/status``; futures hosts have no status route, so
        a futures client pings its own REST host (an answer means ``"ok"``).
        """
        seconds = check_timeout(timeout, self.timeout)
        if self.product == "spot":
            body = self._rest_get("/sapi/v1/system/status", params, 1, seconds)
            info = decode(body, dict[str, Any], "system/status")
            status = "ok" if info.get("status") == 0 else "maintenance"
        else:
            body = self._rest_get(f"{PREFIX[self.product]}/ping", params, 1, seconds)
            info, status = decode(body, dict[str, Any], "ping"), "ok"
        return {"status": status, "updated": None, "eta": None, "url": None, "info": info}

    # -- tickers -------------------------------------------------------------------------------
    def fetch_ticker(
        self,
        symbol: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Ticker:
        """24-hour statistics of one symbol (``GET /ticker/24hr``)."""
        seconds = check_timeout(timeout, self.timeout)
        market = self._rest_symbol(symbol)
        weight = 2 if self.product == "spot" else 1
        query = {"symbol": market.id, **check_params(params)}
        body = self._rest_get(f"{PREFIX[self.product]}/ticker/24hr", query, weight, seconds)
        return parse_rest_ticker(decode(body, RestTicker, "ticker/24hr"), market, self._converter())

    def fetch_tickers(
        self,
        symbols: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Ticker]:
        """24-hour statistics by symbol: every market, or just ``symbols``."""
        seconds = check_timeout(timeout, self.timeout)
        if isinstance(symbols, str):
            raise BadRequest("fetch_tickers takes a list of symbols; use fetch_ticker for one")
        wanted = [self._rest_symbol(s) for s in symbols] if symbols is not None else None
        query: dict[str, Any] = check_params(params)
        if self.product == "spot" and wanted:
            ids = list(dict.fromkeys(m.id for m in wanted))
            query["symbols"] = json.dumps(ids, separators=(",", ":"))
            weight = 2 if len(ids) <= 20 else 40 if len(ids) <= 100 else 80
        else:
            weight = 80 if self.product == "spot" else 40
        body = self._rest_get(f"{PREFIX[self.product]}/ticker/24hr", query, weight, seconds)
        rows = decode(body, list[RestTicker], "ticker/24hr")
        number = self._converter()
        only = {m.symbol for m in wanted} if wanted is not None else None
        out: dict[str, Ticker] = {}
        for row in rows:
            market = self.data.markets.get(row.symbol)
            if market is None or (only is not None and market.symbol not in only):
                continue
            out[market.symbol] = parse_rest_ticker(row, market, number)
        return out

    def fetch_bids_asks(
        self,
        symbols: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Ticker]:
        """Best bid and ask by symbol (``GET /ticker/bookTicker``)."""
        seconds = check_timeout(timeout, self.timeout)
        if isinstance(symbols, str):
            symbols = [symbols]
        wanted = [self._rest_symbol(s) for s in symbols] if symbols is not None else None
        query: dict[str, Any] = check_params(params)
        if wanted is not None and len(wanted) == 1:
            query["symbol"] = wanted[0].id
            weight = 2
        else:
            weight = 4 if self.product == "spot" else 5
        body = self._rest_get(f"{PREFIX[self.product]}/ticker/bookTicker", query, weight, seconds)
        single = "symbol" in query
        rows = (
            [decode(body, RestBookTicker, "bookTicker")]
            if single
            else decode(body, list[RestBookTicker], "bookTicker")
        )
        number = self._converter()
        only = {m.symbol for m in wanted} if wanted is not None else None
        out: dict[str, Ticker] = {}
        for row in rows:
            market = self.data.markets.get(row.symbol)
            if market is None or (only is not None and market.symbol not in only):
                continue
            out[market.symbol] = parse_rest_book_ticker(row, market, number)
        return out

    # -- order book ------------------------------------------------------------------------------
    def fetch_order_book(
        self,
        symbol: str,
        limit: int | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> OrderBook[Any]:
        """A depth snapshot (``GET /depth``); ``nonce`` is its ``lastUpdateId``."""
        seconds = check_timeout(timeout, self.timeout)
        market = self._rest_symbol(symbol)
        check_limit(limit)
        try:
            weight = (
                spot_depth_weight(limit) if self.product == "spot" else futures_depth_weight(limit)
            )
        except ValueError as error:
            raise BadRequest(f"fetch_order_book: {error}") from None
        query = {"symbol": market.id, "limit": limit, **check_params(params)}
        body = self._rest_get(f"{PREFIX[self.product]}/depth", query, weight, seconds)
        snapshot = decode(body, DepthSnapshot, "depth")
        return parse_rest_order_book(snapshot, market, self._converter())

    # -- trades ----------------------------------------------------------------------------------
    def fetch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Trade]:
        """Public trades, oldest first, with the ids the trades stream uses.

        With the default ``aggTrade`` stream these are aggregate trades
        (``GET /aggTrades``; ``since`` asks for the hour from ``since``, Binance's
        window); with ``options.tradesStream = "trade"`` (spot) the recent
        individual trades (``GET /trades``, which has no ``since``).
        """
        seconds = check_timeout(timeout, self.timeout)
        market = self._rest_symbol(symbol)
        since = check_since(since)
        limit = check_limit(limit)
        if limit is not None:
            limit = min(limit, MAX_TRADES)
        number = self._converter()
        prefix = PREFIX[self.product]
        if self._trades_kind == "trade":
            if since is not None:
                raise BadRequest("fetch_trades: GET /trades has no since; use the aggTrade stream")
            query = {"symbol": market.id, "limit": limit, **check_params(params)}
            body = self._rest_get(f"{prefix}/trades", query, 25, seconds)
            rows = decode(body, list[RestTrade], "trades")
            return [parse_rest_trade(row, market, number) for row in rows]
        query = {"symbol": market.id, "limit": limit}
        if since is not None:
            query["startTime"] = since
            query["endTime"] = since + AGG_WINDOW_MS - 1
        query.update(check_params(params))
        weight = 4 if self.product == "spot" else 20
        body = self._rest_get(f"{prefix}/aggTrades", query, weight, seconds)
        aggregated = decode(body, list[RestAggTrade], "aggTrades")
        return [parse_rest_agg_trade(row, market, number) for row in aggregated]

    # -- candles ---------------------------------------------------------------------------------
    def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[OHLCV]:
        """Candles, oldest first (``GET /klines``): from ``since`` when given, else
        the latest ``limit``; ``limit`` is capped at Binance's maximum."""
        from .client import TIMEFRAMES

        seconds = check_timeout(timeout, self.timeout)
        market = self._rest_symbol(symbol)
        if timeframe not in TIMEFRAMES or (timeframe == "1s" and self.product != "spot"):
            raise BadRequest(f"fetch_ohlcv: unknown timeframe {timeframe!r}")
        since = check_since(since)
        limit = check_limit(limit)
        if limit is not None:
            limit = min(limit, MAX_KLINES[self.product])
        query: dict[str, Any] = {
            "symbol": market.id,
            "interval": timeframe,
            "startTime": since,
            "limit": limit,
            **check_params(params),
        }
        if "until" in query:
            query["endTime"] = query.pop("until")
        if self.product == "spot":
            weight = 2
        else:
            n = 500 if limit is None else limit
            weight = 1 if n < 100 else 2 if n < 500 else 5 if n <= 1000 else 10
        body = self._rest_get(f"{PREFIX[self.product]}/klines", query, weight, seconds)
        rows = decode(body, list[KlineRow], "klines")
        number = self._converter()
        return [parse_rest_kline(row, market, number) for row in rows]

    # -- balance ---------------------------------------------------------------------------------
    def fetch_balance(
        self, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> Balances:
        """The account's balances over signed REST (spot ``/api/v3/account``, USD-M
        ``/fapi/v3/account``, COIN-M ``/dapi/v1/account``); the same ``Balances`` as
        ``fetch_balance_ws``/``watch_balance``."""
        seconds = check_timeout(timeout, self.timeout)
        path, weight = ACCOUNT_PATH[self.product]
        body = self._rest_get(path, params, weight, seconds, signed=True)
        number = self._converter()
        if self.product == "spot":
            return parse_account_status(decode(body, AccountStatus, "account"), number)
        return parse_rest_futures_balance(decode(body, RestFuturesAccount, "account"), number)
