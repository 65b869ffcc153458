"""``ccxtpro_sync.deribit(config)``: the Deribit client, a thin layer on ``AdapterClient``.

The wire protocol lives in :class:`DeribitAdapter`; this module resolves the
environment and credentials, loads the markets over HTTP
(``public/get_instruments``) and maps the unified ``watch_*``/``on_*``/
``stream_*``/``un_watch_*`` faces onto Deribit channel names.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
from tenacity import Retrying

from ..._arguments import check_limit, check_since, check_symbols
from ..._core.cache import DEFAULT_LIMIT
from ..._core.events import Delivery, Policy, RawMessage
from ..._exceptions import BadRequest, ExchangeError, InvalidArgument, ProtocolError
from ..._numbers import NumberConverter
from ..._orderbook import OrderBook
from ..._signals import send, signals
from ..._structures import OHLCV, Market, Ticker, Trade
from ..._sync.consumers import Stream, Subscription
from ..._sync.info import ConnectionInfo
from ...adapters.client import AdapterClient
from .adapter import COD_SCOPES, RESYNC_HASH, DeribitAdapter, DeribitSettings, deribit_limits
from .caches import DeribitCaches, cache_limit
from .channels import book_channel, chart_channel, quote_channel, ticker_channel, trades_channel
from .credentials import DeribitCredentials
from .environments import DeribitEndpoints, endpoints
from .errors import deribit_error
from .latest import LatestTickers
from .markets import DeribitMarkets, instruments_requests, parse_markets
from .order_lookup import DEFAULT_VALID_FOR_MS
from .pacing import DeribitPacer, pools_from_options
from .rest import MAX_REDIRECTS, DeribitRest
from .trading import DeribitTrading
from .user_data import UserDataLedger
from .user_streams import DeribitUserData

__all__ = ["DeribitClient", "deribit"]

#: Deribit's smallest ``public/set_heartbeat`` interval (seconds).
MIN_HEARTBEAT = 10.0

Symbols = str | Sequence[str]


def _names(symbols: Symbols) -> list[str]:
    # check_symbols: None is ArgumentsRequired, an int or bytes InvalidArgument (never
    # "'NoneType' object is not iterable"), as on Binance's clients.
    names = check_symbols(symbols, "symbols")
    if not names:
        raise InvalidArgument("symbols must be a non-empty list of strings")
    return names


class DeribitClient(AdapterClient, DeribitTrading, DeribitUserData):
    """A threaded Deribit client (see :func:`deribit` for the configuration)."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        settings = dict(config or {})
        environment = settings.get("environment", "prod")
        self.environment: str = environment
        urls = dict(settings.get("urls") or {})
        if environment == "local":
            local = settings.get("local")
            if local is not None:
                found = DeribitEndpoints.local(local.url)
            elif "ws" in urls and "rest" in urls:
                found = DeribitEndpoints("local", urls["ws"], urls["rest"])
            else:
                raise BadRequest(
                    "environment 'local' needs the running exchange: "
                    "deribit({'environment': 'local', 'local': exchange}) or its "
                    "urls {'ws': ..., 'rest': ...}"
                )
        else:
            found = endpoints(environment)
        if set(urls) - {"ws", "rest"}:
            raise BadRequest("urls may set 'ws' and 'rest' only")
        #: ``ws`` (JSON-RPC websocket) and ``rest`` (HTTP base); ``urls`` overrides them.
        self.endpoints = dataclasses.replace(found, **urls)
        self._rest = DeribitRest(self.endpoints.rest)
        credentials = DeribitCredentials.resolve(
            environment,
            client_id=settings.get("apiKey"),
            client_secret=settings.get("secret"),
        )
        options = dict(settings.get("options") or {})
        interval = float(options.get("heartbeatInterval", 30.0))
        minimum = float(options.get("minHeartbeat", MIN_HEARTBEAT))
        if environment != "local" and minimum < MIN_HEARTBEAT:
            raise InvalidArgument(f"deribit's heartbeat interval is at least {MIN_HEARTBEAT} s")
        if interval < minimum:
            raise InvalidArgument(f"heartbeatInterval must be at least {minimum} s")
        cod = settings.get("cancelOnDisconnect", False)
        if cod is not False and cod not in COD_SCOPES[1:]:
            raise InvalidArgument("cancelOnDisconnect must be False, 'connection' or 'account'")
        valid_for = options.get("orderValidFor", DEFAULT_VALID_FOR_MS)
        if type(valid_for) is not int or not 100 <= valid_for <= 60_000:
            raise InvalidArgument(
                f"orderValidFor must be an int of ms in 100..60000, not {valid_for!r}"
            )
        self._valid_for_ms = valid_for
        self._book_interval = options.get("bookInterval", "100ms")
        if self._book_interval not in ("100ms", "agg2", "raw"):
            raise InvalidArgument("bookInterval must be '100ms', 'agg2' or 'raw'")
        if self._book_interval == "raw" and credentials is None:
            raise InvalidArgument("bookInterval 'raw' needs credentials (Deribit: authorised only)")
        grant = options.get("grantType", "client_credentials")
        if grant not in ("client_credentials", "client_signature"):
            raise InvalidArgument("grantType must be 'client_credentials' or 'client_signature'")
        #: Deribit's credit pools, shared by every connection of this client.
        self.pacer = DeribitPacer(pools_from_options(options.get("rateLimits")))
        self._number: NumberConverter = settings.get("number", float)
        self._markets: DeribitMarkets | None = None
        self._markets_lock = threading.Lock()
        self._closed_event = threading.Event()  # wakes order lookups on close()
        self._ledger = UserDataLedger()
        self._latest = LatestTickers()
        new_updates = settings.get("newUpdates", True)
        if not isinstance(new_updates, bool):
            raise InvalidArgument(f"newUpdates must be True or False, not {new_updates!r}")
        #: CCXT Pro's ``newUpdates``: ``watch_trades``/``watch_ohlcv``/``watch_orders``/
        #: ``watch_my_trades`` return what is new since your previous call (True), or
        #: the cached history up to ``tradesLimit``/``OHLCVLimit``/``ordersLimit``.
        self.new_updates = new_updates
        self._caches = DeribitCaches(
            trades_limit=cache_limit(settings.get("tradesLimit", DEFAULT_LIMIT), "tradesLimit"),
            ohlcv_limit=cache_limit(settings.get("OHLCVLimit", DEFAULT_LIMIT), "OHLCVLimit"),
            orders_limit=cache_limit(settings.get("ordersLimit", DEFAULT_LIMIT), "ordersLimit"),
        )
        self._settings = DeribitSettings(
            ledger=self._ledger,
            latest=self._latest,
            caches=self._caches,
            url=self.endpoints.ws,
            markets=self._loaded_markets,
            credentials=credentials,
            grant_type=grant,
            heartbeat_interval=interval,
            cancel_on_disconnect=cod,
            limits=deribit_limits(self.pacer),
        )
        reconnect: Retrying | None = settings.get("reconnect")
        super().__init__(
            lambda: DeribitAdapter(self._settings),
            reconnect=reconnect,
            timeout=float(settings.get("timeout", 10.0)),
            connect_timeout=float(settings.get("timeout", 10.0)),  # as Binance's clients
            name="deribit",
            thread_affinity=settings.get("threadAffinity", "follow"),
            thread_slice=settings.get("threadSlice", True),
        )
        # Book resyncs become signals on the dispatcher thread (no library lock held).
        self.hub.add_callback(RESYNC_HASH, self._resynced)

    def _replayer(self) -> Callable[[RawMessage], list[Delivery]]:
        """A decoder with state of its own: a replay touches neither the live caches,
        the newest tickers nor the user-data ledger."""
        settings = dataclasses.replace(
            self._settings, caches=DeribitCaches(), latest=LatestTickers(), ledger=UserDataLedger()
        )
        adapter = DeribitAdapter(settings)
        return lambda message: adapter.decode(message.data, 0.0).deliveries

    def _resynced(self, notices: list[dict[str, Any]]) -> None:
        for notice in notices:
            send(signals.order_book_resync, self, **notice)

    # -- markets -------------------------------------------------------------------------
    def _get(self, method: str, params: Mapping[str, Any]) -> Any:
        query = urllib.parse.urlencode(
            {k: json.dumps(v) if isinstance(v, bool) else v for k, v in params.items()}
        )
        what = f"deribit {method}"
        # a redirect is followed for a public call only: nothing else is re-sent elsewhere
        redirects = MAX_REDIRECTS if method.startswith("public/") else 0
        status, content = self._rest.get(
            f"/{method}?{query}", self._timeout(None), what, redirects=redirects
        )
        try:
            body = json.loads(content)
        except (ValueError, RecursionError):  # (RecursionError: nested deeper than json recurses)
            if status >= 400:
                raise ExchangeError(f"{what}: HTTP {status}") from None
            raise ProtocolError(f"{what}: the answer is not JSON (or nested too deeply)") from None
        error = body.get("error") if isinstance(body, dict) else None
        if error:
            raise deribit_error(error.get("code", 0), error.get("message", ""), error.get("data"))
        return body.get("result")

    def load_markets(self, reload: bool = False) -> dict[str, Market]:
        """Load (once) the markets from ``public/get_instruments``; returns them by symbol."""
        self._check_usable()
        with self._markets_lock:
            if self._markets is None or reload:
                raw: list[Any] = []
                for method, params in instruments_requests():
                    raw.extend(self._get(method, params) or [])
                self._markets = parse_markets(
                    raw, number=self._number, now_ms=int(time.time() * 1000)
                )
            markets = self._markets
        return {m.symbol: m for m in markets.values()}

    def _loaded_markets(self) -> DeribitMarkets:
        markets = self._markets
        if markets is None:
            self.load_markets()
            markets = self._markets
            assert markets is not None
        return markets

    @property
    def markets(self) -> dict[str, Market]:
        return self.load_markets()

    @property
    def symbols(self) -> list[str]:
        return self._loaded_markets().symbols

    def market(self, symbol: str) -> Market:
        """The market of a unified symbol (``BadSymbol`` when unknown)."""
        return self._loaded_markets().market(symbol)

    def _ids(self, symbols: Symbols) -> list[str]:
        return [self.market(s).id for s in _names(symbols)]

    # -- generic faces over a list of channels --------------------------------------------
    def _watch_channels(self, channels: list[str], timeout: float | None, what: str) -> Any:
        return self._watch_each("watch", channels, self._hashes(channels), timeout, what)

    def _unwatch_channels(self, channels: list[str]) -> None:
        self._unwatch_each("watch", channels)

    # -- tickers -------------------------------------------------------------------------
    def _ticker_channels(self, symbols: Symbols) -> list[str]:
        return [ticker_channel(i) for i in self._ids(symbols)]

    def watch_ticker(self, symbol: str, *, timeout: float | None = None) -> Ticker:
        """The next ticker of ``symbol`` (channel ``ticker.{instrument}.100ms``)."""
        result: Ticker = self._watch_channels(self._ticker_channels(symbol), timeout, "ticker")
        return result

    def _watch_latest(
        self, channels: list[str], timeout: float | None, what: str
    ) -> dict[str, Ticker]:
        """Wait for the next update of any of ``channels``; then the newest value of
        each of them that has one, as ``{symbol: ticker}`` (CCXT's ``watchTickers``)."""
        ticker: Ticker = self._watch_channels(channels, timeout, what)
        found = self._latest.pick(self._hashes(channels))
        return found or {ticker.symbol: ticker}

    def watch_tickers(
        self, symbols: Sequence[str], *, timeout: float | None = None
    ) -> dict[str, Ticker]:
        """Wait for the next ticker of any of ``symbols``; returns ``{symbol: ticker}``
        with the newest ticker of every one of ``symbols`` that has had one."""
        return self._watch_latest(self._ticker_channels(symbols), timeout, "tickers")

    def on_ticker(
        self, symbol: Symbols, handler: Callable[[Ticker], object] | None = None
    ) -> Subscription:
        """Call ``handler(ticker)`` for every ticker of ``symbol`` (or symbols)."""
        return self.on(self._ticker_channels(symbol), handler)

    on_tickers = on_ticker

    def stream_ticker(self, symbol: Symbols, *, timeout: float | None = None) -> Stream[Ticker]:
        """An iterator over tickers (newest kept when the reader lags)."""
        return self.stream(self._ticker_channels(symbol), policy=Policy.LATEST, timeout=timeout)

    stream_tickers = stream_ticker

    def un_watch_ticker(self, symbol: Symbols) -> None:
        self._unwatch_channels(self._ticker_channels(symbol))

    un_watch_tickers = un_watch_ticker

    # -- best bid/ask (quote channel) ----------------------------------------------------
    def _quote_channels(self, symbols: Symbols) -> list[str]:
        return [quote_channel(i) for i in self._ids(symbols)]

    def watch_bids_asks(
        self, symbols: Symbols, *, timeout: float | None = None
    ) -> dict[str, Ticker]:
        """Wait for the next best bid/ask of any of ``symbols`` (channel
        ``quote.{instrument}``); returns ``{symbol: ticker}`` with the newest of every
        one of ``symbols`` that has had one."""
        return self._watch_latest(self._quote_channels(symbols), timeout, "bids_asks")

    def on_bids_asks(
        self, symbols: Symbols, handler: Callable[[Ticker], object] | None = None
    ) -> Subscription:
        return self.on(self._quote_channels(symbols), handler)

    def stream_bids_asks(self, symbols: Symbols, *, timeout: float | None = None) -> Stream[Ticker]:
        return self.stream(self._quote_channels(symbols), policy=Policy.LATEST, timeout=timeout)

    def un_watch_bids_asks(self, symbols: Symbols) -> None:
        self._unwatch_channels(self._quote_channels(symbols))

    # -- trades --------------------------------------------------------------------------
    def _trade_channels(self, symbols: Symbols) -> list[str]:
        return [trades_channel(i) for i in self._ids(symbols)]

    def watch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Trade]:
        """Block for the next public trades of ``symbol`` (channel
        ``trades.{instrument}.100ms``); returns the cached trades, oldest first: with
        ``newUpdates`` those new since your previous call, else the last
        ``tradesLimit``; ``since``/``limit`` filter them as in CCXT."""
        since, limit = check_since(since), check_limit(limit)
        channels = self._trade_channels(symbol)
        unified = self.market(symbol).symbol
        caches = self._caches
        return self._collect(
            lambda: caches.trades_unread(unified),
            lambda: caches.read_trades(unified, since, limit, new_updates=self.new_updates),
            lambda: self._watch_channels(channels, timeout, "trades"),
        )

    def watch_trades_for_symbols(
        self,
        symbols: Sequence[str],
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Trade]:
        """Block until any of ``symbols`` trades; returns that symbol's cached trades
        (as ``watch_trades``: with ``newUpdates`` only the new ones)."""
        since, limit = check_since(since), check_limit(limit)
        channels = self._trade_channels(symbols)
        caches, new_updates = self._caches, self.new_updates
        if new_updates:
            for name in _names(symbols):
                unified = self.market(name).symbol
                if caches.trades_unread(unified):
                    return caches.read_trades(unified, since, limit, new_updates=True)
        batch: list[Trade] = self._watch_channels(channels, timeout, "trades")
        return caches.read_trades(batch[0].symbol, since, limit, new_updates=new_updates)

    def on_trades(
        self, symbols: Symbols, handler: Callable[[list[Trade]], object] | None = None
    ) -> Subscription:
        return self.on(self._trade_channels(symbols), handler)

    def stream_trades(
        self, symbols: Symbols, *, timeout: float | None = None
    ) -> Stream[list[Trade]]:
        return self.stream(self._trade_channels(symbols), policy=Policy.APPEND, timeout=timeout)

    def un_watch_trades(self, symbols: Symbols) -> None:
        self._unwatch_channels(self._trade_channels(symbols))

    un_watch_trades_for_symbols = un_watch_trades

    # -- OHLCV (chart channel) -----------------------------------------------------------
    def _chart_channels(self, symbols: Symbols, timeframe: str) -> list[str]:
        return [chart_channel(i, timeframe) for i in self._ids(symbols)]

    def watch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[OHLCV]:
        """Block for the next candle update of ``symbol`` (channel
        ``chart.trades.{instrument}.{resolution}``); returns the cached candles, oldest
        first: with ``newUpdates`` those changed since your previous call, else the last
        ``OHLCVLimit``; ``since``/``limit`` filter them as in CCXT."""
        since, limit = check_since(since), check_limit(limit)
        channels = self._chart_channels(symbol, timeframe)
        unified = self.market(symbol).symbol
        caches = self._caches
        return self._collect(
            lambda: caches.ohlcv_unread(unified, timeframe),
            lambda: caches.read_ohlcv(
                unified, timeframe, since, limit, new_updates=self.new_updates
            ),
            lambda: self._watch_channels(channels, timeout, "ohlcv"),
        )

    def _ohlcv_pairs(self, symbols_and_timeframes: object) -> list[tuple[str, str]]:
        """CCXT's ``[[symbol, timeframe], ...]`` as unified ``(symbol, timeframe)`` pairs;
        ``InvalidArgument`` for any other shape, ``BadSymbol``/``BadRequest`` for an
        unknown symbol or timeframe."""
        shape = "symbols_and_timeframes must be a non-empty list of [symbol, timeframe] pairs"
        if isinstance(symbols_and_timeframes, (str, bytes, Mapping)) or not isinstance(
            symbols_and_timeframes, Sequence
        ):
            raise InvalidArgument(f"{shape}, not {type(symbols_and_timeframes).__name__}")
        pairs: list[tuple[str, str]] = []
        for pair in symbols_and_timeframes:
            if (
                isinstance(pair, (str, bytes))
                or not isinstance(pair, Sequence)
                or len(pair) != 2
                or not all(isinstance(part, str) for part in pair)
            ):
                raise InvalidArgument(f"{shape}; got {pair!r}")
            symbol, timeframe = pair
            chart_channel(self.market(symbol).id, timeframe)  # checks the timeframe
            pairs.append((self.market(symbol).symbol, timeframe))
        if not pairs:
            raise InvalidArgument(shape)
        return list(dict.fromkeys(pairs))

    def _pairs_channels(self, pairs: list[tuple[str, str]]) -> list[str]:
        return [chart_channel(self.market(s).id, tf) for s, tf in pairs]

    def watch_ohlcv_for_symbols(
        self,
        symbols_and_timeframes: Sequence[Sequence[str]],
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, dict[str, list[OHLCV]]]:
        """CCXT's ``watchOHLCVForSymbols``: ``[[symbol, timeframe], ...]``; blocks until
        one of the pairs has a candle update and returns ``{symbol: {timeframe:
        candles}}`` for the first pair (in the order asked) with candles new since your
        previous call (all cached ones with ``newUpdates`` off); ``since``/``limit``
        filter them as in CCXT."""
        since, limit = check_since(since), check_limit(limit)
        pairs = self._ohlcv_pairs(symbols_and_timeframes)
        channels = self._pairs_channels(pairs)
        caches, new_updates = self._caches, self.new_updates

        def first_unread() -> tuple[str, str] | None:
            return next((p for p in pairs if caches.ohlcv_unread(*p)), None)

        found = first_unread() if new_updates else None
        if found is None:
            woke: list[OHLCV] = self._watch_channels(channels, timeout, "ohlcv")
            # The pair whose newest cached candle is the one that woke us (the adapter
            # caches and delivers the same object); else any pair with news.
            found = next(
                (p for p in pairs if woke[-1] in caches.read_ohlcv(*p, None, 1, new_updates=False)),
                None,
            )
            found = found or first_unread() or pairs[0]
        symbol, timeframe = found
        candles = caches.read_ohlcv(symbol, timeframe, since, limit, new_updates=new_updates)
        return {symbol: {timeframe: candles}}

    def un_watch_ohlcv_for_symbols(self, symbols_and_timeframes: Sequence[Sequence[str]]) -> None:
        """Release what ``watch_ohlcv_for_symbols`` holds for these pairs."""
        self._unwatch_channels(self._pairs_channels(self._ohlcv_pairs(symbols_and_timeframes)))

    def on_ohlcv(
        self,
        symbols: Symbols,
        timeframe: str = "1m",
        handler: Callable[[list[OHLCV]], object] | None = None,
    ) -> Subscription:
        """Call ``handler(candles)`` for every candle update (``handler=`` by keyword
        when the timeframe is the default)."""
        return self.on(self._chart_channels(symbols, timeframe), handler)

    def stream_ohlcv(
        self, symbols: Symbols, timeframe: str = "1m", *, timeout: float | None = None
    ) -> Stream[list[OHLCV]]:
        return self.stream(
            self._chart_channels(symbols, timeframe), policy=Policy.APPEND, timeout=timeout
        )

    def un_watch_ohlcv(self, symbols: Symbols, timeframe: str = "1m") -> None:
        self._unwatch_channels(self._chart_channels(symbols, timeframe))

    # -- order books ---------------------------------------------------------------------
    def _book_channels(self, symbols: Symbols) -> list[str]:
        return [book_channel(i, self._book_interval) for i in self._ids(symbols)]

    def watch_order_book(
        self, symbol: str, limit: int | None = None, *, timeout: float | None = None
    ) -> OrderBook[Any]:
        """The next synchronised book of ``symbol`` (channel ``book.{instrument}.100ms``:
        a snapshot, then changes chained by ``change_id``; a broken chain resubscribes
        this instrument only, and no book is shown until its new snapshot). ``limit``
        caps the levels per side of the returned view."""
        return self._watch_book(self._book_channels(symbol), limit, timeout)

    def watch_order_book_for_symbols(
        self, symbols: Sequence[str], limit: int | None = None, *, timeout: float | None = None
    ) -> OrderBook[Any]:
        """The next synchronised book of any of ``symbols`` (``limit`` levels per side)."""
        return self._watch_book(self._book_channels(symbols), limit, timeout)

    def _watch_book(
        self, channels: list[str], limit: int | None, timeout: float | None
    ) -> OrderBook[Any]:
        depth = check_limit(limit)
        book: OrderBook[Any] = self._watch_channels(channels, timeout, "order_book")
        if depth is not None:
            book = msgspec.structs.replace(book, bids=book.bids[:depth], asks=book.asks[:depth])
        return book

    def on_order_book(
        self, symbols: Symbols, handler: Callable[[OrderBook[Any]], object] | None = None
    ) -> Subscription:
        return self.on(self._book_channels(symbols), handler)

    def stream_order_book(
        self, symbols: Symbols, *, timeout: float | None = None
    ) -> Stream[OrderBook[Any]]:
        return self.stream(self._book_channels(symbols), policy=Policy.LATEST, timeout=timeout)

    def un_watch_order_book(self, symbols: Symbols) -> None:
        self._unwatch_channels(self._book_channels(symbols))

    un_watch_order_book_for_symbols = un_watch_order_book

    # -- introspection -------------------------------------------------------------------
    def connection_info(self, index: int = 0) -> dict[str, Any]:
        """Deribit state of connection ``index``: auth, token refresh, cancel-on-disconnect,
        heartbeat interval, book resyncs, and the frames charged to each credit pool by
        this client (``pacing``; the pools are the account's, not the connection's)."""
        conns = self._planner.connections()
        if not 0 <= index < len(conns):
            raise BadRequest(f"no deribit connection {index}")
        conn = conns[index]

        def read(protocol: Any) -> dict[str, Any]:
            adapter: DeribitAdapter = protocol.adapter
            return {**adapter.info(), "books": adapter.book_stats(), "ready": protocol.ready}

        result: dict[str, Any] = conn.query(read)
        result["pacing"] = self.pacer.booked()
        return result

    def _close_resources(self, timeout: float) -> None:
        self._closed_event.set()
        self._rest.close()  # a markets load in flight ends with ClientClosed
        self._stop_reconciler(timeout)
        super()._close_resources(timeout)

    def connections(self) -> list[ConnectionInfo]:
        """Figures for every websocket connection of this client."""
        return super().connections()

    def __repr__(self) -> str:
        closed = " closed" if self._closed else ""
        return f"<deribit {self.environment}{closed}>"


