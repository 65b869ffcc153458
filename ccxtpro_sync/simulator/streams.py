"""Stream-name grammar, cadences and URL routing for the market-stream endpoints.

A stream name is validated once into a :class:`StreamKey`; everything downstream
(feeds, fan-out, routing) works on keys. Names are case-sensitive like Binance's:
symbols must be lowercase, event words keep their camelCase (``aggTrade``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from .catalog import MARKETS, Catalog, MarketName
from .market import KLINE_INTERVALS

Route = Literal["public", "market", "private"]
ROUTES: Final[tuple[Route, ...]] = ("public", "market", "private")

#: WebSocket API paths per market (served by a pluggable handler, see ``server``).
WS_API_PATHS: Final[dict[MarketName, str]] = {
    "spot": "ws-api/v3",
    "usdm": "ws-fapi/v1",
    "coinm": "ws-dapi/v1",
}


@dataclass(frozen=True)
class StreamKey:
    """A validated stream name.

    ``period_ms`` is the nominal push cadence (0 = pushed on every change).
    ``route`` is the USD-M routed path the stream is served under.
    """

    name: str
    kind: str
    symbol: str | None = None
    interval: str | None = None
    levels: int | None = None
    period_ms: int = 0
    route: Route = "public"


_SYMBOL_STREAM = re.compile(r"^([a-z0-9_]+)@(.+)$")
_DEPTH = re.compile(r"^depth(5|10|20)?(?:@(\d+ms))?$")

_SPOT_SIMPLE: Final[dict[str, tuple[str, int]]] = {
    "trade": ("trade", 0),
    "aggTrade": ("aggTrade", 0),
    "ticker": ("ticker", 1000),
    "miniTicker": ("miniTicker", 1000),
    "bookTicker": ("bookTicker", 0),
}
_FUT_SIMPLE: Final[dict[str, tuple[str, int, Route]]] = {
    "aggTrade": ("aggTrade", 0, "market"),
    "ticker": ("ticker", 500, "market"),
    "miniTicker": ("miniTicker", 500, "market"),
    "bookTicker": ("bookTicker", 0, "public"),
    "markPrice": ("markPrice", 3000, "market"),
    "markPrice@1s": ("markPrice", 1000, "market"),
    "forceOrder": ("forceOrder", 1000, "market"),
}
_SPOT_ALL: Final[dict[str, StreamKey]] = {
    "!miniTicker@arr": StreamKey("!miniTicker@arr", "allMiniTicker", period_ms=1000),
}
_FUT_ALL: Final[dict[str, StreamKey]] = {
    "!miniTicker@arr": StreamKey(
        "!miniTicker@arr", "allMiniTicker", period_ms=1000, route="market"
    ),
    "!ticker@arr": StreamKey("!ticker@arr", "allTicker", period_ms=1000, route="market"),
    "!bookTicker": StreamKey("!bookTicker", "allBookTicker", route="public"),
    "!forceOrder@arr": StreamKey(
        "!forceOrder@arr", "allForceOrder", period_ms=1000, route="market"
    ),
    "!markPrice@arr": StreamKey("!markPrice@arr", "allMarkPrice", period_ms=3000, route="market"),
    "!markPrice@arr@1s": StreamKey(
        "!markPrice@arr@1s", "allMarkPrice", period_ms=1000, route="market"
    ),
}
#: COIN-M has no all-market mark price stream (it has per-pair streams instead).
_CM_ALL: Final = {k: v for k, v in _FUT_ALL.items() if not k.startswith("!markPrice")}

_SPOT_DEPTH_SPEEDS: Final = {None: 1000, "100ms": 100}
_FUT_DEPTH_SPEEDS: Final = {None: 250, "500ms": 500, "100ms": 100}


def parse_stream(market: MarketName, name: str, catalog: Catalog) -> StreamKey | None:
    """Validate ``name`` for ``market``; ``None`` means Binance would answer "invalid stream"."""
    if name.startswith("!"):
        table = _SPOT_ALL if market == "spot" else _FUT_ALL if market == "usdm" else _CM_ALL
        return table.get(name)
    m = _SYMBOL_STREAM.match(name)
    if not m:
        return None
    sym_part, rest = m.groups()
    spec = catalog.get(market, sym_part.upper())
    if spec is None:
        return None
    symbol = spec.symbol
    spot = market == "spot"
    if spot and rest in _SPOT_SIMPLE:
        kind, period = _SPOT_SIMPLE[rest]
        return StreamKey(name, kind, symbol, period_ms=period)
    if market == "usdm" and rest == "trade":
        # Not in USD-M's documented stream list, but served by the live server on the
        # public route (real clients such as ccxt.pro subscribe to it there).
        return StreamKey(name, "trade", symbol, route="public")
    if not spot and rest in _FUT_SIMPLE:
        kind, period, route = _FUT_SIMPLE[rest]
        return StreamKey(name, kind, symbol, period_ms=period, route=route)
    if rest.startswith("kline_"):
        interval = rest[len("kline_") :]
        if interval not in KLINE_INTERVALS or (interval == "1s" and not spot):
            return None
        period = (1000 if interval == "1s" else 2000) if spot else 250
        return StreamKey(name, "kline", symbol, interval=interval, period_ms=period, route="market")
    d = _DEPTH.match(rest)
    if d:
        levels_s, speed = d.groups()
        speeds = _SPOT_DEPTH_SPEEDS if spot else _FUT_DEPTH_SPEEDS
        if speed not in speeds:
            return None
        levels = int(levels_s) if levels_s else None
        return StreamKey(
            name,
            "partialDepth" if levels else "depth",
            symbol,
            levels=levels,
            period_ms=speeds[speed],
            route="public",
        )
    return None


def delivered_on(market: MarketName, route: Route | None, key: StreamKey) -> bool:
    """Whether a connection on ``route`` receives ``key``.

    USD-M routes by path; an unrouted USD-M connection behaves like ``/public``
    (market-path streams are accepted there but stay silent, as on Binance).
    """
    if market != "usdm":
        return True
    return key.route == (route or "public")


@dataclass(frozen=True)
class PathInfo:
    """A parsed WebSocket request path."""

    market: MarketName
    route: Route | None
    combined: bool
    streams: tuple[str, ...]
    ws_api: bool = False
    #: Names that must all be valid for the handshake to succeed (``/stream?streams=``
    #: and ``?listenKey=``); a raw ``/ws/<name>`` segment that names no stream is ignored.
    required: tuple[str, ...] = ()


def parse_path(raw: str) -> PathInfo | None:
    """Map a request path to a market endpoint, or ``None`` for 404."""
    split = urlsplit(raw)
    parts = [unquote(p) for p in split.path.split("/")[1:]]
    if not parts or parts[0] not in MARKETS:
        return None
    market: MarketName = parts[0]
    rest = parts[1:]
    route: Route | None = None
    if market == "usdm" and rest and rest[0] in ROUTES:
        route = rest[0]
        rest = rest[1:]
    if route is None and "/".join(rest) == WS_API_PATHS[market]:
        return PathInfo(market, None, False, (), ws_api=True)
    if rest and rest[0] == "ws":
        # ``/private/ws?listenKey=<k>`` (USD-M routed user data) names streams in the query.
        keys = tuple(k for v in parse_qs(split.query).get("listenKey", []) for k in v.split("/"))
        return PathInfo(
            market, route, False, tuple(s for s in (*rest[1:], *keys) if s), required=keys
        )
    if rest == ["stream"]:
        query = parse_qs(split.query)
        names = query.get("streams", [""])[0]
        streams = tuple(s for s in names.split("/") if s)
        return PathInfo(market, route, True, streams, required=streams)
    return None
