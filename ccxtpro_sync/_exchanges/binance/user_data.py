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
it has delivered and, per tracked order, the amount its delivered trades add up
to; the reconcile names the orders whose filled amount exceeds that (a fill lost
in a gap, or one the order state shows from a placement reply whose events were
lost), and :meth:`UserDataState.missed_trades` turns the trades fetched for
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
from decimal import Decimal
from typing import Any, Final

from ..._core.events import Delivery, Policy
from ..._exceptions import BadSymbol
from ..._numbers import NumberConverter, ascii_int
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
    "OrderSequencer",
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
    #: ``(symbol, order id)`` of orders whose filled amount exceeds what the trades
    #: delivered for them cover (``resolve(..., plan=this)`` adds the finished ones):
    #: fetch their trades and pass them to :meth:`UserDataState.missed_trades`.
    filled: list[tuple[str, str]] = field(default_factory=list)


_TERMINAL: Final = frozenset({"closed", "canceled", "expired", "rejected"})


def _is_open(order: Order) -> bool:
    return order.status not in _TERMINAL


def _exceeds(filled: Any, covered: Any, amount: Any) -> bool:
    """Whether ``filled`` is more than ``covered``: exactly for Decimal; for floats a
    difference within a relative 1e-9 of the order ``amount`` is rounding, not a fill."""
    if any(isinstance(value, Decimal) for value in (filled, covered, amount)):
        return bool(filled > covered)
    return bool(filled - covered > 1e-9 * abs(amount or filled))


@dataclass(slots=True)
class _Fills:
    """What the state knows of one tracked order's trades."""

    #: The amounts of its trades delivered so far, added up.
    delivered: Any = 0
    #: Its filled amount when a reconcile last named it (its trades are being fetched).
    asked: Any = 0
    #: What is left of its fills from before the state knew it (a pre-existing order):
    #: its first trades, up to this amount, are not delivered when fetched.
    seeded: Any = 0
    #: The order finished with trades owed: kept until the next reconcile that does
    #: not owe them any more (its trades are being fetched meanwhile).
    finished: bool = False


