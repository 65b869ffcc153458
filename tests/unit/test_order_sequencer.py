"""Reconcile results never overtake newer live events on their way to consumers (issue 12).

A reconcile is computed under the user-data lock and delivered after releasing
it; a live event handled in between is delivered first. These tests compute a
reconcile before a live event and deliver it after, deterministically.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ccxtpro_sync._core.events import Delivery
from ccxtpro_sync._exchanges.binance.markets import Markets
from ccxtpro_sync._exchanges.binance.private_wire import decode_event
from ccxtpro_sync._exchanges.binance.user_data import OrderSequencer, UserDataState
from ccxtpro_sync._structures import Order
from ccxtpro_sync._sync.hub import Hub

from .test_private_parsers import EXECUTION_NEW, spot_market


def order(filled: float = 0.0, status: str = "open", ts: int = 1) -> Order:
    return Order(id="4293153", symbol="ETH/BTC", status=status, filled=filled, amount=1.0,
                 remaining=1.0 - filled, lastUpdateTimestamp=ts, price=0.1)  # fmt: skip


def live_fill(filled: str, status: str = "PARTIALLY_FILLED", at: int = 50) -> Any:
    event = dict(EXECUTION_NEW, i=4293153, x="TRADE", X=status, l="0.1", z=filled,
                 L="0.1", Z="0.01", T=at, E=at, W=1, O=1, t=at)  # fmt: skip
    return decode_event(json.dumps(event).encode())


def states(deliveries: list[Delivery | None]) -> list[tuple[str, float]]:
    return [
        (o.status, o.filled)
        for d in deliveries
        if d is not None and d.message_hash == "orders"
        for o in d.value
    ]


def reconcile_then_live() -> tuple[list[Delivery], list[Delivery]]:
    """A reconcile (fill 0.2 fetched at t=10) computed before a live fill (0.6 at t=50)."""
    state = UserDataState(Markets([spot_market()], "spot"))
    state.reconcile([order()])  # the first reconcile seeds the open order
    computed = state.reconcile([order(filled=0.2, ts=10)])  # the gap's fill, fetched
    assert states(list(computed.deliveries)) == [("open", 0.2)]
    live = state.handle(live_fill("0.6"))
    return computed.deliveries, live.deliveries


def test_a_reconcile_delivered_after_a_newer_live_event_is_not_delivered() -> None:
    reconciled, live = reconcile_then_live()
    sequencer = OrderSequencer()
    first = [sequencer.admit(d) for d in live]  # the reader delivers first
    late = [sequencer.admit(d) for d in reconciled]  # then the worker
    assert states(first) == [("open", 0.6)]
    assert states(late) == [] and all(d is None for d in late)  # orders and orders:ETH/BTC
    assert sequencer.dropped == 2


def test_in_order_and_other_deliveries_pass_unchanged() -> None:
    reconciled, live = reconcile_then_live()
    sequencer = OrderSequencer()
    assert [sequencer.admit(d) for d in [*reconciled, *live]] == [*reconciled, *live]
    balance = Delivery("balance", object())
    assert sequencer.admit(balance) is balance
    # a finished order never reopens, whatever its timestamp says
    closed = Delivery("orders", [order(filled=1.0, status="closed", ts=60)])
    assert sequencer.admit(closed) is closed
    assert sequencer.admit(Delivery("orders", [order(filled=1.0, ts=70)])) is None


def test_on_orders_sees_each_order_newest_last_through_the_hub() -> None:
    reconciled, live = reconcile_then_live()
    hub = Hub(name="ccxtpro_sync-test-sequencer")
    hub.admit = OrderSequencer().admit
    seen: list[tuple[str, float]] = []
    done = threading.Event()
    hub.add_callback("orders", lambda orders: seen.extend((o.status, o.filled) for o in orders))
    hub.add_callback("marker", lambda _: done.set())
    try:
        hub.deliver_many(live, "reader")
        hub.deliver_many(reconciled, "reconcile")
        hub.deliver(Delivery("marker", 0))
        assert done.wait(5.0)
        assert seen == [("open", 0.6)]
    finally:
        hub.close()
