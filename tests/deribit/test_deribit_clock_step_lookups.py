"""A lost Deribit cancel or edit reply when the local clock steps ahead while the
request is in flight.

Whether a cancel or an edit "went stale" (can no longer execute) is judged on the
server's clock. The client's estimate of it is an offset measured once; when the
local clock stepped forward after the request left (an NTP correction, a resumed
VM), the estimate ran ahead, the request was judged stale while still in flight,
and the caller got ``OrderNotPlaced`` for a cancel or edit that executed a moment
later. The look-up reads the server's clock afresh, as the lost create's does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from ccxtpro_sync import DeribitClient, Order, deribit
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture
from .wire import WireProxy

PERP = "BTC/USD:BTC"
#: How far the local clock steps ahead: past the 5 s + 1 s a request is given.
STEP_MS = 8000


ex = exchange_fixture(seed=32, auto_publish=False, min_heartbeat=1.0)


@pytest.mark.parametrize("action", ["cancel", "edit"])
def test_a_request_in_flight_is_not_judged_stale_by_a_clock_that_stepped_ahead(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient, action: str
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "s-1"})
    method = {"cancel": "private/cancel", "edit": "private/edit"}[action]
    calls: dict[str, Callable[[DeribitClient], object]] = {
        "cancel": lambda c: c.cancel_order_ws(order.id, PERP, timeout=1.0),
        "edit": lambda c: c.edit_order_ws(order.id, PERP, "limit", "buy", 20, 40500, timeout=1.0),
    }
    # The request is held up on its way (here: not forwarded; the exchange runs it
    # below, late but within its 5 s), the reply lost; reconnecting waits meanwhile.
    proxy.cut = (method, False)
    proxy.block.set()
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(calls[action](client))
        except BaseException as error:  # handed to the test thread
            outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    proxy.wait(lambda p: method in p.sent())
    # the request has left; now the local clock steps ahead, past its window
    client._server_offset_ms = (client._server_offset_ms or 0) + STEP_MS
    proxy.block.clear()
    proxy.wait(lambda p: "private/get_order_state" in p.sent())
    with deribit(
        {"environment": "local", "local": ex, "apiKey": ex.credentials[0],
         "secret": ex.credentials[1]}
    ) as late:  # fmt: skip
        calls[action](late)  # the held-up request reaches the exchange
    worker.join(30)
    assert not worker.is_alive()
    [result] = outcome
    assert isinstance(result, Order), repr(result)
    assert result.id == order.id
    if action == "cancel":
        assert result.status == "canceled"
    else:
        assert result.amount == 20 and result.price == 40500
    assert proxy.sent().count(method) == 1
