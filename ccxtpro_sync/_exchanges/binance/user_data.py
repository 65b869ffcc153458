"""User-data state, sans-I/O: events → deliveries, listenKey timing, reconnect reconcile.

:class:`UserDataState` turns decoded user-data events (spot over the WS API,
futures over a listenKey stream) into :class:`~ccxtpro_sync._core.events.Delivery`
values under CCXT Pro's message hashes:

=====================  ============================  ========
hash                   value                         policy
=====================  ============================  ========
``orders``             ``[Order]``                   APPEND
``orders:<symbol>``    ``[Order]``                   APPEND
``myTrades``           ``[Trade]``                   APPEND
``myTrades:<symbol>``  ``[Trade]``                   APPEND
``balance``            ``Balances`` (whole account)  LATEST
``positions``          ``[Position]``                APPEND
``positions:<symbol>`` ``[Position]``                APPEND
=====================  ============================  ========

It also remembers the last state of every order it has seen open, which is
what makes :meth:`UserDataState.reconcile` possible: a disconnect loses the
events sent during the gap, so after reconnecting the caller fetches open
orders (and balances/positions), and the state emits a synthetic update for
every order that changed meanwhile and asks for ``order.status`` of the ones
that vanished from the open list (filled, cancelled or expired in the gap).
Nothing is ever emitted that would move an order backwards (a fetched
snapshot older than a live event already seen).

Fills are reconciled too: the state remembers which of the account's trade ids
it has delivered, the reconcile names the orders whose filled amount grew in
the gap, and :meth:`UserDataState.missed_trades` turns the trades fetched for
those orders into ``myTrades`` deliveries for the ids not delivered yet. Each
trade id is delivered once, whether it first comes from a live event or from
the reconcile.

:class:`ListenKeyTimer` decides *when* the futures listenKey must be created,
kept alive or re-created; the caller performs the REST calls.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..._core.events import Delivery, Policy
from ..._exceptions import BadSymbol
from ..._numbers import NumberConverter
from ..._structures import Balances, Order, Position, Trade
from .errors import INVALID_LISTEN_KEY
from .markets import Markets
from .private_parsers import (
    apply_account_update_balances,
    apply_balance_update,
    apply_outbound_account_position,
    parse_account_update_position,
    parse_execution_report,
    parse_futures_order_update,
)
from .private_wire import (
    AccountUpdate,
    BalanceUpdate,
    EventStreamTerminated,
    ExecutionReport,
    ListenKeyExpired,
    OrderTradeUpdate,
    OutboundAccountPosition,
)

__all__ = [
    "BALANCE",
    "MY_TRADES",
    "ORDERS",
    "POSITIONS",
    "ListenKeyAction",
    "ListenKeyTimer",
    "Reconciliation",
    "UserDataResult",
    "UserDataState",
    "symbol_hash",
]

ORDERS: Final = "orders"
MY_TRADES: Final = "myTrades"
BALANCE: Final = "balance"
POSITIONS: Final = "positions"
#: How many finished orders are remembered so late duplicates cannot reopen them.
_FINISHED_MEMORY: Final = 1000
#: How many delivered trade ids are remembered so a fill is never delivered twice.
_TRADE_MEMORY: Final = 10_000


def symbol_hash(kind: str, symbol: str | None = None) -> str:
    """``orders`` / ``orders:BTC/USDT`` and likewise for the other kinds."""
    return kind if symbol is None else f"{kind}:{symbol}"


def _append(kind: str, symbol: str, items: list[Any]) -> list[Delivery]:
    return [
        Delivery(kind, items, Policy.APPEND),
        Delivery(symbol_hash(kind, symbol), items, Policy.APPEND),
    ]


@dataclass(slots=True)
class UserDataResult:
    """What one user-data event means."""

    deliveries: list[Delivery] = field(default_factory=list)
    #: The subscription ended (``eventStreamTerminated``): subscribe again.
    terminated: bool = False
    #: The futures listenKey expired: create a new one and reconnect the stream.
    listen_key_expired: bool = False
    #: Problems worth reporting (unknown symbol, unknown event type); never fatal.
    errors: list[BaseException] = field(default_factory=list)


@dataclass(slots=True)
class Reconciliation:
    """Result of :meth:`UserDataState.reconcile`."""

    deliveries: list[Delivery] = field(default_factory=list)
    #: ``(symbol, order id)`` of orders that were open and are not any more: query
    #: ``order.status`` for each and pass the results to :meth:`UserDataState.resolve`.
    missing: list[tuple[str, str]] = field(default_factory=list)
    #: ``(symbol, order id)`` of orders whose filled amount grew beyond what the state
    #: knew (``resolve(..., plan=this)`` adds the finished ones): fetch their trades
    #: and pass them to :meth:`UserDataState.missed_trades`.
    filled: list[tuple[str, str]] = field(default_factory=list)


_TERMINAL: Final = frozenset({"closed", "canceled", "expired", "rejected"})


def _is_open(order: Order) -> bool:
    return order.status not in _TERMINAL


def _filled_more(known: Order | None, current: Order) -> bool:
    """Whether ``current`` has filled more than ``known`` (nothing known: any fill)."""
    before = (known.filled or 0) if known is not None else 0
    return (current.filled or 0) > before


def _trade_id_key(trade: Trade) -> tuple[int, str]:
    """Binance trade ids are integers; order them as numbers, anything else last."""
    text = trade.id or ""
    return (int(text), "") if text.isdigit() else (1 << 63, text)


def _progressed(known: Order, fetched: Order) -> bool:
    """Whether ``fetched`` is news relative to ``known`` and never a step back."""
    if not _is_open(known):
        return False  # finished orders do not change
    known_filled = known.filled or 0
    fetched_filled = fetched.filled or 0
    if fetched_filled < known_filled:
        return False
    known_ts = known.lastUpdateTimestamp or 0
    fetched_ts = fetched.lastUpdateTimestamp or 0
    if fetched_ts and known_ts and fetched_ts < known_ts:
        return False
    if fetched_filled > known_filled or not _is_open(fetched):
        return True
    # still open with the same fill: an amendment (price/amount) in the gap?
    return (fetched.price, fetched.amount) != (known.price, known.amount)


class UserDataState:
    """One account's user-data state for one product (spot, USD-M or COIN-M).

    Not thread-safe by itself: it lives inside a protocol and is called under
    the connection's protocol lock, like everything sans-I/O here.
    """

    def __init__(self, markets: Markets, *, number: NumberConverter | None = None) -> None:
        self.markets = markets
        # float or Decimal, fixed per client; Any because the parsers are generic in it.
        self.number: Any = number or markets.number
        self.balances: Balances | None = None
        #: Last known state of orders seen open (by order id).
        self.orders: dict[str, Order] = {}
        #: Positions by ``(symbol, side)``; ``side`` is ``None`` for one-way flat rows.
        self.positions: dict[tuple[str, str | None], Position] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        #: ``(symbol, trade id)`` of the trades already delivered, oldest first.
        self._delivered_trades: OrderedDict[tuple[str, str], None] = OrderedDict()
        #: ``(symbol, order id)`` whose trades a reconcile failed to fetch: retried next time.
        self._owed_trades: dict[tuple[str, str], None] = {}
        self._synced = False

    # -- live events -------------------------------------------------------------------
    def handle(self, event: Any) -> UserDataResult:
        """Deliveries for one decoded event (see ``private_wire.decode_event``)."""
        try:
            if isinstance(event, ExecutionReport):
                return self._on_execution(event)
            if isinstance(event, OrderTradeUpdate):
                return self._on_futures_order(event)
            if isinstance(event, OutboundAccountPosition):
                self.balances = apply_outbound_account_position(self.balances, event, self.number)
                return UserDataResult([Delivery(BALANCE, self.balances)])
            if isinstance(event, BalanceUpdate):
                self.balances = apply_balance_update(self.balances, event, self.number)
                return UserDataResult([Delivery(BALANCE, self.balances)])
            if isinstance(event, AccountUpdate):
                return self._on_account_update(event)
            if isinstance(event, EventStreamTerminated):
                return UserDataResult(terminated=True)
            if isinstance(event, ListenKeyExpired):
                return UserDataResult(listen_key_expired=True)
        except BadSymbol as error:
            return UserDataResult(errors=[error])
        # listStatus, externalLockUpdate and futures extras (TRADE_LITE, MARGIN_CALL, ...)
        # are tolerated: their effects arrive as the events above.
        return UserDataResult()

    def _remember(self, order: Order) -> bool:
        """Track ``order``; False if it is a stale duplicate of a finished order."""
        if order.id in self._finished:
            return False
        if _is_open(order):
            self.orders[order.id] = order
        else:
            self.orders.pop(order.id, None)
            self._finished[order.id] = None
            if len(self._finished) > _FINISHED_MEMORY:
                self._finished.popitem(last=False)
        return True

    def _note_trade(self, trade: Trade) -> bool:
        """Record ``trade`` as delivered; False if it already was."""
        if trade.id is None:
            return True  # nothing to recognise it by
        key = (trade.symbol, trade.id)
        if key in self._delivered_trades:
            return False
        self._delivered_trades[key] = None
        if len(self._delivered_trades) > _TRADE_MEMORY:
            self._delivered_trades.popitem(last=False)
        return True

    def _order_deliveries(self, order: Order, trade: Trade | None) -> list[Delivery]:
        deliveries = _append(ORDERS, order.symbol, [order])
        # A fill the reconcile already delivered keeps its order update, not its trade.
        if trade is not None and self._note_trade(trade):
            deliveries += _append(MY_TRADES, trade.symbol, [trade])
        return deliveries

    def _on_execution(self, event: ExecutionReport) -> UserDataResult:
        market = self.markets.by_id(event.symbol)
        order = parse_execution_report(event, market, self.number)
        if not self._remember(order):
            return UserDataResult()
        trade = order.trades[0] if order.trades else None
        return UserDataResult(self._order_deliveries(order, trade))

    def _on_futures_order(self, event: OrderTradeUpdate) -> UserDataResult:
        market = self.markets.by_id(event.order.symbol)
        order = parse_futures_order_update(event, market, self.number)
        if not self._remember(order):
            return UserDataResult()
        trade = order.trades[0] if order.trades else None
        return UserDataResult(self._order_deliveries(order, trade))

    def _on_account_update(self, event: AccountUpdate) -> UserDataResult:
        deliveries: list[Delivery] = []
        if event.data.balances:
            self.balances = apply_account_update_balances(self.balances, event, self.number)
            deliveries.append(Delivery(BALANCE, self.balances))
        errors: list[BaseException] = []
        changed: list[Position] = []
        for raw in event.data.positions:
            try:
                market = self.markets.by_id(raw.symbol)
            except BadSymbol as error:
                errors.append(error)
                continue
            position = parse_account_update_position(raw, market, self.number, event.event_time)
            self._store_position(position, raw.position_side)
            changed.append(position)
        deliveries += self._position_deliveries(changed)
        return UserDataResult(deliveries, errors=errors)

    def _store_position(self, position: Position, position_side: str | None) -> None:
        key_side = position_side if position_side in ("LONG", "SHORT") else None
        self.positions[(position.symbol, key_side)] = position

    @staticmethod
    def _position_deliveries(positions: list[Position]) -> list[Delivery]:
        if not positions:
            return []
        deliveries = [Delivery(POSITIONS, positions, Policy.APPEND)]
        by_symbol: dict[str, list[Position]] = {}
        for p in positions:
            by_symbol.setdefault(p.symbol, []).append(p)
        deliveries += [
            Delivery(symbol_hash(POSITIONS, s), items, Policy.APPEND)
            for s, items in by_symbol.items()
        ]
        return deliveries

    # -- snapshots and reconcile ---------------------------------------------------------
    def reconcile(
        self,
        open_orders: Iterable[Order],
        balances: Balances | None = None,
        positions: Iterable[Position] | None = None,
        *,
        symbols: Sequence[str] | None = None,
    ) -> Reconciliation:
        """Catch up after a (re)connect from freshly fetched snapshots.

        ``open_orders`` must be *all* open orders (or all for ``symbols``, when
        given: orders of other symbols are then left alone). Orders the state
        did not know are only reported from the second call on (the first call
        seeds: CCXT Pro does not replay pre-existing orders). Orders it did
        know — from live events or from our own requests, even before the first
        call — are always reconciled:

        * still open but filled further or amended → the fetched state;
        * no longer open → listed in ``missing`` (query ``order.status``, then
          :meth:`resolve`); and for orders unknown before (placed elsewhere
          during the gap) → the fetched state.

        Orders that filled further (open ones here, finished ones in
        :meth:`resolve` given ``plan``) are listed in ``filled``: their trades
        are for :meth:`missed_trades`.

        Balances and positions are delivered when they differ from the last known.
        """
        result = Reconciliation()
        fetched = {o.id: o for o in open_orders}
        scope = set(symbols) if symbols is not None else None
        first = not self._synced
        self._synced = True
        for owed in list(self._owed_trades):
            if scope is None or owed[0] in scope:
                del self._owed_trades[owed]
                result.filled.append(owed)
        for order_id, known in list(self.orders.items()):
            if scope is not None and known.symbol not in scope:
                continue
            current = fetched.pop(order_id, None)
            if current is None:
                result.missing.append((known.symbol, order_id))
                continue
            if _progressed(known, current):
                self._remember(current)
                result.deliveries += _append(ORDERS, current.symbol, [current])
                if _filled_more(known, current):
                    result.filled.append((current.symbol, order_id))
        for order in fetched.values():
            if self._remember(order) and not first:
                result.deliveries += _append(ORDERS, order.symbol, [order])
                if _filled_more(None, order):
                    result.filled.append((order.symbol, order.id))
        if balances is not None:
            known_balances = self.balances
            changed = known_balances is None or known_balances.balances != balances.balances
            self.balances = balances
            if changed and (not first or known_balances is not None):
                result.deliveries.append(Delivery(BALANCE, balances))
        if positions is not None:
            moved: list[Position] = []
            for position in positions:
                key = self._position_key(position)
                old = self.positions.get(key)
                if old is None or (old.contracts, old.entryPrice) != (
                    position.contracts,
                    position.entryPrice,
                ):
                    moved.append(position)
                self.positions[key] = position
            if not first:
                result.deliveries += self._position_deliveries(moved)
        return result

    @staticmethod
    def _position_key(position: Position) -> tuple[str, str | None]:
        side = None
        if position.hedged and position.side is not None:
            side = position.side.upper()
        return position.symbol, side

    def resolve(
        self,
        statuses: Iterable[Order],
        not_found: Iterable[str] = (),
        *,
        plan: Reconciliation | None = None,
    ) -> list[Delivery]:
        """Finish a reconcile with the ``order.status`` answers for ``missing``.

        Each order that moved on is delivered once (its final state, from the
        exchange). Ids in ``not_found`` (``OrderNotFound``) are dropped from
        tracking without a synthetic update: there is nothing true to report.
        Orders that filled further are added to ``plan.filled`` when ``plan``
        (the reconcile's result) is given.
        """
        deliveries: list[Delivery] = []
        for order in statuses:
            known = self.orders.get(order.id)
            if known is not None and not _progressed(known, order):
                continue
            if self._remember(order):
                deliveries += _append(ORDERS, order.symbol, [order])
                if plan is not None and _filled_more(known, order):
                    plan.filled.append((order.symbol, order.id))
        for order_id in not_found:
            self.orders.pop(order_id, None)
        return deliveries

    def missed_trades(self, trades: Iterable[Trade]) -> list[Delivery]:
        """``myTrades`` deliveries for fetched trades not delivered yet (the fills of the
        orders a reconcile listed in ``filled``), in trade-id order per symbol; they
        count as delivered from now on, so the live event of one arriving late is
        not delivered again."""
        by_symbol: dict[str, list[Trade]] = {}
        for trade in sorted(trades, key=_trade_id_key):
            if self._note_trade(trade):
                by_symbol.setdefault(trade.symbol, []).append(trade)
        deliveries: list[Delivery] = []
        for symbol, items in by_symbol.items():
            deliveries += _append(MY_TRADES, symbol, items)
        return deliveries

    def owe_trades(self, orders: Iterable[tuple[str, str]]) -> None:
        """``(symbol, order id)`` from ``filled`` whose trades could not be fetched: the
        next :meth:`reconcile` lists them in ``filled`` again."""
        for key in orders:
            self._owed_trades[key] = None

    def track(self, order: Order) -> None:
        """Record an order the client placed itself (from the ``order.place`` result)
        so a disconnect before its first event still reconciles it."""
        known = self.orders.get(order.id)
        if known is None or _progressed(known, order):
            self._remember(order)


# --------------------------------------------------------------------------- listenKey


class ListenKeyAction(enum.Enum):
    """What the caller should do next with the futures listenKey (REST)."""

    NONE = "none"
    CREATE = "create"  # POST, then (re)connect the stream with the new key
    KEEPALIVE = "keepalive"  # PUT
    CLOSE = "close"  # DELETE


class ListenKeyTimer:
    """When to POST/PUT/DELETE the futures listenKey (§7.3). Pure; time is passed in.

    A key lives 60 minutes without a keepalive; Binance suggests one every 30
    (``keepalive_every``). ``-1125`` on keepalive or a ``listenKeyExpired``
    event means the key is gone: create a new one.
    """

    def __init__(self, keepalive_every: float = 30 * 60.0) -> None:
        if keepalive_every <= 0:
            raise ValueError("keepalive_every must be positive")
        self.keepalive_every = keepalive_every
        self.listen_key: str | None = None
        self._last_kept: float | None = None
        self._wanted = False

    def start(self) -> ListenKeyAction:
        self._wanted = True
        return ListenKeyAction.CREATE if self.listen_key is None else ListenKeyAction.NONE

    def stop(self) -> ListenKeyAction:
        self._wanted = False
        had = self.listen_key is not None
        return ListenKeyAction.CLOSE if had else ListenKeyAction.NONE

    def created(self, listen_key: str, now: float) -> None:
        """The POST returned ``listen_key`` (possibly the same, extended)."""
        self.listen_key = listen_key
        self._last_kept = now

    def kept_alive(self, now: float) -> None:
        self._last_kept = now

    def closed(self) -> None:
        self.listen_key = None
        self._last_kept = None

    def due(self, now: float) -> ListenKeyAction:
        """The action due at ``now`` (poll this from a timer)."""
        if not self._wanted:
            return ListenKeyAction.NONE
        if self.listen_key is None:
            return ListenKeyAction.CREATE
        if self._last_kept is None or now - self._last_kept >= self.keepalive_every:
            return ListenKeyAction.KEEPALIVE
        return ListenKeyAction.NONE

    def next_due(self) -> float | None:
        """When the next keepalive falls due (``None`` if nothing is scheduled)."""
        if not self._wanted or self.listen_key is None or self._last_kept is None:
            return None
        return self._last_kept + self.keepalive_every

    def on_error(self, code: int | None) -> ListenKeyAction:
        """A keepalive failed with ``code``: ``-1125`` means re-create; else retry later."""
        if code == INVALID_LISTEN_KEY:
            self.listen_key = None
            return ListenKeyAction.CREATE if self._wanted else ListenKeyAction.NONE
        return ListenKeyAction.NONE

    def on_expired(self) -> ListenKeyAction:
        """A ``listenKeyExpired`` event arrived."""
        self.listen_key = None
        self._last_kept = None
        return ListenKeyAction.CREATE if self._wanted else ListenKeyAction.NONE
