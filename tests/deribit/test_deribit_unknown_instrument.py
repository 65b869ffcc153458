"""An order on an instrument the client has not loaded (listed after its markets
were loaded): a cancel or edit of it, and the look-up of a lost reply, load the
instrument (``public/get_instrument``) instead of asking again until the budget
ends and reporting ``OrderStatusUnknown``.

The client is made to "have loaded its markets before the instrument was listed"
by dropping the perpetual from its table; the exchange still lists it.
"""

from __future__ import annotations

import pytest

from ccxtpro_sync import DeribitClient, Order, OrderStatusUnknown
from ccxtpro_sync._exchanges.deribit.markets import DeribitMarkets
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture
from .orders import order_call
from .wire import WireProxy

PERP = "BTC/USD:BTC"
PERP_ID = "BTC-PERPETUAL"


ex = exchange_fixture(seed=31, auto_publish=False, min_heartbeat=1.0)


def forget_perpetual(client: DeribitClient) -> None:
    """The client's markets as if loaded before the perpetual was listed."""
    markets = client._loaded_markets()
    client._markets = DeribitMarkets(
        [m for m in markets.values() if m.id != PERP_ID], number=markets.number
    )
    assert PERP not in client.load_markets()


@pytest.mark.parametrize("lost", [False, True], ids=["reply", "lost-reply"])
@pytest.mark.parametrize("action", ["cancel", "edit"])
def test_an_order_on_an_instrument_not_loaded_is_resolved(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient, action: str, lost: bool
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "u-1"})
    forget_perpetual(client)
    method = {"cancel": "private/cancel", "edit": "private/edit"}[action]
    if lost:
        proxy.cut = (method, True)  # executed, the reply is lost
    call = order_call(client, order, action, "")
    result = call()
    assert isinstance(result, Order)
    assert result.id == order.id and result.symbol == PERP
    if action == "cancel":
        assert result.status == "canceled"
    else:
        assert result.status == "open" and result.amount == 20 and result.price == 40500
    sent = proxy.sent()
    assert sent.count(method) == 1  # never sent twice
    assert sent.count("public/get_instrument") == 1  # loaded once, then known
    assert sent.count("private/get_order_state") <= 1
    assert client.market(PERP).id == PERP_ID


def test_a_look_up_naming_an_instrument_the_exchange_does_not_list_is_asked_again(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "u-2"})
    proxy.cut = ("private/cancel", True)  # executed, the reply is lost
    # one answer names an instrument nobody lists: unreadable, like a garbled answer
    proxy.reply = ("private/get_order_state", lambda r: {**r, "instrument_name": "NOPE-1"})
    cancelled = client.cancel_order_ws(order.id, PERP, timeout=5)
    assert cancelled.id == order.id and cancelled.status == "canceled"
    sent = proxy.sent()
    assert sent.count("private/cancel") == 1
    assert sent.count("private/get_order_state") == 2  # the next answer is readable
    assert sent.count("public/get_instrument") == 1  # the exchange was asked once


def test_an_instrument_loaded_once_is_known_after(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    orders = [
        client.create_order_ws(PERP, "limit", "buy", 10, 40000 + i, {"clientOrderId": f"t-{i}"})
        for i in range(3)
    ]
    forget_perpetual(client)
    for o in orders:
        assert client.cancel_order_ws(o.id).status == "canceled"
    assert proxy.sent().count("public/get_instrument") == 1


def test_a_lost_cancel_on_a_combo_the_client_cannot_show_is_unknown_at_once(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "u-3"})
    forget_perpetual(client)
    proxy.cut = ("private/cancel", True)  # executed, the reply is lost
    # the exchange describes the instrument as a combo: no unified market for it
    proxy.reply = ("public/get_instrument", lambda r: {**r, "kind": "future_combo"})
    with pytest.raises(OrderStatusUnknown) as caught:
        client.cancel_order_ws(order.id, timeout=5)
    assert caught.value.action == "cancel" and caught.value.order_id == order.id
    assert "combo" in str(caught.value)
    sent = proxy.sent()
    assert sent.count("private/cancel") == 1
    assert sent.count("private/get_order_state") == 1  # not asked again until time ran out
