"""REST server (``ThreadingHTTPServer`` in a daemon thread) with Binance-style weights.

Routes are registered on :class:`RestServer` with a weight and a weight pool,
so the private side can add signed endpoints (POST/PUT/DELETE) later without
touching the HTTP plumbing. Handlers return a JSON-able body or raise
:class:`ApiError`; the server adds ``X-MBX-USED-WEIGHT-1M`` and enforces the
per-minute budget with 429 + ``Retry-After`` (a refused call is not charged);
an IP that keeps calling while refused is banned: 418 + ``Retry-After``
(:mod:`.rest_bans`).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from .catalog import Catalog, MarketName, exchange_info
from .engine import Engine, now_ms
from .faults import Faults
from .limits import MarketLimits, WeightCounter
from .market_rest import MarketRest
from .observe import Registry
from .rest_bans import RestBans, retry_after_header

PREFIXES: Final[dict[MarketName, str]] = {
    "spot": "/api/v3",
    "usdm": "/fapi/v1",
    "coinm": "/dapi/v1",
}
#: USD-M and COIN-M share one weight pool per IP (reference §1.3, 2026 integration).
POOLS: Final[dict[MarketName, str]] = {"spot": "spot", "usdm": "futures", "coinm": "futures"}
FUTURES_DEPTH_WEIGHTS: Final = {5: 2, 10: 2, 20: 2, 50: 2, 100: 5, 500: 10, 1000: 20}
UNSUPPORTED_CODE: Final = -1020
UNSUPPORTED_MSG: Final = "This operation is not supported."
_SPOT_SYMBOL: Final = re.compile(r"^[A-Z0-9\-_.]{1,20}$")


class DropConnection(Exception):
    """Raised by a route to close the connection without any response (a lost reply)."""


class ApiError(Exception):
    """A Binance error body ``{"code":..,"msg":..}`` with its HTTP status."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


@dataclass
class RestRequest:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    ip: str
    #: The raw query string, as sent (signed endpoints verify over it).
    query: str = ""


@dataclass
class RestResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[RestRequest], Any]
Weight = int | Callable[[RestRequest], int]


@dataclass(frozen=True)
class RestCall:
    """One answered REST call (``time.monotonic()`` times), for tests that check when
    and how many calls the exchange saw."""

    arrived: float
    answered: float
    method: str
    path: str
    status: int


#: Answered calls kept by :meth:`RestServer.calls` (the newest).
JOURNAL_SIZE: Final = 10_000


@dataclass
class Route:
    handler: Handler
    weight: Weight
    pool: str


def spot_depth_weight(limit: int) -> int:
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


