"""atk8: a look-up answered before a lost order request went stale is not final,
however late its answer arrives.

A lost ``private/buy`` may still be on its way to the matching engine until its
``valid_until``. The client judged "no order carries the label" final by the server
time *after the look-up's answer arrived*: a look-up the exchange answered before
``valid_until``, whose answer was slow to come back, counted as one asked after it.
The request could still execute in between, and the caller got ``OrderNotPlaced``
with the order on the book. Here the late request is stood in for by the same label
placed, on the exchange, right after the look-up was answered.
"""

from __future__ import annotations

import threading

from ccxtpro_sync import DeribitClient
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture
from .test_deribit_session import make
from .wire import WireProxy

PERP = "BTC/USD:BTC"
#: The client's ``orderValidFor`` (ms); with the 1 s margin a request is stale 2 s on.
ORDER_VALID_FOR = 1000


ex = exchange_fixture(seed=18, auto_publish=False, min_heartbeat=1.0)


def test_a_slow_look_up_answer_does_not_make_not_found_final(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    other = make(ex, proxy, options={"heartbeatInterval": 10.0})
    try:
        client.wait_ready(10)
        other.wait_ready(10)
        proxy.cut = ("private/buy", False)  # the request is lost on its way
        # the look-up is answered at once; its answer arrives past valid_until + margin
        proxy.hold = ("private/get_order_state_by_label", (ORDER_VALID_FOR + 2000) / 1000)
        result: list[object] = []
        worker = threading.Thread(target=lambda: result.append(_outcome(client)))
        worker.start()
        proxy.wait(lambda p: p.held == 1)  # answered "none" by the exchange
        # the lost request reaches the exchange after all, before its valid_until
        late = other.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "slow"})
        worker.join(30)
        assert not worker.is_alive()
    finally:
        other.close()
    [outcome] = result
    assert getattr(outcome, "id", outcome) == late.id, outcome


def _outcome(client: DeribitClient) -> object:
    try:
        return client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "slow"})
    except Exception as error:  # handed to the test thread
        return error
