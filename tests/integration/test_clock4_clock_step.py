"""clock4: a forward step of the local clock does not make a lost order reply final early.

The client's estimate of Binance's clock is its wall clock plus an offset. When the
wall clock steps forward just after an order request left, the estimate says the
request is stale (it can no longer execute) while it is still in flight. Before the
fix, a look-up that did not find it was then final: ``OrderNotPlaced``, and the
request executed all the same. The verdict now rests on the server's time, read.

Here the exchange answers ``-1007`` without acting, the client's clock steps 10 s
forward as it starts resolving (WS API: its connection's clock; REST: the trading
module's, after the request's stale instant was taken), and the order reaches the
book 0.3 s later (placed with the same client order id, as the late request would
be), well before the request is really stale (``timestamp + recvWindow +
margin`` = 1.5 s after it left).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest

from ccxtpro_sync._exchanges.binance import rest_trading
from ccxtpro_sync.simulator import LocalExchange

from .test_order_safety import SPOT, TIMEOUT, client_for, far_price, held

STEP_S = 10.0  # far more than recvWindow + margin (1.5 s)
LATE_S = 0.3  # when the "late" request executes, after resolving starts


class _StepOnResolve(logging.Handler):
    """Steps the clock forward when the client starts resolving the lost reply."""

    def __init__(self) -> None:
        super().__init__()
        self.step = 0.0
        self.resolving = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "outcome unknown" in record.getMessage() and not self.resolving.is_set():
            self.step = STEP_S
            self.resolving.set()


@pytest.mark.parametrize("api", ["ws", "rest"])
def test_a_clock_step_after_sending_does_not_make_a_lost_reply_not_placed(
    exchange: LocalExchange, account: Any, api: str, monkeypatch: Any
) -> None:
    stepper = _StepOnResolve()
    logger = logging.getLogger("ccxtpro_sync")
    logger.addHandler(stepper)
    try:
        with client_for(exchange, account) as client, client_for(exchange, account) as late:
            price = far_price(client, SPOT)
            assert late.fetch_open_orders_ws(SPOT) == []  # warm: it places at once
            if api == "ws":
                assert client.fetch_open_orders_ws(SPOT) == []  # the WS API is up
                conn = client._private.ws_api_connection()
                conn.query(lambda p: setattr(p, "_clock", lambda: time.time() + stepper.step))
                create = client.create_order_ws
            else:
                reads = [0]

                def rest_clock() -> float:
                    # the REST path reads the clock before sending and after the call
                    # ended (the stale instant); the step comes after those two reads
                    reads[0] += 1
                    if reads[0] > 2:
                        stepper.emit(logging.makeLogRecord({"msg": "outcome unknown"}))
                    return time.time() + stepper.step

                stepped = SimpleNamespace(time=rest_clock, monotonic=time.monotonic)
                monkeypatch.setattr(rest_trading, "time", stepped)
                create = client.create_order
            exchange.faults.order_outcome("unknown", execute=False)
            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(
                    create,
                    SPOT,
                    "limit",
                    "buy",
                    0.01,
                    price,
                    {"clientOrderId": "late-1"},
                    timeout=TIMEOUT,
                )
                assert stepper.resolving.wait(TIMEOUT)
                # the request reaches the book late, as a queued one may
                threading.Event().wait(LATE_S)
                placed = late.create_order_ws(
                    SPOT, "limit", "buy", 0.01, price, {"clientOrderId": "late-1"}
                )
                order = pending.result(TIMEOUT * 2)
            assert order.id == placed.id and order.clientOrderId == "late-1"
            assert [o["clientOrderId"] for o in held(exchange, account)] == ["late-1"]
    finally:
        logger.removeHandler(stepper)