def deribit(config: Mapping[str, Any] | None = None) -> DeribitClient:
    """A Deribit client.

    Config keys: ``environment`` (``"prod"`` default, ``"test"``, ``"local"`` with
    ``"local": LocalDeribit``), ``urls`` (``{"ws": ..., "rest": ...}`` overrides),
    ``apiKey``/``secret`` (else ``DERIBIT_<ENV>_CLIENT_ID``/``_CLIENT_SECRET``),
    ``cancelOnDisconnect``
    (``False``, ``"connection"``, ``"account"``), ``options``: ``heartbeatInterval``
    (seconds, at least Deribit's 10), ``bookInterval`` (``"100ms"``, ``"agg2"``, or
    ``"raw"`` with credentials), ``grantType`` (``"client_credentials"`` or
    ``"client_signature"``), ``rateLimits`` (your account's credit pools when above
    Deribit's defaults, e.g. ``{"matching": {"rate": 20, "burst": 50}}``; see
    ``pacing``); ``newUpdates`` (default True: list-returning ``watch_*`` calls return
    what is new since your previous call; False: the cached history), ``tradesLimit``,
    ``OHLCVLimit``, ``ordersLimit`` (cache sizes, 1000 each); ``timeout``,
    ``reconnect`` (a tenacity policy), ``number``, ``threadAffinity`` (default
    ``"follow"``: the dispatcher wakes on its reader's CPU; a CPU id or a set of them
    for the readers and the dispatcher; None: the scheduler's; docs/threading.md), ``threadSlice``
    (default True: they ask Linux for a short scheduler slice; False: the default).
    """
    return DeribitClient(config)
