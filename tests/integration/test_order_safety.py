"""Order safety against the local exchange: a lost reply never places an order twice.

Each test scripts the exchange's fate for one order request (``faults.order_outcome``:
acted on or not, then the connection dropped, no reply, or ``-1007``) and checks both
what the caller gets and what the exchange holds.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import (
    InvalidOrder,
    NetworkError,
    OrderNotFound,
    OrderNotPlaced,
    OrderStatusUnknown,
    RateLimitExceeded,
    default_reconnect_policy,
)
from ccxtpro_sync._sync.reconnect import is_retryable
from ccxtpro_sync.simulator import LocalExchange

SPOT, USDM = "BTC/USDT", "BTC/USDT:USDT"
KINDS = {"spot": ccxtpro_sync.binance, "usdm": ccxtpro_sync.binanceusdm}
#: A short recvWindow: a request is stale (can no longer execute) 1.5 s after it left.
RECV_WINDOW = 500
#: An order call's timeout: the library keeps ``RECV_WINDOW`` + 2 s (2.5 s) of it for
#: resolving a lost reply and waits for the reply the rest (2.5 s): more would only make
#: the tests whose reply never comes wait longer.
TIMEOUT = 5.0


def client_for(exchange: LocalExchange, account: Any, market: str = "spot") -> Any:
    return KINDS[market](
        {
            "environment": "local",
            "local": exchange,
            "credentials": account.credentials,
            "timeout": 10,
            "recvWindow": RECV_WINDOW,
            # Refused reconnects back off quickly: a test waits for the WS API to come
            # back after its fault, not for a back-off grown to many seconds.
            "reconnect": default_reconnect_policy(initial=0.05, maximum=0.5),
        }
    )


@pytest.fixture
def spot(exchange: LocalExchange, account: Any) -> Iterator[Any]:
    with client_for(exchange, account) as client:
        client.load_markets()
        yield client


def far_price(client: Any, symbol: str) -> float:
    """A buy price far below the market: the order rests."""
    last = client.watch_ticker(symbol).last
    precision = client.market(symbol).precision.price
    return round(last * 0.8 / precision) * precision


def held(exchange: LocalExchange, account: Any, market: str = "spot") -> list[dict[str, Any]]:
    return exchange.orders(account.account, market)


# -- client order ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_every_order_carries_a_client_order_id(
    exchange: LocalExchange, account: Any, market: str
) -> None:
    symbol = SPOT if market == "spot" else USDM
    with client_for(exchange, account, market) as client:
        price = far_price(client, symbol)
        generated = client.create_order_ws(symbol, "limit", "buy", 0.01, price)
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,36}", generated.clientOrderId or "")
        mine = client.create_order_ws(
            symbol, "limit", "buy", 0.01, price, {"clientOrderId": "my-order_1"}
        )
        assert mine.clientOrderId == "my-order_1"
        with pytest.raises(InvalidOrder, match="clientOrderId"):
            client.create_order_ws(symbol, "limit", "buy", 0.01, price, {"clientOrderId": "a b"})
        with pytest.raises(InvalidOrder, match="clientOrderId"):
            client.create_order_ws(
                symbol, "limit", "buy", 0.01, price, {"newClientOrderId": "x" * 37}
            )
    ids = sorted(o["clientOrderId"] for o in held(exchange, account, market))
    assert ids == sorted([generated.clientOrderId, "my-order_1"])


# -- lost replies on order.place ------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["drop", "none", "unknown"])
def test_accepted_order_with_lost_reply_is_returned(
    exchange: LocalExchange, spot: Any, account: Any, answer: str
) -> None:
    price = far_price(spot, SPOT)
    exchange.faults.order_outcome(answer, execute=True)  # type: ignore[arg-type]
    order = spot.create_order_ws(SPOT, "limit", "buy", 0.01, price, timeout=TIMEOUT)
    assert order.status == "open" and order.clientOrderId
    orders = held(exchange, account)
    assert [o["clientOrderId"] for o in orders] == [order.clientOrderId]
    assert exchange.faults.orders.hits == {"order.place": 1}


@pytest.mark.parametrize("answer", ["drop", "none", "unknown"])
def test_order_never_executed_is_reported_not_placed(
    exchange: LocalExchange, spot: Any, account: Any, answer: str
) -> None:
    price = far_price(spot, SPOT)
    exchange.faults.order_outcome(answer, execute=False)  # type: ignore[arg-type]
    with pytest.raises(OrderNotPlaced) as caught:
        spot.create_order_ws(
            SPOT, "limit", "buy", 0.01, price, {"clientOrderId": "retry-me"}, timeout=TIMEOUT
        )
    assert caught.value.client_order_id == "retry-me" and caught.value.symbol == SPOT
    assert not isinstance(caught.value, NetworkError) and not is_retryable(caught.value)
    assert held(exchange, account) == []
    # Not placed: placing it again is safe and yields exactly one order.
    again = spot.create_order_ws(SPOT, "limit", "buy", 0.01, price, {"clientOrderId": "retry-me"})
    assert [o["orderId"] for o in held(exchange, account)] == [int(again.id)]


def test_rejected_order_with_dropped_reply_is_not_placed(
    exchange: LocalExchange, spot: Any, account: Any
) -> None:
    exchange.faults.order_outcome("drop", execute=True)
    with pytest.raises(OrderNotPlaced):
        # 600k USDT of BTC with 10k USDT: the exchange rejects it, then the reply is lost.
        spot.create_order_ws(SPOT, "limit", "buy", 10, 60_000, timeout=TIMEOUT)
    assert held(exchange, account) == []


def test_unresolvable_outcome_raises_order_status_unknown(
    exchange: LocalExchange, spot: Any, account: Any
) -> None:
    price = far_price(spot, SPOT)
    assert spot.fetch_open_orders_ws(SPOT) == []  # the WS API connection is up
    exchange.faults.order_outcome("drop", execute=True)
    exchange.faults.refuse_handshakes(count=1000, status=503)  # it never comes back in time
    with pytest.raises(OrderStatusUnknown) as caught:
        spot.create_order_ws(SPOT, "limit", "buy", 0.01, price, timeout=3.0)
    error = caught.value
    assert error.symbol == SPOT and error.client_order_id and error.action == "create"
    assert not isinstance(error, NetworkError | TimeoutError) and not is_retryable(error)
    exchange.faults.clear()
    # The caller looks it up by the id the error carries: the one order placed.
    # (a generous bound: a loaded machine may be slow to reconnect)
    found = spot.fetch_order_ws("0", SPOT, {"clientOrderId": error.client_order_id}, timeout=45)
    assert found.status == "open"
    assert [o["clientOrderId"] for o in held(exchange, account)] == [error.client_order_id]


def test_futures_accepted_order_with_dropped_reply_is_returned(
    exchange: LocalExchange, account: Any
) -> None:
    with client_for(exchange, account, "usdm") as client:
        price = far_price(client, USDM)
        exchange.faults.order_outcome("drop", execute=True)
        order = client.create_order_ws(USDM, "limit", "buy", 0.01, price, timeout=TIMEOUT)
        assert order.status == "open" and order.symbol == USDM
    assert [o["clientOrderId"] for o in held(exchange, account, "usdm")] == [order.clientOrderId]


def test_cancel_replace_new_order_with_dropped_reply_is_returned(
    exchange: LocalExchange, spot: Any, account: Any
) -> None:
    price = far_price(spot, SPOT)
    placed = spot.create_order_ws(SPOT, "limit", "buy", 0.01, price)
    exchange.faults.order_outcome("drop", execute=True, methods=["order.cancelReplace"])
    replaced = spot.edit_order_ws(placed.id, SPOT, "limit", "buy", 0.01, price * 0.99)
    assert replaced.id != placed.id and replaced.status == "open"
    open_now = [o["clientOrderId"] for o in exchange.orders(account.account, open_only=True)]
    assert open_now == [replaced.clientOrderId]


# -- cancels -------------------------------------------------------------------------------------


def test_cancel_with_lost_reply_is_resolved(
    exchange: LocalExchange, spot: Any, account: Any
) -> None:
    price = far_price(spot, SPOT)
    order = spot.create_order_ws(SPOT, "limit", "buy", 0.01, price)
    exchange.faults.order_outcome("drop", execute=True, methods=["order.cancel"])
    cancelled = spot.cancel_order_ws(order.id, SPOT, timeout=TIMEOUT)
    assert cancelled.id == order.id and cancelled.status == "canceled"

    other = spot.create_order_ws(SPOT, "limit", "buy", 0.01, price)
    exchange.faults.order_outcome("unknown", execute=False, methods=["order.cancel"])
    with pytest.raises(OrderNotPlaced) as caught:
        spot.cancel_order_ws(other.id, SPOT, timeout=TIMEOUT)
    assert caught.value.action == "cancel" and caught.value.order_id == other.id
    still = exchange.orders(account.account, open_only=True)
    assert [o["orderId"] for o in still] == [int(other.id)]


def test_cancel_of_an_already_cancelled_order_returns_it(spot: Any) -> None:
    price = far_price(spot, SPOT)
    order = spot.create_order_ws(SPOT, "limit", "buy", 0.01, price)
    assert spot.cancel_order_ws(order.id, SPOT).status == "canceled"
    again = spot.cancel_order_ws(order.id, SPOT)
    assert again.id == order.id and again.status == "canceled"
    with pytest.raises(OrderNotFound):
        spot.cancel_order_ws("987654321", SPOT)


# -- signed REST trading --------------------------------------------------------------------------


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_rest_trading_round_trip(exchange: LocalExchange, account: Any, market: str) -> None:
    symbol = SPOT if market == "spot" else USDM
    with client_for(exchange, account, market) as client:
        price = far_price(client, symbol)
        placed = client.create_order(symbol, "limit", "buy", 0.01, price)
        assert placed.status == "open" and placed.symbol == symbol and placed.clientOrderId
        by_id = client.fetch_order(placed.id, symbol)
        by_client_id = client.fetch_order("0", symbol, {"clientOrderId": placed.clientOrderId})
        assert by_id.id == by_client_id.id == placed.id
        assert [o.id for o in client.fetch_open_orders(symbol)] == [placed.id]
        assert client.cancel_order(placed.id, symbol).status == "canceled"
        assert client.cancel_order(placed.id, symbol).status == "canceled"  # already
        assert client.fetch_open_orders(symbol) == []
        filled = client.create_order(symbol, "market", "buy", 0.01)
        assert filled.status == "closed"
        trades = client.fetch_my_trades(symbol)
        assert trades and {t.order for t in trades} == {filled.id}
    ids = sorted(o["clientOrderId"] for o in held(exchange, account, market))
    assert ids == sorted([placed.clientOrderId, filled.clientOrderId])


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_rest_accepted_order_with_dropped_reply_is_returned(
    exchange: LocalExchange, account: Any, market: str
) -> None:
    symbol = SPOT if market == "spot" else USDM
    with client_for(exchange, account, market) as client:
        price = far_price(client, symbol)
        exchange.faults.order_outcome("drop", execute=True)
        order = client.create_order(symbol, "limit", "buy", 0.01, price)
        assert order.status == "open"
    assert [o["clientOrderId"] for o in held(exchange, account, market)] == [order.clientOrderId]
    assert exchange.faults.orders.hits == {"order.place": 1}


def test_rest_order_not_executed_with_unknown_status_is_not_placed(
    exchange: LocalExchange, spot: Any, account: Any
) -> None:
    price = far_price(spot, SPOT)
    exchange.faults.order_outcome("unknown", execute=False)
    with pytest.raises(OrderNotPlaced) as caught:
        spot.create_order(SPOT, "limit", "buy", 0.01, price, {"newClientOrderId": "rest-1"})
    assert caught.value.client_order_id == "rest-1"
    assert held(exchange, account) == []
    exchange.faults.order_outcome("unknown", execute=True, methods=["order.cancel"])
    order = spot.create_order(SPOT, "limit", "buy", 0.01, price, {"newClientOrderId": "rest-2"})
    assert spot.cancel_order(order.id, SPOT).status == "canceled"
    assert exchange.orders(account.account, open_only=True) == []


def test_rest_orders_hold_off_while_binance_asks(
    exchange: LocalExchange, spot: Any, account: Any
) -> None:
    price = far_price(spot, SPOT)
    exchange.faults.refuse_rest(count=1, status=429, retry_after=60)
    with pytest.raises(RateLimitExceeded) as first:
        spot.create_order(SPOT, "limit", "buy", 0.01, price)
    assert first.value.retry_after == 60
    sent = exchange.stats().rest_requests
    with pytest.raises(RateLimitExceeded, match="not sent") as second:
        spot.create_order(SPOT, "limit", "buy", 0.01, price)
    assert 0 < (second.value.retry_after or 0) <= 60
    assert exchange.stats().rest_requests == sent  # nothing reached the exchange
    assert held(exchange, account) == []


def test_futures_order_never_executed_with_unknown_status_is_not_placed(
    exchange: LocalExchange, account: Any
) -> None:
    with client_for(exchange, account, "usdm") as client:
        price = far_price(client, USDM)
        exchange.faults.order_outcome("unknown", execute=False)
        with pytest.raises(OrderNotPlaced):
            client.create_order_ws(USDM, "limit", "buy", 0.01, price, timeout=TIMEOUT)
        order = client.create_order_ws(USDM, "limit", "buy", 0.01, price)
        exchange.faults.order_outcome("drop", execute=True, methods=["order.cancel"])
        assert client.cancel_order_ws(order.id, USDM, timeout=TIMEOUT).status == "canceled"
    assert [o["status"] for o in held(exchange, account, "usdm")] == ["CANCELED"]


# -- a reply that arrived but cannot be read ------------------------------------------------------


@pytest.mark.parametrize("via", ["ws", "rest"])
@pytest.mark.parametrize("execute", [True, False])
def test_unreadable_order_reply_is_resolved_not_retryable(
    exchange: LocalExchange, spot: Any, account: Any, via: str, execute: bool
) -> None:
    """A success status whose body is not an order leaves the outcome unknown: a
    ``ProtocolError`` (a ``NetworkError``, which retry policies retry) would have the
    caller place the order twice. The order is looked up by its client order id."""
    price = far_price(spot, SPOT)
    exchange.faults.order_outcome("garbled", execute=execute, methods=["order.place"])
    place = spot.create_order_ws if via == "ws" else spot.create_order
    cid = f"garbled-{via}-{int(execute)}"
    if execute:
        order = place(SPOT, "limit", "buy", 0.01, price, {"clientOrderId": cid}, timeout=TIMEOUT)
        assert order.clientOrderId == cid and order.status == "open"
    else:
        with pytest.raises(OrderNotPlaced) as caught:
            place(SPOT, "limit", "buy", 0.01, price, {"clientOrderId": cid}, timeout=TIMEOUT)
        assert caught.value.client_order_id == cid and not is_retryable(caught.value)
    assert [o["clientOrderId"] for o in held(exchange, account)] == ([cid] if execute else [])
    assert exchange.faults.orders.hits == {"order.place": 1}


def test_close_connection_during_an_order_still_resolves_it(
    exchange: LocalExchange, spot: Any, account: Any
) -> None:
    """``close_connection()`` on the WS API while an order waits for its reply: the
    client is still open, so the order is looked up on a new connection and returned
    (it used to be ``OrderStatusUnknown`` "the client was closed before the reply came")."""
    price = far_price(spot, SPOT)
    assert spot.fetch_open_orders_ws(SPOT) == []  # the WS API connection is up
    exchange.faults.order_outcome("none", execute=True)  # placed, never answered
    outcome: list[Any] = []

    def place() -> None:
        try:
            outcome.append(spot.create_order_ws(SPOT, "limit", "buy", 0.01, price, timeout=TIMEOUT))
        except Exception as error:  # handed to the test thread
            outcome.append(error)

    placer = threading.Thread(target=place)
    placer.start()
    try:
        exchange.wait_until(lambda _: len(held(exchange, account)) == 1, TIMEOUT, "the order")
        (ws_api,) = [c.name for c in spot.connections() if c.kind == "ws_api"]
        spot.close_connection(ws_api)
    finally:
        placer.join(TIMEOUT * 2)
    assert not placer.is_alive()
    (order,) = outcome
    assert not isinstance(order, BaseException), repr(order)
    assert order.status == "open"
    assert [o["clientOrderId"] for o in held(exchange, account)] == [order.clientOrderId]


def test_a_rest_order_with_no_reply_is_resolved_within_the_callers_timeout(
    exchange: LocalExchange, account: Any
) -> None:
    """``create_order(timeout=...)`` bounds the HTTP request too: with a client timeout
    of 300 s and no reply, the order used to wait the whole 300 s before it was looked
    up; now it is looked up once the caller's timeout has passed, and returned."""
    config = {"environment": "local", "local": exchange, "credentials": account.credentials,
              "timeout": 300, "recvWindow": RECV_WINDOW}  # fmt: skip
    with ccxtpro_sync.binance(config) as client:
        price = far_price(client, SPOT)
        exchange.faults.order_outcome("none", execute=True, methods=["order.place"])
        try:
            outcome: list[Any] = []

            def place() -> None:
                try:
                    outcome.append(client.create_order(SPOT, "limit", "buy", 0.01, price,
                                                       timeout=2.0))  # fmt: skip
                except Exception as error:  # handed to the test thread
                    outcome.append(error)

            placer = threading.Thread(target=place, daemon=True)
            placer.start()
            placer.join(60)  # far below the client's 300 s, far above the call's 2 s
            assert not placer.is_alive(), "the REST order sat out the client's timeout"
        finally:
            exchange.faults.clear()  # lets the held answer go
        (order,) = outcome
        assert not isinstance(order, BaseException), repr(order)
        assert order.status == "open"
    assert [o["clientOrderId"] for o in held(exchange, account)] == [order.clientOrderId]
