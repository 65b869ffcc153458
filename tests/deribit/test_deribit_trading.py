"""Trading over the Deribit client's websocket against the local Deribit exchange."""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync import (
    DeribitClient,
    InvalidArgument,
    InvalidOrder,
    OrderNotFound,
    OrderNotPlaced,
    OrderStatusUnknown,
    deribit,
)
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture
from .test_deribit_session import make
from .wire import WireProxy

PERP = "BTC/USD:BTC"
#: The client's ``orderValidFor``: a swallowed request is "not placed" after ~2 s, not ~6.
ORDER_VALID_FOR = 1000


ex = exchange_fixture(seed=6, auto_publish=False, min_heartbeat=1.0)


def test_order_lifecycle(ex: LocalDeribit, client: DeribitClient) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "my-1"})
    assert order.status == "open" and order.clientOrderId == "my-1" and order.price == 40000
    assert [o.id for o in client.fetch_open_orders_ws(PERP)] == [order.id]
    edited = client.edit_order_ws(order.id, PERP, "limit", "buy", 20, 40500)
    assert edited.id == order.id and edited.amount == 20 and edited.price == 40500
    assert client.fetch_order_ws(order.id).price == 40500
    cancelled = client.cancel_order_ws(order.id)
    assert cancelled.status == "canceled"
    with pytest.raises(OrderNotFound):
        client.fetch_order_ws("999999")
    placed = [client.create_order_ws(PERP, "limit", "buy", 10, p) for p in (40000, 41000)]
    eth = client.create_order_ws("ETH/USD:ETH", "limit", "buy", 1, 1000)
    cancelled = client.cancel_all_orders_ws(PERP)  # CCXT: the cancelled orders, not a count
    assert sorted(o.id for o in cancelled) == sorted(o.id for o in placed)
    assert {(o.symbol, o.status) for o in cancelled} == {(PERP, "canceled")}
    assert [o.id for o in client.fetch_open_orders_ws()] == [eth.id]
    everything = client.cancel_all_orders_ws()
    assert [(o.id, o.symbol, o.status) for o in everything] == [(eth.id, "ETH/USD:ETH", "canceled")]
    assert client.fetch_open_orders_ws() == []
    assert client.cancel_all_orders_ws() == []
    with pytest.raises(InvalidOrder):
        client.create_order_ws(PERP, "limit", "buy", 10, 40000.3)  # off tick: 10043


def test_fills_trades_balance_positions(ex: LocalDeribit, client: DeribitClient) -> None:
    before = client.fetch_balance_ws()
    assert before["BTC"].total == 10
    order = client.create_order_ws(PERP, "market", "buy", 100)
    assert order.status == "closed" and order.filled == 100
    trades = client.fetch_my_trades_ws(PERP)
    assert sum(t.amount for t in trades) == 100 and {t.order for t in trades} == {order.id}
    positions = client.fetch_positions_ws([PERP])
    assert len(positions) == 1 and positions[0].side == "long"
    after = client.fetch_balance_ws(["BTC"])
    assert set(after.balances) == {"BTC"}


def test_lost_reply_is_resolved_by_label_not_resent(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    client.wait_ready(10)
    proxy.cut = ("private/buy", True)  # reaches the exchange, the reply is lost
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "lost-1"})
    assert order.clientOrderId == "lost-1" and order.status == "open"
    sent = [m for s in range(len(proxy.sessions)) for m in proxy.methods(s)]
    assert sent.count("private/buy") == 1
    assert "private/get_order_state_by_label" in sent
    assert [o.clientOrderId for o in client.fetch_open_orders_ws(PERP)] == ["lost-1"]


def test_request_that_never_arrived_is_order_not_placed(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    client.wait_ready(10)
    proxy.cut = ("private/buy", False)  # never reaches the exchange
    with pytest.raises(OrderNotPlaced) as caught:
        client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "gone-1"})
    assert caught.value.client_order_id == "gone-1"
    assert client.fetch_open_orders_ws(PERP) == []
    sent = [m for s in range(len(proxy.sessions)) for m in proxy.methods(s)]
    assert sent.count("private/buy") == 1


