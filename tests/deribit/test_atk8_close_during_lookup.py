"""atk8: ``close()`` while a lost Deribit order reply is being looked up.

The look-up loop let ``ClientClosed`` out (a ``NetworkError``, which
retry-on-network-error policies retry: a second order) instead of reporting the
outcome as unknown (``OrderStatusUnknown``), as ``close()`` before the reply does.
"""

from __future__ import annotations

import pytest

from ccxtpro_sync import DeribitClient, OrderStatusUnknown
from ccxtpro_sync.simulator import LocalDeribit

from ..reliability.support import run_in_thread
from .exchange import exchange_fixture
from .orders import order_call
from .wire import WireProxy

PERP = "BTC/USD:BTC"


ex = exchange_fixture(seed=8, auto_publish=False, min_heartbeat=1.0)


@pytest.mark.parametrize("action", ["create", "cancel", "edit"])
def test_close_while_a_lost_reply_is_looked_up_is_status_unknown(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient, action: str
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "z-1"})
    method, lookup = {
        "create": ("private/buy", "private/get_order_state_by_label"),
        "cancel": ("private/cancel", "private/get_order_state"),
        "edit": ("private/edit", "private/get_order_state"),
    }[action]
    proxy.cut = (method, True)  # executed, the reply is lost
    proxy.delay = (lookup, 5.0)  # the look-up is out, unanswered until after close()
    # what the call raises is handed to the test thread
    worker, caught = run_in_thread(order_call(client, order, action, "z-2"))
    proxy.wait(lambda p: lookup in p.sent())
    client.close()
    worker.join(10)
    assert not worker.is_alive()
    [error] = caught
    assert isinstance(error, OrderStatusUnknown), repr(error)
    assert error.action == action
    assert proxy.sent().count(method) == (2 if action == "create" else 1)
