"""The private side of the Binance clients: WS API requests and user-data streams.

A mixin of ``binance``: it relies on the client's hub, locks, markets,
endpoints and consumer primitives. Requests go over one WS API connection
(signed per request, or through ``session.logon`` with an Ed25519 key on
spot); user data comes over that connection on spot and over a listenKey
stream on futures. After every (re)subscription a background job reconciles
open orders, balances and positions, and fetches the trades of orders that
filled meanwhile, so an order event or a fill sent while we were disconnected
is delivered anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import msgspec

from ..._arguments import check_handler, check_params, check_symbol
from ..._core.events import Delivery, Policy
from ..._core.freshness import QuietUserData
from ..._credentials import Credentials
from ..._exceptions import (
    AuthenticationError,
    BadRequest,
    CcxtproSyncError,
    ClientClosed,
    NotSupported,
    OrderNotFound,
    OrderStatusUnknown,
    RateLimitExceeded,
)
from ..._structures import Balances, Order, Position, Trade
from ..._sync.connection import Connection
from ..._sync.consumers import Stream, Subscription
from ..._sync.handover import handover
from ..._sync.worker import Worker
from .dead_man import DEFAULT_COUNTDOWN_MS, CancelOnDisconnectState, DeadManSwitch
from .errors import INVALID_LISTEN_KEY
from .order_ids import client_order_id, exchange_order_id
from .order_outcome import (
    DEFAULT_RECV_WINDOW_MS,
    STALE_MARGIN_MS,
    Action,
    SentOrder,
    is_unknown_outcome,
    resolve,
)
from .private_parsers import (
    parse_account_position,
    parse_futures_balances,
    parse_my_trade,
    parse_order_result,
)
from .private_wire import AccountBalanceEntry, AccountPositionEntry, OrderResult, TradeResult
from .rest_trading import BinanceRestTrading
from .stream_protocol import BinanceStreamProtocol
from .user_data import (
    BALANCE,
    MY_TRADES,
    ORDERS,
    POSITIONS,
    ListenKeyAction,
    OrderSequencer,
    symbol_hash,
)
from .user_stream import SharedListenKeyTimer, SharedUserData, UserStreamRouter
from .ws_api import USER_DATA_SUBSCRIBED, BinanceWsApiProtocol, RateLimit

if TYPE_CHECKING:
    from ..._structures import Market
    from ..._sync.rotator import Rotator
    from .environments import Endpoints
    from .market_data import MarketData
    from .markets import Markets
    from .rest import BinanceRest
    from .wire import Product

_log = logging.getLogger("ccxtpro_sync")

#: Frames per second on the WS API connection; Binance limits it by request weight.
WS_API_RATE = 50.0

#: Signed REST reads used to reconcile futures user data:
#: (open orders, balance, positions, an order's trades).
_FUTURES_REST: dict[str, tuple[str, str, str, str]] = {
    "usdm": (
        "/fapi/v1/openOrders",
        "/fapi/v2/balance",
        "/fapi/v2/positionRisk",
        "/fapi/v1/userTrades",
    ),
    "coinm": (
        "/dapi/v1/openOrders",
        "/dapi/v1/balance",
        "/dapi/v1/positionRisk",
        "/dapi/v1/userTrades",
    ),
}

_decode_orders = msgspec.json.Decoder(list[OrderResult]).decode
_decode_balances = msgspec.json.Decoder(list[AccountBalanceEntry]).decode
_decode_positions = msgspec.json.Decoder(list[AccountPositionEntry]).decode
_decode_trades = msgspec.json.Decoder(list[TradeResult]).decode

WsBuild = Callable[[BinanceWsApiProtocol], tuple[int | str, str]]


#: Config keys holding secret material: taken out of the caller's dict when read.
SECRET_KEYS = ("secret", "privateKey", "password")


def take_credentials(*sources: Any) -> Credentials | None:
    """Credentials from ``apiKey`` + ``secret``/``privateKey``/``privateKeyPath`` in the
    config dicts, with the secret material popped out of them first (each dict that
    can be changed is consumed), so that neither the caller's dict nor any frame an
    error reporter captures holds a secret afterwards. None without an ``apiKey``."""
    secrets: dict[str, Any] = {}
    api_key = key_path = None
    for source in sources:
        if not isinstance(source, Mapping):
            continue
        for name in SECRET_KEYS:
            if name in source:
                if isinstance(source, MutableMapping):
                    secrets[name] = source.pop(name)
                else:  # read-only: nothing to take it out of
                    secrets[name] = source[name]
        api_key = source.get("apiKey", api_key)
        key_path = source.get("privateKeyPath", key_path)
    if not api_key:
        secrets.clear()
        return None
    try:
        return Credentials(
            api_key,
            secret=secrets.get("secret"),
            private_key=secrets.get("privateKey"),
            private_key_path=key_path,
            private_key_password=secrets.get("password"),
        )
    finally:
        secrets.clear()  # nothing left in this frame for a traceback to show


def load_credentials(
    settings: Mapping[str, Any], environment: str, taken: Credentials | None = None
) -> Credentials | None:
    """Credentials from the config (``credentials``, or those ``take_credentials``
    built from ``apiKey`` and its secret) or from this environment's variables
    (optionally a ``dotenv`` file); never another environment's."""
    given = settings.get("credentials")
    if given is not None:
        if not isinstance(given, Credentials):
            raise AuthenticationError("credentials must be a ccxtpro_sync.Credentials")
        return given
    if taken is not None:
        return taken
    return Credentials.from_env(environment, dotenv=settings.get("dotenv"))


