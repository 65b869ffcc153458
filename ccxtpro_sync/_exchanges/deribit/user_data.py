"""Exactly-once user data for the Deribit client: the ledger of what was delivered.

Order and trade updates reach the user from two sources: the ``user.*``
channels (live, on the reader) and the reconcile that runs after every
reconnect (requests for what the gap missed). Both pass through one
:class:`UserDataLedger`, which lets an update through only the first time it
is seen: a trade by ``trade_id``; an order by ``(order_id, state,
filled_amount, last_update_timestamp)``. Updates older than the ledger's
``since_ms`` (server time when user data was first watched) are history, not news.
Balances and positions are states, not events: the ledger keeps the last one
delivered (per currency: ``free``/``used``/``total``; per symbol: ``side``/
``contracts``/``entryPrice``) and lets one through only when it differs, so the
reconcile delivers the balance and positions after a gap once, and only if they
changed (a flat position the user never saw is not news; one that was open and is
no longer listed is delivered flat: ``contracts=0``, ``side=None``).

The lock is held only for the set operations, never while delivering.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Final

from ..._core.events import Delivery, Policy
from ..._structures import Balances, Order, Position, Trade

__all__ = ["RESTORED_HASH", "UserDataLedger", "user_deliveries"]

#: The marker hash the adapter delivers when a connection has been restored.
RESTORED_HASH: Final = "deribit:restored"
#: Keys remembered per kind; the oldest are forgotten first (bounded memory).
_CAPACITY: Final = 100_000


def _order_key(order: Order) -> tuple[object, ...]:
    info = order.info if isinstance(order.info, dict) else {}
    return (
        order.id,
        info.get("order_state"),
        info.get("filled_amount"),
        order.lastUpdateTimestamp,
    )


class _Seen:
    def __init__(self) -> None:
        self._keys: OrderedDict[object, None] = OrderedDict()

    def add(self, key: object) -> bool:
        """True the first time ``key`` is added."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > _CAPACITY:
            self._keys.popitem(last=False)
        return True


def _position_key(position: Position) -> tuple[object, ...]:
    return (position.side, position.contracts or 0, position.entryPrice)


class UserDataLedger:
    """Thread-safe first-seen filter for order and trade updates."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orders = _Seen()
        self._trades = _Seen()
        self._balances: dict[str, tuple[object, ...]] = {}
        self._positions: dict[str, tuple[object, ...]] = {}
        #: Order ids last seen open, for the reconcile to ask about.
        self.open_orders: set[str] = set()
        #: Server ms from which updates count as news (``None``: not watching yet).
        self.since_ms: int | None = None

    def new_orders(self, orders: Iterable[Order]) -> list[Order]:
        with self._lock:
            fresh = []
            for order in orders:
                stamp = order.lastUpdateTimestamp
                if self.since_ms is not None and stamp is not None and stamp < self.since_ms:
                    continue
                if self._orders.add(_order_key(order)):
                    fresh.append(order)
                if order.status == "open":
                    self.open_orders.add(order.id)
                else:
                    self.open_orders.discard(order.id)
            return fresh

    def new_trades(self, trades: Iterable[Trade]) -> list[Trade]:
        with self._lock:
            fresh = []
            for trade in trades:
                if self.since_ms is not None and (trade.timestamp or 0) < self.since_ms:
                    continue
                if self._trades.add(trade.id):
                    fresh.append(trade)
            return fresh

    def new_balance(self, balances: Balances) -> bool:
        """True (and remembered) if any currency differs from the last one let through."""
        with self._lock:
            changed = False
            for currency, balance in balances.balances.items():
                key = (balance.free, balance.used, balance.total)
                if self._balances.get(currency) != key:
                    self._balances[currency] = key
                    changed = True
            return changed

    def new_positions(
        self, positions: Iterable[Position], *, complete: bool = False
    ) -> list[Position]:
        """The positions that differ from the last one let through for their symbol.
        ``complete``: ``positions`` are all open ones (``get_positions`` omits flat
        positions), so a symbol last seen open and now absent is delivered flat."""
        with self._lock:
            positions = list(positions)
            if complete:
                listed = {p.symbol for p in positions}
                positions += [
                    Position(symbol=symbol, contracts=0)
                    for symbol, key in self._positions.items()
                    if symbol not in listed and key[1]
                ]
            fresh = []
            for position in positions:
                key = _position_key(position)
                last = self._positions.get(position.symbol)
                if last is None and not position.contracts:
                    continue  # flat, and never seen open: nothing to tell
                if last != key:
                    self._positions[position.symbol] = key
                    fresh.append(position)
            return fresh

    def tracked_open(self) -> list[str]:
        with self._lock:
            return sorted(self.open_orders)


def user_deliveries(kind: str, items: list[Any]) -> list[Delivery]:
    """``kind`` (``orders``, ``myTrades``, ``positions``) for the whole account, then
    ``kind:<symbol>`` per symbol; nothing for an empty list."""
    if not items:
        return []
    by_symbol: dict[str, list[Any]] = {}
    for item in items:
        by_symbol.setdefault(item.symbol, []).append(item)
    return [
        Delivery(kind, items, Policy.APPEND),
        *(
            Delivery(f"{kind}:{symbol}", group, Policy.APPEND)
            for symbol, group in by_symbol.items()
        ),
    ]
