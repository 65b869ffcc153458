"""A local Binance-compatible exchange for tests and demos.

``LocalExchange`` runs a WebSocket market-stream server (asyncio, own thread) and
a REST server (HTTP threads) on 127.0.0.1, fed by a deterministic market
generator. It mimics Binance's payloads, ids, limits and error codes closely
enough that a client passing against it should work against the real exchange.

Example::

    with LocalExchange(seed=1) as ex:
        urls = ex.urls("spot")
        # connect to urls["ws"] + "/ws/btcusdt@depth@100ms", GET urls["rest"] + "/api/v3/depth"

See ``docs/simulator.md`` for the URL layout, stream list and fault API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, TypeVar

from .catalog import MARKETS, Catalog, MarketName, SymbolSpec
from .deribit import LocalDeribit
from .engine import BookSnapshot, Engine
from .faults import ConnMatch, Faults
from .limits import DEFAULT_LIMITS, AttemptLimiter, MarketLimits
from .observe import ConnectionInfo, Registry, Stats
from .private import PrivateExchange, PrivateMixin, PrivateOptions
from .rest import ApiError, RestRequest, RestServer
from .server import WsServer
from .streams import WS_API_PATHS

__all__ = [
    "ApiError",
    "BookSnapshot",
    "ConnMatch",
    "ConnectionInfo",
    "Faults",
    "LocalDeribit",
    "LocalExchange",
    "MarketLimits",
    "MarketName",
    "PrivateOptions",
    "RestRequest",
    "Stats",
    "SymbolSpec",
]

T = TypeVar("T")
PerMarket = float | int | Mapping[str, float] | None


def _per_market(name: str, value: PerMarket) -> dict[MarketName, Any]:
    """Expand an option given once (all markets) or per market into a full mapping."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        unknown = set(value) - set(MARKETS)
        if unknown:
            raise ValueError(f"{name}: unknown market(s) {sorted(unknown)}")
        return {m: value[m] for m in MARKETS if m in value}
    return dict.fromkeys(MARKETS, value)


