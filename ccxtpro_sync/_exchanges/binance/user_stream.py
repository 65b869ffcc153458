"""User data shared by the threads that touch it, plus the futures listenKey stream router.

``SharedUserData`` wraps the sans-I/O ``UserDataState`` with one lock and the
caches ``watch_orders``/``watch_my_trades``/``watch_positions`` read from: the
spot WS API reader, the futures user-stream reader and the reconcile worker all
go through it, and every delivery they produce is cached before it is handed on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec

from ..._core.cache import ArrayCache, ArrayCacheBySymbolById, ArrayCacheBySymbolBySide
from ..._core.events import Delivery, Notice, Policy
from ..._exceptions import CcxtproSyncError, ProtocolError
from ..._structures import Balances, Order, Position, Trade
from .environments import redact_listen_key
from .markets import Markets
from .private_wire import decode_event
from .stream_protocol import Routed, routed
from .user_data import (
    BALANCE,
    MY_TRADES,
    ORDERS,
    POSITIONS,
    ListenKeyAction,
    ListenKeyTimer,
    Reconciliation,
    UserDataResult,
    UserDataState,
    symbol_hash,
)
from .user_overlap import UserEventOverlap
from .ws_api import USER_DATA_SUBSCRIBED

USER_HASHES = (ORDERS, MY_TRADES, BALANCE, POSITIONS)


class SharedUserData(UserDataState):
    """``UserDataState`` made safe for several threads, with CCXT Pro style caches."""

    def __init__(
        self,
        markets: Markets,
        *,
        orders_limit: int = 1000,
        trades_limit: int = 1000,
        positions_limit: int = 1000,
    ) -> None:
        super().__init__(markets)
        self.lock = threading.RLock()
        self.order_cache: ArrayCacheBySymbolById[Order] = ArrayCacheBySymbolById(orders_limit)
        self.trade_cache: ArrayCache[Trade] = ArrayCache(trades_limit)
        self.position_cache: ArrayCacheBySymbolBySide[Position] = ArrayCacheBySymbolBySide(
            positions_limit
        )
        self.latest_balance: Balances | None = None
        # Orders we placed whose own update has not reached consumers yet: if their
        # NEW event is lost in a gap, the reconcile announces them.
        self._unannounced: set[str] = set()
        #: Events two connections deliver during a rotation pass once (user_overlap).
        self.overlap = UserEventOverlap()

    def _absorb(self, deliveries: Iterable[Delivery]) -> None:
        for delivery in deliveries:
            key, value = delivery.message_hash, delivery.value
            if key == ORDERS:
                for order in value:
                    self.order_cache.append(order)
                    self._unannounced.discard(order.id)
            elif key == MY_TRADES:
                for trade in value:
                    self.trade_cache.append(trade)
            elif key == POSITIONS:
                for position in value:
                    self.position_cache.append(position)
            elif key == BALANCE:
                self.latest_balance = value

    def handle(self, event: Any) -> UserDataResult:
        with self.lock:
            if self.overlap.repeat(event, time.monotonic()):
                return UserDataResult()
            result = super().handle(event)
            self._absorb(result.deliveries)
            return result

    def reconcile(
        self,
        open_orders: Iterable[Order],
        balances: Balances | None = None,
        positions: Iterable[Position] | None = None,
        *,
        symbols: Sequence[str] | None = None,
    ) -> Reconciliation:
        with self.lock:
            fetched = list(open_orders)
            result = super().reconcile(fetched, balances, positions, symbols=symbols)
            announced = {
                o.id for d in result.deliveries if d.message_hash == ORDERS for o in d.value
            }
            for order in fetched:
                if order.id in self._unannounced and order.id not in announced:
                    result.deliveries.append(Delivery(ORDERS, [order], Policy.APPEND))
                    result.deliveries.append(
                        Delivery(symbol_hash(ORDERS, order.symbol), [order], Policy.APPEND)
                    )
            self._absorb(result.deliveries)
            return result

    def resolve(
        self,
        statuses: Iterable[Order],
        not_found: Iterable[str] = (),
        *,
        plan: Reconciliation | None = None,
    ) -> list[Delivery]:
        with self.lock:
            deliveries = super().resolve(statuses, not_found, plan=plan)
            self._absorb(deliveries)
            return deliveries

    def missed_trades(self, trades: Iterable[Trade]) -> list[Delivery]:
        with self.lock:
            deliveries = super().missed_trades(trades)
            self._absorb(deliveries)
            return deliveries

    def owe_trades(self, orders: Iterable[tuple[str, str]]) -> None:
        with self.lock:
            super().owe_trades(orders)

    def track(self, order: Order) -> None:
        # A final reply (a cancel, a market order filled at once) is only awaited:
        # tracking it as finished would swallow the event that tells watchers about
        # it. If that event is lost, the reconcile announces the order (track_final),
        # or finds it gone from the open list and asks for its status.
        if order.status != "open":
            with self.lock:
                super().track_final(order)
            return
        with self.lock:
            super().track(order)
            if self.order_cache.get(order.symbol, order.id) is None:
                self._unannounced.add(order.id)

    def begin_overlap(self) -> None:
        """A second connection starts carrying user data (a rotation)."""
        with self.lock:
            self.overlap.begin()

    def end_overlap(self) -> None:
        with self.lock:
            self.overlap.end(time.monotonic())

    def tracked_symbols(self) -> list[str]:
        with self.lock:
            return sorted({o.symbol for o in self.orders.values()})


class UserStreamRouter:
    """Routes a futures listenKey stream's events into ``SharedUserData``.

    ``on_expired`` is called (non-blocking, on the reader thread) when Binance
    says the listenKey expired; the client then creates a new key off-thread.
    """

    def __init__(self, state: SharedUserData, on_expired: Callable[[], None]) -> None:
        self.state = state
        self._on_expired = on_expired

    def route(self, stream: str, data: msgspec.Raw, now: float) -> Routed:
        # ``stream`` is the listenKey, a bearer token: telemetry names it redacted.
        where = redact_listen_key(stream)
        try:
            event = decode_event(data)
        except CcxtproSyncError as error:
            # Its message quotes the payload, which may carry the key (listenKeyExpired).
            shown = ProtocolError(str(error).replace(stream, where))
            return routed([], [("protocol_error", {"url": where, "name": where, "error": shown})])
        result = self.state.handle(event)
        notices: list[Notice] = [
            ("protocol_error", {"url": where, "name": where, "error": problem})
            for problem in result.errors
        ]
        if result.listen_key_expired:
            self._on_expired()
        return routed(result.deliveries, notices)

    def hashes(self, stream: str) -> list[str]:
        return [*USER_HASHES, USER_DATA_SUBSCRIBED]

    def reset(self, streams: Iterable[str]) -> Routed:
        return []

    def opened(self, streams: Iterable[str]) -> list[Delivery]:
        # The listenKey rides in the connect URL: live as soon as the socket opens,
        # and whatever happened while it was closed must be reconciled.
        return [Delivery(USER_DATA_SUBSCRIBED, list(streams))] if streams else []


class SharedListenKeyTimer(ListenKeyTimer):
    """``ListenKeyTimer`` made safe for the threads that touch it: the reader (a
    ``listenKeyExpired`` event), the worker (create, keepalive) and the caller
    (stop, close). Each transition runs under one lock; none does I/O."""

    def __init__(self, keepalive_every: float = 30 * 60.0) -> None:
        super().__init__(keepalive_every)
        self.lock = threading.Lock()

    def current(self) -> str | None:
        """The listenKey in use, if any."""
        with self.lock:
            return self.listen_key

    def start(self) -> ListenKeyAction:
        with self.lock:
            return super().start()

    def stop(self) -> ListenKeyAction:
        with self.lock:
            return super().stop()

    def created(self, listen_key: str, now: float) -> None:
        with self.lock:
            super().created(listen_key, now)

    def kept_alive(self, now: float, listen_key: str | None = None) -> None:
        with self.lock:
            super().kept_alive(now, listen_key)

    def closed(self) -> None:
        with self.lock:
            super().closed()

    def due(self, now: float) -> ListenKeyAction:
        with self.lock:
            return super().due(now)

    def next_due(self) -> float | None:
        with self.lock:
            return super().next_due()

    def on_error(self, code: int | None, listen_key: str | None = None) -> ListenKeyAction:
        with self.lock:
            return super().on_error(code, listen_key)

    def on_expired(self) -> ListenKeyAction:
        with self.lock:
            return super().on_expired()