class BinanceTrading(BinanceRestTrading):
    """WS API trading and user data (see module docstring); ``binance`` builds on it."""

    if TYPE_CHECKING:  # provided by the market-data client
        environment: str
        options: dict[str, Any]
        endpoints: Endpoints
        product: Product
        rest: BinanceRest
        trades_limit: int
        _markets: Markets | None
        _reconnect: Any
        _read_timeout: float
        _ping_interval: float
        _max_message_size: int
        _rotator: Rotator
        _rotate_on_shutdown: bool

        def _purge_finished(self) -> None: ...

        def _connection_gave_up(self, conn: Connection, error: BaseException) -> None: ...

        @property
        def data(self) -> MarketData: ...

        def market(self, symbol: str) -> Market: ...

        def load_markets(self, reload: bool = False) -> dict[str, Market]: ...

    def _init_trading(
        self, settings: Mapping[str, Any], credentials: Credentials | None = None
    ) -> None:
        self.credentials = load_credentials(settings, self.environment, credentials)
        self._recv_window: int | None = settings.get("recvWindow")
        self.orders_limit = int(settings.get("ordersLimit", 1000))
        self._ws_api: Connection | None = None
        self._user: SharedUserData | None = None
        self._user_stream: Connection | None = None
        self._user_holds: set[tuple[str, ...]] = set()
        self._reconcile_hooked = False
        self._worker = Worker(f"ccxtpro_sync-{self.name}-worker")
        keepalive = float(self.options.get("listenKeyKeepalive", 30 * 60.0))
        self._listen_key = SharedListenKeyTimer(keepalive)
        self._dead_man = DeadManSwitch(
            self,
            enabled=bool(settings.get("cancelOnDisconnect", False)),
            countdown_ms=settings.get("cancelOnDisconnectCountdown", DEFAULT_COUNTDOWN_MS),
        )
        quiet = settings.get("userDataQuietAfter", 60.0)
        if quiet not in (None, False, 0) and not (
            isinstance(quiet, int | float) and 0 < quiet < float("inf")
        ):
            raise BadRequest(f"userDataQuietAfter must be seconds > 0 or False, not {quiet!r}")
        #: Seconds of user-data silence, with orders open, before a reconcile (None: never).
        self._quiet_after: float | None = float(quiet) if quiet else None
        self._quiet: QuietUserData | None = None

    # -- plumbing --------------------------------------------------------------------------
    def _require_credentials(self) -> Credentials:
        if self.credentials is None:
            env = self.environment.upper()
            raise AuthenticationError(
                f"{self.name}: this needs API credentials: pass apiKey and secret (or "
                f"privateKey/privateKeyPath), or set BINANCE_{env}_API_KEY and "
                f"BINANCE_{env}_API_SECRET"
            )
        return self.credentials

    def _user_state(self) -> SharedUserData:
        with self._lock:
            if self._user is None:
                self._user = SharedUserData(
                    self.data.markets,
                    orders_limit=self.orders_limit,
                    trades_limit=self.trades_limit,
                )
                # Reconcile results and live events reach on_orders newest-last per order.
                self.hub.admit = OrderSequencer().admit
            return self._user

    def _ws_api_connection(self) -> Connection:
        with self._lock:
            self._check_usable()
            self._purge_finished()
            if self._ws_api is None:
                self._ws_api = self._new_ws_api()
                self._hook_reconcile()
            return self._ws_api

    def _new_ws_api(self) -> Connection:
        """A WS API connection, not started (it logs on as it opens)."""
        protocol = BinanceWsApiProtocol(
            self.endpoints,
            self.credentials,
            markets=self.data.markets,
            user_data=self._user_state(),
            recv_window=self._recv_window,
        )
        conn = Connection(
            protocol,
            hub=self.hub,
            owner=self,
            name=f"{self.name}-ws-api",
            reconnect=self._reconnect,
            connect_timeout=self.timeout,
            read_timeout=self._read_timeout,
            ping_interval=self._ping_interval,
            outgoing_rate=WS_API_RATE,
            max_message_size=self._max_message_size,
            kind="ws_api",
            on_give_up=self._connection_gave_up,
            on_lost=self._dead_man.on_ws_api_lost,
        )
        self._rotation_hooks(conn)
        return conn

    # -- make-before-break rotation (the WS API session, the listenKey stream) -------------
    def _rotation_hooks(self, conn: Connection) -> None:
        """``serverShutdown`` on ``conn`` rotates it (if configured); its age is watched."""
        protocol = conn.protocol
        if self._rotate_on_shutdown and hasattr(protocol, "on_server_shutdown"):
            protocol.on_server_shutdown = lambda: self._rotator.request(conn)
        if self._rotator.max_age is not None:
            self._rotator.start()

    def _rotate_ws_api(self, old: Connection, timeout: float) -> Connection:
        """Replace the WS API session: the new one logs on (and subscribes to user data
        if held) before new requests go to it; requests in flight finish on the old one,
        which closes once they have (at most the client timeout later)."""
        with self._lock:
            self._check_usable()
            if self._ws_api is not old or old.finished:
                raise BadRequest(f"{old.name} cannot be rotated now")
            wants_user_data = self.product == "spot" and bool(self._user_holds)
            new = self._new_ws_api()
        # The server-time offset and a server's hold-off carry over to the new session.
        offset, blocked = old.query(lambda p: (p.time_offset_ms, p.blocked_until))
        new.query(partial(_carry_over, offset=offset, blocked=blocked))
        if wants_user_data:  # not open yet: recorded, and sent by its resume sequence
            new.call(lambda p: p.want_user_data(True), restored_on_reconnect=True)
        state = self._user_state()

        def install(conn: Connection) -> bool:
            with self._lock:
                if self._ws_api is not old or self._closed:
                    return False
                if (self.product == "spot" and bool(self._user_holds)) != wants_user_data:
                    # User data was (un)subscribed meanwhile, on the old session only:
                    # this replacement is wrong; the rotation fails and is tried anew.
                    return False
                self._ws_api = conn
                return True

        return handover(
            old,
            new,
            install,
            timeout=timeout,
            drain=self.timeout,
            begin=state.begin_overlap if wants_user_data else _nothing,
            end=state.end_overlap if wants_user_data else _nothing,
        )

    def _rotate_user_stream(self, old: Connection, timeout: float) -> Connection:
        """Replace the futures listenKey stream: the new one is open (the key rides in
        its URL) before the old one closes; events both deliver pass once."""
        key = self._listen_key.current()
        with self._lock:
            self._check_usable()
            if self._user_stream is not old or old.finished or key is None:
                raise BadRequest(f"{old.name} cannot be rotated now")
        new = self._new_user_stream(key)
        state = self._user_state()

        def install(conn: Connection) -> bool:
            with self._lock:
                if self._user_stream is not old or self._closed:
                    return False
                self._user_stream = conn
                return True

        # A stream carries no requests: nothing to drain.
        return handover(
            old,
            new,
            install,
            timeout=timeout,
            drain=0.0,
            begin=state.begin_overlap,
            end=state.end_overlap,
        )

    def _hook_reconcile(self) -> None:
        """Reconcile (on the worker) each time a user-data subscription is confirmed."""
        if not self._reconcile_hooked:
            self._reconcile_hooked = True
            self.hub.add_callback(
                USER_DATA_SUBSCRIBED, lambda _: self._worker.submit(self._reconcile)
            )
            if self._quiet_after is not None:
                self._quiet = QuietUserData(self._quiet_after, time.monotonic())
                self._worker.submit(self._check_quiet_user_data, delay=self._quiet_period())

    def _quiet_period(self) -> float:
        assert self._quiet_after is not None
        return min(self._quiet_after / 2, 5.0)

    def _check_quiet_user_data(self) -> None:
        """Worker job: reconcile now if user data went quiet while orders are open
        (a stalled stream on a live connection), then look again later."""
        try:
            with self._lock:
                conn = self._ws_api if self.product == "spot" else self._user_stream
                state, quiet = self._user, self._quiet
            if conn is None or state is None or quiet is None or not conn.is_ready():
                return
            with state.lock:
                open_orders = len(state.orders)
            heard = max(conn.last_update_at or 0.0, conn.connected_at or 0.0)
            if quiet.due(time.monotonic(), heard, open_orders):
                _log.info(
                    "%s: no user data for %.1fs with %d order(s) open; reconciling",
                    self.name,
                    quiet.after,
                    open_orders,
                )
                self._reconcile()
        finally:
            if not self._closed:
                self._worker.submit(self._check_quiet_user_data, delay=self._quiet_period())

    def _ws_call(self, build: WsBuild, timeout: float | None) -> Any:
        """Send one WS API request built by the protocol and return its parsed answer."""
        self._check_usable()
        self._require_credentials()
        if self._markets is None:
            self.load_markets()
        wait = self._timeout(timeout)
        deadline = time.monotonic() + wait
        conn = self._ws_api_connection().start()
        conn.wait_ready(wait)
        blocked: float | None = conn.query(lambda p: p.blocked_until)
        if blocked is not None and blocked > time.monotonic():
            retry_after = blocked - time.monotonic()
            raise RateLimitExceeded(
                f"{self.name}: Binance asked us to wait {retry_after:.1f}s more",
                retry_after=retry_after,
            )
        return conn.call(
            lambda p: BinanceWsApiProtocol.as_call(build(p)),
            max(0.0, deadline - time.monotonic()),
        )

    def _ws_order_call(
        self,
        action: Action,
        symbol: str,
        build: WsBuild,
        timeout: float | None,
        *,
        client_id: str | None,
        order_id: str | None = None,
        same_order: bool = False,
    ) -> Order:
        """Send one order request (never twice) and return its ``Order``; when its
        outcome is unknown, resolve it (see ``order_outcome``) before returning."""
        self._check_usable()
        self._require_credentials()
        if self._markets is None:
            self.load_markets()
        wait = self._timeout(timeout)
        deadline = time.monotonic() + wait
        conn = self._ws_api_connection().start()
        conn.wait_ready(wait)  # nothing has been sent yet: errors here are plain
        # Read under the protocol lock: the reader updates both as replies arrive.
        blocked, recv_window = conn.query(_pacing_state)
        if blocked is not None and blocked > time.monotonic():
            retry_after = blocked - time.monotonic()
            raise RateLimitExceeded(
                f"{self.name}: Binance asked us to wait {retry_after:.1f}s more",
                retry_after=retry_after,
            )
        window = recv_window or DEFAULT_RECV_WINDOW_MS
        built_at: list[float] = []

        def sending(p: BinanceWsApiProtocol) -> tuple[list[int | str], list[str]]:
            request = build(p)
            built_at.append(p.now_ms())  # the request's timestamp is at most this
            return BinanceWsApiProtocol.as_call(request)

        # Keep up to half the time for resolving a lost reply.
        reserve = min(wait / 2, (window + STALE_MARGIN_MS) / 1000 + 1.0)
        try:
            order: Order = conn.call(sending, max(0.0, deadline - reserve - time.monotonic()))
            return order
        except CcxtproSyncError as error:
            if not built_at or not is_unknown_outcome(error):
                raise
            cause: CcxtproSyncError = error
        sent = SentOrder(
            action,
            self.market(symbol).symbol,
            client_id,
            built_at[0] + window + STALE_MARGIN_MS,
            order_id,
        )
        _log.warning("%s: %s outcome unknown (%s); resolving", self.name, action, cause)
        if isinstance(cause, ClientClosed) and self._closed:
            # close_connection() also ends a call with ClientClosed; then the client
            # is still open and the order is looked up on a new connection.
            raise OrderStatusUnknown(
                f"{sent.action} {sent.symbol} ({sent.label()}): the client was closed "
                "before the reply came",
                client_order_id=client_id,
                symbol=sent.symbol,
                action=action,
                cause=cause,
                order_id=order_id,
            ) from cause
        ref = {"clientOrderId": client_id} if client_id is not None else None

        def query(remaining: float) -> Order:
            found: Order = self._ws_call(
                lambda p: p.fetch_order(order_id or "0", symbol, ref), remaining
            )
            return found

        order = resolve(
            sent,
            query,
            lambda: conn.query(_server_now_ms),
            deadline,
            cause,
            closed=lambda: self._closed,
            same_order=same_order,
        )
        if action != "cancel" and order.status is not None:
            # as the lost reply would have: reconcile knows the order we placed
            self._user_state().track(order)
        return order

    def _order_placed(self, order: Order) -> None:
        self._dead_man.note(order)

    @property
    def cancel_on_disconnect(self) -> CancelOnDisconnectState:
        """The ``cancelOnDisconnect`` switch: mode, armed symbols, last heartbeat (see
        docs/private.md for what each mode guarantees)."""
        return self._dead_man.state()

    @property
    def rate_limits(self) -> list[RateLimit]:
        """The latest ``rateLimits`` Binance reported on the WS API, one per interval."""
        conn = self._ws_api
        if conn is None:
            return []
        limits: list[RateLimit] = conn.query(lambda p: p.rate_limits)
        return limits

    def _close_trading(self, timeout: float) -> None:
        self._worker.close(timeout)
        key = self._listen_key.current()
        with self._lock:
            connections = (self._user_stream, self._ws_api)
        for conn in connections:
            if conn is not None:
                conn.close(timeout)
        if key is not None and self.credentials is not None:
            try:  # best effort: the key would expire on its own within the hour
                self.rest.with_api_key(
                    "DELETE", self.endpoints.listen_key_path, self.credentials, {"listenKey": key}
                )
            except CcxtproSyncError as error:
                _log.debug("closing the listenKey failed: %s", error)

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
        order = self._ws_order_call(
            "create",
            symbol,
            lambda p: p.create_order(symbol, type, side, amount, price, sending),
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
        """
        market = self.market(symbol)
        sending = check_params(params)
        replaces = not market.contract and not (
            price is None and amount is not None and type.upper() != "MARKET"
        )
        cid = client_order_id(sending, spot=True) if replaces else None
        return self._ws_order_call(
            "edit",
            symbol,
            lambda p: p.edit_order(id, symbol, type, side, amount, price, sending),
            timeout,
            client_id=cid,
            order_id=None if replaces else str(id),
            same_order=not replaces,
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
            return self._ws_order_call(
                "cancel",
                symbol,
                lambda p: p.cancel_order(id, symbol, params),
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
        orders: list[Order] = self._ws_call(lambda p: p.cancel_all_orders(symbol, params), timeout)
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
        order: Order = self._ws_call(lambda p: p.fetch_order(id, symbol, params), timeout)
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
        if self.product != "spot":
            return self._rest_open_orders(symbol)
        orders: list[Order] = self._ws_call(lambda p: p.fetch_open_orders(symbol, params), timeout)
        return orders

    def fetch_balance_ws(
        self, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> Balances:
        """The account's balances (spot ``account.status``, futures ``account.balance``)."""
        balances: Balances = self._ws_call(lambda p: p.fetch_balance(params), timeout)
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
        trades: list[Trade] = self._ws_call(
            lambda p: p.fetch_my_trades(symbol, since, limit, params), timeout
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
        positions: list[Position] = self._ws_call(
            lambda p: p.fetch_positions(symbols, params), timeout
        )
        return positions

    # -- futures over REST (what the futures WS API lacks) -------------------------------------
    def _futures_rest(self, which: int, params: dict[str, Any] | None = None) -> bytes:
        path = _FUTURES_REST[self.product][which]
        credentials = self._require_credentials()
        body: bytes = self.rest.signed_raw("GET", path, credentials, params)
        return body

    def _rest_open_orders(self, symbol: str | None = None) -> list[Order]:
        params = {"symbol": self.market(symbol).id} if symbol is not None else None
        number: Any = self.data.markets.number  # float or Decimal, fixed per client
        orders = []
        for result in _decode_orders(self._futures_rest(0, params)):
            market = self.data.markets.get(result.symbol)
            if market is not None:
                orders.append(parse_order_result(result, market, number))
        return orders

    def _rest_order_trades(self, symbol: str, order_id: str) -> list[Trade]:
        """Futures ``userTrades`` of one order (signed REST; the futures WS API has none)."""
        market = self.market(symbol)
        number: Any = self.data.markets.number
        params = {"symbol": market.id, "orderId": order_id}
        return [
            parse_my_trade(row, market, number)
            for row in _decode_trades(self._futures_rest(3, params))
        ]

    def _order_trades(self, symbol: str, order_id: str) -> list[Trade]:
        """All trades of one order: spot WS API ``myTrades``, futures REST ``userTrades``."""
        if self.product == "spot":
            return self.fetch_my_trades_ws(symbol, params={"orderId": exchange_order_id(order_id)})
        return self._rest_order_trades(symbol, order_id)

    # -- user data subscriptions -------------------------------------------------------------
    def _hold_user_data(self, key: tuple[str, ...]) -> None:
        """Subscribe to user data once; ``key`` holds it until released."""
        self._require_credentials()
        if self._markets is None:
            self.load_markets()
        with self._lock:
            self._purge_finished()
            first = not self._user_holds
            self._user_holds.add(key)
        if not first:
            return
        try:
            if self.product == "spot":
                conn = self._ws_api_connection()
                conn.call(lambda p: p.want_user_data(True), restored_on_reconnect=True)
                conn.start()
            else:
                self._start_listen_key_stream()
        except BaseException:
            with self._lock:
                self._user_holds.discard(key)
            raise

    def _release_user_data(self, key: tuple[str, ...]) -> None:
        with self._lock:
            if key not in self._user_holds:
                return
            self._user_holds.discard(key)
            last = not self._user_holds
        if not last or self._closed:
            return
        if self.product == "spot" and self._ws_api is not None:
            self._ws_api.call(lambda p: p.want_user_data(False), restored_on_reconnect=True)
            return
        with self._lock:  # set under this lock in _start_listen_key_stream
            stream, self._user_stream = self._user_stream, None
        if stream is not None:
            self._listen_key.stop()
            stream.close()

    def _start_listen_key_stream(self) -> None:
        """Futures: create the listenKey (REST), then open its stream and keep it alive."""
        self._listen_key.start()
        key = self._create_listen_key()
        conn = self._new_user_stream(key)
        with self._lock:
            self._user_stream = conn
            self._hook_reconcile()
        conn.start()
        self._schedule_keepalive()

    def _new_user_stream(self, key: str) -> Connection:
        """A listenKey stream connection for ``key``, not started."""
        base = self.endpoints.stream_base("private" if self.endpoints.routed else None)
        router = UserStreamRouter(self._user_state(), self._on_listen_key_expired)
        protocol = BinanceStreamProtocol(base, router, max_streams=1, name=f"{self.name}-user")
        conn = Connection(
            protocol,
            hub=self.hub,
            owner=self,
            name=f"{self.name}-user-data",
            reconnect=self._reconnect,
            connect_timeout=self.timeout,
            read_timeout=self._read_timeout,
            ping_interval=self._ping_interval,
            max_message_size=self._max_message_size,
            kind="user_data",
            on_give_up=self._connection_gave_up,
        )
        self._rotation_hooks(conn)
        conn.call(lambda p: p.subscribe([key]))
        return conn

    def _create_listen_key(self) -> str:
        credentials = self._require_credentials()
        answer = self.rest.with_api_key("POST", self.endpoints.listen_key_path, credentials)
        key = str(answer["listenKey"])
        self._listen_key.created(key, time.monotonic())
        return key

    def _schedule_keepalive(self) -> None:
        due = self._listen_key.next_due()
        if due is not None:
            self._worker.submit(self._keepalive, delay=max(0.0, due - time.monotonic()))

    def _keepalive(self) -> None:
        key = self._listen_key.current()
        with self._lock:
            streaming = self._user_stream is not None
        if key is None or not streaming:
            return
        try:
            self.rest.with_api_key(
                "PUT",
                self.endpoints.listen_key_path,
                self._require_credentials(),
                {"listenKey": key},
            )
            # The key may have been replaced while the PUT was in flight (the reader
            # saw it expire): then this reply is about a key no longer in use.
            self._listen_key.kept_alive(time.monotonic(), key)
        except CcxtproSyncError as error:
            code = getattr(error, "code", None)
            _log.warning("%s: listenKey keepalive failed: %s", self.name, error)
            if code == INVALID_LISTEN_KEY:
                if self._listen_key.on_error(code, key) is ListenKeyAction.CREATE:
                    self._replace_listen_key()
                return
        self._schedule_keepalive()

    def _on_listen_key_expired(self) -> None:
        # Reader thread, under its protocol lock: only hand the work over.
        self._listen_key.on_expired()
        self._worker.submit(self._replace_listen_key)

    def _replace_listen_key(self) -> None:
        with self._lock:
            conn = self._user_stream
        if conn is None:
            return
        old = conn.query(lambda p: p.book.desired())
        key = self._create_listen_key()
        conn.call(lambda p: p.unsubscribe(old), restored_on_reconnect=True)
        conn.call(lambda p: p.subscribe([key]), restored_on_reconnect=True)
        # The gap between the old key's expiry and the new subscription is reconciled.
        conn.force_reconnect("new listenKey")
        self._schedule_keepalive()

    # -- reconcile after (re)subscribing ------------------------------------------------------
    def _reconcile(self) -> None:
        """Fetch open orders and balances (and positions) and emit what the gap hid:
        orders that moved on, and the trades of those that filled further."""
        state = self._user_state()
        if self.product == "spot":
            open_orders = self.fetch_open_orders_ws()
            balances = self.fetch_balance_ws()
            result = state.reconcile(open_orders, balances)
        else:
            number: Any = self.data.markets.number
            open_orders = self._rest_open_orders()
            balances = parse_futures_balances(_decode_balances(self._futures_rest(1)), number)
            positions = [
                parse_account_position(entry, market, number)
                for entry in _decode_positions(self._futures_rest(2))
                if (market := self.data.markets.get(entry.symbol)) is not None
            ]
            result = state.reconcile(open_orders, balances, positions)
        statuses: list[Order] = []
        gone: list[str] = []
        for symbol, order_id in result.missing:
            try:
                statuses.append(self.fetch_order_ws(order_id, symbol))
            except OrderNotFound:
                gone.append(order_id)
        finished = state.resolve(statuses, gone, plan=result)
        fetched: list[Trade] = []
        unfetched: list[tuple[str, str]] = []
        for symbol, order_id in dict.fromkeys(result.filled):
            try:
                fetched += self._order_trades(symbol, order_id)
            except CcxtproSyncError as error:
                # The orders are still worth delivering; the next reconcile tries these again.
                _log.warning("%s: trades of order %s not fetched: %s", self.name, order_id, error)
                unfetched.append((symbol, order_id))
        state.owe_trades(unfetched)
        # The fills go first: whoever sees an order's new fill has its trades already.
        deliveries: list[Delivery] = [
            *state.missed_trades(fetched),
            *result.deliveries,
            *finished,
        ]
        for delivery in deliveries:
            self.hub.deliver(delivery, "reconcile")

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
            hashes, lambda: self._hold_user_data(("watch",)), timeout, f"{kind} updates"
        )

    def _user_unread(self, cache_name: str, symbol: str | None) -> bool:
        state = self._user_state()
        unified = self.market(symbol).symbol if symbol is not None else None
        with state.lock:
            return bool(getattr(state, cache_name).has_unread(unified))

    def _read_user(
        self, cache_name: str, symbol: str | None, since: int | None, limit: int | None
    ) -> list[Any]:
        state = self._user_state()
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
                hashes, lambda: self._hold_user_data(("watch",)), timeout, "positions"
            ),
        )

    def un_watch_orders(self) -> None:
        """Stop the user-data subscription ``watch_*`` holds (if no handler needs it)."""
        self._release_user_data(("watch",))

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
            lambda: self._hold_user_data(key),
            lambda: self._release_user_data(key),
            f"{kind} {symbol or 'all'}",
        )

    def _stream_user(
        self, kind: str, symbol: str | None, policy: Policy, timeout: float | None
    ) -> Stream[Any]:
        key = ("stream", kind, str(time.monotonic_ns()))
        return self._open_stream(
            self._user_hashes(kind, symbol),
            policy,
            lambda: self._hold_user_data(key),
            lambda: self._release_user_data(key),
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


def _nothing() -> None:
    pass


def _carry_over(protocol: BinanceWsApiProtocol, *, offset: float, blocked: float | None) -> None:
    protocol.set_time_offset(offset)
    protocol.blocked_until = blocked


def _pacing_state(protocol: BinanceWsApiProtocol) -> tuple[float | None, int | None]:
    return protocol.blocked_until, protocol.recv_window


def _server_now_ms(protocol: BinanceWsApiProtocol) -> float:
    return protocol.now_ms()
