"""atk8: a lost Deribit order reply when the local clock stepped ahead.

The "older order that reuses the label" rule compares the order's
``creation_timestamp`` (the exchange's clock) with our estimate of the server's
clock when the request left. That estimate was an offset measured once; when the
local clock stepped forward afterwards, the order the request really placed looked
"older", was ignored, and the caller got ``OrderNotPlaced`` with the order live on
the book: an invitation to place it twice.
"""

from __future__ import annotations

from ccxtpro_sync import DeribitClient
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture
from .wire import WireProxy

PERP = "BTC/USD:BTC"


ex = exchange_fixture(seed=8, auto_publish=False, min_heartbeat=1.0)


def test_a_placed_order_is_found_when_the_local_clock_stepped_ahead(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "first"})
    # The server-time offset is measured (by the order above); then the machine's
    # clock steps 3 s forward (an NTP correction, a resumed VM): the estimate runs ahead.
    client._server_offset_ms = (client._server_offset_ms or 0) + 3000
    proxy.cut = ("private/buy", True)  # executed, the reply is lost
    order = client.create_order_ws(PERP, "limit", "buy", 20, 40000, {"clientOrderId": "late"})
    assert order.clientOrderId == "late" and order.status == "open" and order.amount == 20
    assert proxy.sent().count("private/buy") == 2  # each order once
    assert sorted(o.clientOrderId or "" for o in client.fetch_open_orders_ws(PERP)) == [
        "first",
        "late",
    ]
