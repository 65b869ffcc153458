"""Catching up on user data after every (re)subscription (or after a quiet spell).

Order events and fills sent while the user-data subscription was down are lost.
After each confirmed subscription a worker job fetches open orders and balances
(and positions on futures), looks up each order that left the open list, fetches
the trades of the orders that filled further, and delivers what the gap hid:
fills first, so whoever sees an order's new fill has its trades already. Where
the data comes from (WS API or signed REST) is the source's business.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from ..._core.events import Delivery
from ..._exceptions import CcxtproSyncError, OrderNotFound
from ..._structures import Balances, Order, Position, Trade
from .user_stream import SharedUserData

__all__ = ["ReconcileSource", "Reconciler"]

_log = logging.getLogger("ccxtpro_sync")


class ReconcileSource(Protocol):
    """The account reads a reconcile needs."""

    def open_orders(self) -> list[Order]: ...

    def balances(self) -> Balances: ...

    def positions(self) -> list[Position] | None:
        """Futures positions; ``None`` where the product has none (spot)."""
        ...

    def order(self, symbol: str, order_id: str) -> Order: ...

    def order_trades(self, symbol: str, order_id: str) -> list[Trade]: ...


class Reconciler:
    """Runs one reconcile at a time on the private client's worker (see module docstring)."""

    def __init__(
        self,
        *,
        name: str,
        source: ReconcileSource,
        state: Callable[[], SharedUserData],
        deliver: Callable[[Delivery, str], object],
    ) -> None:
        self._name = name
        self._source = source
        self._state = state
        self._deliver = deliver

    def run(self) -> None:
        """Fetch open orders and balances (and positions) and emit what the gap hid:
        orders that moved on, and the trades of those that filled further."""
        state = self._state()
        source = self._source
        open_orders = source.open_orders()
        balances = source.balances()
        result = state.reconcile(open_orders, balances, source.positions())
        statuses: list[Order] = []
        gone: list[str] = []
        for symbol, order_id in result.missing:
            try:
                statuses.append(source.order(symbol, order_id))
            except OrderNotFound:
                gone.append(order_id)
        finished = state.resolve(statuses, gone, plan=result)
        fetched: list[Trade] = []
        unfetched: list[tuple[str, str]] = []
        for symbol, order_id in dict.fromkeys(result.filled):
            try:
                fetched += source.order_trades(symbol, order_id)
            except CcxtproSyncError as error:
                # The orders are still worth delivering; the next reconcile tries these again.
                _log.warning("%s: trades of order %s not fetched: %s", self._name, order_id, error)
                unfetched.append((symbol, order_id))
        state.owe_trades(unfetched)
        # The fills go first: whoever sees an order's new fill has its trades already.
        deliveries: list[Delivery] = [
            *state.missed_trades(fetched),
            *result.deliveries,
            *finished,
        ]
        for delivery in deliveries:
            self._deliver(delivery, "reconcile")
