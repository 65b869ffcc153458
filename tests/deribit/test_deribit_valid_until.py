"""An order request that reaches the local Deribit exchange after its ``valid_until``
is refused ``timed_out`` (13888), as Deribit documents: the matching engine does not
process it. The client reports that as ``OrderNotPlaced`` (placing again is safe),
not as an unknown outcome. Before, the local exchange ignored ``valid_until`` and
placed (or edited) the late order."""

from __future__ import annotations

import pytest

from ccxtpro_sync import DeribitClient, ExchangeError, OrderNotPlaced
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture
from .wire import WireProxy

PERP = "BTC/USD:BTC"
#: The client's ``orderValidFor`` (ms): the request's window, shorter than the latency.
ORDER_VALID_FOR = 1000
#: Latency the proxy adds to one request: it reaches the exchange after its window.
LATE = 1.6

ex = exchange_fixture(seed=11, auto_publish=False, min_heartbeat=1.0)


def _timed_out(error: OrderNotPlaced) -> bool:
    cause = error.__cause__
    return isinstance(cause, ExchangeError) and getattr(cause, "code", None) == 13888


def test_a_create_reaching_the_exchange_after_valid_until_is_not_placed(
    ex: LocalDeribit, client: DeribitClient, proxy: WireProxy
) -> None:
    proxy.delay = ("private/buy", LATE)
    with pytest.raises(OrderNotPlaced) as caught:
        client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "late-1"})
    error = caught.value
    assert (error.action, error.client_order_id, error.symbol) == ("create", "late-1", PERP)
    assert _timed_out(error) and "valid_until" in str(error)
    assert client.fetch_open_orders_ws(PERP) == []
    assert [m for m in proxy.sent() if m == "private/buy"] == ["private/buy"]  # sent once
    placed = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "late-1"})
    assert [o.id for o in client.fetch_open_orders_ws(PERP)] == [placed.id]


def test_an_edit_reaching_the_exchange_after_valid_until_is_not_applied(
    ex: LocalDeribit, client: DeribitClient, proxy: WireProxy
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000)
    proxy.delay = ("private/edit", LATE)
    with pytest.raises(OrderNotPlaced) as caught:
        client.edit_order_ws(order.id, PERP, "limit", "buy", 20, 40500)
    error = caught.value
    assert (error.action, error.order_id) == ("edit", order.id) and _timed_out(error)
    unchanged = client.fetch_order_ws(order.id)
    assert (unchanged.status, unchanged.amount, unchanged.price) == ("open", 10, 40000)


def test_a_request_in_time_is_processed_and_a_bad_valid_until_is_refused(
    ex: LocalDeribit, client: DeribitClient
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000)
    assert order.status == "open"
    with pytest.raises(ExchangeError) as bad:
        client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"valid_until": "soon"})
    assert not isinstance(bad.value, OrderNotPlaced)


#: What a lying server answers to an order request it did act on.
LIE = {"code": 13888, "message": "timed_out"}


def test_a_timed_out_answer_for_an_order_the_server_placed_returns_that_order(
    ex: LocalDeribit, client: DeribitClient, proxy: WireProxy
) -> None:
    # 13888 is taken as "not processed" only once a look-up by label confirms it: a
    # server answering it for an order it did place must not make placing again "safe".
    proxy.fail = ("private/buy", LIE)
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "lie-1"})
    assert (order.clientOrderId, order.status) == ("lie-1", "open")
    assert [o.id for o in client.fetch_open_orders_ws(PERP)] == [order.id]
    assert [m for m in proxy.sent() if m == "private/buy"] == ["private/buy"]  # sent once


def test_a_timed_out_answer_for_an_edit_the_server_applied_returns_the_edited_order(
    ex: LocalDeribit, client: DeribitClient, proxy: WireProxy
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000)
    proxy.fail = ("private/edit", LIE)
    edited = client.edit_order_ws(order.id, PERP, "limit", "buy", 20, 40500)
    assert (edited.id, edited.amount, edited.price) == (order.id, 20, 40500)
    assert [m for m in proxy.sent() if m == "private/edit"] == ["private/edit"]
