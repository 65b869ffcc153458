"""Where each Binance environment lives: market streams, WebSocket API and REST.

One :class:`Endpoints` value per (environment, market type) so the rest of
the library never spells a URL itself. The public environments come from a
static table (protocol reference §1); ``local`` is built at run time from the
embedded local exchange's ``urls(market)`` mapping via
:meth:`Endpoints.from_urls`, so tests and production go through one type.

A service an environment does not offer is ``None`` in the table and raises
``NotSupported`` when asked for, instead of silently pointing at production.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, get_args
from urllib.parse import urlsplit, urlunsplit

from ..._exceptions import BadRequest, NotSupported
from .wire import Product

__all__ = [
    "ENVIRONMENTS",
    "MARKET_TYPES",
    "Endpoints",
    "Environment",
    "Route",
    "Service",
    "endpoints",
    "route_for_stream",
]

#: ``local`` is the embedded local exchange; the others are Binance's.
Environment: TypeAlias = Literal["prod", "demo", "testnet", "local"]
#: USD-M market-stream routed paths (§1.2).
Route: TypeAlias = Literal["public", "market", "private"]
Service: TypeAlias = Literal["ws", "ws_api", "rest"]

ENVIRONMENTS: Final[tuple[Environment, ...]] = get_args(Environment)
MARKET_TYPES: Final[tuple[Product, ...]] = get_args(Product)

#: REST path prefixes (signed calls and listenKeys live under these).
_REST_PREFIX: Final[dict[Product, str]] = {
    "spot": "/api/v3",
    "usdm": "/fapi/v1",
    "coinm": "/dapi/v1",
}
_LISTEN_KEY_PATH: Final[dict[Product, str | None]] = {
    # Spot listenKeys were retired on 2026-02-20 (§7.2); user data uses the WS API.
    "spot": None,
    "usdm": "/fapi/v1/listenKey",
    "coinm": "/dapi/v1/listenKey",
}
#: The WS API path per market type, also what a local exchange serves (§1).
WS_API_PATHS: Final[dict[Product, str]] = {
    "spot": "/ws-api/v3",
    "usdm": "/ws-fapi/v1",
    "coinm": "/ws-dapi/v1",
}


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The URLs of one environment and market type.

    ``ws`` is the market-stream *base* (append ``/ws/...`` or ``/stream?...``,
    after the route for USD-M); ``ws_api`` is the complete WebSocket API URL;
    ``rest`` is the REST origin without a path. ``routed`` says the stream
    host splits traffic by ``/public``, ``/market`` and ``/private`` paths, and
    that an unrouted connection only sees ``/public`` data (§1.2).
    """

    environment: Environment
    market: Product
    ws: str | None
    ws_api: str | None
    rest: str | None
    routed: bool = False
    #: Why a ``None`` service is missing, for the ``NotSupported`` message.
    note: str = ""

    # -- construction --------------------------------------------------------------
    @classmethod
    def from_urls(
        cls, market: Product, urls: Mapping[str, str], environment: Environment = "local"
    ) -> Endpoints:
        """Endpoints from a ``{"ws", "ws_api", "rest"}`` mapping (the local exchange's
        ``urls(market)``). USD-M stays routed, as the local exchange mirrors Binance."""
        _check_market(market)
        missing = [k for k in ("ws", "ws_api", "rest") if k not in urls]
        if missing:
            raise BadRequest(f"endpoint mapping for {market} lacks {', '.join(missing)}")
        return cls(
            environment=environment,
            market=market,
            ws=urls["ws"].rstrip("/"),
            ws_api=urls["ws_api"],
            rest=urls["rest"].rstrip("/"),
            routed=market == "usdm",
        )

    def replace(self, **changes: str | bool | None) -> Endpoints:
        """A copy with some URLs overridden (e.g. a proxy, or an undocumented host)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    # -- lookups -------------------------------------------------------------------
    def require(self, service: Service) -> str:
        """The URL of ``service``; ``NotSupported`` if this environment lacks it."""
        url: str | None = getattr(self, service)
        if url is None:
            detail = f" ({self.note})" if self.note else ""
            raise NotSupported(
                f"binance {self.environment} {self.market} has no {_SERVICE_NAMES[service]}"
                f"{detail}; pass the URL explicitly with Endpoints.replace({service}=...)"
            )
        return url

    def stream_base(self, route: Route | None = None) -> str:
        """Market-stream base for a connection, with the USD-M route applied.

        On a routed host a missing route is an error rather than a silent
        ``/public``-only connection; elsewhere ``route`` is ignored.
        """
        base = self.require("ws")
        if not self.routed:
            return base
        if route is None:
            raise BadRequest(
                "USD-M streams need a route ('public', 'market' or 'private'); "
                "see route_for_stream()"
            )
        return f"{base}/{route}"

    @property
    def rest_prefix(self) -> str:
        """``/api/v3``, ``/fapi/v1`` or ``/dapi/v1``."""
        return _REST_PREFIX[self.market]

    @property
    def listen_key_path(self) -> str:
        """The REST path of the futures listenKey endpoint (POST/PUT/DELETE)."""
        path = _LISTEN_KEY_PATH[self.market]
        if path is None:
            raise NotSupported(
                "spot listenKeys were retired; spot user data uses userDataStream.subscribe"
            )
        return path


_SERVICE_NAMES: Final[dict[Service, str]] = {
    "ws": "market-stream endpoint",
    "ws_api": "WebSocket API",
    "rest": "REST API",
}

_FUTURES_DEMO_NOTE = (
    "Binance documents only the demo REST host for USD-M futures; demo-fstream.binance.com "
    "appears in third-party code but no Binance source confirms it"
)

_TABLE: Final[dict[tuple[Environment, Product], Endpoints]] = {
    (e.environment, e.market): e
    for e in (
        # Spot (§1.1)
        Endpoints(
            "prod",
            "spot",
            ws="wss://stream.binance.com:9443",
            ws_api="wss://ws-api.binance.com:443/ws-api/v3",
            rest="https://api.binance.com",
        ),
        Endpoints(
            "testnet",
            "spot",
            ws="wss://stream.testnet.binance.vision",
            ws_api="wss://ws-api.testnet.binance.vision/ws-api/v3",
            rest="https://testnet.binance.vision",
        ),
        Endpoints(
            "demo",
            "spot",
            ws="wss://demo-stream.binance.com",
            ws_api="wss://demo-ws-api.binance.com/ws-api/v3",
            rest="https://demo-api.binance.com",
        ),
        # USD-M (§1.2)
        Endpoints(
            "prod",
            "usdm",
            ws="wss://fstream.binance.com",
            ws_api="wss://ws-fapi.binance.com/ws-fapi/v1",
            rest="https://fapi.binance.com",
            routed=True,
        ),
        Endpoints(
            "testnet",
            "usdm",
            # The SDK's host; the F "General Info" page says stream.binancefuture.com.
            ws="wss://fstream.binancefuture.com",
            ws_api="wss://testnet.binancefuture.com/ws-fapi/v1",
            rest="https://testnet.binancefuture.com",
            # The SDK applies routed paths regardless of environment.
            routed=True,
        ),
        Endpoints(
            "demo",
            "usdm",
            ws=None,
            ws_api=None,
            rest="https://demo-fapi.binance.com",
            routed=True,
            note=_FUTURES_DEMO_NOTE,
        ),
        # COIN-M (§1.3)
        Endpoints(
            "prod",
            "coinm",
            ws="wss://dstream.binance.com",
            ws_api="wss://ws-dapi.binance.com/ws-dapi/v1",
            rest="https://dapi.binance.com",
        ),
        Endpoints(
            "testnet",
            "coinm",
            ws="wss://dstream.binancefuture.com",
            ws_api="wss://testnet.binancefuture.com/ws-dapi/v1",
            rest="https://testnet.binancefuture.com",
        ),
    )
}


def _check_environment(environment: str) -> None:
    if environment not in ENVIRONMENTS:
        raise BadRequest(
            f"unknown binance environment {environment!r}; expected one of "
            + ", ".join(ENVIRONMENTS)
        )


def _check_market(market: str) -> None:
    if market not in MARKET_TYPES:
        raise BadRequest(
            f"unknown binance market type {market!r}; expected one of " + ", ".join(MARKET_TYPES)
        )


def endpoints(environment: str, market: str) -> Endpoints:
    """The endpoints of a public environment (``prod``, ``demo``, ``testnet``).

    Unknown names raise ``BadRequest``; combinations Binance does not run
    (COIN-M demo) raise ``NotSupported``; ``local`` must come from the local
    exchange via :meth:`Endpoints.from_urls`.
    """
    _check_environment(environment)
    _check_market(market)
    if environment == "local":
        raise BadRequest(
            "the local environment's URLs come from the running local exchange: "
            "use Endpoints.from_urls(market, local_exchange.urls(market))"
        )
    found = _TABLE.get((environment, market))  # type: ignore[arg-type]
    if found is None:
        raise NotSupported(f"binance has no {environment} environment for {market} futures")
    return found


#: Stream-name heads served on the USD-M ``/public`` path (§1.2); all else is ``/market``.
_PUBLIC_HEADS: Final[tuple[str, ...]] = ("bookTicker", "depth", "rpiDepth")


def route_for_stream(stream: str) -> Route:
    """The USD-M routed path serving ``stream`` (``btcusdt@depth@100ms`` → ``public``).

    Book data (book ticker, depth) is ``/public``; other market data is
    ``/market``. A listenKey is not a stream name: user data is ``/private``.
    """
    if stream.startswith("!"):
        head = stream[1:].split("@", 1)[0]
    else:
        _, _, rest = stream.partition("@")
        head = rest.split("@", 1)[0]
    if head.startswith(_PUBLIC_HEADS):
        return "public"
    return "market"


# --------------------------------------------------------------------------- redaction

#: Query parameters whose values are credentials or bearer tokens.
_SECRET_PARAMS: Final = frozenset({"listenkey", "signature", "apikey", "token", "secret"})


def redact_listen_key(listen_key: str) -> str:
    """A listenKey as it may be shown: its first four characters, never the key.

    The key is a bearer token for the account's private stream; four characters
    tell two keys apart in a log without letting anyone use one."""
    return f"{listen_key[:4]}…[redacted]" if listen_key else listen_key


def is_stream_name(name: str) -> bool:
    """Whether ``name`` is a market stream (``btcusdt@trade``, ``!bookTicker``) rather
    than a listenKey: every stream name has an ``@`` or starts with ``!``."""
    return "@" in name or name.startswith("!")


def redact_stream(name: str) -> str:
    """``name`` unchanged if it is a market stream, else (a listenKey) redacted."""
    return name if is_stream_name(name) else redact_listen_key(name)


def redact_url(url: str) -> str:
    """``url`` safe to show: listenKeys in the path (``/ws/<key>``) or in a combined
    ``streams=`` list, and token-like query values (``listenKey``, ``signature``,
    ``apiKey``), are redacted. Apply it wherever a URL leaves a connection (signals,
    logs, errors, ``ConnectionInfo``, metrics labels)."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if len(segments) > 1 and segments[-2] == "ws" and segments[-1]:
        segments[-1] = "/".join(redact_stream(s) for s in segments[-1].split("/"))
    query = []
    for pair in parts.query.split("&") if parts.query else []:
        key, sep, value = pair.partition("=")
        if key.lower() in _SECRET_PARAMS and value:
            value = redact_listen_key(value) if key.lower() == "listenkey" else "[redacted]"
        elif key == "streams":
            value = "/".join(redact_stream(s) for s in value.split("/"))
        query.append(f"{key}{sep}{value}")
    return urlunsplit(parts._replace(path="/".join(segments), query="&".join(query)))
