"""User-data events delivered once while two connections carry them, sans-I/O.

During a make-before-break rotation of the WS API session (spot) or of the
listenKey stream (futures), the old and the new connection both receive the
account's events until the old one closes. ``UserEventOverlap`` recognises an
event it has already let through by its identity: the event time plus the order
id, trade id, execution type, status and filled amount of an order event, the
update time (and content) of a balance or account event.

Keys are remembered always (a bounded window, cheap) but events are dropped only
during an overlap and for ``grace`` seconds after it: the new connection's reader
may lag behind the old one, so an event the old one delivered just before it
closed may still come in on the new one. Outside that window nothing is dropped,
so two genuinely distinct events that happen to look alike (two equal deposits in
one millisecond) are never merged by accident. Not thread-safe: its owner locks.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import msgspec

from .private_wire import (
    AccountUpdate,
    BalanceUpdate,
    ExecutionReport,
    OrderTradeUpdate,
    OutboundAccountPosition,
)

__all__ = ["UserEventOverlap", "event_key"]

#: Event identities remembered (a hostile or chatty stream cannot grow it).
MEMORY = 4096
#: Seconds after an overlap ends during which repeats are still dropped.
GRACE = 10.0

_encode = msgspec.json.Encoder().encode


def event_key(event: Any) -> Hashable | None:
    """The identity of a user-data event, or None for events never deduplicated
    (terminations, listenKey expiry, list statuses: they deliver nothing by themselves)."""
    if isinstance(event, ExecutionReport):
        return (
            event.event_type,
            event.event_time,
            event.order_id,
            event.trade_id,
            event.execution_type,
            event.status,
            event.filled_quantity,
        )
    if isinstance(event, OrderTradeUpdate):
        order = event.order
        return (
            event.event_type,
            event.event_time,
            order.order_id,
            order.trade_id,
            order.execution_type,
            order.status,
            order.filled_quantity,
        )
    if isinstance(event, BalanceUpdate):
        return (event.event_type, event.event_time, event.asset, event.delta, event.clear_time)
    if isinstance(event, OutboundAccountPosition | AccountUpdate):
        # No id of their own: the update time and the content they carry.
        return (event.event_type, event.event_time, _encode(event))
    return None


class UserEventOverlap:
    """Drops user-data events already delivered while an overlap lasts (see module)."""

    def __init__(self, memory: int = MEMORY, grace: float = GRACE) -> None:
        self._seen: OrderedDict[Hashable, None] = OrderedDict()
        self._memory = memory
        self._grace = grace
        self._overlaps = 0
        self._until: float | None = None  # end of the grace period after the last overlap
        #: Events dropped as already delivered (figures for tests and operations).
        self.dropped = 0

    def begin(self) -> None:
        """A second connection starts carrying the account's events."""
        self._overlaps += 1

    def end(self, now: float) -> None:
        """One of the two is gone; repeats are still dropped for ``grace`` seconds."""
        self._overlaps = max(0, self._overlaps - 1)
        self._until = now + self._grace

    def active(self, now: float) -> bool:
        return self._overlaps > 0 or (self._until is not None and now < self._until)

    def repeat(self, event: Any, now: float) -> bool:
        """Record ``event``; True if it was already delivered and an overlap is on."""
        key = event_key(event)
        if key is None:
            return False
        if key in self._seen:
            if self.active(now):
                self.dropped += 1
                return True
            return False
        self._seen[key] = None
        if len(self._seen) > self._memory:
            self._seen.popitem(last=False)
        return False
