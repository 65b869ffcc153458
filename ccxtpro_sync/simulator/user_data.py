"""User-data event routing: the matching engine's :class:`~.matching.Sink`.

Spot events go to every WS API subscription of the account, wrapped as
``{"subscriptionId": N, "event": {...}}`` by the session; futures events are
published on each live listenKey of the account (a market-stream name, so
``/usdm/private/ws?listenKey=``, ``/coinm/ws/<key>`` and SUBSCRIBE all work,
combined connections wrap them as ``{"stream": key, "data": ...}``).

The ``drop`` fault discards the next N events (optionally of one account)
*after* the state change, which is exactly what a lost push looks like to a
client: ``order.status``/``account.status`` still tell the truth.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from .accounts import Account
from .catalog import MarketName
from .engine import Engine
from .listen_keys import ListenKeys
from .orders import Fill, SimOrder
from .private_shapes import (
    account_update,
    balance_update,
    execution_report,
    order_trade_update,
    outbound_account_position,
    position_update,
)

if TYPE_CHECKING:
    from .matching import Matching


class Subscriber(Protocol):
    """A WS API session holding user-data subscriptions."""

    def push_event(self, subscription_id: int, event: dict[str, Any]) -> None: ...


class UserDataHub:
    """Formats engine notifications and routes them to subscribers (see module docstring)."""

    def __init__(self, engine: Engine, listen_keys: ListenKeys) -> None:
        self.engine = engine
        self.listen_keys = listen_keys
        self.matching: Matching | None = None
        self._lock = threading.Lock()
        self._subs: dict[int, list[tuple[Subscriber, int]]] = {}
        self._drop = 0
        self._drop_account: int | None = None
        self.dropped = 0
        self.delivered = 0

    # -- subscriptions ---------------------------------------------------------------------------
    def subscribe(self, account: Account, session: Subscriber, subscription_id: int) -> None:
        with self._lock:
            self._subs.setdefault(account.uid, []).append((session, subscription_id))

    def unsubscribe(self, account: Account, session: Subscriber, subscription_id: int) -> None:
        with self._lock:
            subs = self._subs.get(account.uid, [])
            if (session, subscription_id) in subs:
                subs.remove((session, subscription_id))

    def drop(self, count: int, account: Account | None = None) -> None:
        with self._lock:
            self._drop = count
            self._drop_account = account.uid if account is not None else None

    def _dropped(self, account: Account) -> bool:
        with self._lock:
            if self._drop > 0 and self._drop_account in (None, account.uid):
                self._drop -= 1
                self.dropped += 1
                return True
            return False

    # -- routing ---------------------------------------------------------------------------------
    def _spot(self, account: Account, event: dict[str, Any]) -> None:
        if self._dropped(account):
            return
        with self._lock:
            targets = list(self._subs.get(account.uid, ()))
            self.delivered += 1
        for session, subscription_id in targets:
            session.push_event(subscription_id, event)

    def _futures(self, account: Account, market: MarketName, event: dict[str, Any]) -> None:
        if self._dropped(account):
            return
        with self._lock:
            self.delivered += 1
        for key in self.listen_keys.keys_of(account, market):
            self.engine.publish(market, key, event)

    # -- Sink ------------------------------------------------------------------------------------
    def order_event(self, order: SimOrder, exec_type: str, fill: Fill | None, now: int) -> None:
        assert self.matching is not None
        st = self.matching.state(order.market, order.symbol)
        if order.market == "spot":
            event = execution_report(
                order, st, exec_type, fill, now=now, execution_id=self.matching.next_execution_id()
            )
            self._spot(order.account, event)
        else:
            self._futures(
                order.account, order.market, order_trade_update(order, st, exec_type, fill, now)
            )

    def spot_account(self, account: Account, assets: Iterable[str], now: int) -> None:
        self._spot(account, outbound_account_position(account, assets, now))

    def futures_account(
        self,
        account: Account,
        market: MarketName,
        assets: Iterable[str],
        symbols: Iterable[str],
        *,
        reason: str,
        now: int,
    ) -> None:
        assert self.matching is not None
        matching = self.matching
        balances = [
            {
                "a": a,
                "wb": f"{account.wallet(market, a):.8f}",
                "cw": f"{account.wallet(market, a):.8f}",
                "bc": "0",
            }
            for a in assets
        ]
        positions = []
        for symbol in symbols:
            st = matching.state(market, symbol)
            pos = account.position(market, symbol)
            upnl = matching.unrealized(
                market, st.spec, pos.amount, pos.entry_price, matching.mark_price(market, symbol)
            )
            positions.append(position_update(symbol, pos, st, upnl))
        self._futures(account, market, account_update(market, reason, balances, positions, now))

    def deposit(
        self, account: Account, market: MarketName, asset: str, delta: Decimal, now: int
    ) -> None:
        """A balance change from outside trading (``ex.deposit``)."""
        if market == "spot":
            self._spot(account, balance_update(asset, delta, now))
            self.spot_account(account, [asset], now)
        else:
            self.futures_account(account, market, [asset], [], reason="DEPOSIT", now=now)
