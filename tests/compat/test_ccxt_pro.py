"""ccxt.pro (async, unmodified) against the local exchange: public and private, spot and USD-M.

Configuration only: ``urls["api"]`` pointed at the local exchange (the same paths under a
local host), the market types to load, and the key. What this exercises on the exchange:
ccxt.pro's ``<base>/ws/<n>`` connection paths with live SUBSCRIBE, USD-M ``@trade`` on
``/public``, ``/fapi/v1/leverageBracket``, the WS API order methods with ccxt's own
signing, and user data over the spot WS API and the USD-M ``/private`` listenKey path.

One instance per market type: ccxt.pro decides whether a stream frame is spot by looking
for ``/stream`` in the host name (``stream.binance.com``), which a local URL cannot
carry; with one market type loaded, the symbol resolves without that hint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from ccxtpro_sync.simulator import LocalExchange

from .conftest import Login

ccxt_pro = pytest.importorskip("ccxt.pro")

T = TypeVar("T")
WAIT = 15.0  # seconds any single ccxt call may take before the test fails


def client(sim: LocalExchange, market_type: str, login: Login | None = None) -> Any:
    """A ccxt.pro binance instance whose URLs point at ``sim``."""
    config: dict[str, Any] = {
        "options": {
            "fetchMarkets": {"types": [market_type]},
            "defaultType": "spot" if market_type == "spot" else "swap",
            "fetchCurrencies": False,
            "fetchMargins": False,
        }
    }
    if login is not None:
        config.update(apiKey=login.api_key, secret=login.secret)
    exchange = ccxt_pro.binance(config)
    rest = sim.urls("spot")["rest"]
    api = exchange.urls["api"]
    for name, url in list(api.items()):
        if isinstance(url, str) and url.startswith("https://"):
            api[name] = rest + "/" + url.split("/", 3)[3]  # same path, local host
    api["ws"]["spot"] = sim.urls("spot")["ws"] + "/ws"
    api["ws"]["linear"] = sim.urls("usdm")["ws"] + "/ws"
    api["ws"]["inverse"] = sim.urls("coinm")["ws"] + "/ws"
    api["ws"]["ws-api"] = {m: sim.urls(k)["ws_api"] for m, k in _WS_API.items()}
    return exchange


_WS_API = {"spot": "spot", "linear": "usdm", "inverse": "coinm"}


def run(
    market_type: str,
    sim: LocalExchange,
    body: Callable[[Any], Awaitable[T]],
    login: Login | None = None,
) -> T:
    async def main() -> T:
        exchange = client(sim, market_type, login)
        try:
            await asyncio.wait_for(exchange.load_markets(), WAIT)
            return await body(exchange)
        finally:
            await exchange.close()

    return asyncio.run(main())


async def within(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, WAIT)


def _user_data_live(sim: LocalExchange, market: str) -> Any:
    """Block until ``market``'s user data reaches a subscriber (WS API or listenKey)."""
    if market == "spot":
        return sim.wait_until(
            lambda _: any(s.subscriptions for s in sim.ws_api_sessions("spot")) or None,
            WAIT,
            "a spot user-data subscription",
        )
    return sim.wait_until(
        lambda stats: (
            any(c.route == "private" and c.subscriptions for c in stats.connections) or None
        ),
        WAIT,
        "a USD-M listenKey stream",
    )


async def user_data_live(sim: LocalExchange, market: str) -> None:
    await asyncio.to_thread(_user_data_live, sim, market)


@pytest.mark.parametrize(
    ("market_type", "symbol"), [("spot", "BTC/USDT"), ("linear", "BTC/USDT:USDT")]
)
def test_public_watch_methods(sim: LocalExchange, market_type: str, symbol: str) -> None:
    async def body(exchange: Any) -> dict[str, Any]:
        return {
            "ticker": await within(exchange.watch_ticker(symbol)),
            "trades": await within(exchange.watch_trades(symbol)),
            "book": await within(exchange.watch_order_book(symbol)),
            "connections": sim.connections(),
        }

    got = run(market_type, sim, body)
    assert got["ticker"]["symbol"] == symbol and got["ticker"]["last"] > 0
    trades = got["trades"]
    assert trades and all(t["symbol"] == symbol and t["amount"] > 0 for t in trades)
    book = got["book"]
    assert book["symbol"] == symbol and book["bids"] and book["asks"]
    assert book["bids"][0][0] < book["asks"][0][0]
    # ccxt.pro's own connection layout: <base>/ws/<n> (routed /public or /market on USD-M)
    connections = got["connections"]
    assert connections and all("/ws/" in c.path for c in connections), connections
    if market_type == "linear":
        public = [c for c in connections if c.route == "public"]
        assert any("btcusdt@trade" in c.subscriptions for c in public), connections