class RestServer:
    """HTTP front-end; see :meth:`route` to add endpoints."""

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        limits: dict[MarketName, MarketLimits],
        registry: Registry,
        faults: Faults,
        *,
        host: str,
        port: int,
    ) -> None:
        self.engine, self.catalog, self.limits = engine, catalog, limits
        self.registry, self.faults = registry, faults
        self.routes: dict[tuple[str, str], Route] = {}
        self.weights = WeightCounter()
        #: The 429 → 418 escalation (durations settable: ``exchange.rest.bans``).
        self.bans = RestBans()
        #: Wall clock for weight windows; tests may pin it to avoid minute boundaries.
        self.clock: Callable[[], float] = time.time
        self.pool_limits = {POOLS[m]: limits[m].rest_weight for m in PREFIXES}
        self._sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        self._httpd = _Httpd((host, port), _make_handler(self))
        self.port: int = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None
        self._closed = False
        self._stopping = threading.Event()  # ends a delayed answer (faults.delay_rest) early
        self._journal: deque[RestCall] = deque(maxlen=JOURNAL_SIZE)
        self.market_rest = MarketRest(self, engine)
        for market in PREFIXES:
            self._add_market_routes(market)

    def route(self, method: str, path: str, handler: Handler, *, weight: Weight, pool: str) -> None:
        """Register ``handler`` for ``method path`` charging ``weight`` to ``pool``."""
        self.routes[(method.upper(), path)] = Route(handler, weight, pool)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="ccxtpro-sim-rest",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
        self._httpd.server_close()
        with self._sockets_lock:
            for sock in list(self._sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    # -- request pipeline ------------------------------------------------------------------
    def track(self, sock: socket.socket, add: bool) -> None:
        with self._sockets_lock:
            (self._sockets.add if add else self._sockets.discard)(sock)

    def calls(self) -> list[RestCall]:
        """The last answered calls, oldest first (a call cut off by ``DropConnection``
        is not listed)."""
        return list(self._journal)

    def dispatch(self, req: RestRequest) -> RestResponse:
        arrived = time.monotonic()
        delay = self.faults.take_rest_delay(req.path)
        if delay > 0:
            self._stopping.wait(delay)
        resp = self._dispatch(req)
        self._journal.append(RestCall(arrived, time.monotonic(), req.method, req.path, resp.status))
        return resp

    def _dispatch(self, req: RestRequest) -> RestResponse:
        self.registry.bump("rest_requests")
        refusal = self.faults.take_rest_refusal()
        if refusal is not None:
            self.registry.bump("rest_refused")
            return RestResponse(
                refusal.status,
                self._limit_body(refusal.status, "spot", refusal.retry_after),
                {} if refusal.retry_after is None else {"Retry-After": str(refusal.retry_after)},
            )
        route = self.routes.get((req.method, req.path))
        if route is None:
            # Binance documents no body for these; answer its error shape with the
            # documented "unsupported operation" code so clients get a typed error.
            known = any(path == req.path for _, path in self.routes)
            status = 405 if known else 404
            return RestResponse(status, {"code": UNSUPPORTED_CODE, "msg": UNSUPPORTED_MSG})
        now = self.clock()
        early: ApiError | None = None
        try:
            weight = route.weight(req) if callable(route.weight) else route.weight
        except ApiError as exc:
            weight, early = 1, exc
        banned = self.bans.banned_for(route.pool, req.ip, now)
        if banned is not None:  # a banned IP is refused before anything is weighed
            return self._refuse_banned(route.pool, req.ip, banned, now)
        charged, used = self.weights.charge(
            route.pool, req.ip, weight, self.pool_limits[route.pool], now
        )
        headers = {"X-MBX-USED-WEIGHT": str(used), "X-MBX-USED-WEIGHT-1M": str(used)}
        if not charged:
            # Refused calls are not charged (Binance documents a ban, not a cost, for
            # calls sent while limited); too many in a row earn that ban.
            ban = self.bans.refused(route.pool, req.ip, now)
            if ban is not None:
                return self._refuse_banned(route.pool, req.ip, ban, now)
            retry = WeightCounter.retry_after(now)
            self.registry.bump("rest_refused")
            headers["Retry-After"] = str(retry)
            return RestResponse(429, self._limit_body(429, route.pool, retry), headers)
        self.bans.accepted(route.pool, req.ip)
        try:
            if early is not None:
                raise early
            return RestResponse(200, route.handler(req), headers)
        except ApiError as exc:
            return RestResponse(exc.status, {"code": exc.code, "msg": exc.msg}, headers)

    def _refuse_banned(self, pool: str, ip: str, seconds: float, now: float) -> RestResponse:
        """418 with ``Retry-After`` (whole seconds until the ban ends), weight unchanged."""
        self.registry.bump("rest_refused")
        used = str(self.weights.used(pool, ip, now))
        retry = retry_after_header(seconds)
        headers = {"X-MBX-USED-WEIGHT": used, "X-MBX-USED-WEIGHT-1M": used, "Retry-After": retry}
        return RestResponse(418, self._limit_body(418, pool, int(retry)), headers)

    def _limit_body(self, status: int, pool: str, retry_after: int | None) -> dict[str, Any]:
        if status == 418 and retry_after is not None:
            until = now_ms() + retry_after * 1000
            return {
                "code": -1003,
                "msg": f"Way too much request weight used; IP banned until "
                f"{until}. Please use WebSocket Streams for live updates to avoid bans.",
            }
        return {
            "code": -1003,
            "msg": f"Too much request weight used; current limit is "
            f"{self.pool_limits[pool]} request weight per 1 MINUTE. Please use WebSocket "
            "Streams for live updates to avoid polling the API.",
        }

    # -- public market endpoints -----------------------------------------------------------
    def _add_market_routes(self, market: MarketName) -> None:
        prefix, pool = PREFIXES[market], POOLS[market]
        self.route("GET", f"{prefix}/ping", lambda r: {}, weight=1, pool=pool)
        self.route("GET", f"{prefix}/time", lambda r: {"serverTime": now_ms()}, weight=1, pool=pool)
        self.route(
            "GET",
            f"{prefix}/exchangeInfo",
            lambda r: self._exchange_info(market, r),
            weight=20 if market == "spot" else 1,
            pool=pool,
        )
        self.route(
            "GET",
            f"{prefix}/depth",
            lambda r: self._depth(market, r),
            weight=lambda r: self._depth_weight(market, r),
            pool=pool,
        )
        self.market_rest.install(market, prefix, pool)

    def symbol_param(self, market: MarketName, req: RestRequest) -> str:
        """The request's ``symbol``, validated (-1102/-1100/-1121 as Binance answers)."""
        return self._symbol(market, req)

    def _symbol(self, market: MarketName, req: RestRequest) -> str:
        symbol = req.params.get("symbol", "")
        if not symbol:
            raise ApiError(
                -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            )
        if market == "spot" and not _SPOT_SYMBOL.match(symbol):
            raise ApiError(
                -1100,
                "Illegal characters found in parameter 'symbol'; legal range "
                "is '^[A-Z0-9-_.]{1,20}$'.",
            )
        if self.catalog.get(market, symbol) is None:
            raise ApiError(-1121, "Invalid symbol.")
        return symbol

    @staticmethod
    def _limit(market: MarketName, req: RestRequest) -> int:
        raw = req.params.get("limit")
        if raw is None:
            return 100 if market == "spot" else 500
        if market == "spot":
            if not (raw.isascii() and raw.isdigit()) or len(raw) > 20:
                raise ApiError(
                    -1100,
                    "Illegal characters found in parameter 'limit'; legal "
                    "range is '^[0-9]{1,20}$'.",
                )
            if int(raw) < 1:
                raise ApiError(
                    -1100, "Illegal characters found in parameter 'limit'; legal range is '1-5000'."
                )
            return min(int(raw), 5000)
        if not (raw.isascii() and raw.isdigit()) or int(raw) not in FUTURES_DEPTH_WEIGHTS:
            raise ApiError(
                -1100,
                "Illegal characters found in parameter 'limit'; legal range "
                "is '5, 10, 20, 50, 100, 500, 1000'.",
            )
        return int(raw)

    def _depth_weight(self, market: MarketName, req: RestRequest) -> int:
        limit = self._limit(market, req)
        return spot_depth_weight(limit) if market == "spot" else FUTURES_DEPTH_WEIGHTS[limit]

    def _depth(self, market: MarketName, req: RestRequest) -> Any:
        symbol = self._symbol(market, req)
        return self.engine.depth(market, symbol, self._limit(market, req))

    def _exchange_info(self, market: MarketName, req: RestRequest) -> Any:
        specs = self.catalog.symbols(market)
        if market == "spot" and ("symbol" in req.params or "symbols" in req.params):
            if "symbol" in req.params:
                wanted = [self._symbol(market, req)]
            else:
                try:
                    wanted = json.loads(req.params["symbols"])
                except ValueError:
                    wanted = None
                if not isinstance(wanted, list) or not all(isinstance(s, str) for s in wanted):
                    raise ApiError(
                        -1100,
                        "Illegal characters found in parameter 'symbols'; "
                        'legal range is \'^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9'
                        "-_.]{1,20}\"){0,}){0,1}\\]$'.",
                    )
                if any(self.catalog.get(market, s) is None for s in wanted):
                    raise ApiError(-1121, "Invalid symbol.")
            specs = [s for s in specs if s.symbol in (wanted or ())]
        return exchange_info(market, specs, now_ms(), self.limits[market].rest_weight)


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _make_handler(server: RestServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real API
        server_version = "ccxtpro-sim"
        timeout = 30

        def setup(self) -> None:
            super().setup()
            server.track(self.connection, True)

        def finish(self) -> None:
            server.track(self.connection, False)
            with contextlib.suppress(OSError):
                super().finish()

        def log_message(self, fmt: str, *args: Any) -> None:
            """Silence per-request logging."""

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            params = dict(parse_qsl(split.query, keep_blank_values=True))
            if body and "json" not in (self.headers.get("Content-Type") or ""):
                params.update(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
            req = RestRequest(
                self.command,
                split.path,
                params,
                dict(self.headers.items()),
                body,
                self.client_address[0],
                split.query,
            )
            try:
                resp = server.dispatch(req)
            except DropConnection:
                self.close_connection = True
                return
            data = (
                b"" if resp.body is None else json.dumps(resp.body, separators=(",", ":")).encode()
            )
            try:
                self.send_response(resp.status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in resp.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client hung up while we answered (a slow answer, say)
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return _Handler
