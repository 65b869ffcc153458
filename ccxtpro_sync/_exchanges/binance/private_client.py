"""The private side of a Binance client: WS API connection, order calls, user data.

A :class:`BinancePrivate` is an object the ``binance`` client holds (not a base
class). It owns the WS API connection (signed per request, or through
``session.logon`` with an Ed25519 key on spot), the user-data state and its
subscriptions (over that connection on spot, over a listenKey stream on futures,
``listen_key.py``), the reconcile after every (re)subscription (``reconcile.py``),
cancel-on-disconnect (``dead_man.py``) and the worker thread those jobs run on.
What it uses of the client is :class:`PrivateHost`, given at construction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Final, Protocol

import msgspec
from tenacity import Retrying

from ..._core.freshness import QuietUserData
from ..._credentials import Credentials
from ..._exceptions import (
    AuthenticationError,
    BadRequest,
    CcxtproSyncError,
    ClientClosed,
    OrderNotPlaced,
    OrderStatusUnknown,
    ProtocolError,
    RateLimitExceeded,
)
from ..._structures import Balances, Market, Order, Position, Trade
from ..._sync.connection import Connection
from ..._sync.handover import handover
from ..._sync.hub import Hub
from ..._sync.worker import Worker
from . import ws_api_requests as ws_requests
from .credentials import load_credentials
from .dead_man import DEFAULT_COUNTDOWN_MS, DeadManSwitch
from .environments import Endpoints
from .listen_key import ListenKeys
from .market_data import MarketData
from .markets import Markets
from .order_ids import exchange_order_id
from .order_outcome import (
    DEFAULT_RECV_WINDOW_MS,
    STALE_MARGIN_MS,
    Action,
    SentOrder,
    check_answer,
    is_unknown_outcome,
    replaced,
    replaced_found,
    replaced_unknown,
    resolve,
    stale_check,
)
from .private_parsers import (
    parse_account_position,
    parse_futures_balances,
    parse_my_trade,
    parse_order_result,
)
from .private_wire import AccountBalanceEntry, AccountPositionEntry, OrderResult, TradeResult
from .reconcile import Reconciler
from .rest import BinanceRest
from .stream_protocol import BinanceStreamProtocol
from .user_data import OrderSequencer
from .user_stream import SharedUserData, UserStreamRouter
from .wire import Product
from .ws_api import USER_DATA_SUBSCRIBED, BinanceWsApiProtocol, RateLimit

__all__ = ["WS_API_RATE", "BinancePrivate", "PrivateHost", "WsBuild"]

_log = logging.getLogger("ccxtpro_sync")

#: Frames per second on the WS API connection; Binance limits it by request weight.
WS_API_RATE: Final = 50.0

#: Signed REST reads used to reconcile futures user data:
#: (open orders, balance, positions, an order's trades).
_FUTURES_REST: Final[dict[str, tuple[str, str, str, str]]] = {
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

#: Builds one request on the WS API protocol (under the connection's lock).
WsBuild = Callable[[BinanceWsApiProtocol], tuple[int | str, str]]


class PrivateHost(Protocol):
    """What the private client uses of the client that holds it."""

    name: str
    product: Product
    environment: str
    endpoints: Endpoints
    rest: BinanceRest
    hub: Hub
    timeout: float
    trades_limit: int
    options: dict[str, Any]
    _markets: Markets | None
    _reconnect: Retrying | None
    _read_timeout: float
    _ping_interval: float
    _max_message_size: int

    @property
    def closed(self) -> bool: ...

    @property
    def data(self) -> MarketData: ...

    def market(self, symbol: str) -> Market: ...

    def load_markets(self, reload: bool = False) -> dict[str, Market]: ...

    def _check_usable(self) -> None: ...

    def _timeout(self, timeout: float | None) -> float: ...

    def _connection_gave_up(self, conn: Connection, error: BaseException) -> None: ...

    def _watch_rotation(self, conn: Connection, protocol: Any) -> None: ...


class BinancePrivate:
    """One client's private side (see module docstring)."""

    def __init__(
        self,
        host: PrivateHost,
        settings: Mapping[str, Any],
        credentials: Credentials | None,
    ) -> None:
        self.host = host
        self.credentials = load_credentials(settings, host.environment, credentials)
        self.recv_window: int | None = settings.get("recvWindow")
        self.orders_limit = int(settings.get("ordersLimit", 1000))
        #: Guards the connections, the user state and the holds below. Order: the
        #: client's lock, then this one; never the reverse.
        self._lock = threading.RLock()
        self.ws_api: Connection | None = None
        self.user: SharedUserData | None = None
        self.user_stream: Connection | None = None
        self._user_holds: set[tuple[str, ...]] = set()
        self._reconcile_hooked = False
        self.worker = Worker(f"ccxtpro_sync-{host.name}-worker")
        self.listen_keys = ListenKeys(
            name=host.name,
            rest=host.rest,
            endpoints=host.endpoints,
            credentials=self.require_credentials,
            worker=self.worker,
            stream=lambda: self.user_stream,
            keepalive_every=float(host.options.get("listenKeyKeepalive", 30 * 60.0)),
        )
        self.reconciler = Reconciler(
            name=host.name, source=self, state=self.user_state, deliver=host.hub.deliver
        )
        self.dead_man = DeadManSwitch(
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
        self.quiet: QuietUserData | None = None

    # -- plumbing --------------------------------------------------------------------------
    def require_credentials(self) -> Credentials:
        if self.credentials is None:
            env = self.host.environment.upper()
            raise AuthenticationError(
                f"{self.host.name}: this needs API credentials: pass apiKey and secret (or "
                f"privateKey/privateKeyPath), or set BINANCE_{env}_API_KEY and "
                f"BINANCE_{env}_API_SECRET"
            )
        return self.credentials

    def user_state(self) -> SharedUserData:
        with self._lock:
            if self.user is None:
                self.user = SharedUserData(
                    self.host.data.markets,
                    orders_limit=self.orders_limit,
                    trades_limit=self.host.trades_limit,
                )
                # Reconcile results and live events reach on_orders newest-last per order.
                self.host.hub.admit = OrderSequencer().admit
            return self.user

    def connections(self) -> list[Connection]:
        """The WS API and the user-data stream, those that are open."""
        with self._lock:
            return [c for c in (self.ws_api, self.user_stream) if c is not None]

    def purge_finished(self) -> None:
        """Forget connections that gave up or were closed, so the next call builds new
        ones (and the user data they carried counts as unsubscribed)."""
        with self._lock:
            if self.ws_api is not None and self.ws_api.finished:
                self.ws_api = None
                if self.host.product == "spot":
                    self._user_holds.clear()  # spot user data rode on it
            if self.user_stream is not None and self.user_stream.finished:
                self.user_stream = None
                self._user_holds.clear()

    def _connection(self, protocol: Any, suffix: str, kind: str, **extra: Any) -> Connection:
        host = self.host
        return Connection(
            protocol,
            hub=host.hub,
            owner=host,
            name=f"{host.name}-{suffix}",
            reconnect=host._reconnect,
            connect_timeout=host.timeout,
            read_timeout=host._read_timeout,
            ping_interval=host._ping_interval,
            max_message_size=host._max_message_size,
            kind=kind,
            on_give_up=host._connection_gave_up,
            **extra,
        )

    def ws_api_connection(self) -> Connection:
        self.host._check_usable()
        markets = self.host.data.markets  # before the lock: it may load them
        with self._lock:
            self.purge_finished()
            if self.ws_api is None:
                self.ws_api = self._new_ws_api(markets)
                self._hook_reconcile()
            return self.ws_api

    def _new_ws_api(self, markets: Markets) -> Connection:
        """A WS API connection, not started (it logs on as it opens)."""
        protocol = BinanceWsApiProtocol(
            self.host.endpoints,
            self.credentials,
            markets=markets,
            user_data=self.user_state(),
            recv_window=self.recv_window,
        )
        conn = self._connection(
            protocol,
            "ws-api",
            "ws_api",
            outgoing_rate=WS_API_RATE,
            on_lost=self.dead_man.on_ws_api_lost,
        )
        self.host._watch_rotation(conn, protocol)
        return conn

    def _new_user_stream(self, key: str) -> Connection:
        """A listenKey stream connection for ``key``, not started."""
        endpoints = self.host.endpoints
        base = endpoints.stream_base("private" if endpoints.routed else None)
        router = UserStreamRouter(self.user_state(), self.listen_keys.on_expired)
        protocol = BinanceStreamProtocol(base, router, max_streams=1, name=f"{self.host.name}-user")
        conn = self._connection(protocol, "user-data", "user_data")
        self.host._watch_rotation(conn, protocol)
        conn.call(lambda p: p.subscribe([key]))
        return conn

    # -- make-before-break rotation (docs/reconnect.md) -------------------------------------
    def rotate_ws_api(self, old: Connection, timeout: float) -> Connection:
        """Replace the WS API session: the new one logs on (and subscribes to user data
        if held) before new requests go to it; requests in flight finish on the old one,
        which closes once they have (at most the client timeout later). Never re-sends."""
        self.host._check_usable()
        markets = self.host.data.markets
        with self._lock:
            if self.ws_api is not old or old.finished:
                raise BadRequest(f"{old.name} cannot be rotated now")
            wants_user_data = self._spot_user_data_held()
            new = self._new_ws_api(markets)
        # The server-time offset and a server's hold-off carry over to the new session.
        offset, blocked = old.query(lambda p: (p.time_offset_ms, p.blocked_until))
        new.query(partial(_carry_over, offset=offset, blocked=blocked))
        if wants_user_data:  # not open yet: recorded, and sent by its resume sequence
            new.call(lambda p: p.want_user_data(True), restored_on_reconnect=True)
        state = self.user_state()

        def install(conn: Connection) -> bool:
            with self._lock:
                if self.ws_api is not old or self.host.closed:
                    return False
                if self._spot_user_data_held() != wants_user_data:
                    # User data was (un)subscribed meanwhile, on the old session only:
                    # this replacement is wrong; the rotation fails and is tried anew.
                    return False
                self.ws_api = conn
                return True

        return handover(
            old,
            new,
            install,
            timeout=timeout,
            drain=self.host.timeout,
            begin=state.begin_overlap if wants_user_data else _nothing,
            end=state.end_overlap if wants_user_data else _nothing,
        )

    def rotate_user_stream(self, old: Connection, timeout: float) -> Connection:
        """Replace the futures listenKey stream: the new one is open (the key rides in
        its URL) before the old one closes; events both deliver pass once."""
        self.host._check_usable()
        key = self.listen_keys.listen_key
        with self._lock:
            if self.user_stream is not old or old.finished or key is None:
                raise BadRequest(f"{old.name} cannot be rotated now")
        new = self._new_user_stream(key)
        state = self.user_state()

        def install(conn: Connection) -> bool:
            with self._lock:
                if self.user_stream is not old or self.host.closed:
                    return False
                if self.listen_keys.listen_key != key:
                    return False  # the key was replaced meanwhile: subscribed to a dead one
                self.user_stream = conn
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

    def _spot_user_data_held(self) -> bool:
        return self.host.product == "spot" and bool(self._user_holds)

    def _hook_reconcile(self) -> None:
        """Reconcile (on the worker) each time a user-data subscription is confirmed."""
        if not self._reconcile_hooked:
            self._reconcile_hooked = True
            self.host.hub.add_callback(
                USER_DATA_SUBSCRIBED, lambda _: self.worker.submit(self.reconciler.run)
            )
            if self._quiet_after is not None:
                self.quiet = QuietUserData(self._quiet_after, time.monotonic())
                self.worker.submit(self._check_quiet_user_data, delay=self._quiet_period())

    def _quiet_period(self) -> float:
        assert self._quiet_after is not None
        return min(self._quiet_after / 2, 5.0)

    def _check_quiet_user_data(self) -> None:
        """Worker job: reconcile now if user data went quiet while orders are open
        (a stalled stream on a live connection), then look again later."""
        try:
            with self._lock:
                conn = self.ws_api if self.host.product == "spot" else self.user_stream
                state, quiet = self.user, self.quiet
            if conn is None or state is None or quiet is None or not conn.is_ready():
                return
            with state.lock:
                open_orders = len(state.orders)
            heard = max(conn.last_update_at or 0.0, conn.connected_at or 0.0)
            if quiet.due(time.monotonic(), heard, open_orders):
                _log.info(
                    "%s: no user data for %.1fs with %d order(s) open; reconciling",
                    self.host.name,
                    quiet.after,
                    open_orders,
                )
                self.reconciler.run()
        finally:
            if not self.host.closed:
                self.worker.submit(self._check_quiet_user_data, delay=self._quiet_period())

    def _prepare(self) -> float:
        """Checks before a WS API request (nothing is sent yet: errors here are plain);
        returns when its time starts to count, after loading the markets if needed."""
        self.host._check_usable()
        self.require_credentials()
        if self.host._markets is None:
            self.host.load_markets()
        return time.monotonic()

    def _check_blocked(self, blocked: float | None) -> None:
        if blocked is not None and blocked > time.monotonic():
            retry_after = blocked - time.monotonic()
            raise RateLimitExceeded(
                f"{self.host.name}: Binance asked us to wait {retry_after:.1f}s more",
                retry_after=retry_after,
            )

    # -- WS API calls ------------------------------------------------------------------------
    def ws_call(self, build: WsBuild, timeout: float | None) -> Any:
        """Send one WS API request built by the protocol and return its parsed answer."""
        start = self._prepare()
        wait = self.host._timeout(timeout)
        deadline = start + wait
        conn = self.ws_api_connection().start()
        conn.wait_ready(wait)
        self._check_blocked(conn.query(lambda p: p.blocked_until))
        return conn.call(
            lambda p: BinanceWsApiProtocol.as_call(build(p)),
            max(0.0, deadline - time.monotonic()),
        )

    def ws_order_call(
        self,
        action: Action,
        symbol: str,
        build: WsBuild,
        timeout: float | None,
        *,
        client_id: str | None,
        order_id: str | None = None,
        same_order: bool = False,
        replaces: str | None = None,
    ) -> Order:
        """Send one order request (never twice) and return its ``Order``; when its
        outcome is unknown, resolve it (see ``order_outcome``) before returning.
        ``replaces``: the order a cancel-replace cancels, looked up too when the new
        one turns out not placed."""
        start = self._prepare()
        wait = self.host._timeout(timeout)
        deadline = start + wait
        conn = self.ws_api_connection().start()
        conn.wait_ready(wait)  # nothing has been sent yet: errors here are plain
        # Read under the protocol lock: the reader updates both as replies arrive.
        blocked, recv_window = conn.query(_pacing_state)
        self._check_blocked(blocked)
        window = recv_window or DEFAULT_RECV_WINDOW_MS
        built_at: list[float] = []
        # The request's timestamp is at least this (the clock read before the build,
        # less the truncation to whole ms): an order created over 1,000 ms before it
        # cannot be this request's (Binance refuses a timestamp that far ahead).
        built_from: list[float] = []

        def sending(p: BinanceWsApiProtocol) -> tuple[list[int | str], list[str]]:
            built_from.append(p.now_ms() - 1)
            request = build(p)
            built_at.append(p.now_ms())  # the request's timestamp is at most this
            return BinanceWsApiProtocol.as_call(request)

        # Keep up to half the time for resolving a lost reply.
        reserve = min(wait / 2, (window + STALE_MARGIN_MS) / 1000 + 1.0)
        try:
            order: Order = conn.call(sending, max(0.0, deadline - reserve - time.monotonic()))
            return check_answer(order, client_id, order_id)
        except CcxtproSyncError as error:
            if not built_at or not is_unknown_outcome(error):
                raise
            cause: CcxtproSyncError = error
        sent = SentOrder(
            action,
            self.host.market(symbol).symbol,
            client_id,
            built_at[0] + window + STALE_MARGIN_MS,
            order_id,
            sent_at_ms=built_from[0],
        )
        _log.warning("%s: %s outcome unknown (%s); resolving", self.host.name, action, cause)
        if isinstance(cause, ClientClosed) and self.host.closed:
            # close_connection() also ends a call with ClientClosed; then the client
            # is still open and the order is looked up on a new connection.
            gone = f"; the replaced order {replaces} is unknown too" if replaces else ""
            raise OrderStatusUnknown(
                f"{sent.action} {sent.symbol} ({sent.label()}): the client was closed "
                f"before the reply came{gone}",
                client_order_id=client_id,
                symbol=sent.symbol,
                action=action,
                cause=cause,
                order_id=order_id,
                replaced_id=replaces,
                replaced_status="unknown" if replaces else None,
            ) from cause
        ref = {"clientOrderId": client_id} if client_id is not None else None

        def query(remaining: float) -> Order:
            found: Order = self.ws_call(
                lambda p: p.send(ws_requests.fetch_order(p.context, order_id or "0", symbol, ref)),
                remaining,
            )
            return check_answer(found, client_id, order_id)  # another order: look again

        def server_now() -> float:
            now: float = conn.query(_server_now_ms)
            return now

        def server_time(remaining: float) -> float:
            # the server's clock itself: our estimate moves with a step of the local clock
            answer = self.ws_call(lambda p: p.send(ws_requests.WsRequest("time", {})), remaining)
            return _server_time_of(answer)

        # A cancel-replace keeps a share of the time to look the old order up should
        # the new one's fate stay unknown: its cancel half may have executed.
        keep = 0.0 if replaces is None else min((deadline - time.monotonic()) / 3, 1.0)
        try:
            order = resolve(
                sent,
                query,
                server_now,
                deadline - max(keep, 0.0),
                cause,
                server_time=server_time,
                closed=lambda: self.host.closed,
                same_order=same_order,
            )
        except OrderNotPlaced as error:
            if replaces is None:
                raise
            raise self._replaced(error, replaces, symbol, deadline) from None
        except OrderStatusUnknown as error:
            if replaces is None:
                raise
            raise replaced_unknown(
                error,
                replaces,
                self._old_order_query(replaces, symbol),
                deadline,
                stale=stale_check(sent, server_now, server_time, deadline),
                closed=lambda: self.host.closed,
            ) from error.cause
        if replaces is not None and order.id != replaces:
            # the new order exists: say what became of the old one (with ALLOW_FAILURE
            # the cancel half may have failed), in the time kept for it
            old_query = self._old_order_query(replaces, symbol)
            order = replaced_found(
                order, replaces, old_query, deadline, closed=lambda: self.host.closed
            )
        if action != "cancel" and order.status is not None:
            # as the lost reply would have: reconcile knows the order we placed
            self.user_state().track(order)
        return order

    def _replaced(
        self, error: OrderNotPlaced, old_id: str, symbol: str, deadline: float
    ) -> OrderNotPlaced:
        """``error`` with the state of the order a cancel-replace was to cancel."""
        query = self._old_order_query(old_id, symbol)
        return replaced(error, old_id, query, deadline, closed=lambda: self.host.closed)

    def _old_order_query(self, old_id: str, symbol: str) -> Callable[[float], Order]:
        """A look-up (``order.status``) of the order a cancel-replace was to cancel."""

        def query(remaining: float) -> Order:
            found: Order = self.ws_call(
                lambda p: p.send(ws_requests.fetch_order(p.context, old_id, symbol, None)),
                remaining,
            )
            return found

        return query

    def rate_limits(self) -> list[RateLimit]:
        """The latest ``rateLimits`` Binance reported on the WS API, one per interval."""
        conn = self.ws_api
        if conn is None:
            return []
        limits: list[RateLimit] = conn.query(lambda p: p.rate_limits)
        return limits

    def close(self, timeout: float) -> None:
        self.worker.close(timeout)
        key = self.listen_keys.listen_key
        with self._lock:
            connections = (self.user_stream, self.ws_api)
        for conn in connections:
            if conn is not None:
                conn.close(timeout)
        self.listen_keys.delete(key, self.credentials)

    # -- account reads (ReconcileSource) ----------------------------------------------------
    def open_orders(
        self,
        symbol: str | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> list[Order]:
        """Open orders (of ``symbol``, or all): spot over the WS API, futures over signed
        REST (their WS API has no method for this; ``params`` are for the WS API)."""
        if self.host.product == "spot":
            orders: list[Order] = self.ws_call(
                lambda p: p.send(ws_requests.fetch_open_orders(p.context, symbol, params)), timeout
            )
            return orders
        host = self.host
        params = {"symbol": host.market(symbol).id} if symbol is not None else None
        number: Any = host.data.markets.number  # float or Decimal, fixed per client
        found = []
        for result in _decode_orders(self._futures_rest(0, params)):
            market = host.data.markets.get(result.symbol)
            if market is not None:
                found.append(parse_order_result(result, market, number))
        return found

    def balances(self) -> Balances:
        if self.host.product == "spot":
            balances: Balances = self.ws_call(
                lambda p: p.send(ws_requests.fetch_balance(p.context)), None
            )
            return balances
        number: Any = self.host.data.markets.number
        return parse_futures_balances(_decode_balances(self._futures_rest(1)), number)

    def positions(self) -> list[Position] | None:
        if self.host.product == "spot":
            return None
        markets = self.host.data.markets
        number: Any = markets.number
        return [
            parse_account_position(entry, market, number)
            for entry in _decode_positions(self._futures_rest(2))
            if (market := markets.get(entry.symbol)) is not None
        ]

    def order(self, symbol: str, order_id: str) -> Order:
        self.host.market(symbol)
        order: Order = self.ws_call(
            lambda p: p.send(ws_requests.fetch_order(p.context, order_id, symbol)), None
        )
        return order

    def order_trades(self, symbol: str, order_id: str) -> list[Trade]:
        """All trades of one order: spot WS API ``myTrades``, futures REST ``userTrades``."""
        market = self.host.market(symbol)
        if self.host.product == "spot":
            by_order = {"orderId": exchange_order_id(order_id)}
            trades: list[Trade] = self.ws_call(
                lambda p: p.send(
                    ws_requests.fetch_my_trades(p.context, symbol, None, None, by_order)
                ),
                None,
            )
            return trades
        number: Any = self.host.data.markets.number
        params = {"symbol": market.id, "orderId": order_id}
        return [
            parse_my_trade(row, market, number)
            for row in _decode_trades(self._futures_rest(3, params))
        ]

    def _futures_rest(self, which: int, params: dict[str, Any] | None = None) -> bytes:
        path = _FUTURES_REST[self.host.product][which]
        body: bytes = self.host.rest.signed_raw("GET", path, self.require_credentials(), params)
        return body

    # -- user data subscriptions -------------------------------------------------------------
    def hold_user_data(self, key: tuple[str, ...]) -> None:
        """Subscribe to user data once; ``key`` holds it until released."""
        self.require_credentials()
        if self.host._markets is None:
            self.host.load_markets()
        with self._lock:
            self.purge_finished()
            first = not self._user_holds
            self._user_holds.add(key)
        if not first:
            return
        try:
            if self.host.product == "spot":
                conn = self.ws_api_connection()
                conn.call(lambda p: p.want_user_data(True), restored_on_reconnect=True)
                conn.start()
            else:
                self._start_listen_key_stream()
        except BaseException:
            with self._lock:
                self._user_holds.discard(key)
            raise

    def release_user_data(self, key: tuple[str, ...]) -> None:
        with self._lock:
            if key not in self._user_holds:
                return
            self._user_holds.discard(key)
            last = not self._user_holds
        if not last or self.host.closed:
            return
        if self.host.product == "spot" and self.ws_api is not None:
            self.ws_api.call(lambda p: p.want_user_data(False), restored_on_reconnect=True)
            return
        with self._lock:  # set under this lock in _start_listen_key_stream
            stream, self.user_stream = self.user_stream, None
        if stream is not None:
            self.listen_keys.stop()
            stream.close()

    def _start_listen_key_stream(self) -> None:
        """Futures: create the listenKey (REST), then open its stream and keep it alive."""
        key = self.listen_keys.start()
        conn = self._new_user_stream(key)
        with self._lock:
            self.user_stream = conn
            self._hook_reconcile()
        conn.start()
        self.listen_keys.schedule_keepalive()


def _nothing() -> None:
    pass


def _carry_over(protocol: BinanceWsApiProtocol, *, offset: float, blocked: float | None) -> None:
    protocol.set_time_offset(offset)
    protocol.blocked_until = blocked


def _pacing_state(protocol: BinanceWsApiProtocol) -> tuple[float | None, int | None]:
    return protocol.blocked_until, protocol.recv_window


def _server_now_ms(protocol: BinanceWsApiProtocol) -> float:
    return protocol.now_ms()


def _server_time_of(answer: Any) -> float:
    """``serverTime`` of a ``time`` answer; anything else is a ``ProtocolError``."""
    server = answer.get("serverTime") if isinstance(answer, dict) else None
    if isinstance(server, bool) or not isinstance(server, int | float):
        raise ProtocolError(f"binance time answer has no serverTime: {answer!r:.60}")
    return float(server)
