"""The private methods of the Binance clients: WS API requests and user data.

A base of ``binance`` holding only the public surface (CCXT's argument handling);
the machinery is the composed :class:`.private_client.BinancePrivate` the client
holds as ``_private``: the WS API connection (signed per request, or through
``session.logon`` with an Ed25519 key on spot), user data (over that connection
on spot, over a listenKey stream on futures), and the reconcile after every
(re)subscription that delivers the order events and fills a disconnection hid.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..._arguments import (
    check_handler,
    check_limit,
    check_params,
    check_since,
    check_symbol,
    check_symbols,
)
from ..._core.events import Policy
from ..._credentials import Credentials
from ..._exceptions import CcxtproSyncError, NotSupported, OrderNotFound
from ..._structures import Balances, Order, Position, Trade
from ..._sync.consumers import Stream, Subscription
from . import ws_api_requests as ws_requests
from .dead_man import CancelOnDisconnectState
from .order_ids import client_order_id
from .private_client import BinancePrivate
from .rest_trading import BinanceRestTrading
from .user_data import BALANCE, MY_TRADES, ORDERS, POSITIONS, symbol_hash
from .ws_api import RateLimit

__all__ = ["BinanceTrading"]


class BinanceTrading(BinanceRestTrading):
    """WS API trading and user data (see module docstring); ``binance`` builds on it."""

    #: The private side this client holds (built in ``_init_trading``).
    _private: BinancePrivate

    def _init_trading(self, private: BinancePrivate) -> None:
        self._private = private
        self.credentials = private.credentials
        self._recv_window = self._private.recv_window  # REST trading signs with it too

    def _require_credentials(self) -> Credentials:
        return self._private.require_credentials()

    def _order_placed(self, order: Order) -> None:
        self._private.dead_man.note(order)

    @property
    def cancel_on_disconnect(self) -> CancelOnDisconnectState:
        """The ``cancelOnDisconnect`` switch: mode, armed symbols, last heartbeat (see
        docs/private.md for what each mode guarantees)."""
        return self._private.dead_man.state()

    @property
    def rate_limits(self) -> list[RateLimit]:
        """The latest ``rateLimits`` Binance reported on the WS API, one per interval."""
        return self._private.rate_limits()

    def _close_trading(self, timeout: float) -> None:
        self._private.close(timeout)

    # -- WS API requests -------------------------------------------------------------------
    def create_order_ws(  # noqa: PLR0917 - CCXT's positional signature
        self,
        symbol: str,
        type: str,  # noqa: A002 - CCXT's argument name
        side: str,
        amount: Any,
        price: Any = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Order:
        """Place an order over the WS API (``order.place``); returns it as an ``Order``.

        ``type``: ``limit``/``market`` (or any Binance type); unified ``params``:
        ``clientOrderId``, ``timeInForce``, ``postOnly``, ``reduceOnly`` (futures),
        ``triggerPrice``, ``cost`` (spot market buy by quote amount).

        The order always carries a client order id (yours, validated, or a
        generated one; it is on the returned ``Order``). If the reply is lost,
        the order is looked up by it before this returns: you get the real
        ``Order``, ``OrderNotPlaced``, or ``OrderStatusUnknown`` (see
        docs/private.md); the request itself is never sent twice.
        """
        market = self.market(symbol)
        sending = check_params(params)
        cid = client_order_id(sending, spot=market.spot)
        order = self._private.ws_order_call(
            "create",
            symbol,
            lambda p: p.send(
                ws_requests.create_order(p.context, symbol, type, side, amount, price, sending)
            ),
            timeout,
            client_id=cid,
        )
        self._order_placed(order)
        return order

    def edit_order_ws(  # noqa: PLR0917 - CCXT's positional signature
        self,
        id: str,  # noqa: A002 - CCXT's argument name
        symbol: str,
        type: str,  # noqa: A002
        side: str,
        amount: Any = None,
        price: Any = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Order:
        """Amend an open order (futures ``order.modify``; spot keeps priority when only
        the quantity shrinks, otherwise cancel-replace); returns the new state.

        A cancel-replace's new order carries a client order id like
        ``create_order_ws``; a lost reply is resolved the same way (an amend that
        keeps the order's id returns the order's state once the request is stale).
        When its new order turns out not placed, the old order is looked up too: the
        ``OrderNotPlaced`` says whether it was cancelled (``replaced_status``).
        """
        market = self.market(symbol)
        sending = check_params(params)
        replaces = not market.contract and not (
            price is None
            and amount is not None
            and ws_requests.order_word(type, "type", "'limit'") != "MARKET"
        )  # (evaluated for spot only: futures amend in place and send no type)
        cid = client_order_id(sending, spot=True) if replaces else None
        return self._private.ws_order_call(
            "edit",
            symbol,
            lambda p: p.send(
                ws_requests.edit_order(p.context, id, symbol, type, side, amount, price, sending)
            ),
            timeout,
            client_id=cid,
            order_id=None if replaces else str(id),
            same_order=not replaces,
            replaces=str(id) if replaces else None,
        )

    def cancel_order_ws(
        self,
        id: str,  # noqa: A002
        symbol: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Order:
        """Cancel one order (by ``id``, or ``params={"clientOrderId": ...}``).

        An order that is already cancelled (or expired) is returned as it is: you
        asked for it not to be open, and it is not. ``OrderNotFound`` if it does
        not exist or has filled. A lost reply is resolved by looking the order
        up: the cancelled ``Order``, ``OrderNotPlaced`` (``action="cancel"``: the
        order is still open) or ``OrderStatusUnknown``.
        """
        self.market(symbol)
        given = check_params(params).get("clientOrderId")
        try:
            return self._private.ws_order_call(
                "cancel",
                symbol,
                lambda p: p.send(ws_requests.cancel_order(p.context, id, symbol, params)),
                timeout,
                client_id=None if given is None else str(given),
                order_id=None if given is not None else str(id),
            )
        except OrderNotFound as error:
            return self._already_cancelled(error, id, symbol, params, timeout)

    def _already_cancelled(
        self,
        error: OrderNotFound,
        id: str,  # noqa: A002
        symbol: str,
        params: Mapping[str, Any] | None,
        timeout: float | None,
    ) -> Order:
        """A cancel refused as "unknown order": the order if it is already cancelled
        or expired, else the refusal."""
        ref = (
            {"clientOrderId": params["clientOrderId"]}
            if params and "clientOrderId" in (params)
            else None
        )
        try:
            order = self.fetch_order_ws(id, symbol, ref, timeout=timeout)
        except CcxtproSyncError:
            raise error from None
        if order.status in ("canceled", "expired"):
            return order
        raise error

    def cancel_all_orders_ws(
        self,
        symbol: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Order]:
        """Cancel every open order of ``symbol``."""
        self.market(symbol)
        orders: list[Order] = self._private.ws_call(
            lambda p: p.send(ws_requests.cancel_all_orders(p.context, symbol, params)), timeout
        )
        return orders

    def fetch_order_ws(
        self,
        id: str,  # noqa: A002
        symbol: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Order:
        """One order's current state (``order.status``)."""
        self.market(symbol)
        order: Order = self._private.ws_call(
            lambda p: p.send(ws_requests.fetch_order(p.context, id, symbol, params)), timeout
        )
        return order

    def fetch_open_orders_ws(
        self,
        symbol: str | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Order]:
        """Open orders (of ``symbol``, or all). Futures have no WS API method for this,
        so they use the signed REST endpoint."""
        if symbol is not None:
            self.market(symbol)
        return self._private.open_orders(symbol, params, timeout)

    def fetch_balance_ws(
        self, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> Balances:
        """The account's balances (spot ``account.status``, futures ``account.balance``)."""
        balances: Balances = self._private.ws_call(
            lambda p: p.send(ws_requests.fetch_balance(p.context, params)), timeout
        )
        return balances

    def fetch_my_trades_ws(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Trade]:
        """Your trades in ``symbol`` (spot ``myTrades``)."""
        self.market(symbol)
        trades: list[Trade] = self._private.ws_call(
            lambda p: p.send(ws_requests.fetch_my_trades(p.context, symbol, since, limit, params)),
            timeout,
        )
        return trades

    def fetch_positions_ws(
        self,
        symbols: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Position]:
        """Open positions (futures ``account.position``)."""
        if self.product == "spot":
            raise NotSupported("positions exist on futures only: use binanceusdm/binancecoinm")
        positions: list[Position] = self._private.ws_call(
            lambda p: p.send(ws_requests.fetch_positions(p.context, symbols, params)), timeout
        )
        return positions

    # -- watch / on / stream for user data ----------------------------------------------------
    def _user_hashes(self, kind: str, symbol: str | None) -> list[str]:
        if symbol is not None:
            check_symbol(symbol)
        if symbol is None:
            return [kind]
        return [symbol_hash(kind, self.market(symbol).symbol)]

    def _watch_user(self, kind: str, symbol: str | None, timeout: float | None) -> Any:
        hashes = self._user_hashes(kind, symbol)
        return self._wait_next(
            hashes, lambda: self._private.hold_user_data(("watch",)), timeout, f"{kind} updates"
        )

    def _user_unread(self, cache_name: str, symbol: str | None) -> bool:
        state = self._private.user_state()
        unified = self.market(symbol).symbol if symbol is not None else None
        with state.lock:
            return bool(getattr(state, cache_name).has_unread(unified))

    def _read_user(
        self, cache_name: str, symbol: str | None, since: int | None, limit: int | None
    ) -> list[Any]:
        state = self._private.user_state()
        unified = self.market(symbol).symbol if symbol is not None else None
        with state.lock:
            cache = getattr(state, cache_name)
            items: list[Any] = cache.read(unified, since, limit, new_updates=self.new_updates)
            return items

    def watch_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Order]:
        """Block until an order changes; returns the cached orders (with ``newUpdates``,
        the ones that changed since your previous call), oldest first."""
        since, limit = check_since(since), check_limit(limit)
        return self._collect(
            lambda: self._user_unread("order_cache", symbol),
            lambda: self._read_user("order_cache", symbol, since, limit),
            lambda: self._watch_user(ORDERS, symbol, timeout),
        )

    def watch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Trade]:
        """Block until one of your orders trades; returns your new trades."""
        since, limit = check_since(since), check_limit(limit)
        return self._collect(
            lambda: self._user_unread("trade_cache", symbol),
            lambda: self._read_user("trade_cache", symbol, since, limit),
            lambda: self._watch_user(MY_TRADES, symbol, timeout),
        )

    def watch_balance(self, *, timeout: float | None = None) -> Balances:
        """Block until the balance changes; returns the whole account's balances."""
        balances: Balances = self._watch_user(BALANCE, None, timeout)
        return balances

    def watch_positions(
        self,
        symbols: Sequence[str] | None = None,
        since: int | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Position]:
        """Futures: block until a position changes; returns the changed positions."""
        if self.product == "spot":
            raise NotSupported("positions exist on futures only: use binanceusdm/binancecoinm")
        since, limit = check_since(since), check_limit(limit)
        # One symbol as a str is a list of one (iterated, it was a list of letters).
        symbols = check_symbols(symbols) if symbols is not None else None
        hashes = (
            [symbol_hash(POSITIONS, self.market(s).symbol) for s in symbols]
            if symbols
            else [POSITIONS]
        )
        wanted = {self.market(s).symbol for s in symbols} if symbols else None

        def read() -> list[Position]:
            items = self._read_user("position_cache", None, since, limit)
            return [p for p in items if wanted is None or p.symbol in wanted]

        return self._collect(
            lambda: self._user_unread("position_cache", None),
            read,
            lambda: self._wait_next(
                hashes, lambda: self._private.hold_user_data(("watch",)), timeout, "positions"
            ),
        )

    def un_watch_orders(self) -> None:
        """Stop the user-data subscription ``watch_*`` holds (if no handler needs it)."""
        self._private.release_user_data(("watch",))

    un_watch_my_trades = un_watch_orders
    un_watch_balance = un_watch_orders
    un_watch_positions = un_watch_orders

    def _on_user(
        self, kind: str, symbol: str | None, handler: Callable[[Any], object] | None
    ) -> Subscription:
        hashes = self._user_hashes(kind, symbol)  # a misplaced handler shows up as the symbol
        handler = check_handler(handler)
        key = ("on", kind, str(id(handler)), str(time.monotonic_ns()))
        return self._add_handler(
            hashes,
            handler,
            lambda: self._private.hold_user_data(key),
            lambda: self._private.release_user_data(key),
            f"{kind} {symbol or 'all'}",
        )

    def _stream_user(
        self, kind: str, symbol: str | None, policy: Policy, timeout: float | None
    ) -> Stream[Any]:
        key = ("stream", kind, str(time.monotonic_ns()))
        return self._open_stream(
            self._user_hashes(kind, symbol),
            policy,
            lambda: self._private.hold_user_data(key),
            lambda: self._private.release_user_data(key),
            f"{kind} {symbol or 'all'}",
            timeout=timeout,
        )

    # Like every on_*: the symbol first (as watch_orders takes it), then the handler,
    # which is required but may come by keyword: on_orders(handler=cb), on_orders("X", cb).
    def on_orders(
        self, symbol: str | None = None, handler: Callable[[list[Order]], object] | None = None
    ) -> Subscription:
        """Call ``handler(orders)`` with every batch of order updates (of ``symbol``, or all)."""
        return self._on_user(ORDERS, symbol, handler)

    def on_my_trades(
        self, symbol: str | None = None, handler: Callable[[list[Trade]], object] | None = None
    ) -> Subscription:
        """Call ``handler(trades)`` with every batch of own trades (of ``symbol``, or all)."""
        return self._on_user(MY_TRADES, symbol, handler)

    def on_balance(self, handler: Callable[[Balances], object]) -> Subscription:
        """Call ``handler(balances)`` with every balance update."""
        return self._on_user(BALANCE, None, handler)

    def on_positions(
        self, symbol: str | None = None, handler: Callable[[list[Position]], object] | None = None
    ) -> Subscription:
        """Call ``handler(positions)`` with every batch of position updates (futures)."""
        if self.product == "spot":
            raise NotSupported("positions exist on futures only: use binanceusdm/binancecoinm")
        return self._on_user(POSITIONS, symbol, handler)

    def stream_orders(
        self, symbol: str | None = None, *, timeout: float | None = None
    ) -> Stream[list[Order]]:
        return self._stream_user(ORDERS, symbol, Policy.APPEND, timeout)

    def stream_my_trades(
        self, symbol: str | None = None, *, timeout: float | None = None
    ) -> Stream[list[Trade]]:
        return self._stream_user(MY_TRADES, symbol, Policy.APPEND, timeout)

    def stream_balance(self, *, timeout: float | None = None) -> Stream[Balances]:
        return self._stream_user(BALANCE, None, Policy.LATEST, timeout)

    def stream_positions(
        self, symbol: str | None = None, *, timeout: float | None = None
    ) -> Stream[list[Position]]:
        if self.product == "spot":
            raise NotSupported("positions exist on futures only: use binanceusdm/binancecoinm")
        return self._stream_user(POSITIONS, symbol, Policy.APPEND, timeout)
