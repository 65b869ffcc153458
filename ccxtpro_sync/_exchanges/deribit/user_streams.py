"""The Deribit client's user data: ``watch_orders``/``watch_my_trades``/
``watch_balance``/``watch_positions`` (+ ``on_*``/``stream_*``/``un_watch_*``) and
the reconcile after every reconnect.

Live updates come from ``user.orders.any.any.raw``, ``user.trades.any.any.raw``,
``user.portfolio.{BTC,ETH,USDC}`` and ``user.changes.any.any.raw``. When a
logged-in connection has been restored, its adapter delivers a marker
(``RESTORED_HASH``); a worker thread then asks the exchange what the gap may have
hidden (open orders, the state of orders last seen open, trades since user data
was first watched, the balance and the positions) and delivers what the ledger
has not seen, so each update reaches the user exactly once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..._arguments import check_limit, check_since
from ..._core.events import Delivery, Policy
from ..._exceptions import CcxtproSyncError
from ..._structures import Balances, Order, Position, Trade
from ..._sync.consumers import Stream, Subscription
from ..._sync.placement import start_thread
from ..._sync.stream_client import StreamClient
from .caches import DeribitCaches
from .channels import (
    user_changes_channel,
    user_orders_channel,
    user_portfolio_channel,
    user_trades_channel,
)
from .markets import SETTLE_CURRENCIES, DeribitMarkets
from .orders import positions_params
from .parsers import parse_balance, parse_order, parse_orders, parse_positions, parse_trades
from .user_data import RESTORED_HASH, UserDataLedger, user_deliveries

__all__ = ["DeribitUserData"]

_log = logging.getLogger("ccxtpro_sync")
#: Held while a client starts its reconciler (once per client; rare and brief).
_START_LOCK = threading.Lock()
#: The far future, for ``..._and_time`` requests that mean "up to now".
_END_MS = 32503708800000


class DeribitUserData(StreamClient):
    """Mixin of the Deribit client (listed after ``AdapterClient`` in its bases): the
    consumer faces are ``StreamClient``'s, like every exchange's."""

    if TYPE_CHECKING:  # provided by the client, which comes first in the MRO
        _closed_event: threading.Event
        _ledger: UserDataLedger
        _caches: DeribitCaches

        def request(
            self, method: str, params: Any = None, *, timeout: float | None = None
        ) -> Any: ...
        def market(self, symbol: str) -> Any: ...
        def _loaded_markets(self) -> DeribitMarkets: ...
        def _markets_naming(
            self, results: Iterable[Any], timeout: float | None
        ) -> DeribitMarkets: ...
        def _server_now_ms(self, timeout: float) -> int: ...

    _reconciler: threading.Thread | None = None
    _reconcile_due: threading.Event | None = None
    #: Reconciles run so far (after each restoration of a logged-in connection).
    reconcile_count = 0

    # -- channels and hashes -----------------------------------------------------------
    @staticmethod
    def _user_channels(kind: str) -> list[str]:
        if kind == "orders":
            return [user_orders_channel()]
        if kind == "myTrades":
            return [user_trades_channel()]
        if kind == "positions":
            return [user_changes_channel()]
        return [user_portfolio_channel(c) for c in SETTLE_CURRENCIES]

    def _user_hashes(self, kind: str, symbol: str | None) -> list[str]:
        if symbol is None or kind == "balance":
            return [kind]
        return [f"{kind}:{self.market(symbol).symbol}"]

    def _start_user_data(self, timeout: float | None) -> None:
        """First use: note the server time user data counts from, start the reconciler."""
        self._check_usable()
        ledger = self._ledger
        if ledger.since_ms is None:
            ledger.since_ms = self._server_now_ms(self._timeout(timeout))
        if self._reconciler is not None:
            return
        with _START_LOCK:  # several threads may ask first: one reconciler per client
            if self._reconciler is None:
                due = self._reconcile_due = threading.Event()
                self.hub.add_callback(RESTORED_HASH, lambda _count: self._request_reconcile())
                self._reconciler = start_thread(
                    self._reconcile_loop, "ccxtpro_sync-deribit-reconcile", args=(due,)
                )

    def _user_watch(self, kind: str, symbol: str | None, timeout: float | None) -> Any:
        self._start_user_data(timeout)
        channels, hashes = self._user_channels(kind), self._user_hashes(kind, symbol)
        return self._watch_each("watch", channels, hashes, timeout, f"watch {kind}")

    def _user_on(self, kind: str, symbol: str | None, handler: Any) -> Subscription:
        self._start_user_data(None)
        return self._on(kind, self._user_channels(kind), self._user_hashes(kind, symbol), handler)

    def _user_stream(
        self, kind: str, symbol: str | None, policy: Policy, timeout: float | None
    ) -> Stream[Any]:
        self._start_user_data(timeout)
        hashes = self._user_hashes(kind, symbol)
        return self._stream(kind, self._user_channels(kind), hashes, policy, timeout)

    def _user_unwatch(self, kind: str) -> None:
        self._unwatch_each("watch", self._user_channels(kind))

    # -- orders ------------------------------------------------------------------------
    def watch_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Order]:
        """Block until an order (of ``symbol``) changes; returns the cached orders, each
        update seen once (the ledger), oldest first: with ``newUpdates`` those that
        changed since your previous call, else the last ``ordersLimit``. ``since``/
        ``limit`` filter them as in CCXT."""
        return self._collect_user("orders", symbol, since, limit, timeout)

    def _collect_user(
        self,
        kind: str,
        symbol: str | None,
        since: int | None,
        limit: int | None,
        timeout: float | None,
    ) -> list[Any]:
        since, limit = check_since(since), check_limit(limit)
        unified = self.market(symbol).symbol if symbol is not None else None
        caches = self._caches
        return self._collect(
            lambda: caches.user_unread(kind, unified),
            lambda: caches.read_user(kind, unified, since, limit, new_updates=self.new_updates),
            lambda: self._user_watch(kind, symbol, timeout),
        )

    def on_orders(
        self, symbol: str | None = None, handler: Callable[[list[Order]], object] | None = None
    ) -> Subscription:
        return self._user_on("orders", symbol, handler)

    def stream_orders(
        self, symbol: str | None = None, *, timeout: float | None = None
    ) -> Stream[list[Order]]:
        return self._user_stream("orders", symbol, Policy.APPEND, timeout)

    def un_watch_orders(self, symbol: str | None = None) -> None:
        self._user_unwatch("orders")

    # -- my trades ---------------------------------------------------------------------
    def watch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Trade]:
        """Block until the account trades (on ``symbol``); returns the cached own trades,
        each once, oldest first: with ``newUpdates`` those new since your previous call,
        else the last ``tradesLimit``. ``since``/``limit`` filter them as in CCXT."""
        return self._collect_user("myTrades", symbol, since, limit, timeout)

    def on_my_trades(
        self, symbol: str | None = None, handler: Callable[[list[Trade]], object] | None = None
    ) -> Subscription:
        return self._user_on("myTrades", symbol, handler)

    def stream_my_trades(
        self, symbol: str | None = None, *, timeout: float | None = None
    ) -> Stream[list[Trade]]:
        return self._user_stream("myTrades", symbol, Policy.APPEND, timeout)

    def un_watch_my_trades(self, symbol: str | None = None) -> None:
        self._user_unwatch("myTrades")

    # -- balance -----------------------------------------------------------------------
    def watch_balance(self, *, timeout: float | None = None) -> Balances:
        """The next balance update (``user.portfolio.{currency}``; one currency each)."""
        balances: Balances = self._user_watch("balance", None, timeout)
        return balances

    def on_balance(self, handler: Callable[[Balances], object] | None = None) -> Subscription:
        return self._user_on("balance", None, handler)

    def stream_balance(self, *, timeout: float | None = None) -> Stream[Balances]:
        return self._user_stream("balance", None, Policy.LATEST, timeout)

    def un_watch_balance(self) -> None:
        self._user_unwatch("balance")

    # -- positions ---------------------------------------------------------------------
    def watch_positions(
        self,
        symbols: Sequence[str] | None = None,
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Position]:
        """Block until a position (of ``symbols``) changes (``user.changes``); returns the
        cached positions, one per instrument, least recently changed first: with
        ``newUpdates`` those that changed since your previous call, else every cached
        one; ``since``/``limit`` filter them as in CCXT."""
        since, limit = check_since(since), check_limit(limit)
        symbol = symbols[0] if symbols is not None and len(symbols) == 1 else None
        wanted = {self.market(s).symbol for s in symbols} if symbols else None
        unified = self.market(symbol).symbol if symbol is not None else None
        caches = self._caches

        def read() -> list[Position]:
            items = caches.read_user(
                "positions", unified, since, limit, new_updates=self.new_updates
            )
            return [p for p in items if wanted is None or p.symbol in wanted]

        return self._collect(
            lambda: caches.user_unread("positions", unified),
            read,
            lambda: self._user_watch("positions", symbol, timeout),
        )

    def on_positions(
        self,
        symbol: str | None = None,
        handler: Callable[[list[Position]], object] | None = None,
    ) -> Subscription:
        return self._user_on("positions", symbol, handler)

    def stream_positions(
        self, symbol: str | None = None, *, timeout: float | None = None
    ) -> Stream[list[Position]]:
        return self._user_stream("positions", symbol, Policy.APPEND, timeout)

    def un_watch_positions(self) -> None:
        self._user_unwatch("positions")

    # -- reconcile ---------------------------------------------------------------------
    def _request_reconcile(self) -> None:
        due = self._reconcile_due
        if due is not None:
            due.set()

    def _reconcile_loop(self, due: threading.Event) -> None:
        while not self._closed_event.is_set():
            due.wait()
            due.clear()
            if self._closed_event.is_set():
                return
            try:
                self.reconcile()
            except CcxtproSyncError as exc:  # the next restoration tries again
                _log.warning("deribit reconcile failed: %r", exc)

    def _stop_reconciler(self, timeout: float) -> None:
        thread = self._reconciler
        if thread is not None:
            self._request_reconcile()
            thread.join(timeout)

    def reconcile(self, *, timeout: float | None = None) -> None:
        """Deliver the order and trade updates the user channels missed, and the balance
        and positions if they changed (runs by itself after every reconnect; public for
        tests and manual use)."""
        ledger = self._ledger
        deliveries: list[Delivery] = []
        # An instrument listed after the markets were loaded is loaded here (bounded,
        # see ``_markets_naming``): a user-channel event naming one triggered this run.
        raw_open = self.request("private/get_open_orders", {}, timeout=timeout)
        markets = self._markets_naming([raw_open], timeout)
        open_now = parse_orders(raw_open, markets)
        open_ids = {o.id for o in open_now}
        orders = list(open_now)
        for order_id in ledger.tracked_open():
            if order_id in open_ids:
                continue
            raw = self.request("private/get_order_state", {"order_id": order_id}, timeout=timeout)
            markets = self._markets_naming([raw], timeout)
            orders.append(parse_order(raw, markets.by_id(raw["instrument_name"]), markets.number))
        fresh_orders = ledger.new_orders(orders)
        self._caches.add_user("orders", fresh_orders)  # before delivery, as the reader does
        deliveries += user_deliveries("orders", fresh_orders)
        since = ledger.since_ms or 0
        trades: list[Trade] = []
        for currency in SETTLE_CURRENCIES:
            result = self.request(
                "private/get_user_trades_by_currency_and_time",
                {
                    "currency": currency,
                    "start_timestamp": since,
                    "end_timestamp": _END_MS,
                    "count": 1000,
                    "sorting": "asc",
                },
                timeout=timeout,
            )
            raw_trades = result.get("trades", []) if isinstance(result, dict) else result
            markets = self._markets_naming([result], timeout)
            trades += parse_trades(raw_trades, markets)
        fresh_trades = ledger.new_trades(trades)
        self._caches.add_user("myTrades", fresh_trades)
        deliveries += user_deliveries("myTrades", fresh_trades)
        # Balance and positions as they are after the gap, once, if they changed.
        summaries = [
            self.request("private/get_account_summary", {"currency": c}, timeout=timeout)
            for c in SETTLE_CURRENCIES
        ]
        balances = parse_balance(summaries, markets.number)
        if ledger.new_balance(balances):
            deliveries.append(Delivery("balance", balances, Policy.LATEST))
        raw_positions = self.request("private/get_positions", positions_params(), timeout=timeout)
        markets = self._markets_naming([raw_positions], timeout)
        positions = ledger.new_positions(parse_positions(raw_positions, markets), complete=True)
        self._caches.add_user("positions", positions)
        deliveries += user_deliveries("positions", positions)
        self.reconcile_count += 1
        if deliveries:
            self.hub.deliver_many(deliveries, "reconcile")