def _trade_id_key(trade: Trade) -> tuple[int, str]:
    """Binance trade ids are integers; order them as numbers, anything else last
    (``ascii_int``'s 30 digits stay below ``1 << 100``)."""
    text = trade.id or ""
    number = ascii_int(text)
    return (number, "") if number is not None else (1 << 100, text)


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
        #: ``(symbol, order id)`` whose trades a reconcile failed to fetch, or finished
        #: orders whose trades were not all delivered: named by the next reconcile.
        self._owed_trades: dict[tuple[str, str], None] = {}
        #: Per ``(symbol, order id)`` of an order tracked open: its trades' amounts
        #: delivered (and asked for); dropped when the order finishes with nothing owed,
        #: else by the first reconcile after its trades were fetched.
        self._fills: dict[tuple[str, str], _Fills] = {}
        #: Our own orders whose placement reply was already final and showed a fill
        #: (a market order filled at once), until their final event arrives: if it is
        #: lost in a gap, the next reconcile announces them and fetches their trades.
        self._awaiting_final: OrderedDict[str, Order] = OrderedDict()
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

    # -- what the delivered trades cover --------------------------------------------------
    def _covered(self, key: tuple[str, str]) -> Any:
        """How much of the order's filled amount needs no fetch: delivered or asked for."""
        fills = self._fills.get(key)
        return 0 if fills is None else max(fills.delivered, fills.asked)

    def _short(self, order: Order) -> bool:
        """Whether ``order`` filled more than its delivered (or asked-for) trades cover."""
        covered = self._covered((order.symbol, order.id))
        return _exceeds(order.filled or 0, covered, order.amount)

    def _add_delivered(self, trade: Trade) -> bool:
        """Count a fetched trade towards its order, while the state follows the order;
        False if it is one of a pre-existing order's past fills (not to be delivered)."""
        if trade.order is None or trade.amount is None:
            return True
        key = (trade.symbol, trade.order)
        fills = self._fills.get(key)
        if fills is None:
            known = self.orders.get(trade.order)
            if known is None or known.symbol != trade.symbol:
                return True  # finished with nothing owed, or never tracked
            fills = self._fills[key] = _Fills()
        if fills.seeded and not _exceeds(trade.amount, fills.seeded, fills.seeded):
            fills.seeded -= trade.amount  # counted in ``delivered`` by the seed
            return False
        fills.seeded = 0  # the past is used up: from here on the fills are ours
        fills.delivered += trade.amount
        return True

    def _seed(self, order: Order, covered: Any) -> None:
        """Count ``covered`` of ``order``'s fills as its past, not ours to deliver."""
        if covered:
            self._fills[(order.symbol, order.id)] = _Fills(delivered=covered, seeded=covered)

    def _ask(self, order: Order, names: dict[tuple[str, str], None]) -> None:
        """Name ``order`` for a trade fetch if it is short; remember the amount asked for."""
        key = (order.symbol, order.id)
        if self._short(order):
            names[key] = None
            fills = self._fills.setdefault(key, _Fills())
            fills.asked = order.filled or 0

    def _keep_until_fetched(self, key: tuple[str, str]) -> None:
        """A finished order's entry (what was seeded) stays while its trades are owed."""
        fills = self._fills.get(key)
        if fills is not None:
            fills.finished = True

    def _settle(self, order: Order, *, owe: bool) -> None:
        """A finished order: its entry goes if its trades are all delivered, else it
        stays until they are fetched (owed to the next reconcile if ``owe``)."""
        key = (order.symbol, order.id)
        if not self._short(order):
            self._fills.pop(key, None)
            return
        self._keep_until_fetched(key)
        if owe:
            self._owed_trades[key] = None
            while len(self._owed_trades) > _FINISHED_MEMORY:
                oldest = next(iter(self._owed_trades))
                del self._owed_trades[oldest]
                self._fills.pop(oldest, None)

    def _order_deliveries(
        self, order: Order, trade: Trade | None, *, new: bool = False
    ) -> list[Delivery]:
        deliveries = _append(ORDERS, order.symbol, [order])
        # Any: float or Decimal, fixed per client (never mixed).
        amount: Any = (trade.amount or 0) if trade is not None else 0
        if new and not self._synced:
            # First seen before the first reconcile: the fills before this event are
            # the pre-existing order's past, which is not replayed.
            self._seed(order, (order.filled or 0) - amount)
        # A fill the reconcile already delivered keeps its order update, not its trade
        # (and counts already). An event's trade is its order's, with or without an id.
        if trade is not None and self._note_trade(trade):
            deliveries += _append(MY_TRADES, trade.symbol, [trade])
            if amount:
                self._fills.setdefault((order.symbol, order.id), _Fills()).delivered += amount
        if not _is_open(order):
            self._settle(order, owe=True)
        return deliveries

    def _on_order(self, order: Order) -> UserDataResult:
        new = order.id not in self.orders
        if not _is_open(order):
            self._awaiting_final.pop(order.id, None)  # its final event did arrive
        if not self._remember(order):
            return UserDataResult()
        trade = order.trades[0] if order.trades else None
        return UserDataResult(self._order_deliveries(order, trade, new=new))

    def _on_execution(self, event: ExecutionReport) -> UserDataResult:
        market = self.markets.by_id(event.symbol)
        return self._on_order(parse_execution_report(event, market, self.number))

    def _on_futures_order(self, event: OrderTradeUpdate) -> UserDataResult:
        market = self.markets.by_id(event.order.symbol)
        return self._on_order(parse_futures_order_update(event, market, self.number))

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

        Orders whose filled amount exceeds what their delivered trades cover
        (open ones here, finished ones in :meth:`resolve` given ``plan``) are
        listed in ``filled``: their trades are for :meth:`missed_trades`. That
        includes fills the state saw in an order's state (a placement reply)
        whose trades never came; the fills of orders the first call seeds are
        not replayed. An order named once is named again only when it fills
        further or :meth:`owe_trades` says its fetch failed.

        Balances and positions are delivered when they differ from the last known.
        """
        result = Reconciliation()
        fetched = {o.id: o for o in open_orders}
        scope = set(symbols) if symbols is not None else None
        first = not self._synced
        self._synced = True
        names: dict[tuple[str, str], None] = {}
        for done, fills in list(self._fills.items()):
            if fills.finished and done not in self._owed_trades:
                del self._fills[done]  # its trades were fetched since it finished
        for owed in list(self._owed_trades):
            if scope is None or owed[0] in scope:
                del self._owed_trades[owed]
                names[owed] = None
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
            else:
                current = known
            self._ask(current, names)
        for order in fetched.values():
            if not self._remember(order):
                continue
            if first:
                self._seed(order, order.filled)  # a pre-existing order's past fills
            else:
                result.deliveries += _append(ORDERS, order.symbol, [order])
                self._ask(order, names)
        for order_id, order in list(self._awaiting_final.items()):
            if scope is not None and order.symbol not in scope:
                continue
            del self._awaiting_final[order_id]
            # Final at placement and its events lost: ours, so announced even on the
            # first call, once (a late event for it is a finished order's duplicate).
            if self._remember(order):
                result.deliveries += _append(ORDERS, order.symbol, [order])
            self._ask(order, names)
            ref = (order.symbol, order_id)
            if ref in names:  # its trades are about to be fetched
                self._keep_until_fetched(ref)
            else:
                self._fills.pop(ref, None)
        result.filled = list(names)
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
        Orders whose fills are not all covered by delivered trades are added to
        ``plan.filled`` when ``plan`` (the reconcile's result) is given, else
        named by the next :meth:`reconcile`.
        """
        deliveries: list[Delivery] = []
        names: dict[tuple[str, str], None] = {}
        for order in statuses:
            known = self.orders.get(order.id)
            if known is not None and not _progressed(known, order):
                if plan is not None:
                    self._ask(known, names)
                continue
            if self._remember(order):
                deliveries += _append(ORDERS, order.symbol, [order])
                if plan is not None:
                    self._ask(order, names)
                if not _is_open(order):
                    key = (order.symbol, order.id)
                    if key in names:  # its trades are about to be fetched
                        self._keep_until_fetched(key)
                    else:
                        self._settle(order, owe=plan is None)
        if plan is not None:
            plan.filled += [key for key in names if key not in plan.filled]
        for order_id in not_found:
            known = self.orders.pop(order_id, None)
            if known is not None:
                self._fills.pop((known.symbol, order_id), None)
        return deliveries

    def missed_trades(self, trades: Iterable[Trade]) -> list[Delivery]:
        """``myTrades`` deliveries for fetched trades not delivered yet (the fills of the
        orders a reconcile listed in ``filled``), in trade-id order per symbol; they
        count as delivered from now on, so the live event of one arriving late is
        not delivered again. The first trades of an order the first reconcile seeded,
        up to the amount it had filled then, are its past: not delivered."""
        by_symbol: dict[str, list[Trade]] = {}
        for trade in sorted(trades, key=_trade_id_key):
            # A pre-existing order's past fills count as delivered without being so.
            if self._note_trade(trade) and self._add_delivered(trade):
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

    def track_final(self, order: Order) -> None:
        """Record an order the client placed itself whose ``order.place`` result is
        already final. Nothing is delivered from the reply (its events tell watchers);
        if those events are lost, the next :meth:`reconcile` announces the order and,
        when it had fills, has their trades fetched."""
        if _is_open(order) or order.id in self._finished or not order.filled:
            return  # open: see track(); announced already; or nothing that needs fetching
        self._awaiting_final[order.id] = order
        if len(self._awaiting_final) > _FINISHED_MEMORY:
            self._awaiting_final.popitem(last=False)

    def track(self, order: Order) -> None:
        """Record an order the client placed itself (from the ``order.place`` result)
        so a disconnect before its first event still reconciles it."""
        known = self.orders.get(order.id)
        fresh = known is None or _progressed(known, order)
        if fresh and self._remember(order) and not _is_open(order):
            # Its events (and trades) are still to come: nothing is owed yet.
            self._settle(order, owe=False)


