"""The Binance clients: ``binance`` (spot), ``binanceusdm`` and ``binancecoinm``.

Every stream has the same four faces:

* ``watch_X(...)`` blocks for the next update and returns the unified structure;
* ``on_X(..., handler)`` calls ``handler`` on the dispatcher thread for every
  update and returns a ``Subscription`` (``cancel()`` to stop);
* ``stream_X(...)`` returns an iterator (``for ticker in client.stream_ticker(...)``);
* ``un_watch_X(...)`` drops what ``watch_X`` keeps subscribed.

A wire subscription lives as long as something needs it: the first
``watch_X`` for a stream holds it until ``un_watch_X``; each ``on_X`` and
``stream_X`` holds it until cancelled. Streams are spread over connections
within Binance's streams-per-connection limit, and a connection that drops is
reconnected and resubscribed without the caller noticing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from decimal import Decimal
from typing import Any, ClassVar, Literal

import msgspec
from tenacity import Retrying

from ..._arguments import check_limit, check_since, check_symbol, check_symbols
from ..._core.events import Delivery, Inbound, Policy, RawMessage, RawTap
from ..._core.frames import DEFAULT_MAX_MESSAGE
from ..._core.rotation import DeliveredKeys
from ..._core.trade_gap import GapRequest
from ..._exceptions import BadRequest, BadSymbol, NotSupported, ProtocolError, RequestTimeout
from ..._orderbook import OrderBook
from ..._structures import OHLCV, FundingRate, Liquidation, Market, Ticker, Trade
from ..._sync.connection import Connection
from ..._sync.consumers import Stream, Subscription
from ..._sync.info import ConnectionInfo
from ..._sync.snapshot_fetcher import DEFAULT_WORKERS, SnapshotFetcher
from ..._sync.stream_client import StreamClient
from . import market_data as md
from .backfill import BACKFILL_CHANNEL, Backfiller, BackfillJob, fetch_gap, page_entry, replay_page
from .cadence import freshness_policy, new_freshness
from .config_keys import check_config
from .credentials import take_credentials
from .depth_weights import binance_scheduler
from .env_selection import select_environment
from .environments import Endpoints, endpoints, route_for_stream
from .fence import fence_body, fence_bounds
from .key_permissions import BinanceKeyPermissions
from .market_data import MarketData
from .markets import Markets, parse_markets
from .private_client import BinancePrivate
from .rest import DEFAULT_MAX_BODY, BinanceRest
from .rest_market import BinanceRestMarket
from .rotation import (
    MAX_CONNECTION_AGE,
    ROTATION_JITTER,
    ROTATION_STAGGER,
    BinanceOverlap,
    Held,
    RotationRouter,
)
from .stream_protocol import FENCE_CHANNEL, SNAPSHOT_CHANNEL, BinanceStreamProtocol
from .surface import TIMEFRAMES_BY_PRODUCT, CcxtSurface
from .trading import BinanceTrading
from .user_stream import USER_HASHES
from .wire import Product

__all__ = ["binance", "binancecoinm", "binanceusdm"]

#: CCXT's ``options.defaultType`` spellings → product.
_DEFAULT_TYPES: dict[str, Product] = {
    "spot": "spot",
    "future": "usdm",
    "swap": "usdm",
    "linear": "usdm",
    "usdm": "usdm",
    "delivery": "coinm",
    "inverse": "coinm",
    "coinm": "coinm",
}

TIMEFRAMES = (
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w",
    "1M",
)  # fmt: skip

#: Binance's streams-per-connection limits (protocol reference §3).
MAX_STREAMS: dict[Product, int] = {"spot": 1024, "usdm": 200, "coinm": 200}
#: Frames per second we send per connection. Binance allows 5 (spot) and 10 (futures)
#: incoming messages a second, pings and pongs included; the pacer's burst of one adds
#: one more in any window, and we leave room for a pong to a server ping.
MESSAGE_RATE: dict[Product, float] = {"spot": 3.0, "usdm": 7.0, "coinm": 7.0}
#: Seconds between server pings; our read timeout allows for a few missed ones.
SERVER_PING: dict[Product, float] = {"spot": 20.0, "usdm": 180.0, "coinm": 180.0}


class binance(CcxtSurface, BinanceRestMarket, BinanceKeyPermissions, BinanceTrading, StreamClient):
    """Binance spot market data (``binanceusdm``/``binancecoinm`` for futures).

    ``config`` takes CCXT-style keys, all optional:

    * ``options``: ``defaultType`` (``spot``, ``future``/``usdm``, ``delivery``/``coinm``),
      ``tradesStream`` (``aggTrade`` or ``trade``), ``depthSpeed`` (``100ms``),
      ``snapshotLimit`` (REST depth, default 1000), ``orderBookDepth`` (levels kept,
      default unlimited), ``orderBookViewLimit`` (levels published, default 100),
      ``maxMessageSize`` (bytes one websocket message may have, all fragments together,
      default 8 MiB; a larger one is a ``ProtocolError`` and the connection is renewed),
      ``maxResponseSize`` (bytes a REST answer's body may have, default 32 MiB; more is
      a ``ProtocolError``);
    * ``environment``: ``prod`` (default, or what ``BINANCE_PRO_ENV`` names), ``testnet``,
      ``demo``, or ``local`` with ``local`` set to a running
      :class:`~ccxtpro_sync.simulator.LocalExchange`;
    * ``urls``: ``{"ws", "ws_api", "rest"}`` overrides;
    * ``timeout`` (seconds, default 30), ``newUpdates`` (default True), ``tradesLimit``,
      ``OHLCVLimit``, ``liquidationsLimit`` (default 1000 each), ``numbers``
      (``"float"`` or ``"decimal"``), ``reconnect`` (a tenacity ``Retrying``),
      ``readTimeout`` (seconds of silence before a connection is presumed dead),
      ``maxPending`` (items an ``APPEND`` stream keeps for a lagging callback, 10,000),
      ``callbackOverflow`` (``{kind: "block" | "drop_oldest" | "latest"}`` per stream
      kind such as ``trades``, ``ohlcv``, ``orders``; default ``block``), ``maxLag``
      (seconds a blocked reader waits for callbacks before dropping, default 5),
      ``freshness`` (per-stream watchdog: ``False`` to turn it off, or ``multiple``,
      ``floor``, ``minSamples``, ``interval``; see ``docs/threading.md``),
      ``userDataQuietAfter`` (seconds of user-data silence, with orders open, before a
      reconcile; default 60, ``False`` to turn it off), ``threadAffinity`` (default
      ``"follow"``: the dispatcher wakes on the CPU of the reader that rings it, nothing
      is pinned; a CPU id or a set of them: this client's readers and dispatcher run
      only there; None: the scheduler places them; Linux; see docs/threading.md), ``threadSlice``
      (default True: the readers and the dispatcher ask Linux for a short scheduler
      slice, so their wake-ups preempt other work; False: the kernel's default);
    * ``options.tradesBackfill`` (default True): trades and closed candles missed while a
      connection was down are fetched over REST and delivered in order before the live
      ones (see docs/reconnect.md);
    * ``credentials`` (a :class:`~ccxtpro_sync.Credentials`), or ``apiKey`` with ``secret``
      or ``privateKey``/``privateKeyPath`` (and ``password``). The secret entries are
      popped out of ``config``: the dict is consumed, so it holds no secret afterwards.

    Any other key (in ``config`` or ``options``) is an ``InvalidArgument`` naming the
    closest known one, except CCXT's constructor keys this library ignores
    (``enableRateLimit``, ``verbose`` ...: ``config_keys.py``, docs/usage.md).
    """

    default_type: ClassVar[str] = "spot"

    def __init__(self, config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        # First of all: the secret material leaves the caller's dict (it is consumed).
        credentials = take_credentials(config, kwargs)
        settings: dict[str, Any] = {**(config or {}), **kwargs}
        check_config(settings)  # a misspelt key is an error, not a silent default
        options: dict[str, Any] = dict(settings.get("options") or {})
        default_type = str(options.get("defaultType", self.default_type))
        if default_type not in _DEFAULT_TYPES:
            raise BadRequest(
                f"unknown defaultType {default_type!r}; expected one of {sorted(_DEFAULT_TYPES)}"
            )
        self.product: Product = _DEFAULT_TYPES[default_type]
        self.options = options
        # explicit config, else BINANCE_PRO_ENV, else prod (env_selection.py)
        self.environment: str = select_environment(settings)
        super().__init__(
            name=f"binance-{self.product}",
            timeout=settings.get("timeout", 30.0),
            max_pending=int(settings.get("maxPending", 10_000)),
            overflow=settings.get("callbackOverflow"),
            max_lag=float(settings.get("maxLag", 5.0)),
            thread_affinity=settings.get("threadAffinity", "follow"),
            thread_slice=settings.get("threadSlice", True),
        )
        self.endpoints = self._endpoints(settings)
        self.new_updates = bool(settings.get("newUpdates", True))  # see BaseClient
        self.trades_limit = int(settings.get("tradesLimit", 1000))
        self.ohlcv_limit = int(settings.get("OHLCVLimit", 1000))
        self.liquidations_limit = int(settings.get("liquidationsLimit", 1000))
        numbers = settings.get("numbers", "float")
        if numbers not in ("float", "decimal"):
            raise BadRequest(f"numbers must be 'float' or 'decimal', not {numbers!r}")
        self._number: Callable[[str], Any] = Decimal if numbers == "decimal" else float
        self._reconnect: Retrying | None = settings.get("reconnect")
        self._read_timeout = float(settings.get("readTimeout", SERVER_PING[self.product] * 3))
        self._freshness = freshness_policy(settings.get("freshness"))
        self._ping_interval = float(settings.get("pingInterval", 15.0))
        self._max_streams = int(options.get("maxStreamsPerConnection", MAX_STREAMS[self.product]))
        self._trades_kind = str(options.get("tradesStream", "aggTrade"))
        if self._trades_kind == "trade" and self.product != "spot":
            raise NotSupported("Binance futures have no @trade stream; use aggTrade")
        self._depth_speed = str(options.get("depthSpeed", "100ms"))
        self._snapshot_limit = int(options.get("snapshotLimit", 1000))
        self._max_message_size = int(options.get("maxMessageSize", DEFAULT_MAX_MESSAGE))
        if self._max_message_size < 125:
            raise BadRequest("options.maxMessageSize must be at least 125 bytes")

        max_body = int(options.get("maxResponseSize", DEFAULT_MAX_BODY))
        self.rest = BinanceRest(
            self.endpoints.require("rest"), self.product, timeout=self.timeout, max_body=max_body
        )
        self._markets: Markets | None = None
        self._markets_lock = threading.Lock()  # brief: never held across the REST request
        self._markets_loading: Future[None] | None = None
        self._data: MarketData | None = None
        self._data_lock = threading.Lock()
        # Make-before-break rotation (rotation.py): the last delivered key per stream.
        self._delivered: Held = DeliveredKeys()
        age = options.get("maxConnectionAge", MAX_CONNECTION_AGE)
        self._rotate_on_shutdown = bool(options.get("rotateOnServerShutdown", True))
        # Planning, holds, the faces and rotation are StreamClient's (shared with adapters).
        self._init_streams(
            new_connection=self._new_connection,
            max_streams=self._max_streams,
            rotation_timeout=float(options.get("rotationTimeout", self.timeout)),
            route=self._route_base,
            forget=self._forget,
            start=self._start,
            overlap=BinanceOverlap(self._data_lock, self._delivered),
            max_age=float(age) if age else None,
            jitter=float(options.get("rotationJitter", ROTATION_JITTER)),
            stagger=float(options.get("rotationStagger", ROTATION_STAGGER)),
        )
        self._pools = self._planner.pools
        # Snapshots in flight at once (docs/order_books.md, "Fetching snapshots").
        workers = options.get("snapshotConcurrency", DEFAULT_WORKERS)
        if type(workers) is not int or not 1 <= workers <= 32:
            raise BadRequest(
                f"options.snapshotConcurrency must be an int in 1..32, not {workers!r}"
            )
        self._fetcher = SnapshotFetcher(
            lambda symbol, limit: self.rest.depth(self.market(symbol).id, limit),
            lambda: self.rest.used_weight,
            binance_scheduler(futures=self.product != "spot", max_in_flight=workers),
            self._apply_snapshot,
            rest_timeout=self.rest.timeout,
            name=f"ccxtpro_sync-{self.name}-snapshots",
            default_limit=self._snapshot_limit,
            workers=workers,
        )
        #: Trades and candles missed while a connection was down (``tradesBackfill``).
        self._backfill_on = bool(options.get("tradesBackfill", True))
        self._backfiller = Backfiller(
            lambda job: fetch_gap(self, job),
            self._apply_backfill,
            self._drain_backfill,
            name=f"ccxtpro_sync-{self.name}-backfill",
        )
        self._init_trading(BinancePrivate(self, settings, credentials))

    # -- environment ---------------------------------------------------------------------
    def _endpoints(self, settings: Mapping[str, Any]) -> Endpoints:
        urls = settings.get("urls")
        if self.environment == "local":
            local = settings.get("local")
            if local is None and urls is None:
                raise BadRequest(
                    "environment 'local' needs the running exchange: "
                    "binance({'environment': 'local', 'local': exchange})"
                )
            source = dict(local.urls(self.product)) if local is not None else {}
            return Endpoints.from_urls(self.product, {**source, **(urls or {})})
        found = endpoints(self.environment, self.product)
        return found.replace(**urls) if urls else found

    # -- markets -------------------------------------------------------------------------
    def load_markets(self, reload: bool = False) -> dict[str, Market]:
        """Load (once) the markets over REST ``exchangeInfo``; returns them by symbol.

        The request runs with no lock held (readers of the loaded markets never wait
        for it); concurrent callers share one request instead of sending several."""
        self._check_usable()
        with self._markets_lock:
            loaded, loading = self._markets, self._markets_loading
            if loaded is not None and not reload:
                return {symbol: loaded.market(symbol) for symbol in loaded}
            owner = loading is None
            if loading is None:
                loading = self._markets_loading = Future()
        if not owner:
            try:
                loading.result(self.timeout)  # raises what the loading thread got
            except FutureTimeout:
                raise RequestTimeout(
                    f"{self.name}: markets not loaded within {self.timeout}s"
                ) from None
            return self.load_markets()
        try:
            markets = parse_markets(self.rest.exchange_info(), self.product, self._number)
        except BaseException as error:
            with self._markets_lock:
                self._markets_loading = None
            loading.set_exception(error)
            raise
        with self._markets_lock:
            self._markets = markets
            self._markets_loading = None
            with self._data_lock:
                if self._data is None:
                    self._data = self._make_market_data(markets)
                else:
                    self._data.markets = markets
        loading.set_result(None)
        return {symbol: markets.market(symbol) for symbol in markets}

    @property
    def markets(self) -> dict[str, Market]:
        return self.load_markets()

    @property
    def symbols(self) -> list[str]:
        return sorted(self.load_markets())

    def market(self, symbol: str) -> Market:
        """The market of a unified symbol; ``BadSymbol`` if this client has no such market."""
        check_symbol(symbol)
        if self._markets is None:
            self.load_markets()
        assert self._markets is not None
        try:
            return self._markets.market(symbol)
        except BadSymbol:
            hint = ""
            if ":" in symbol and self.product == "spot":
                hint = " (a futures symbol: use binanceusdm or binancecoinm)"
            elif ":" not in symbol and self.product != "spot":
                hint = " (a spot symbol: use binance)"
            if hint:
                raise BadSymbol(f"binance {self.product} has no market {symbol!r}{hint}") from None
            raise

    def _make_market_data(self, markets: Markets, *, live: bool = True) -> MarketData:
        """Market data for live streams, or (``live=False``) for a replay: no snapshots
        are fetched, they come from the log."""
        options = self.options
        data = MarketData(
            markets,
            trades_limit=self.trades_limit,
            ohlcv_limit=self.ohlcv_limit,
            liquidations_limit=self.liquidations_limit,
            book_depth=options.get("orderBookDepth"),
            book_view_limit=options.get("orderBookViewLimit", 100),
            lock=self._data_lock if live else None,
            defer_views=live,
            fill_gaps=live,
            backfill=self._backfill_on,
        )
        if live:
            data.snapshots_stalled = lambda: self._fetcher.stalled
        return data

    @property
    def data(self) -> MarketData:
        if self._data is None:
            self.load_markets()
        assert self._data is not None
        return self._data

    # -- helper threads: order-book snapshots, trades and candles missed in a gap --------
    def _run_tasks(self, tasks: list[Any]) -> None:
        """What the market data asked for, handed over by value (on a reader thread, no
        lock held): it only enqueues, and after close() the requests are ignored."""
        for task in tasks:
            if isinstance(task, md.SnapshotWanted):
                self._fetcher.request(task.symbol, self._snapshot_limit)
            elif isinstance(task, md.GapWanted):
                self._backfiller.request(BackfillJob(task.symbol, task.timeframe, task.request))

    def _apply_snapshot(self, symbol: str, body: bytes, depth: int) -> None:
        """On the fetcher thread: the snapshot enters through the connection that carries
        the book's stream, under its lock, and leaves as that connection's frames do."""
        stream = self._depth_stream(self.market(symbol), None)
        # No client lock: a thread holding it (a paced subscribe) must not stall book
        # syncs. One dict read is atomic; a connection it names that is just being
        # replaced or released still routes into the same market data, where a book
        # that is gone ignores the snapshot.
        conn = self._planner.carrier.get(stream)
        if conn is None:
            return  # unsubscribed meanwhile: its book is gone too
        conn.feed(lambda protocol: protocol.apply_snapshot(stream, body, depth))

    def _apply_backfill(
        self, job: BackfillJob, items: list[Any] | None, more: bool, body: bytes | None
    ) -> GapRequest | None:
        """On the backfill thread: the page enters through the connection carrying the
        stream, as its frames do (and is recorded to the raw log there)."""
        stream = self._gap_stream(job)
        follow: list[GapRequest | None] = [None]

        def produce(tap: RawTap | None) -> Inbound:
            record = None
            if body is not None and tap is not None and tap.enabled:
                record = page_entry(stream, body, tap.clock())
            with self._data_lock:
                deliveries, follow[0] = self.data.backfilled(
                    job.symbol, job.timeframe, job.request.token, items, more, record=record
                )
                return Inbound(
                    deliveries=deliveries,
                    notices=self.data.take_notices(),
                    tasks=self.data.take_tasks(),
                )

        self._feed_gap(stream, produce)
        return follow[0]

    def _drain_backfill(self, job: BackfillJob) -> tuple[bool, GapRequest | None]:
        stream = self._gap_stream(job)
        outcome: list[tuple[bool, GapRequest | None]] = [(True, None)]

        def produce(tap: RawTap | None) -> Inbound:
            with self._data_lock:
                deliveries, closed, again = self.data.drain_gap(job.symbol, job.timeframe)
                outcome[0] = (closed, again)
                return Inbound(
                    deliveries=deliveries,
                    notices=self.data.take_notices(),
                    tasks=self.data.take_tasks(),
                )

        self._feed_gap(stream, produce)
        return outcome[0]

    def _gap_stream(self, job: BackfillJob) -> str:
        market = self.market(job.symbol)
        if job.timeframe is None:
            return self._trades_stream(market)
        return f"{market.lowercaseId}@kline_{job.timeframe}"

    def _feed_gap(self, stream: str, produce: Callable[[RawTap | None], Inbound]) -> None:
        # One dict read, no client lock (as for snapshots).
        conn = self._planner.carrier.get(stream)
        if conn is not None:
            conn.feed(lambda protocol: produce(protocol.raw_tap))
            return
        # Unsubscribed meanwhile: the gap's state still moves on (a later subscription
        # reuses it); no connection carries the stream, so nothing is recorded.
        result = produce(None)
        self._deliver(result.deliveries, result.notices, result.tasks)

    def _deliver(self, deliveries: list[Delivery], notices: list[Any], tasks: list[Any]) -> None:
        from ..._signals import send, signals

        for name, payload in notices:
            signal = getattr(signals, name)
            if signal.receivers:  # as on the reader: sent only when someone listens
                send(signal, self, **payload)
        self._run_tasks(tasks)
        for delivery in deliveries:
            self.hub.deliver(delivery, "backfill")

    # -- connections -------------------------------------------------------------------------
    def _route_base(self, stream: str) -> str:
        return self.endpoints.stream_base(
            route_for_stream(stream) if self.endpoints.routed else None
        )

    def _new_connection(self, base: str, index: int) -> Connection:
        router = RotationRouter(self.data, self._data_lock, self._delivered)
        suffix = base.rsplit("/", 1)[-1] if self.endpoints.routed else "stream"
        name = f"{self.name}-{suffix}-{index}"
        protocol = BinanceStreamProtocol(
            base,
            router,
            max_streams=self._max_streams,
            raw_tap=self._raw_tap,
            name=name,
            freshness=new_freshness(self._freshness),
        )
        conn = Connection(
            protocol,
            hub=self.hub,
            owner=self,
            name=name,
            reconnect=self._reconnect,
            connect_timeout=self.timeout,
            read_timeout=self._read_timeout,
            ping_interval=self._ping_interval,
            outgoing_rate=MESSAGE_RATE[self.product],
            max_message_size=self._max_message_size,
            kind="market",
            on_give_up=self._connection_gave_up,
            on_tasks=self._run_tasks,
        )
        self._watch_rotation(conn, protocol)
        return conn

    def _watch_rotation(self, conn: Connection, protocol: Any) -> None:
        """``serverShutdown`` on ``conn`` (seen by ``protocol``, its protocol, not yet
        started) rotates it, if configured; the rotator watches its age. Any kind:
        market stream, WS API session, listenKey stream."""
        if self._rotate_on_shutdown and hasattr(protocol, "on_server_shutdown"):
            # serverShutdown: a make-before-break rotation instead of a drop.
            protocol.on_server_shutdown = lambda: self._rotator.request(conn)
        if self._rotator.max_age is not None:
            self._rotator.start()

    def rotate(self, name_or_url: str, timeout: float | None = None) -> None:
        """Replace one connection (by name or URL), make-before-break.

        A new connection subscribes to every stream of the old one and is confirmed
        before the old one closes; updates both delivered are passed on once (by
        update id, trade id or event time), order books carry over without a REST
        snapshot when their diff chain continues. ``BadRequest`` if there is no such
        connection. The WS API session and the futures user-data stream rotate too:
        the new session logs on and confirms its user-data subscription before new
        requests go to it, requests in flight finish on the old one (no request is
        ever sent twice), and account events both deliver pass once.
        """
        super().rotate(name_or_url, timeout)

    def _rotate_extra(self, conn: Connection, timeout: float) -> bool:
        if conn.kind == "ws_api":
            self._private.rotate_ws_api(conn, timeout)
        elif conn.kind == "user_data":
            self._private.rotate_user_stream(conn, timeout)
        else:
            return False
        return True

    def _rotatable_extra(self) -> list[Connection]:
        return self._private.connections()

    def _forget(self, stream: str, *, ended: bool = True) -> None:
        """``stream`` is no longer carried (unsubscribed, or its connection gave up):
        its state goes; a book's diffs still in flight are dropped (``ended``)."""
        with self._data_lock:
            self._delivered.forget(stream)
        if "@depth" in stream:
            market_id = stream.split("@", 1)[0]
            with self._data_lock:
                symbol = self.data.markets.by_id(market_id).symbol
                self.data.drop_book(symbol, stream, ended=ended)
            if ended:  # its queued snapshot would be fetched for no book
                self._fetcher.cancel(symbol)
        elif "@kline" in stream:  # unsubscribed: the open candle's close may go unseen
            with self._data_lock:
                self.data.reset([stream])

    def _start(self, stream: str) -> None:
        """``stream`` is subscribed anew: it starts from fresh state, and its diffs
        make its book again."""
        self._forget(stream, ended=False)

    def _close_resources(self, timeout: float) -> None:
        self._close_trading(timeout)
        super()._close_resources(timeout)

    def _close_helpers(self, timeout: float) -> None:
        self.rest.close()  # aborts a snapshot in flight, so the fetcher joins at once
        self._backfiller.close(timeout)
        self._fetcher.close(timeout)

    def _extra_connections(self) -> list[Connection]:
        """The WS API and the user-data stream, if open."""
        return self._private.connections()

    def _purge_finished(self) -> None:
        super()._purge_finished()
        self._private.purge_finished()

    def _stream_hashes(self, stream: str) -> list[str]:
        with self._data_lock:
            return self.data.hashes(stream)

    def _connection_match(self, conn: Connection) -> Callable[[str], bool]:
        if conn.kind == "market":
            return super()._connection_match(conn)
        if conn.kind == "user_data" or self.product == "spot":
            return lambda h: h.split(":", 1)[0] in USER_HASHES
        return lambda h: False  # a futures WS API: only its requests, failed already

    def connection_info(self, url: str) -> ConnectionInfo:
        """Figures for the connection whose URL (or name) is ``url``; ``BadRequest`` if none.
        A closed client's connections keep their final figures here."""
        for info in self._infos(self._every_connection()):
            if url in (info.url, info.name) or info.url.split("?")[0] == url:
                return info
        raise BadRequest(f"{self.name} has no connection {url!r}")

    def _cache_sizes(self) -> dict[str, int]:
        data = self._data
        if data is None:
            return {}
        with self._data_lock:
            sizes = {md.trades_hash(s): len(c) for s, c in data.trades.items()}
            sizes |= {md.ohlcv_hash(s, tf): len(c) for (s, tf), c in data.ohlcvs.items()}
            sizes |= {md.liquidations_hash(s): len(c) for s, c in data.liquidations.items()}
            sizes |= {
                md.orderbook_hash(s): b.book.bid_count + b.book.ask_count
                for s, b in data.books.items()
            }
        return sizes

    # -- stream names ----------------------------------------------------------------------
    def _markets_for(self, symbols: Sequence[str] | str) -> list[Market]:
        symbols = check_symbols(symbols)
        if not symbols:
            raise BadRequest("at least one symbol is required")
        return [self.market(s) for s in symbols]

    def _trades_stream(self, market: Market) -> str:
        return f"{market.lowercaseId}@{self._trades_kind}"

    def _depth_stream(self, market: Market, limit: int | None) -> str:
        speed = f"@{self._depth_speed}" if self._depth_speed else ""
        return f"{market.lowercaseId}@depth{speed}"

    def _futures_only(self, what: str) -> None:
        if self.product == "spot":
            raise NotSupported(f"{what} exists on futures only: use binanceusdm or binancecoinm")

    # -- raw frames ------------------------------------------------------------------------
    def _replayer(self) -> Callable[[RawMessage], list[Delivery]]:
        """Rebuilds structures (tickers, trades, candles, order books from diffs plus
        the recorded REST snapshots) from a raw log, with market data of its own."""
        data = self._make_market_data(self.data.markets, live=False)

        def decode(message: RawMessage) -> list[Delivery]:
            channel = message.channel
            if channel == FENCE_CHANNEL:
                # What follows comes from another source: books restart from its snapshots
                # (trade ids go on deduplicating across it).
                for book in data.books.values():
                    if not book.partial:
                        book.invalidate("raw log fence")
                deliveries: list[Delivery] = []
            elif channel.startswith(SNAPSHOT_CHANNEL):
                market_id, _, depth = channel.removeprefix(SNAPSHOT_CHANNEL).partition("@")
                # The depth bounds the book's sides at reset: 0 or less would empty them.
                if not (depth.isascii() and depth.isdigit() and int(depth) > 0):
                    raise ProtocolError(f"raw log: malformed depth snapshot channel {channel!r}")
                market = data.markets.by_id(market_id)
                known = data.books.get(market.symbol)
                if known is None:  # a log that starts at a fence: no diff made the book yet
                    data.book_for(market)
                elif known.partial:
                    raise ProtocolError(
                        f"raw log: a depth snapshot for {market.symbol}, a partial-depth book"
                    )
                bounds = fence_bounds(message.data, data.number)
                try:
                    deliveries = data.apply_snapshot(
                        market.symbol, message.data, int(depth), bounds=bounds
                    )
                except ValueError as error:  # a bound inside the levels
                    raise ProtocolError(f"raw log: depth snapshot: {error}") from None
            elif channel.startswith(BACKFILL_CHANNEL):
                deliveries = replay_page(data, channel, message.data)
            else:
                routed = data.route(channel, msgspec.Raw(message.data), 0.0)
                deliveries = routed.deliveries if isinstance(routed, Inbound) else routed
            data.take_notices()
            data.take_tasks()  # a replay fetches nothing: snapshots come from the log
            return deliveries

        return decode

    def _raw_fence(self, source: str) -> list[RawMessage]:
        """Raw-log entries for a log that resumes here from another source (a fan-out
        collector taking over): a fence, then each synced diff-depth book as a depth
        snapshot, so that a replay (``_replayer``) restarts its books from them.
        Frames routed before this call and logged after it are then stale to a replay."""
        with self._data_lock:
            now = self._raw_tap.clock()
            out = [RawMessage(source, FENCE_CHANNEL, b"", now)]
            for symbol, sync in self.data.books.items():
                if sync.partial or not sync.synced:
                    continue
                # with each side's bound, so the replayed book takes the diffs it took
                body, depth = fence_body(sync.book)
                stream_id = self.data.markets.market(symbol).lowercaseId
                out.append(RawMessage(source, f"{SNAPSHOT_CHANNEL}{stream_id}@{depth}", body, now))
        return out

    # -- ticker ----------------------------------------------------------------------------
    def _ticker_plan(self, symbols: Sequence[str] | str) -> tuple[list[str], list[str]]:
        markets = self._markets_for(symbols)
        return (
            [f"{m.lowercaseId}@ticker" for m in markets],
            [md.ticker_hash(m.symbol) for m in markets],
        )

    def watch_ticker(
        self, symbol: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> Ticker:
        """Block until the next 24 h ticker of ``symbol`` and return it."""
        streams, hashes = self._ticker_plan(symbol)
        result: Ticker = self._watch("ticker", streams, hashes, timeout)
        return result

    def on_ticker(self, symbol: str, handler: Callable[[Ticker], object]) -> Subscription:
        """Call ``handler(ticker)`` for every ticker update of ``symbol``."""
        return self._on("ticker", *self._ticker_plan(symbol), handler)

    def stream_ticker(self, symbol: str, *, timeout: float | None = None) -> Stream[Ticker]:
        """Iterate over ticker updates (only the newest is kept while you are busy)."""
        return self._stream("ticker", *self._ticker_plan(symbol), Policy.LATEST, timeout)

    def un_watch_ticker(self, symbol: str) -> None:
        """Stop what ``watch_ticker(symbol)`` subscribed (others keep theirs)."""
        self._unwatch("ticker", self._ticker_plan(symbol)[0])

    def watch_tickers(
        self, symbols: Sequence[str], *, timeout: float | None = None
    ) -> dict[str, Ticker]:
        """Block until any of ``symbols`` has a new ticker; returns ``{symbol: ticker}``
        for the one(s) that updated (or all of them with ``newUpdates`` off)."""
        streams, hashes = self._ticker_plan(symbols)
        ticker: Ticker = self._watch("ticker", streams, hashes, timeout)
        if self.new_updates:
            return {ticker.symbol: ticker}
        wanted = [m.symbol for m in self._markets_for(symbols)]
        with self._data_lock:
            known = self.data.tickers
            return {s: known[s] for s in wanted if s in known}

    def on_tickers(
        self, symbols: Sequence[str], handler: Callable[[Ticker], object]
    ) -> Subscription:
        """Call ``handler(ticker)`` for every ticker update of any of ``symbols``."""
        return self._on("ticker", *self._ticker_plan(symbols), handler)

    def stream_tickers(
        self, symbols: Sequence[str], *, timeout: float | None = None
    ) -> Stream[Ticker]:
        return self._stream("ticker", *self._ticker_plan(symbols), Policy.LATEST, timeout)

    def un_watch_tickers(self, symbols: Sequence[str]) -> None:
        self._unwatch("ticker", self._ticker_plan(symbols)[0])

    # -- bids/asks (book ticker) -----------------------------------------------------------
    def _bidask_plan(self, symbols: Sequence[str] | str) -> tuple[list[str], list[str]]:
        markets = self._markets_for(symbols)
        return (
            [f"{m.lowercaseId}@bookTicker" for m in markets],
            [md.bidask_hash(m.symbol) for m in markets],
        )

    def watch_bids_asks(
        self, symbols: Sequence[str] | str, *, timeout: float | None = None
    ) -> dict[str, Ticker]:
        """Block until the best bid/ask of any of ``symbols`` changes; ``{symbol: ticker}``."""
        ticker: Ticker = self._watch("bidask", *self._bidask_plan(symbols), timeout)
        return {ticker.symbol: ticker}

    def on_bids_asks(
        self, symbols: Sequence[str] | str, handler: Callable[[Ticker], object]
    ) -> Subscription:
        return self._on("bidask", *self._bidask_plan(symbols), handler)

    def stream_bids_asks(
        self, symbols: Sequence[str] | str, *, timeout: float | None = None
    ) -> Stream[Ticker]:
        return self._stream("bidask", *self._bidask_plan(symbols), Policy.LATEST, timeout)

    def un_watch_bids_asks(self, symbols: Sequence[str] | str) -> None:
        self._unwatch("bidask", self._bidask_plan(symbols)[0])

    # -- trades ------------------------------------------------------------------------------
    def _trades_plan(self, symbols: Sequence[str] | str) -> tuple[list[str], list[str]]:
        markets = self._markets_for(symbols)
        return (
            [self._trades_stream(m) for m in markets],
            [md.trades_hash(m.symbol) for m in markets],
        )

    def _unread(self, cache: Any, symbol: str) -> bool:
        if cache is None:
            return False
        with self._data_lock:
            return bool(cache.has_unread(symbol))

    def _read_trades(self, symbol: str, since: int | None, limit: int | None) -> list[Trade]:
        with self._data_lock:
            cache = self.data.trades.get(symbol)
            if cache is None:
                return []
            return cache.read(symbol, since, limit, new_updates=self.new_updates)

    def watch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Trade]:
        """Block for the next trade(s) of ``symbol``; returns the cached trades (with
        ``newUpdates``, only those new since your previous call), oldest first."""
        since, limit = check_since(since), check_limit(limit)
        streams, hashes = self._trades_plan(symbol)
        unified = self.market(symbol).symbol
        return self._collect(
            lambda: self._unread(self.data.trades.get(unified), unified),
            lambda: self._read_trades(unified, since, limit),
            lambda: self._watch("trades", streams, hashes, timeout),
        )

    def watch_trades_for_symbols(
        self,
        symbols: Sequence[str],
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Trade]:
        """Block until any of ``symbols`` trades; returns that symbol's new trades."""
        since, limit = check_since(since), check_limit(limit)
        streams, hashes = self._trades_plan(symbols)
        if self.new_updates:
            for market in self._markets_for(symbols):
                if self._unread(self.data.trades.get(market.symbol), market.symbol):
                    return self._read_trades(market.symbol, since, limit)
        batch: list[Trade] = self._watch("trades", streams, hashes, timeout)
        return self._read_trades(batch[0].symbol, since, limit)

    def on_trades(
        self, symbols: Sequence[str] | str, handler: Callable[[list[Trade]], object]
    ) -> Subscription:
        """Call ``handler(trades)`` with each batch of new trades (a list, oldest first)."""
        return self._on("trades", *self._trades_plan(symbols), handler)

    def stream_trades(
        self, symbols: Sequence[str] | str, *, timeout: float | None = None
    ) -> Stream[list[Trade]]:
        """Iterate over batches of trades; nothing is skipped unless you fall far behind."""
        return self._stream("trades", *self._trades_plan(symbols), Policy.APPEND, timeout)

    def un_watch_trades(self, symbol: str) -> None:
        self._unwatch("trades", self._trades_plan(symbol)[0])

    def un_watch_trades_for_symbols(self, symbols: Sequence[str]) -> None:
        self._unwatch("trades", self._trades_plan(symbols)[0])

    # -- OHLCV -------------------------------------------------------------------------------
    def _ohlcv_plan(self, pairs: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
        streams, hashes = [], []
        for symbol, timeframe in pairs:
            check_symbol(symbol)
            check_symbol(timeframe, "timeframe", "'1m'")
            if timeframe not in TIMEFRAMES_BY_PRODUCT[self.product]:
                raise BadRequest(
                    f"unknown timeframe {timeframe!r} on {self.id}; expected one of "
                    f"{TIMEFRAMES_BY_PRODUCT[self.product]}"
                )
            market = self.market(symbol)
            streams.append(f"{market.lowercaseId}@kline_{timeframe}")
            hashes.append(md.ohlcv_hash(market.symbol, timeframe))
        if not streams:
            raise BadRequest("at least one [symbol, timeframe] pair is required")
        return streams, hashes

    def _read_ohlcv(
        self, symbol: str, timeframe: str, since: int | None, limit: int | None
    ) -> list[OHLCV]:
        with self._data_lock:
            cache = self.data.ohlcvs.get((symbol, timeframe))
            if cache is None:
                return []
            return cache.read(since, limit, new_updates=self.new_updates)

    def watch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[OHLCV]:
        """Block for the next candle update; returns the cached candles, oldest first."""
        since, limit = check_since(since), check_limit(limit)
        streams, hashes = self._ohlcv_plan([(symbol, timeframe)])
        unified = self.market(symbol).symbol
        return self._collect(
            lambda: self._unread(self.data.ohlcvs.get((unified, timeframe)), unified),
            lambda: self._read_ohlcv(unified, timeframe, since, limit),
            lambda: self._watch("ohlcv", streams, hashes, timeout),
        )

    def watch_ohlcv_for_symbols(
        self,
        symbols_and_timeframes: Sequence[Sequence[str]],
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, dict[str, list[OHLCV]]]:
        """``[[symbol, timeframe], ...]``; returns ``{symbol: {timeframe: candles}}`` for
        the first pair with candles new since your previous call (waiting if none)."""
        since, limit = check_since(since), check_limit(limit)
        streams, hashes = self._ohlcv_plan([(s, tf) for s, tf in symbols_and_timeframes])
        pairs = [(self.market(s).symbol, tf) for s, tf in symbols_and_timeframes]

        def updated() -> dict[str, dict[str, list[OHLCV]]]:
            for symbol, timeframe in pairs:
                if self._unread(self.data.ohlcvs.get((symbol, timeframe)), symbol):
                    return {symbol: {timeframe: self._read_ohlcv(symbol, timeframe, since, limit)}}
            return {}

        if found := updated():
            return found
        self._watch("ohlcv", streams, hashes, timeout)
        return updated()

    def on_ohlcv(
        self, symbol: str, timeframe: str, handler: Callable[[list[OHLCV]], object]
    ) -> Subscription:
        """Call ``handler(candles)`` with each batch of candle updates."""
        return self._on("ohlcv", *self._ohlcv_plan([(symbol, timeframe)]), handler)

    def stream_ohlcv(
        self, symbol: str, timeframe: str = "1m", *, timeout: float | None = None
    ) -> Stream[list[OHLCV]]:
        return self._stream(
            "ohlcv", *self._ohlcv_plan([(symbol, timeframe)]), Policy.APPEND, timeout
        )

    def un_watch_ohlcv(self, symbol: str, timeframe: str = "1m") -> None:
        self._unwatch("ohlcv", self._ohlcv_plan([(symbol, timeframe)])[0])

    def un_watch_ohlcv_for_symbols(self, symbols_and_timeframes: Sequence[Sequence[str]]) -> None:
        pairs = [(s, tf) for s, tf in symbols_and_timeframes]
        self._unwatch("ohlcv", self._ohlcv_plan(pairs)[0])

    # -- order book --------------------------------------------------------------------------
    def _book_plan(self, symbols: Sequence[str] | str) -> tuple[list[str], list[str]]:
        markets = self._markets_for(symbols)
        return (
            [self._depth_stream(m, None) for m in markets],
            [md.orderbook_hash(m.symbol) for m in markets],
        )

    def watch_order_book(
        self,
        symbol: str,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> OrderBook[Any]:
        """Block for the next update of the local order book (synchronised with a REST
        snapshot as Binance prescribes) and return a copy, at most ``limit`` levels."""
        limit = check_limit(limit)
        book: OrderBook[Any] = self._watch("orderbook", *self._book_plan(symbol), timeout)
        return _limit_book(book, limit)

    def watch_order_book_for_symbols(
        self,
        symbols: Sequence[str],
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> OrderBook[Any]:
        """Block until any of the books changes; returns that book."""
        limit = check_limit(limit)
        book: OrderBook[Any] = self._watch("orderbook", *self._book_plan(symbols), timeout)
        return _limit_book(book, limit)

    def on_order_book(
        self, symbols: Sequence[str] | str, handler: Callable[[OrderBook[Any]], object]
    ) -> Subscription:
        """Call ``handler(book)`` with the newest book (intermediate ones are skipped
        while the handler is busy)."""
        return self._on("orderbook", *self._book_plan(symbols), handler)

    def stream_order_book(
        self, symbols: Sequence[str] | str, *, timeout: float | None = None
    ) -> Stream[OrderBook[Any]]:
        return self._stream("orderbook", *self._book_plan(symbols), Policy.LATEST, timeout)

    def un_watch_order_book(self, symbol: str) -> None:
        self._unwatch("orderbook", self._book_plan(symbol)[0])

    def un_watch_order_book_for_symbols(self, symbols: Sequence[str]) -> None:
        self._unwatch("orderbook", self._book_plan(symbols)[0])

    # -- futures: mark price / funding, liquidations -----------------------------------------
    def _mark_plan(
        self, symbols: Sequence[str] | str, which: Literal["mark", "funding"]
    ) -> tuple[list[str], list[str]]:
        self._futures_only("mark price")
        markets = self._markets_for(symbols)
        make = md.mark_price_hash if which == "mark" else md.funding_hash
        return (
            [f"{m.lowercaseId}@markPrice@1s" for m in markets],
            [make(m.symbol) for m in markets],
        )

    def watch_mark_price(self, symbol: str, *, timeout: float | None = None) -> Ticker:
        """Block for the next mark price (a ticker with ``markPrice`` and ``indexPrice``)."""
        result: Ticker = self._watch("markPrice", *self._mark_plan(symbol, "mark"), timeout)
        return result

    def watch_mark_prices(
        self, symbols: Sequence[str], *, timeout: float | None = None
    ) -> dict[str, Ticker]:
        ticker: Ticker = self._watch("markPrice", *self._mark_plan(symbols, "mark"), timeout)
        return {ticker.symbol: ticker}

    def on_mark_price(
        self, symbols: Sequence[str] | str, handler: Callable[[Ticker], object]
    ) -> Subscription:
        return self._on("markPrice", *self._mark_plan(symbols, "mark"), handler)

    def stream_mark_price(
        self, symbols: Sequence[str] | str, *, timeout: float | None = None
    ) -> Stream[Ticker]:
        return self._stream("markPrice", *self._mark_plan(symbols, "mark"), Policy.LATEST, timeout)

    def un_watch_mark_price(self, symbol: str) -> None:
        self._unwatch("markPrice", self._mark_plan(symbol, "mark")[0])

    def watch_funding_rate(self, symbol: str, *, timeout: float | None = None) -> FundingRate:
        """Block for the next funding-rate update (from the mark price stream)."""
        result: FundingRate = self._watch("markPrice", *self._mark_plan(symbol, "funding"), timeout)
        return result

    def on_funding_rate(
        self, symbols: Sequence[str] | str, handler: Callable[[FundingRate], object]
    ) -> Subscription:
        return self._on("markPrice", *self._mark_plan(symbols, "funding"), handler)

    def stream_funding_rate(
        self, symbols: Sequence[str] | str, *, timeout: float | None = None
    ) -> Stream[FundingRate]:
        return self._stream(
            "markPrice", *self._mark_plan(symbols, "funding"), Policy.LATEST, timeout
        )

    def un_watch_funding_rate(self, symbol: str) -> None:
        self._unwatch("markPrice", self._mark_plan(symbol, "funding")[0])

    def _liquidation_plan(self, symbols: Sequence[str] | str) -> tuple[list[str], list[str]]:
        self._futures_only("liquidations")
        markets = self._markets_for(symbols)
        return (
            [f"{m.lowercaseId}@forceOrder" for m in markets],
            [md.liquidations_hash(m.symbol) for m in markets],
        )

    def _read_liquidations(
        self, symbol: str, since: int | None, limit: int | None
    ) -> list[Liquidation]:
        with self._data_lock:
            cache = self.data.liquidations.get(symbol)
            if cache is None:
                return []
            return cache.read(symbol, since, limit, new_updates=self.new_updates)

    def watch_liquidations(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Liquidation]:
        """Block for the next liquidation(s) of ``symbol``; returns the new ones."""
        since, limit = check_since(since), check_limit(limit)
        streams, hashes = self._liquidation_plan(symbol)
        unified = self.market(symbol).symbol
        return self._collect(
            lambda: self._unread(self.data.liquidations.get(unified), unified),
            lambda: self._read_liquidations(unified, since, limit),
            lambda: self._watch("liquidations", streams, hashes, timeout),
        )

    def watch_liquidations_for_symbols(
        self,
        symbols: Sequence[str],
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Liquidation]:
        since, limit = check_since(since), check_limit(limit)
        batch: list[Liquidation] = self._watch(
            "liquidations", *self._liquidation_plan(symbols), timeout
        )
        return self._read_liquidations(batch[0].symbol, since, limit)

    def on_liquidations(
        self, symbols: Sequence[str] | str, handler: Callable[[list[Liquidation]], object]
    ) -> Subscription:
        return self._on("liquidations", *self._liquidation_plan(symbols), handler)

    def stream_liquidations(
        self, symbols: Sequence[str] | str, *, timeout: float | None = None
    ) -> Stream[list[Liquidation]]:
        return self._stream(
            "liquidations", *self._liquidation_plan(symbols), Policy.APPEND, timeout
        )

    def un_watch_liquidations(self, symbol: str) -> None:
        self._unwatch("liquidations", self._liquidation_plan(symbol)[0])

    def __enter__(self) -> binance:
        self._check_open()
        return self

    def __repr__(self) -> str:
        # Safe on a half-built client (its constructor raised): tracebacks show it.
        environment = getattr(self, "environment", "?")
        product = getattr(self, "product", "?")
        return f"<{type(self).__name__} {environment} {product}>"


class binanceusdm(binance):
    """Binance USD-M futures (``BTC/USDT:USDT``)."""

    default_type = "future"


class binancecoinm(binance):
    """Binance COIN-M futures (``BTC/USD:BTC``)."""

    default_type = "delivery"


def _limit_book(book: OrderBook[Any], limit: int | None) -> OrderBook[Any]:
    if limit is None or (len(book.bids) <= limit and len(book.asks) <= limit):
        return book
    return msgspec.structs.replace(book, bids=book.bids[:limit], asks=book.asks[:limit])
