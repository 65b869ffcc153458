"""atk6: a Deribit order reply that cannot be read, or that names another order, is an
unknown outcome that is resolved (by label, or by the order's state), never guessed.

The request reaches the local Deribit and is acted on; a proxy then replaces the
``result`` of its reply. The client parsed that reply outside the lost-reply path: an
unreadable one reached the caller as a ``ProtocolError`` (a ``NetworkError``, which a
retry policy retries: a second order) with the order on the book, an empty cancel
result as an ``IndexError``, and a reply naming another order was returned as the
caller's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ccxtpro_sync import DeribitClient, OrderNotPlaced, OrderStatusUnknown
from ccxtpro_sync.simulator import LocalDeribit

from ..reliability.support import run_in_thread
from .exchange import exchange_fixture
from .orders import order_call
from .wire import WireProxy

PERP = "BTC/USD:BTC"
#: The client's ``orderValidFor``: a swallowed request is "not placed" after ~2 s, not ~6.
ORDER_VALID_FOR = 1000


ex = exchange_fixture(seed=6, auto_publish=False, min_heartbeat=1.0)


def _another_order(result: Any) -> Any:
    """The reply as if it named another order (other id and label)."""
    out = copy.deepcopy(result)
    orders = out if isinstance(out, list) else [out.get("order", out)]
    for order in orders:
        order["order_id"] = "ETH-999999"
        order["label"] = "someone-else"
    return out


GARBLED: dict[str, Callable[[Any], Any]] = {
    "not-an-order": lambda result: ["garbled"],
    "empty": lambda result: [] if isinstance(result, list) else {},
    "unknown-instrument": lambda result: _with_instrument(result, "NOPE-PERPETUAL"),
    "another-order": _another_order,
}


def _with_instrument(result: Any, name: str) -> Any:
    out = copy.deepcopy(result)
    orders = out if isinstance(out, list) else [out.get("order", out)]
    for order in orders:
        order["instrument_name"] = name
    return out


@pytest.mark.parametrize("garble", list(GARBLED))
def test_an_unreadable_or_foreign_order_reply_is_resolved_by_label(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient, garble: str
) -> None:
    client.wait_ready(10)
    proxy.reply = ("private/buy", GARBLED[garble])
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "mine-1"})
    assert order.clientOrderId == "mine-1" and order.status == "open"
    assert proxy.sent().count("private/buy") == 1
    assert "private/get_order_state_by_label" in proxy.sent()
    assert [(o.id, o.clientOrderId) for o in client.fetch_open_orders_ws(PERP)] == [
        (order.id, "mine-1")
    ]


@pytest.mark.parametrize("garble", list(GARBLED))
def test_an_unreadable_or_foreign_cancel_reply_is_resolved_by_the_order_state(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient, garble: str
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "c-1"})
    proxy.reply = ("private/cancel", GARBLED[garble])
    cancelled = client.cancel_order_ws(order.id, PERP)
    assert cancelled.id == order.id and cancelled.status == "canceled"
    assert proxy.sent().count("private/cancel") == 1
    assert "private/get_order_state" in proxy.sent()


@pytest.mark.parametrize("garble", list(GARBLED))
def test_an_unreadable_or_foreign_edit_reply_is_resolved_by_the_order_state(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient, garble: str
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "e-1"})
    proxy.reply = ("private/edit", GARBLED[garble])
    edited = client.edit_order_ws(order.id, PERP, "limit", "buy", 20, 40500)
    assert edited.id == order.id and edited.amount == 20 and edited.price == 40500
    assert proxy.sent().count("private/edit") == 1
    assert "private/get_order_state" in proxy.sent()


def test_a_lost_reply_is_not_resolved_to_an_older_order_with_the_same_label(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    """A careless caller reuses a label: the first order, placed a minute ago, was
    cancelled; the second request never reaches the exchange and its reply is lost.
    The label's one order is the first one, which is not this request's outcome."""
    first = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "again"})
    client.cancel_order_ws(first.id, PERP)
    held = ex.account().orders[first.id]

    def date_back() -> None:  # on the exchange's thread; no test waits for a clock
        held.created -= 60_000

    ex.server.call(date_back)
    proxy.cut = ("private/buy", False)  # never reaches the exchange
    with pytest.raises(OrderNotPlaced) as caught:
        client.create_order_ws(PERP, "limit", "buy", 20, 40000, {"clientOrderId": "again"})
    assert caught.value.client_order_id == "again"
    assert client.fetch_open_orders_ws(PERP) == []
    assert proxy.sent().count("private/buy") == 2  # the first order and this one, once


def test_a_look_up_naming_an_unknown_instrument_is_asked_again_not_raised(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    """The cancel's reply is lost and the first look-up names an instrument the client
    does not know: that look-up says nothing (it raised ``BadSymbol`` at the caller, as
    if the symbol were wrong); the next one finds the cancelled order."""
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "c-9"})
    proxy.cut = ("private/cancel", True)  # executed, the reply is lost
    proxy.reply = ("private/get_order_state", GARBLED["unknown-instrument"])
    cancelled = client.cancel_order_ws(order.id, PERP)
    assert cancelled.id == order.id and cancelled.status == "canceled"
    assert proxy.sent().count("private/cancel") == 1
    assert proxy.sent().count("private/get_order_state") >= 2


@pytest.mark.parametrize("action", ["create", "cancel", "edit"])
def test_close_while_an_order_request_is_out_is_status_unknown(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient, action: str
) -> None:
    """``close()`` from another thread while the request is out (the exchange has not
    answered): its outcome is unknown, reported as ``OrderStatusUnknown`` like a lost
    reply that could not be resolved, not as ``ClientClosed`` (a ``NetworkError``,
    which a caller's retry-on-network-error policy would send again)."""
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "k-1"})
    method = {"create": "private/buy", "cancel": "private/cancel", "edit": "private/edit"}[action]
    before = proxy.sent().count(method)
    proxy.mute.set()  # the request is recorded, not forwarded: no reply comes
    # what the call raises is handed to the test thread
    worker, caught = run_in_thread(order_call(client, order, action, "k-2"))
    proxy.wait(lambda p: p.sent().count(method) > before)
    client.close()
    worker.join(10)
    assert not worker.is_alive()
    [error] = caught
    assert isinstance(error, OrderStatusUnknown), repr(error)
    assert error.action == action
    assert proxy.sent().count(method) == before + 1