# --------------------------------------------------------------------------- ordering

#: How many orders the sequencer remembers the newest delivered state of.
_SEQUENCER_MEMORY: Final = 10_000


def _older(candidate: Order, shown: Order) -> bool:
    """Whether ``candidate`` is a state of the order from before ``shown``."""
    if (candidate.filled or 0) < (shown.filled or 0):
        return True
    candidate_ts, shown_ts = candidate.lastUpdateTimestamp, shown.lastUpdateTimestamp
    if candidate_ts is not None and shown_ts is not None and candidate_ts < shown_ts:
        return True
    return _is_open(candidate) and not _is_open(shown)  # finished orders do not reopen


class OrderSequencer:
    """Per order, never hands consumers a state older than one already handed over.

    Live events and reconcile results are computed on different threads and
    delivered after their locks are released, so a reconcile computed before a
    live event can be delivered after it. ``admit`` runs where deliveries are
    queued for consumers, atomically with the queueing (the dispatcher's lock),
    and drops the order states that are older (by fill, update time, finished
    or not) than the newest admitted for their order id. Not thread-safe by
    itself; bounded to the most recent ``memory`` orders.
    """

    __slots__ = ("_memory", "_shown", "dropped")

    def __init__(self, memory: int = _SEQUENCER_MEMORY) -> None:
        self._memory = memory
        self._shown: OrderedDict[str, Order] = OrderedDict()
        #: Order states dropped because a newer one had been delivered.
        self.dropped = 0

    def admit(self, delivery: Delivery) -> Delivery | None:
        """``delivery`` without stale order states (None if nothing is left of it);
        deliveries of other kinds pass unchanged."""
        message_hash = delivery.message_hash
        if message_hash != ORDERS and not message_hash.startswith("orders:"):
            return delivery
        shown = self._shown
        fresh: list[Order] = []
        for order in delivery.value:
            known = shown.get(order.id)
            if known is not None and _older(order, known):
                self.dropped += 1
                continue
            shown[order.id] = order
            shown.move_to_end(order.id)
            fresh.append(order)
        while len(shown) > self._memory:
            shown.popitem(last=False)
        if len(fresh) == len(delivery.value):
            return delivery
        return Delivery(message_hash, fresh, delivery.policy) if fresh else None


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

    def kept_alive(self, now: float, listen_key: str | None = None) -> None:
        """A keepalive (PUT) succeeded. With ``listen_key`` (the key that was kept
        alive), a reply for a key replaced meanwhile changes nothing."""
        if listen_key is not None and listen_key != self.listen_key:
            return
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

    def on_error(self, code: int | None, listen_key: str | None = None) -> ListenKeyAction:
        """A keepalive failed with ``code``: ``-1125`` means re-create; else retry later.
        With ``listen_key`` (the key the keepalive was for), an error about a key
        replaced meanwhile changes nothing."""
        if listen_key is not None and listen_key != self.listen_key:
            return ListenKeyAction.NONE
        if code == INVALID_LISTEN_KEY:
            self.listen_key = None
            return ListenKeyAction.CREATE if self._wanted else ListenKeyAction.NONE
        return ListenKeyAction.NONE

    def on_expired(self) -> ListenKeyAction:
        """A ``listenKeyExpired`` event arrived."""
        self.listen_key = None
        self._last_kept = None
        return ListenKeyAction.CREATE if self._wanted else ListenKeyAction.NONE
