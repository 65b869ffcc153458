"""Market-data methods of the WS API, answered by the REST endpoint of the same name.

Binance's WS API market-data requests mirror its REST endpoints: same params, same
result, same weight (spot ``depth`` is ``GET /api/v3/depth``, ``trades.recent`` is
``GET /api/v3/trades``...). Each method here turns its JSON params into that REST
request and runs the exchange's own REST handler, so every result has one
implementation and the two APIs cannot drift apart. A method whose REST endpoint the
exchange does not serve answers ``-1020`` (unsupported).

Also here: REST ``GET /api/v3/avgPrice`` (which the WS API ``avgPrice`` mirrors).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlencode

from .catalog import MarketName
from .engine import Engine, now_ms
from .order_input import symbol_of
from .rest import POOLS, ApiError, RestRequest, RestServer

#: WS API method -> REST path, per market (security NONE: no key, no signature).
MARKET_METHODS: Final[dict[MarketName, dict[str, str]]] = {
    "spot": {
        "exchangeInfo": "/api/v3/exchangeInfo",
        "depth": "/api/v3/depth",
        "trades.recent": "/api/v3/trades",
        "trades.historical": "/api/v3/historicalTrades",
        "trades.aggregate": "/api/v3/aggTrades",
        "klines": "/api/v3/klines",
        "avgPrice": "/api/v3/avgPrice",
        "ticker.24hr": "/api/v3/ticker/24hr",
        "ticker.price": "/api/v3/ticker/price",
        "ticker.book": "/api/v3/ticker/bookTicker",
    },
    "usdm": {
        "depth": "/fapi/v1/depth",
        "ticker.price": "/fapi/v1/ticker/price",
        "ticker.book": "/fapi/v1/ticker/bookTicker",
    },
    "coinm": {},
}
#: Minutes ``avgPrice`` averages over (Binance answers ``"mins": 5``).
AVG_PRICE_MINUTES: Final = 5
UNSUPPORTED: Final = "This operation is not supported."


def _query_value(value: Any) -> str:
    """A JSON param as its REST query text (arrays such as ``symbols`` stay JSON)."""
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class WsMarketData:
    """The WS API market-data methods of one market, served through ``rest``'s routes."""

    def __init__(self, rest: RestServer, market: MarketName) -> None:
        self.rest = rest
        self.methods = MARKET_METHODS[market]

    def __contains__(self, method: str) -> bool:
        return method in self.methods

    def request(self, method: str, params: Mapping[str, Any], ip: str) -> RestRequest:
        """The REST request ``method`` stands for."""
        query = {
            k: _query_value(v)
            for k, v in params.items()
            if v is not None and k != "returnRateLimits"
        }
        return RestRequest("GET", self.methods[method], query, {}, b"", ip, urlencode(query))

    def weight(self, req: RestRequest) -> int:
        route = self.rest.routes.get(("GET", req.path))
        if route is None:
            return 1
        return route.weight(req) if callable(route.weight) else route.weight

    def call(self, req: RestRequest) -> Any:
        route = self.rest.routes.get(("GET", req.path))
        if route is None:
            raise ApiError(-1020, UNSUPPORTED)
        return route.handler(req)


def install_avg_price(rest: RestServer, engine: Engine) -> None:
    """``GET /api/v3/avgPrice`` (weight 2): the volume-weighted price of recent trades."""

    def avg_price(req: RestRequest) -> Any:
        spec = symbol_of(rest.catalog, "spot", req.params)
        with engine.lock:
            st = engine.generators["spot"].states[spec.symbol]
            candle = st.candles["5m"]
            if candle.count and candle.volume:
                price = candle.quote_volume / candle.volume
            else:
                price = st.last_price * st.spec.tick_size
            return {
                "mins": AVG_PRICE_MINUTES,
                "price": f"{Decimal(price):.8f}",
                "closeTime": now_ms(),
            }

    rest.route("GET", "/api/v3/avgPrice", avg_price, weight=2, pool=POOLS["spot"])


__all__ = ["MARKET_METHODS", "WsMarketData", "install_avg_price"]
