"""The WebSocket API server (spot ``/ws-api/v3``, USD-M ``/ws-fapi/v1``, COIN-M ``/ws-dapi/v1``).

One :class:`WsApiServer` per market, served through ``LocalExchange.register_ws_api``
on the stream server's asyncio loop. Per connection it keeps a
:class:`Session`: the logged-on key, the user-data subscriptions and an
outgoing FIFO that both responses and pushed events go through (pushes may come
from any thread; a request's own events are held until its response is queued,
so a client always sees the answer first).

Envelope (reference §6.1): ``id`` is echoed verbatim (int, string such as a
UUID, or null); ``status`` is HTTP-like; ``result`` or ``error{code,msg[,data]}``;
``rateLimits`` unless ``returnRateLimits`` is false in the request or the URL.
Session methods (logon, subscriptions) are handled here because they act on
the connection; account methods are in :mod:`.ws_methods`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import parse_qs, urlsplit

import msgspec
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from .accounts import Account, ApiKey
from .auth import ApiDataError, check_timing, lookup_key, require, verify_ws
from .catalog import MarketName
from .engine import now_ms
from .order_faults import GARBLED_RESULT, UNKNOWN_STATUS, UNTIMED_BAN_ERROR, OrderFault, foreign
from .private_limits import WsApiLimits
from .rest import ApiError
from .ws_market import WsMarketData
from .ws_methods import FUTURES_METHODS, SPOT_METHODS, Call, Method

if TYPE_CHECKING:
    from .private import PrivateExchange

T = TypeVar("T")
_encode = msgspec.json.Encoder().encode
_VERSION = re.compile(r"^v\d+/")
CONNECT_WEIGHT: Final = 2
MAX_SUBSCRIPTION_IDS: Final = 65535
NOT_AUTHORIZED: Final = "You are not authorized to execute this request."


@dataclass
class Subscription:
    account: Account
    key: ApiKey
    logon: bool  # made by userDataStream.subscribe on the logged-on session


@dataclass(frozen=True)
class SessionInfo:
    """Snapshot of one WS API connection (for tests)."""

    id: int
    market: MarketName
    path: str
    api_key: str | None
    subscriptions: tuple[int, ...]


class Session:
    """Server-side state of one WS API connection."""

    def __init__(
        self,
        sid: int,
        ws: ServerConnection,
        market: MarketName,
        *,
        ip: str,
        return_rate_limits: bool,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.id = sid
        self.ws = ws
        self.market = market
        self.ip = ip
        self.path = ws.request.path if ws.request else ""
        self.return_rate_limits = return_rate_limits
        self.connected_since = now_ms()
        self.key: ApiKey | None = None
        self.authorized_since: int | None = None
        self.subs: dict[int, Subscription] = {}
        self.next_sub = 0
        self.out: deque[str] = deque()
        self.wake = asyncio.Event()
        self.held: list[str] | None = None
        self.close_after_flush = False
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def info(self) -> SessionInfo:
        return SessionInfo(
            self.id,
            self.market,
            self.path,
            self.key.api_key if self.key else None,
            tuple(self.subs),
        )

    def push(self, text: str, *, urgent: bool = False) -> None:
        """Queue a frame (thread-safe); a request's own events wait for its response
        unless ``urgent``."""
        if not urgent and self.held is not None and threading.get_ident() == self._loop_thread:
            self.held.append(text)
            return
        self.out.append(text)
        with contextlib.suppress(RuntimeError):  # loop closed
            self._loop.call_soon_threadsafe(self.wake.set)

    def push_event(self, subscription_id: int, event: dict[str, Any]) -> None:
        self.push(_encode({"subscriptionId": subscription_id, "event": event}).decode())


#: Futures WS API INT params: "expected as JSON integers, not strings" (reference §6.2).
FUTURES_INT_PARAMS: Final = (
    "timestamp",
    "recvWindow",
    "orderId",
    "limit",
    "startTime",
    "endTime",
    "fromId",
    "goodTillDate",
)


def check_json_ints(params: dict[str, Any]) -> None:
    """Reject a futures INT param sent as anything but a JSON integer (a string, a float)."""
    for name in FUTURES_INT_PARAMS:
        value = params.get(name)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            continue
        if name == "timestamp":
            raise ApiError(
                -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
            )
        raise ApiError(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.",
        )


class WsApiServer:
    """WS API of one market (see module docstring)."""

    def __init__(self, core: PrivateExchange, market: MarketName, limits: WsApiLimits) -> None:
        self.core = core
        self.market = market
        self.limits = limits
        self.methods: dict[str, Method] = SPOT_METHODS if market == "spot" else FUTURES_METHODS
        self.market_data = WsMarketData(core.rest, market)
        self.sessions: dict[int, Session] = {}
        self._ids = itertools.count(1)
        self.session_methods: dict[str, Callable[[Session, dict[str, Any]], Any]] = {
            "ping": lambda s, p: {},
            "time": lambda s, p: {"serverTime": now_ms()},
        }
        if market == "spot":
            self.session_methods.update(
                {
                    "session.logon": self._logon,
                    "session.status": self._status,
                    "session.logout": self._logout,
                    "userDataStream.subscribe": self._subscribe,
                    "userDataStream.subscribe.signature": self._subscribe_signature,
                    "userDataStream.unsubscribe": self._unsubscribe,
                    "session.subscriptions": self._subscriptions,
                }
            )

    # -- connection ------------------------------------------------------------------------------
    async def handle(self, ws: ServerConnection) -> None:
        loop = asyncio.get_running_loop()
        query = parse_qs(urlsplit(ws.request.path if ws.request else "").query)
        rrl = query.get("returnRateLimits", ["true"])[0].lower() != "false"
        ip = str(ws.remote_address[0]) if ws.remote_address else "?"
        session = Session(
            next(self._ids), ws, self.market, ip=ip, return_rate_limits=rrl, loop=loop
        )
        self.sessions[session.id] = session
        self.core.changed()
        writer = loop.create_task(self._writer(session))
        lifetime = loop.create_task(self._lifetime(session))
        try:
            try:
                self.limits.charge_weight(ip, CONNECT_WEIGHT)
            except ApiError as error:
                session.push(self._error_frame(None, error, session, None))
                session.close_after_flush = True
            async for message in ws:
                if session.close_after_flush:
                    continue
                text = message if isinstance(message, str) else message.decode(errors="replace")
                self.process(session, text)
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
            lifetime.cancel()
            self._drop_session(session)

    async def _lifetime(self, session: Session) -> None:
        """Close at ``max_lifetime`` (24 h); spot sends ``serverShutdown`` first, as
        ``{"event": {...}}``, ``shutdown_notice`` seconds before the end."""
        limits = self.core.ws.limits[self.market]
        loop = asyncio.get_running_loop()
        ends = loop.time() + limits.max_lifetime
        spot = self.market == "spot"
        notice = min(max(0.0, limits.shutdown_notice), limits.max_lifetime) if spot else 0.0
        await asyncio.sleep(limits.max_lifetime - notice)
        if spot:
            session.push(json.dumps({"event": {"e": "serverShutdown", "E": now_ms()}}), urgent=True)
            await asyncio.sleep(max(0.0, ends - loop.time()))
            for _ in range(100):  # let the notice leave before the close frame (<= 1 s)
                if not session.out:
                    break
                await asyncio.sleep(0.01)
        with contextlib.suppress(ConnectionClosed):
            await session.ws.close(1001, "Connection lifetime exceeded")

    async def _writer(self, session: Session) -> None:
        while True:
            await session.wake.wait()
            session.wake.clear()
            while session.out:
                try:
                    await session.ws.send(session.out.popleft())
                except ConnectionClosed:
                    return
            if session.close_after_flush:
                await session.ws.close(1008, "IP banned")
                return

    def _drop_session(self, session: Session) -> None:
        with self.core.engine.lock:
            for sub_id, sub in list(session.subs.items()):
                self.core.hub.unsubscribe(sub.account, session, sub_id)
            session.subs.clear()
            self.sessions.pop(session.id, None)
        self.core.changed()

    # -- requests --------------------------------------------------------------------------------
    def process(self, session: Session, text: str) -> None:
        """Answer one request frame (on the loop thread, under the engine lock)."""
        with self.core.engine.lock:
            session.held = []
            try:
                reply = self._reply(session, text)
            finally:
                held, session.held = session.held, None
            if reply is not None:
                session.push(reply)
            for frame in held:
                session.push(frame)

    def _reply(self, session: Session, text: str) -> str | None:
        try:
            request = json.loads(text)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return self._error_frame(None, ApiError(-1135, "Invalid JSON Request"), session, None)
        req_id = request.get("id")
        method = request.get("method")
        params = request.get("params", {})
        if not isinstance(method, str) or not isinstance(params, dict):
            return self._error_frame(
                req_id,
                ApiError(
                    -1102,
                    "Mandatory parameter 'method' was not sent, was empty/null, or malformed.",
                ),
                session,
                None,
            )
        rrl = session.return_rate_limits
        if "returnRateLimits" in params:
            rrl = str(params["returnRateLimits"]).lower() != "false"
        self._revoke_if_invalid(session)
        name = method
        if name not in self.methods and name not in self.session_methods:
            name = _VERSION.sub("", method)
        entry = self.methods.get(name)
        account: Account | None = None
        try:
            if entry is None and name in self.market_data:
                if self.market != "spot":
                    check_json_ints(params)
                req = self.market_data.request(name, params, session.ip)
                self.limits.charge_weight(session.ip, self.market_data.weight(req))
                result = self.market_data.call(req)
            elif entry is not None:
                if entry.trade:
                    self.core.order_log.record("ws_api", self.market, name, params)
                weight = entry.weight(params) if callable(entry.weight) else entry.weight
                self.limits.charge_weight(session.ip, weight)
                if self.market != "spot":
                    check_json_ints(params)
                key = self._authenticate(session, params, entry)
                account = key.account if entry.orders else None
                if entry.orders:
                    self.limits.charge_order(key.account.uid)
                faults = self.core.ws.faults
                fault = faults.orders.take(name) if faults is not None and entry.trade else None
                if fault is not None:
                    call = Call(self.market, params, key, self.core)
                    return self._order_fault(session, fault, entry, call, req_id)
                result = entry.handler(Call(self.market, params, key, self.core))
            elif name in self.session_methods:
                self.limits.charge_weight(session.ip, 1 if name in ("ping", "time") else 2)
                result = self.session_methods[name](session, params)
            else:
                self.limits.charge_weight(session.ip, 1)
                raise ApiError(-1020, "This operation is not supported.")
        except ApiError as error:
            if error.status == 418:
                session.close_after_flush = True
            return self._error_frame(req_id, error, session, account if rrl else None, rrl)
        frame: dict[str, Any] = {"id": req_id, "status": 200, "result": result}
        if rrl:
            frame["rateLimits"] = self._rate_limits(session, account)
        return _encode(frame).decode()

    def _order_fault(
        self, session: Session, fault: OrderFault, entry: Method, call: Call, req_id: Any
    ) -> str | None:
        """Act on an order request as scripted (see :mod:`.order_faults`); the reply is
        lost, or ``-1007``, whatever the exchange did with it."""
        if fault.answer == "foreign":  # the request is acted on; its reply names another
            reply = {"id": req_id, "status": 200, "result": foreign(entry.handler(call))}
            return _encode(reply).decode()
        if fault.execute:
            with contextlib.suppress(ApiError):  # a rejection is lost like a success
                entry.handler(call)
        if fault.answer == "drop":
            session.ws.transport.abort()
            return None
        if fault.answer == "none":
            return None
        if fault.answer == "garbled":
            return _encode({"id": req_id, "status": 200, "result": GARBLED_RESULT}).decode()
        if fault.answer == "banned":
            return self._error_frame(req_id, ApiError(*UNTIMED_BAN_ERROR), session, None)
        return self._error_frame(req_id, ApiError(*UNKNOWN_STATUS), session, None)

    def _rate_limits(self, session: Session, account: Account | None) -> list[dict[str, Any]]:
        entries = self.limits.order_entries(account.uid) if account is not None else []
        return [*entries, self.limits.weight_entry(session.ip)]

    def _error_frame(
        self,
        req_id: Any,
        error: ApiError,
        session: Session,
        account: Account | None,
        rrl: bool = True,
    ) -> str:
        body: dict[str, Any] = {"code": error.code, "msg": error.msg}
        data = getattr(error, "data", None)
        if data is not None:
            body["data"] = data
        frame: dict[str, Any] = {"id": req_id, "status": error.status, "error": body}
        if rrl:
            frame["rateLimits"] = self._rate_limits(session, account)
        return _encode(frame).decode()

    def _authenticate(self, session: Session, params: dict[str, Any], entry: Method) -> ApiKey:
        accounts = self.core.accounts
        if entry.security == "USER_STREAM":
            if "apiKey" not in params and session.key is not None:
                return session.key
            return lookup_key(accounts, params.get("apiKey"))
        if session.key is not None and "signature" not in params and "apiKey" not in params:
            check_timing(params, now_ms())
            key = session.key
        else:
            key = verify_ws(params, accounts, now_ms())
        require(key, "TRADE" if entry.trade else "USER_DATA")
        return key

    def _revoke_if_invalid(self, session: Session) -> None:
        """A logged-on key that became invalid revokes the session (reference §6.3)."""
        if session.key is None or session.key.enabled:
            return
        session.push(
            _encode(
                {
                    "id": None,
                    "status": 401,
                    "error": {
                        "code": -2015,
                        "msg": "Invalid API-key, IP, or permissions for action.",
                    },
                }
            ).decode(),
            urgent=True,
        )
        self._close_subscriptions(session, lambda s: s.logon)
        session.key = None
        session.authorized_since = None

    # -- session methods -------------------------------------------------------------------------
    def _session_result(self, session: Session) -> dict[str, Any]:
        return {
            "apiKey": session.key.api_key if session.key else None,
            "authorizedSince": session.authorized_since,
            "connectedSince": session.connected_since,
            "returnRateLimits": session.return_rate_limits,
            "serverTime": now_ms(),
            "userDataStream": bool(session.subs),
        }

    def _logon(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        key = verify_ws(params, self.core.accounts, now_ms())
        if key.key_type == "hmac":
            raise ApiError(-4056, "HMAC_SHA256 API key is not supported.")
        if key.key_type == "rsa":
            raise ApiError(-4057, "RSA API key is not supported.")
        if session.key is not None and session.key is not key:
            self._close_subscriptions(session, lambda s: s.logon)
        session.key = key
        session.authorized_since = now_ms()
        return self._session_result(session)

    def _status(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        return self._session_result(session)

    def _logout(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        self._close_subscriptions(session, lambda s: s.logon)
        session.key = None
        session.authorized_since = None
        return self._session_result(session)

    def _add_subscription(self, session: Session, key: ApiKey, logon: bool) -> dict[str, Any]:
        if any(s.account is key.account for s in session.subs.values()):
            raise ApiError(-2035, "User Data Stream subscription already active.")
        if session.next_sub >= MAX_SUBSCRIPTION_IDS or len(session.subs) >= 1000:
            raise ApiError(-2042, "Maximum subscription ID reached for this connection.")
        sub_id = session.next_sub
        session.next_sub += 1
        session.subs[sub_id] = Subscription(key.account, key, logon)
        self.core.hub.subscribe(key.account, session, sub_id)
        self.core.changed()
        return {"subscriptionId": sub_id}

    def _subscribe(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        if session.key is None:
            raise ApiError(-1002, NOT_AUTHORIZED, 401)
        return self._add_subscription(session, session.key, True)

    def _subscribe_signature(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        key = verify_ws(params, self.core.accounts, now_ms())
        require(key, "USER_STREAM")
        return self._add_subscription(session, key, False)

    def _unsubscribe(self, session: Session, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("subscriptionId")
        if wanted is not None:
            if not isinstance(wanted, int) or wanted not in session.subs:
                raise ApiError(-2036, "User Data Stream subscription not active.")
            self._close_subscriptions(session, lambda s: s is session.subs[wanted])
        else:
            self._close_subscriptions(session, lambda s: True)
        return {}

    def _subscriptions(self, session: Session, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"subscriptionId": sub_id} for sub_id in sorted(session.subs)]

    def _close_subscriptions(self, session: Session, which: Callable[[Subscription], bool]) -> int:
        """End matching subscriptions with ``eventStreamTerminated``."""
        closed = 0
        for sub_id, sub in list(session.subs.items()):
            if which(sub):
                del session.subs[sub_id]
                self.core.hub.unsubscribe(sub.account, session, sub_id)
                session.push_event(sub_id, {"e": "eventStreamTerminated", "E": now_ms()})
                closed += 1
        if closed:
            self.core.changed()
        return closed

    # -- test hooks (called from other threads through the loop) ---------------------------------
    def terminate_key(self, key: ApiKey) -> int:
        """End every subscription made with ``key`` (the key was invalidated)."""
        return sum(
            self._close_subscriptions(s, lambda sub: sub.key is key)
            for s in list(self.sessions.values())
        )

    def disconnect(self, match: Callable[[Session], bool]) -> int:
        hit = 0
        for session in list(self.sessions.values()):
            if match(session):
                session.ws.transport.abort()
                hit += 1
        return hit


def run_in_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[], T]) -> T:
    """Run ``fn`` on the server loop and wait for it (sessions belong to that loop)."""

    async def call() -> T:
        return fn()

    coro: Coroutine[Any, Any, T] = call()
    return asyncio.run_coroutine_threadsafe(coro, loop).result(10)


__all__ = ["ApiDataError", "Session", "SessionInfo", "WsApiServer", "run_in_loop"]