def test_spot_private_orders_and_balance(sim: LocalExchange, login: Login) -> None:
    symbol = "BTC/USDT"

    async def body(exchange: Any) -> dict[str, Any]:
        book = await within(exchange.watch_order_book(symbol))
        price = round(book["bids"][0][0] * 0.9, 2)
        orders_task = asyncio.ensure_future(exchange.watch_orders(symbol))
        balance_task = asyncio.ensure_future(exchange.watch_balance())
        await user_data_live(sim, "spot")  # the order's events must have a subscriber
        placed = await within(exchange.create_order_ws(symbol, "limit", "buy", 0.01, price))
        first = await within(orders_task)
        balance = await within(balance_task)
        while not balance["USDT"]["used"]:  # each call waits for the next account update
            balance = await within(exchange.watch_balance())
        locked = balance["USDT"]["used"]  # read now: ccxt updates the same object later
        after_task = asyncio.ensure_future(exchange.watch_orders(symbol))  # before the event
        cancelled = await within(exchange.cancel_order_ws(placed["id"], symbol))
        after = await within(after_task)
        return {
            "placed": placed,
            "first": first,
            "locked": locked,
            "cancelled": cancelled,
            "after": after,
            "price": price,
        }

    got = run("spot", sim, body, login)
    placed = got["placed"]
    assert placed["status"] == "open" and placed["price"] == got["price"]
    assert any(o["id"] == placed["id"] for o in got["first"])
    assert got["locked"] == pytest.approx(0.01 * got["price"])
    assert got["cancelled"]["status"] == "canceled"
    assert [o["status"] for o in got["after"] if o["id"] == placed["id"]][-1] == "canceled"
    (order,) = sim.orders(login.api_key, "spot")
    assert str(order["orderId"]) == placed["id"] and order["status"] == "CANCELED"


def test_usdm_private_orders_position_and_balance(sim: LocalExchange, login: Login) -> None:
    symbol = "BTC/USDT:USDT"

    async def body(exchange: Any) -> dict[str, Any]:
        book = await within(exchange.watch_order_book(symbol))
        price = round(book["bids"][0][0] * 0.9, 1)
        orders_task = asyncio.ensure_future(exchange.watch_orders(symbol))
        # futures push no ACCOUNT_UPDATE for placing or cancelling: the first is the fill
        balance_task = asyncio.ensure_future(exchange.watch_balance())
        await user_data_live(sim, "usdm")
        placed = await within(exchange.create_order_ws(symbol, "limit", "buy", 0.01, price))
        first = await within(orders_task)
        # by client order id: ccxt.pro sends a numeric orderId as a JSON string, which the
        # futures WS API's documented rule (INT params are JSON integers) rejects
        cancelled = await within(
            exchange.cancel_order_ws(
                placed["id"], symbol, {"clientOrderId": placed["clientOrderId"]}
            )
        )
        filled = await within(exchange.create_order_ws(symbol, "market", "buy", 0.01))
        balance = await within(balance_task)
        return {
            "placed": placed,
            "first": first,
            "cancelled": cancelled,
            "filled": filled,
            "balance": balance,
        }

    got = run("linear", sim, body, login)
    assert got["placed"]["status"] == "open"
    assert any(o["id"] == got["placed"]["id"] for o in got["first"])
    assert got["cancelled"]["status"] == "canceled"
    assert got["filled"]["filled"] == pytest.approx(0.01)
    assert got["balance"]["USDT"]["total"] < 100_000  # the taker fee was paid
    positions = sim.positions(login.api_key, "usdm")
    assert positions["BTCUSDT"].amount == Decimal("0.010")
    statuses = sorted(o["status"] for o in sim.orders(login.api_key, "usdm"))
    assert statuses == ["CANCELED", "FILLED"]


@pytest.mark.parametrize(
    ("market_type", "symbol", "path"),
    [("spot", "BTC/USDT", "/api/v3/order"), ("linear", "BTC/USDT:USDT", "/fapi/v1/order")],
)
def test_rest_create_and_cancel_order(
    sim: LocalExchange, login: Login, market_type: str, symbol: str, path: str
) -> None:
    """ccxt's REST ``create_order`` / ``cancel_order`` (the simulator's REST order routes)."""
    if ("POST", path) not in sim.rest.routes:
        pytest.skip(f"the local exchange does not serve POST {path} on this branch")

    async def body(exchange: Any) -> dict[str, Any]:
        book = await within(exchange.fetch_order_book(symbol, 5))
        price = round(book["bids"][0][0] * 0.9, 1)
        placed = await within(exchange.create_order(symbol, "limit", "buy", 0.01, price))
        cancelled = await within(exchange.cancel_order(placed["id"], symbol))
        return {"placed": placed, "cancelled": cancelled}

    got = run(market_type, sim, body, login)
    assert got["placed"]["status"] == "open"
    assert got["cancelled"]["status"] == "canceled"
    market = "spot" if market_type == "spot" else "usdm"
    (order,) = sim.orders(login.api_key, market)  # type: ignore[arg-type]
    assert str(order["orderId"]) == got["placed"]["id"] and order["status"] == "CANCELED"
