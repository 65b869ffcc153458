"""Binance WebSocket API connections, sans-I/O: signed requests, session logon, user data.

:class:`BinanceWsApiProtocol` implements the connection protocol for the
spot (``/ws-api/v3``), USD-M (``/ws-fapi/v1``) and COIN-M (``/ws-dapi/v1``)
WebSocket APIs (protocol reference §6):

* **Envelope**: ``{"id", "method", "params"}`` → ``{"id", "status", "result" |
  "error", "rateLimits"}``. Errors become typed exceptions via
  :mod:`.errors`; ``rateLimits`` from every response are kept, latest per
  (type, interval, intervalNum), in :attr:`BinanceWsApiProtocol.rate_limits`.
* **Signing**: ``apiKey`` + ``timestamp`` (+ ``recvWindow``) + ``signature``
  over the sorted params. The timestamp comes from an injectable wall clock
  plus a server-time offset, kept fresh from ``time``/``session.logon`` replies.
* **Resume sequence** on every (re)connect, before anything else:
  spot with an Ed25519 key → ``session.logon``; then, if user data is wanted,
  ``userDataStream.subscribe`` (logged on) or ``userDataStream.subscribe.signature``
  (HMAC/RSA keys, which cannot log on); then ``ready``. Until logged on,
  every signed request carries its own signature, so a failed logon degrades
  to per-request signing rather than a dead connection.
* **User data** arrives as ``{"subscriptionId": N, "event": {...}}`` and is
  turned into deliveries by :class:`.user_data.UserDataState`. Each confirmed
  subscription is announced under :data:`USER_DATA_SUBSCRIBED` so the client
  can reconcile what the gap lost. ``eventStreamTerminated`` while still
  wanted → subscribe again. ``serverShutdown`` → reconnect.
* **Unified requests** are built from CCXT's arguments by :mod:`.ws_api_requests`
  (amounts and prices through :mod:`.precision`) with this connection's
  :attr:`~BinanceWsApiProtocol.context`; :meth:`~BinanceWsApiProtocol.send` returns
  ``(request_id, frame)`` and their answers come back in ``Inbound.responses``
  already parsed into ``Order``/``Trade``/``Balances``/``Position``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import msgspec

from ..._arguments import check_params
from ..._core.events import Delivery, Inbound, Response
from ..._credentials import Credentials
from ..._exceptions import (
    AuthenticationError,
    BadRequest,
    CcxtproSyncError,
    DDoSProtection,
    IPBanned,
    NotSupported,
    ProtocolError,
)
from .credentials import can_log_on
from .environments import Endpoints, redact_stream, redact_url
from .errors import UNTIMED_BAN, from_payload
from .markets import Markets
from .private_wire import (
    decode_event,
)
from .signing import ws_api_payload
from .user_data import BALANCE, MY_TRADES, ORDERS, POSITIONS, UserDataState
from .ws_api_requests import RequestContext, ResultParser, WsRequest

__all__ = ["USER_DATA_SUBSCRIBED", "BinanceWsApiProtocol", "RateLimit", "is_signed"]

#: Delivered (LATEST, value = subscription id) each time a user-data subscription is
#: confirmed: the events sent before it may be lost, so the client reconciles.
USER_DATA_SUBSCRIBED: Final = "userData:subscribed"
#: Message hashes fed by user data; rejected together when the subscription fails.
_USER_DATA_HASHES: Final = (ORDERS, MY_TRADES, BALANCE, POSITIONS, USER_DATA_SUBSCRIBED)

#: Methods that need ``apiKey`` + ``timestamp`` + ``signature`` (unless logged on).
_SIGNED_PREFIXES: Final = (
    "order.",
    "orderList.",
    "sor.",
    "openOrders.",
    "openOrderLists.",
    "allOrders",
    "allOrderLists",
    "myTrades",
    "myPreventedMatches",
    "myAllocations",
    "account.",
    "v2/account.",
    "algoOrder.",
    "session.logon",
    "userDataStream.subscribe.signature",
)
#: Futures listenKey methods: ``apiKey`` only, no signature (§6.6, §7.3).
_API_KEY_ONLY: Final = frozenset(
    {"userDataStream.start", "userDataStream.ping", "userDataStream.stop"}
)


def is_signed(method: str) -> bool:
    """Whether ``method`` is a SIGNED WS API method (a version prefix is allowed)."""
    name = method.split("/", 1)[1] if method.startswith("v") and "/" in method else method
    return any(name.startswith(p) or method.startswith(p) for p in _SIGNED_PREFIXES)


class RateLimit(msgspec.Struct, frozen=True, gc=False):
    """One ``rateLimits`` entry as Binance reports it (``count`` used of ``limit``)."""

    rateLimitType: str
    interval: str
    intervalNum: int
    limit: int
    count: int | None = None


_ABSENT = msgspec.Raw(b"")


#: ``result`` of a reply that has none (absent, or ``null``).
_NO_RESULT: Final = (b"", b"null")


class _ErrorBody(msgspec.Struct, gc=False):
    code: int | None = None
    msg: str = ""
    data: dict[str, Any] | None = None


def _half_replaced(
    request_id: int | str, body: _ErrorBody, parser: ResultParser | None
) -> Response | None:
    """A cancel-replace that half succeeded (``-2021``, both outcomes in ``data``): the
    new order if it was placed (``ALLOW_FAILURE``: placed although the cancel failed; an
    error would invite placing it again), else the new order's own rejection, saying
    that the order it was to replace was cancelled. ``None``: not such a reply."""
    data = body.data
    if body.code != -2021 or data is None:
        return None
    if data.get("newOrderResult") == "SUCCESS" and parser is not None:
        try:
            return Response(request_id, parser(msgspec.Raw(msgspec.json.encode(data))))
        except (msgspec.DecodeError, msgspec.ValidationError, CcxtproSyncError) as error:
            problem = ProtocolError(f"malformed order.cancelReplace -2021 data: {error}")
            return Response(request_id, error=problem)
    if data.get("cancelResult") != "SUCCESS":
        return None
    new, cancelled = data.get("newOrderResponse"), data.get("cancelResponse")
    rejected = from_payload(new if isinstance(new, Mapping) else {}, method="order.cancelReplace")
    old = cancelled.get("orderId") if isinstance(cancelled, Mapping) else None
    rejected.args = (
        f"binance order.cancelReplace: the order it replaces ({old}) was cancelled, "
        f"and the new order was rejected: {rejected}",
    )
    return Response(request_id, error=rejected)


class _Frame(msgspec.Struct, gc=False):
    id: int | str | None = None
    status: int | None = None
    result: msgspec.Raw = _ABSENT
    error: _ErrorBody | None = None
    rateLimits: list[RateLimit] | None = None
    subscriptionId: int | None = None
    event: msgspec.Raw = _ABSENT


class _EventHead(msgspec.Struct, gc=False):
    e: str | None = None


_decode_frame = msgspec.json.Decoder(_Frame).decode
_decode_head = msgspec.json.Decoder(_EventHead).decode
_decode_any = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder(decimal_format="string").encode

#: Turns a raw ``result`` into the value a caller receives.

# --------------------------------------------------------------------------- protocol


class BinanceWsApiProtocol:
    """One WS API connection's protocol state (see module docstring)."""

    #: How the connection shows this protocol's URLs and streams (listenKeys redacted).
    redact_url = staticmethod(redact_url)
    redact_stream = staticmethod(redact_stream)

    def __init__(
        self,
        endpoints: Endpoints,
        credentials: Credentials | None = None,
        *,
        markets: Markets | None = None,
        user_data: UserDataState | None = None,
        clock: Callable[[], float] = time.time,
        recv_window: int | None = None,
        return_rate_limits: bool = True,
        session_logon: bool | None = None,
        string_ids: bool = False,
    ) -> None:
        self.endpoints = endpoints
        self.market_type = endpoints.market
        self.credentials = credentials
        self.markets = markets
        self.user_data = user_data
        self._clock = clock
        self.recv_window = recv_window
        self._return_rate_limits = return_rate_limits
        logon_key = credentials is not None and can_log_on(credentials)
        if session_logon is None:
            # Only documented for spot (§6.3); futures use per-request signatures.
            session_logon = logon_key and endpoints.market == "spot"
        if session_logon and not logon_key:
            raise NotSupported("session.logon needs an Ed25519 key (HMAC and RSA cannot log on)")
        self.session_logon = session_logon
        self._string_ids = string_ids
        self._ids = itertools.count(1)
        #: Milliseconds to add to the local clock to get the server's.
        self.time_offset_ms = 0.0
        self.logged_on = False
        self.subscription_id: int | None = None
        self._user_data_wanted = False
        self._unsubscribing = False
        self._open = False
        self._resume: dict[int | str, str] = {}
        self._parsers: dict[int | str, tuple[str, ResultParser | None]] = {}
        self._sent_at: dict[int | str, float] = {}
        self._rate_limits: dict[tuple[str, str, int], RateLimit] = {}
        #: ``now`` (connection clock) before which the server asked us to hold off.
        self.blocked_until: float | None = None
        #: Called (reader thread, non-blocking) on ``serverShutdown``; True if it arranged
        #: a rotation, else the connection reconnects at once.
        self.on_server_shutdown: Callable[[], bool] | None = None

    # -- clock -----------------------------------------------------------------------
    def now_ms(self) -> float:
        """The server's time as we estimate it, in milliseconds."""
        return self._clock() * 1000 + self.time_offset_ms

    def timestamp(self) -> int:
        """A request ``timestamp`` (ms) on the server's clock."""
        return int(self.now_ms())

    def set_time_offset(self, offset_ms: float) -> None:
        self.time_offset_ms = offset_ms

    def sync_time(self, server_time_ms: float, sent_ms: float, received_ms: float) -> float:
        """Set the offset from a ``serverTime`` observed between two local instants
        (the request's round trip is split evenly). Returns the new offset."""
        self.time_offset_ms = server_time_ms - (sent_ms + received_ms) / 2
        return self.time_offset_ms

    @property
    def rate_limits(self) -> list[RateLimit]:
        """The latest ``rateLimits`` entry per (type, interval, intervalNum)."""
        return list(self._rate_limits.values())

    # -- ConnectionProtocol ------------------------------------------------------------
    def url(self) -> str:
        url = self.endpoints.require("ws_api")
        if not self._return_rate_limits:
            url += ("&" if "?" in url else "?") + "returnRateLimits=false"
        return url

    def on_open(self, now: float) -> Inbound:
        self._open = True
        self.logged_on = False
        self.subscription_id = None
        self._resume.clear()
        return self._next_resume_step()

    def on_close(self) -> Inbound:
        self._open = False
        self.logged_on = False
        self.subscription_id = None
        self._resume.clear()
        self._parsers.clear()
        self._sent_at.clear()
        return Inbound()

    def encode_request(self, method: str, params: Any) -> tuple[int | str, str]:
        if params is not None and not isinstance(params, Mapping):
            raise BadRequest("WS API params must be an object")
        return self._request(method, check_params(params), None)

    def abandon(self, request_ids: Iterable[int | str]) -> None:
        """The caller stopped waiting for these requests (timed out): forget their
        parsers and send times now rather than at the next reconnect. A late reply
        is then answered to no one. Resume steps are never abandoned."""
        for request_id in request_ids:
            if request_id not in self._resume:
                self._parsers.pop(request_id, None)
                self._sent_at.pop(request_id, None)

    def receive(self, data: bytes, now: float) -> Inbound:
        try:
            frame = _decode_frame(data)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as error:
            # (RecursionError: a value nested deeper than msgspec recurses)
            return Inbound(errors=[ProtocolError(f"malformed WS API frame ({error})")])
        if frame.event:
            return self._on_event(frame)
        if frame.rateLimits:
            for limit in frame.rateLimits:
                self._rate_limits[(limit.rateLimitType, limit.interval, limit.intervalNum)] = limit
        if frame.id is None and frame.error is None:
            return Inbound(errors=[ProtocolError(f"unexpected WS API frame: {data[:200]!r}")])
        return self._on_response(frame, now)

    # -- requests ------------------------------------------------------------------------
    def _next_id(self) -> int | str:
        number = next(self._ids)
        return f"r{number}" if self._string_ids else number

    def _sign(self, method: str, params: dict[str, Any], force_signature: bool) -> None:
        creds = self.credentials
        if creds is None:
            raise AuthenticationError(f"{method} needs API credentials")
        if method in _API_KEY_ONLY:
            params["apiKey"] = creds.api_key
            return
        params.setdefault("timestamp", self.timestamp())
        if self.recv_window is not None:
            params.setdefault("recvWindow", self.recv_window)
        if self.logged_on and not force_signature:
            return  # the session's key signs for us; only the timestamp is needed
        params["apiKey"] = creds.api_key
        params.pop("signature", None)
        params["signature"] = creds.sign(ws_api_payload(params))

    def _request(
        self,
        method: str,
        params: dict[str, Any],
        parser: ResultParser | None,
        *,
        sign: bool | None = None,
        force_signature: bool = False,
    ) -> tuple[int | str, str]:
        params = {k: v for k, v in params.items() if v is not None}
        if sign if sign is not None else (is_signed(method) or method in _API_KEY_ONLY):
            self._sign(method, params, force_signature)
        request_id = self._next_id()
        message: dict[str, Any] = {"id": request_id, "method": method}
        if params:
            message["params"] = params
        self._parsers[request_id] = (method, parser)
        self._sent_at[request_id] = self._clock() * 1000
        return request_id, _encode(message).decode()

    # -- resume sequence ---------------------------------------------------------------
    def _next_resume_step(self) -> Inbound:
        """The next frame of the resume sequence, or ``ready`` when it is done."""
        if (
            self.session_logon
            and not self.logged_on
            and "session.logon" not in self._resume.values()
        ):
            request_id, frame = self._request("session.logon", {}, None, force_signature=True)
            self._resume[request_id] = "session.logon"
            return Inbound(outgoing=[frame])
        if self._user_data_wanted and self.subscription_id is None:
            request_id, frame = self._subscribe_frame()
            self._resume[request_id] = "subscribe"
            return Inbound(outgoing=[frame])
        return Inbound(ready=True)

    def _subscribe_frame(self) -> tuple[int | str, str]:
        if self.logged_on:
            return self._request("userDataStream.subscribe", {}, None, sign=False)
        return self._request("userDataStream.subscribe.signature", {}, None, force_signature=True)

    def want_user_data(self, wanted: bool = True) -> tuple[list[int | str], list[str]]:
        """Start or stop the spot user-data subscription (a ``Connection.call`` builder).

        While disconnected the wish is recorded and applied by the resume sequence.
        """
        if self.market_type != "spot":
            raise NotSupported(
                "futures user data uses a listenKey stream, not the WS API (see user_data)"
            )
        if self.credentials is None:
            raise AuthenticationError("user data needs API credentials")
        self._user_data_wanted = wanted
        if not self._open or self._resume:
            return [], []
        if wanted and self.subscription_id is None:
            request_id, frame = self._subscribe_frame()
            return [request_id], [frame]
        if not wanted and self.subscription_id is not None:
            self._unsubscribing = True
            request_id, frame = self._request(
                "userDataStream.unsubscribe", {"subscriptionId": self.subscription_id}, None
            )
            return [request_id], [frame]
        return [], []

    # -- inbound -------------------------------------------------------------------------
    def _on_event(self, frame: _Frame) -> Inbound:
        try:
            head = _decode_head(frame.event)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            return Inbound(errors=[ProtocolError(f"malformed WS API event ({error})")])
        if head.e == "serverShutdown":
            hook = self.on_server_shutdown
            if hook is not None and hook():  # a make-before-break rotation takes over
                return Inbound()
            return Inbound(reconnect_reason="server shutdown notice")
        if frame.subscriptionId is None:
            return Inbound(errors=[ProtocolError(f"event {head.e!r} without a subscription")])
        try:
            event = decode_event(frame.event)
        except ProtocolError as error:
            return Inbound(errors=[error])
        if head.e == "eventStreamTerminated":
            return self._on_terminated(frame.subscriptionId)
        if self.user_data is None:
            return Inbound()
        result = self.user_data.handle(event)
        return Inbound(deliveries=result.deliveries, errors=result.errors)

    def _on_terminated(self, subscription_id: int) -> Inbound:
        if subscription_id == self.subscription_id:
            self.subscription_id = None
        if self._unsubscribing or not self._user_data_wanted or not self._open:
            self._unsubscribing = False
            return Inbound()
        # Still wanted (e.g. the listen token expired): subscribe again at once.
        request_id, frame = self._subscribe_frame()
        self._resume[request_id] = "resubscribe"
        return Inbound(outgoing=[frame])

    def _on_response(self, frame: _Frame, now: float) -> Inbound:
        request_id = frame.id
        method, parser = ("?", None)
        if request_id is not None:
            method, parser = self._parsers.pop(request_id, ("?", None))
            sent = self._sent_at.pop(request_id, None)
        else:
            sent = None
        step = self._resume.pop(request_id, None) if request_id is not None else None
        if frame.error is not None:
            if step is None and request_id is not None and bytes(frame.result) not in _NO_RESULT:
                # "placed" and "rejected" at once: either may be wrong, so neither is taken
                problem = ProtocolError(f"{method} reply carries both a result and an error")
                return Inbound(responses=[Response(request_id, error=problem)])
            if method == "order.cancelReplace" and request_id is not None:
                half = _half_replaced(request_id, frame.error, parser)
                if half is not None:
                    return Inbound(responses=[half])
            return self._on_error(frame, frame.error, method, step, now)
        if request_id is None:
            return Inbound(errors=[ProtocolError("WS API result without an id")])
        try:
            result = parser(frame.result) if parser is not None else self._plain(frame.result)
        except (msgspec.DecodeError, msgspec.ValidationError, CcxtproSyncError) as error:
            problem = ProtocolError(f"malformed {method} result: {error}")
            return Inbound(responses=[Response(request_id, error=problem)])
        self._observe_time(method, result, sent)
        inbound = Inbound(responses=[Response(request_id, result)])
        if step is not None or method.startswith("userDataStream.subscribe"):
            self._on_resume_reply(step, method, result, inbound)
        if method == "userDataStream.unsubscribe":
            self.subscription_id = None
        return inbound

    @staticmethod
    def _plain(raw: msgspec.Raw) -> Any:
        return _decode_any(raw) if raw else None

    def _observe_time(self, method: str, result: Any, sent: float | None) -> None:
        if method not in ("time", "session.logon") or sent is None:
            return
        server = result.get("serverTime") if isinstance(result, dict) else None
        if isinstance(server, int | float):
            self.sync_time(server, sent, self._clock() * 1000)

    def _on_resume_reply(
        self, step: str | None, method: str, result: Any, inbound: Inbound
    ) -> None:
        if method == "session.logon":
            self.logged_on = True
        elif method.startswith("userDataStream.subscribe"):
            sub = result.get("subscriptionId") if isinstance(result, dict) else None
            self.subscription_id = sub if isinstance(sub, int) else None
            inbound.deliveries.append(Delivery(USER_DATA_SUBSCRIBED, self.subscription_id))
        if step in ("session.logon", "subscribe"):
            following = self._next_resume_step()
            inbound.outgoing += following.outgoing
            inbound.ready = following.ready

    def _on_error(
        self, frame: _Frame, body: _ErrorBody, method: str, step: str | None, now: float
    ) -> Inbound:
        error = from_payload(
            msgspec.structs.asdict(body),
            status=frame.status,
            method=None if method == "?" else method,
            now_ms=self.now_ms(),
        )
        if isinstance(error, DDoSProtection):
            wait = error.retry_after
            if wait is None and isinstance(error, IPBanned):
                # a ban that names no end is not forgotten: an order sent into it
                # lengthens it (as on the REST path)
                wait = UNTIMED_BAN
            if wait is not None:
                self.blocked_until = now + wait
        if frame.id is None:
            # e.g. the session was revoked (-2015 with id null, §6.3)
            if isinstance(error, AuthenticationError):
                self.logged_on = False
            return Inbound(errors=[error])
        inbound = Inbound(responses=[Response(frame.id, error=error)])
        if step is None:
            return inbound
        # A resume step failed: report it, fail the user-data waiters, and carry on
        # (unsigned and per-request-signed calls still work) rather than hang.
        inbound.errors.append(error)
        if step == "session.logon":
            following = self._next_resume_step_after_failed_logon()
        else:
            inbound.rejections += [(h, error) for h in _USER_DATA_HASHES]
            following = Inbound(ready=step == "subscribe")
        inbound.outgoing += following.outgoing
        inbound.ready = following.ready
        return inbound

    def _next_resume_step_after_failed_logon(self) -> Inbound:
        if self._user_data_wanted and self.subscription_id is None:
            request_id, frame = self._subscribe_frame()  # signed per request
            self._resume[request_id] = "subscribe"
            return Inbound(outgoing=[frame])
        return Inbound(ready=True)

    # -- unified requests (built by ws_api_requests) ------------------------------------
    @property
    def context(self) -> RequestContext:
        """What the request builders need of this connection."""
        return RequestContext(self.markets, self.market_type, self.user_data)

    def send(self, request: WsRequest, *, sign: bool | None = None) -> tuple[int | str, str]:
        """Give a built request an id (and a signature if its method needs one)."""
        return self._request(request.method, request.params, request.parser, sign=sign)

    # -- convenience for Connection.call --------------------------------------------------
    @staticmethod
    def as_call(request: tuple[int | str, str]) -> tuple[list[int | str], list[str]]:
        """``(id, frame)`` → the ``(ids, frames)`` shape ``Connection.call`` expects."""
        request_id, frame = request
        return [request_id], [frame]
