"""Private REST endpoints: futures listenKeys and the signed reads a client reconciles with.

listenKey endpoints take only ``X-MBX-APIKEY`` (USER_STREAM); the others are
SIGNED and verified over query + body exactly as sent (see :mod:`.auth`).
Everything reads the same state as the WS API, through :mod:`.account_views`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import api_restrictions, rest_orders
from .account_views import (
    futures_balances,
    futures_positions,
    my_trades,
    open_orders,
    order_status,
)
from .accounts import ApiKey
from .auth import require, verify_rest
from .catalog import MarketName
from .engine import now_ms
from .futures_account import Version, futures_account
from .private_shapes import spot_account_status
from .rest import POOLS, PREFIXES, RestRequest

if TYPE_CHECKING:
    from .private import PrivateExchange

Reader = Callable[[ApiKey, RestRequest], Any]


def install(core: PrivateExchange) -> None:
    """Register every private route on the exchange's REST server."""
    for market in ("usdm", "coinm"):
        path = f"{PREFIXES[market]}/listenKey"
        for method, action in (("POST", _create), ("PUT", _keepalive), ("DELETE", _close)):
            core.rest.route(
                method, path, _listen_key(core, market, action), weight=1, pool=POOLS[market]
            )
    spot = PREFIXES["spot"]
    _signed(
        core,
        "spot",
        f"{spot}/openOrders",
        lambda k, r: open_orders(core.matching, k.account, "spot", r.params),
        lambda r: 6 if r.params.get("symbol") else 80,
    )
    _signed(
        core,
        "spot",
        f"{spot}/order",
        lambda k, r: order_status(core.matching, k.account, "spot", r.params),
        4,
    )
    _signed(
        core,
        "spot",
        f"{spot}/account",
        lambda k, r: spot_account_status(
            k.account, r.params.get("omitZeroBalances", "false").lower() == "true"
        ),
        20,
    )
    _signed(
        core,
        "spot",
        f"{spot}/myTrades",
        lambda k, r: my_trades(core.matching, k.account, r.params),
        20,
    )
    _futures_routes(core, "usdm", "/fapi")
    _futures_routes(core, "coinm", "/dapi")
    rest_orders.install(core)
    api_restrictions.install(core)
    _market_data_routes(core)


def _market_data_routes(core: PrivateExchange) -> None:
    """Routes that need an account's view or an API key: ``historicalTrades``
    (MARKET_DATA: key, no signature) and the futures ``account`` answers."""
    for market in PREFIXES:
        weight = 25 if market == "spot" else 20
        path = f"{PREFIXES[market]}/historicalTrades"
        core.rest.route("GET", path, _historical(core, market), weight=weight, pool=POOLS[market])
    accounts: list[tuple[str, MarketName, Version]] = [
        ("/fapi/v2/account", "usdm", "v2"),
        ("/fapi/v3/account", "usdm", "v3"),
        ("/dapi/v1/account", "coinm", "coinm"),
    ]
    for path, market, version in accounts:
        _signed(core, market, path, _account_reader(core, market, version), 5)


def _historical(core: PrivateExchange, market: MarketName) -> Callable[[RestRequest], Any]:
    def handler(req: RestRequest) -> Any:
        verify_rest(req, core.accounts, now_ms(), signed=False)
        return core.rest.market_rest.historical_trades(market, req)

    return handler


def _account_reader(core: PrivateExchange, market: MarketName, version: Version) -> Reader:
    return lambda k, r: futures_account(core.matching, k.account, market, version)


def _futures_routes(core: PrivateExchange, market: MarketName, root: str) -> None:
    def balances(k: ApiKey, r: RestRequest) -> Any:
        return futures_balances(core.matching, k.account, market)

    def positions(active: bool) -> Reader:
        return lambda k, r: futures_positions(
            core.matching, k.account, market, r.params, only_active=active
        )

    _signed(
        core,
        market,
        f"{root}/v1/openOrders",
        lambda k, r: open_orders(core.matching, k.account, market, r.params),
        lambda r: 1 if r.params.get("symbol") else 40,
    )
    _signed(
        core,
        market,
        f"{root}/v1/order",
        lambda k, r: order_status(core.matching, k.account, market, r.params),
        1,
    )
    _signed(
        core,
        market,
        f"{root}/v1/userTrades",
        lambda k, r: my_trades(core.matching, k.account, r.params, market),
        5,
    )
    if market == "usdm":
        _signed(core, market, "/fapi/v2/balance", balances, 5)
        _signed(core, market, "/fapi/v3/balance", balances, 5)
        _signed(core, market, "/fapi/v2/positionRisk", positions(False), 5)
        _signed(core, market, "/fapi/v3/positionRisk", positions(True), 5)
    else:
        _signed(core, market, "/dapi/v1/balance", balances, 1)
        _signed(core, market, "/dapi/v1/positionRisk", positions(False), 1)


def _signed(
    core: PrivateExchange,
    market: MarketName,
    path: str,
    reader: Reader,
    weight: int | Callable[[RestRequest], int],
) -> None:
    def handler(req: RestRequest) -> Any:
        key = verify_rest(req, core.accounts, now_ms())
        require(key, "USER_DATA")
        with core.engine.lock:
            return reader(key, req)

    core.rest.route("GET", path, handler, weight=weight, pool=POOLS[market])


def _create(core: PrivateExchange, key: ApiKey, market: MarketName, req: RestRequest) -> Any:
    return {"listenKey": core.listen_keys.create(key.account, market)}


def _keepalive(core: PrivateExchange, key: ApiKey, market: MarketName, req: RestRequest) -> Any:
    found = core.listen_keys.keepalive(key.account, market, req.params.get("listenKey") or None)
    return {"listenKey": found}


def _close(core: PrivateExchange, key: ApiKey, market: MarketName, req: RestRequest) -> Any:
    core.listen_keys.close(key.account, market, req.params.get("listenKey") or None)
    return {}


def _listen_key(
    core: PrivateExchange,
    market: MarketName,
    action: Callable[[PrivateExchange, ApiKey, MarketName, RestRequest], Any],
) -> Callable[[RestRequest], Any]:
    def handler(req: RestRequest) -> Any:
        key = verify_rest(req, core.accounts, now_ms(), signed=False)
        require(key, "USER_STREAM")
        return action(core, key, market, req)

    return handler