def test_lost_cancel_reply_returns_the_cancelled_order(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "c-1"})
    proxy.cut = ("private/cancel", True)  # executed, the reply is lost
    cancelled = client.cancel_order_ws(order.id, PERP)
    assert cancelled.id == order.id and cancelled.status == "canceled"
    assert proxy.sent().count("private/cancel") == 1
    assert "private/get_order_state" in proxy.sent()
    assert client.fetch_order_ws(order.id).status == "canceled"


def test_swallowed_cancel_is_order_not_placed(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "c-2"})
    proxy.cut = ("private/cancel", False)  # never reaches the exchange
    with pytest.raises(OrderNotPlaced) as caught:
        client.cancel_order_ws(order.id, PERP)
    assert caught.value.action == "cancel" and caught.value.order_id == order.id
    assert proxy.sent().count("private/cancel") == 1
    assert client.fetch_order_ws(order.id).status == "open"


def test_lost_edit_reply_returns_the_edited_order(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "e-1"})
    proxy.cut = ("private/edit", True)
    edited = client.edit_order_ws(order.id, PERP, "limit", "buy", 20, 40500)
    assert edited.id == order.id and edited.amount == 20 and edited.price == 40500
    assert proxy.sent().count("private/edit") == 1
    state = client.fetch_order_ws(order.id)
    assert state.amount == 20 and state.price == 40500 and state.status == "open"


def test_swallowed_edit_is_order_not_placed(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "e-2"})
    proxy.cut = ("private/edit", False)
    with pytest.raises(OrderNotPlaced) as caught:
        client.edit_order_ws(order.id, PERP, "limit", "buy", 20, 40500)
    assert caught.value.action == "edit" and caught.value.order_id == order.id
    assert proxy.sent().count("private/edit") == 1
    state = client.fetch_order_ws(order.id)
    assert state.amount == 10 and state.price == 40000 and state.status == "open"


def test_lost_cancel_without_reconnect_is_status_unknown(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "c-3"})
    proxy.block.set()  # the connection does not come back
    proxy.cut = ("private/cancel", True)
    with pytest.raises(OrderStatusUnknown) as caught:
        client.cancel_order_ws(order.id, PERP, timeout=0.5)
    assert caught.value.action == "cancel" and caught.value.order_id == order.id
    assert proxy.sent().count("private/cancel") == 1
    direct = WireProxy(ex.url)  # the exchange's view, on a connection of its own
    other = make(ex, direct)
    try:
        assert other.fetch_order_ws(order.id).status == "canceled"
    finally:
        other.close()
        direct.close()


def test_operations_on_an_order_that_is_not_open_raise_order_not_found(
    ex: LocalDeribit, client: DeribitClient
) -> None:
    """CCXT's contract: cancelling (or editing) an order that was already cancelled or
    filled is ``OrderNotFound``; Deribit answers ``11044 not_open_order``."""
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000)
    client.cancel_order_ws(order.id, PERP)
    with pytest.raises(OrderNotFound) as cancelled_again:
        client.cancel_order_ws(order.id, PERP)
    assert cancelled_again.value.code == 11044  # type: ignore[attr-defined]
    with pytest.raises(OrderNotFound):
        client.edit_order_ws(order.id, PERP, "limit", "buy", 20, 40000)
    filled = client.create_order_ws(PERP, "market", "buy", 10)
    assert filled.status == "closed"
    with pytest.raises(OrderNotFound):
        client.cancel_order_ws(filled.id, PERP)
    assert client.fetch_order_ws(order.id).status == "canceled"  # nothing else changed


def test_order_valid_for_sets_each_requests_valid_until(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    before = client._server_now_ms(5)
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "v-1"})
    client.edit_order_ws(order.id, PERP, "limit", "buy", 20, 40000)
    after = client._server_now_ms(5)
    frames = [
        f for s in proxy.sessions for f in s if f.get("method") in ("private/buy", "private/edit")
    ]
    assert [f["method"] for f in frames] == ["private/buy", "private/edit"]
    for frame in frames:
        assert before + ORDER_VALID_FOR <= frame["params"]["valid_until"] <= after + ORDER_VALID_FOR


@pytest.mark.parametrize("bad", [0, 99, 60_001, 1000.0, "1000", True])
def test_order_valid_for_is_an_int_of_milliseconds(bad: Any) -> None:
    with pytest.raises(InvalidArgument, match="orderValidFor"):
        deribit({"environment": "test", "options": {"orderValidFor": bad}})