class LocalExchange(PrivateMixin):
    """Binance-compatible local exchange (spot, USD-M, COIN-M market data and trading).

    All options are keyword-only. Per-market options accept one number for every
    market or a mapping such as ``{"spot": 1.0}``; unspecified markets keep
    Binance's values (see :data:`~.limits.DEFAULT_LIMITS`).

    Args:
        host: bind address of both servers.
        ws_port: WebSocket port (0 = pick a free one).
        rest_port: REST port (0 = pick a free one).
        seed: seeds the market generator; same seed + same ticks = same books and trades.
        auto_publish: run the generator in the background every ``tick_interval``.
            With ``False``, drive it with :meth:`tick`.
        tick_interval: generator period in seconds.
        speed: divides every stream cadence (1000 ms streams push every
            ``1000 / speed`` ms, rounded to whole ticks).
        book_levels: resting levels per side of each true book.
        symbols: per market, names of default symbols and/or custom
            :class:`SymbolSpec` s to list instead of the defaults.
        ping_interval, pong_timeout: server keep-alive (spot 20/60 s, futures 180/600 s).
        max_lifetime: connection lifetime in seconds (24 h), market streams and WS API
            alike; shrink it to test a day-long lifetime in seconds.
        shutdown_notice: seconds before ``max_lifetime`` that spot connections get
            ``serverShutdown`` (default 0: sent as the lifetime ends).
        message_rate: inbound frames per second per connection (spot 5, futures 10).
        max_streams: streams per connection (spot 1024, futures 200).
        rest_weight: REST weight per minute per IP (spot 6000, futures 2400; USD-M and
            COIN-M share one pool).
        connection_attempts, connection_window: handshake attempts per IP per window
            (300 per 300 s).
        private: :class:`PrivateOptions` (listenKey validity, WS API limits). The private
            API (accounts, orders, faults) comes from :class:`~.private.PrivateMixin`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        ws_port: int = 0,
        rest_port: int = 0,
        seed: int = 0,
        auto_publish: bool = True,
        tick_interval: float = 0.05,
        speed: float = 1.0,
        book_levels: int = 300,
        symbols: Mapping[MarketName, Sequence[str | SymbolSpec]] | None = None,
        ping_interval: PerMarket = None,
        pong_timeout: PerMarket = None,
        max_lifetime: PerMarket = None,
        shutdown_notice: PerMarket = None,
        message_rate: PerMarket = None,
        max_streams: PerMarket = None,
        rest_weight: PerMarket = None,
        connection_attempts: int = 300,
        connection_window: float = 300.0,
        private: PrivateOptions | None = None,
    ) -> None:
        if tick_interval <= 0 or speed <= 0:
            raise ValueError("tick_interval and speed must be positive")
        overrides: dict[str, dict[MarketName, Any]] = {
            "ping_interval": _per_market("ping_interval", ping_interval),
            "pong_timeout": _per_market("pong_timeout", pong_timeout),
            "max_lifetime": _per_market("max_lifetime", max_lifetime),
            "shutdown_notice": _per_market("shutdown_notice", shutdown_notice),
            "message_rate": _per_market("message_rate", message_rate),
            "max_streams": _per_market("max_streams", max_streams),
            "rest_weight": _per_market("rest_weight", rest_weight),
        }
        self.limits: dict[MarketName, MarketLimits] = {
            m: replace(DEFAULT_LIMITS[m], **{k: v[m] for k, v in overrides.items() if m in v})
            for m in MARKETS
        }
        self.catalog = Catalog.build(symbols)
        self.engine = Engine(
            self.catalog,
            seed=seed,
            tick_interval=tick_interval,
            speed=speed,
            book_levels=book_levels,
        )
        self.registry = Registry()
        self.ws = WsServer(
            self.engine,
            self.catalog,
            self.limits,
            self.registry,
            AttemptLimiter(connection_attempts, connection_window),
            host=host,
            port=ws_port,
            auto_publish=auto_publish,
        )
        self.faults = Faults(self.ws, self.engine)
        self.ws.faults = self.faults
        self.rest = RestServer(
            self.engine,
            self.catalog,
            self.limits,
            self.registry,
            self.faults,
            host=host,
            port=rest_port,
        )
        self.private = PrivateExchange(
            self.engine, self.rest, self.ws, self.registry, seed=seed, options=private
        )
        self.host = host
        self._started = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> LocalExchange:
        """Start both servers (idempotent); returns ``self``."""
        if self._closed:
            raise RuntimeError("LocalExchange cannot be restarted after close()")
        if not self._started:
            self._started = True
            self.rest.start()
            try:
                self.ws.start()
            except BaseException:
                self.close()
                raise
            self.private.start()
        return self

    def close(self) -> None:
        """Stop both servers, close every socket and join the threads (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.ws.close()
        self.rest.close()

    def __enter__(self) -> LocalExchange:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- addresses -------------------------------------------------------------------------
    def urls(self, market: MarketName) -> dict[str, str]:
        """``ws``: stream base (append ``/ws/<streams>``, ``/stream?streams=`` or, for
        ``usdm``, ``/public|/market|/private`` first); ``ws_api``: WS API endpoint;
        ``rest``: HTTP base (``/api/v3``, ``/fapi/v1`` or ``/dapi/v1`` follow)."""
        if market not in MARKETS:
            raise ValueError(f"unknown market {market!r}; expected one of {MARKETS}")
        ws = f"ws://{self.host}:{self.ws.port}/{market}"
        return {
            "ws": ws,
            "ws_api": f"{ws}/{WS_API_PATHS[market]}",
            "rest": f"http://{self.host}:{self.rest.port}",
        }

    # -- market control --------------------------------------------------------------------
    def tick(self, n: int = 1) -> None:
        """Run ``n`` generator steps synchronously and publish what they produce."""
        self.engine.tick(n)

    def publish(self, market: MarketName, stream: str, payload: Any) -> None:
        """Push ``payload`` to every subscriber of ``stream`` (wrapped for combined ones)."""
        self.engine.publish(market, stream, payload)

    def book(self, market: MarketName, symbol: str, depth: int | None = None) -> BookSnapshot:
        """The true book of ``symbol`` (consistent with the diff streams' update ids)."""
        return self.engine.book(market, symbol, depth)

    # -- observability ---------------------------------------------------------------------
    def stats(self) -> Stats:
        """Counters plus a snapshot of every open market-stream connection."""
        return self.registry.stats()

    def connections(self, market: MarketName | None = None) -> list[ConnectionInfo]:
        return [
            c for c in self.registry.stats().connections if market is None or c.market == market
        ]

    def wait_until(
        self, predicate: Callable[[Stats], T | None], timeout: float = 5.0, what: str = "condition"
    ) -> T:
        """Block until ``predicate(stats())`` is truthy; raise ``TimeoutError`` otherwise."""
        return self.registry.wait(predicate, timeout, what)

    def wait_for_connections(
        self, n: int, timeout: float = 5.0, market: MarketName | None = None
    ) -> list[ConnectionInfo]:
        """Wait until exactly ``n`` market-stream connections are open (0 waits for all
        to close) and return them."""

        def check(s: Stats) -> tuple[list[ConnectionInfo]] | None:
            conns = [c for c in s.connections if market is None or c.market == market]
            return (conns,) if len(conns) == n else None

        return self.wait_until(check, timeout, f"{n} open connection(s)")[0]

    def wait_for_handshakes(self, n: int, timeout: float = 5.0) -> int:
        """Wait until at least ``n`` handshakes were accepted in total (reconnect tests)."""
        return self.wait_until(
            lambda s: s.handshakes_accepted if s.handshakes_accepted >= n else None,
            timeout,
            f"{n} handshake(s)",
        )

    def wait_for_subscription(
        self, stream: str, timeout: float = 5.0, market: MarketName | None = None
    ) -> ConnectionInfo:
        """Wait until some open connection is subscribed to ``stream`` and return it."""

        def check(s: Stats) -> ConnectionInfo | None:
            for c in s.connections:
                if stream in c.subscriptions and (market is None or c.market == market):
                    return c
            return None

        return self.wait_until(check, timeout, f"subscription to {stream}")

    def register_ws_api(self, market: MarketName, handler: Callable[[Any], Any]) -> None:
        """Serve ``handler(connection)`` (a websockets coroutine) on ``urls(market)["ws_api"]``."""
        self.ws.register_ws_api(market, handler)

    def add_rest_route(
        self,
        method: str,
        path: str,
        handler: Callable[[RestRequest], Any],
        *,
        weight: int | Callable[[RestRequest], int],
        pool: str,
    ) -> None:
        """Add a REST endpoint; ``pool`` is ``"spot"`` or ``"futures"`` (weight budget)."""
        self.rest.route(method, path, handler, weight=weight, pool=pool)
