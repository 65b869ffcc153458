"""``AdapterProtocol``: the generic sans-I/O protocol that drives an ``Adapter``.

It owns what every exchange shares: reference-counted subscriptions (a
``SubscriptionBook``), request ids and their purposes, the restoration sequence
after every (re)connect, and the raw tap. Each restoration step goes out only
after the previous one was acknowledged:

    authenticate -> subscribe (everything wanted) -> resume -> ready

A refused login fails every waiter of this connection with the error; a
refused subscription fails the waiters of its streams and is forgotten.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from .._core.events import RAW_HASH, Delivery, Inbound, Policy, RawMessage, RawTap, Response
from .._core.rotation import DeliveredKeys
from .._core.subscriptions import SubscriptionBook
from .._exceptions import ProtocolError
from .base import Adapter, Decoded, Reply

_STEPS = ("auth", "subscribe", "resume")


class Dedupe:
    """The client's ``DeliveredKeys`` behind its lock, keyed by the adapter's
    optional ``update_key(delivery)`` (an increasing number per message hash).
    While two connections carry a hash, the old one's deliveries go first and the
    new one's wait until it caught up (``DeliveredKeys.offer``)."""

    def __init__(self, keys: DeliveredKeys[Delivery], lock: threading.Lock) -> None:
        self.keys = keys
        self.lock = lock

    def source(self) -> int:
        with self.lock:
            return self.keys.source()

    def filter(
        self, protocol: AdapterProtocol, deliveries: list[Delivery], now: float | None = None
    ) -> list[Delivery]:
        """``now``: the frame's receive time, one per received chunk (``offer``'s batch)."""
        key_of = getattr(protocol.adapter, "update_key", None)
        with self.lock:
            if protocol.retired:
                return []
            if key_of is None or not self.keys.active:
                return deliveries
            offer, source = self.keys.offer, protocol.source
            return [
                out
                for d in deliveries
                for out in offer(d.message_hash, key_of(d), None, source, d, batch=now)
            ]

    def release(self, hashes: list[str]) -> list[Delivery]:
        """The old connection is retired: what ``hashes`` hold goes out, in order
        (``DeliveredKeys.release``: call until nothing is returned)."""
        with self.lock:
            return [delivery for _, delivery in self.keys.release(hashes)]


class AdapterProtocol:
    """One connection's protocol state around one ``Adapter`` instance. Not thread-safe:
    the connection calls it under its lock."""

    def __init__(
        self,
        adapter: Adapter,
        *,
        raw_tap: RawTap | None = None,
        delivered: Dedupe | None = None,
    ) -> None:
        self.adapter = adapter
        #: Shared with the client's other connections: drops, while two connections
        #: carry a stream (rotation), what one of them already delivered.
        self._delivered = delivered
        #: Tells this connection from the one it replaces (or is replaced by).
        self.source = delivered.source() if delivered is not None else 0
        #: Set at a rotation's handover: this connection's streams live on elsewhere.
        self.retired = False
        self.book = SubscriptionBook()
        self._raw_tap = raw_tap
        self._ids = itertools.count(1)
        self._steps: deque[str] = deque()
        #: The restoration step in flight: (kind, request id).
        self._step: tuple[str, int] | None = None
        self._open = False
        self._authenticated = False
        self.ready = False
        self._live: set[int] = set()  # subscribe/unsubscribe outside the restoration
        self._timers: set[int] = set()  # frames from adapter.on_timer (token refresh)
        self._user: set[int] = set()  # application requests
        self._resync: set[int] = set()  # unsubscribe + subscribe of a broken stream

    def next_id(self) -> int:
        return next(self._ids)

    # -- ConnectionProtocol -------------------------------------------------------------
    def url(self) -> str:
        url = self.adapter.url()
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise TypeError(
                f"{self.adapter.name}: adapter.url() returned {url!r}; it must return a "
                "ws:// or wss:// URL (str)"
            )
        return url

    def on_open(self, now: float) -> Inbound:
        self._open = True
        self._authenticated = False
        self.ready = False
        self._steps = deque(_STEPS)
        return self._advance(Inbound())

    def receive(self, data: bytes, now: float) -> Inbound | list[Delivery]:
        try:
            decoded = self.adapter.decode(data, now)
        except RecursionError:  # a JSON decoder's answer to a value nested too deeply
            problem = ProtocolError(f"{self.adapter.name}: frame nested too deeply to decode")
            return Inbound(errors=[problem])
        if not isinstance(decoded, Decoded):
            problem = ProtocolError(
                f"{self.adapter.name}: adapter.decode() returned {type(decoded).__name__}; "
                "it must return a Decoded"
            )
            return Inbound(errors=[problem])
        deliveries = decoded.deliveries
        if self._delivered is not None and deliveries:
            deliveries = self._delivered.filter(self, deliveries, now)
        tap = self._raw_tap
        if tap is not None and tap.enabled:
            raw = RawMessage(self.adapter.name, "ws", bytes(data), tap.clock())
            deliveries = [Delivery(RAW_HASH, [raw], Policy.APPEND), *deliveries]
        if (
            not decoded.replies
            and not decoded.errors
            and decoded.reconnect_reason is None
            and not decoded.resubscribe
        ):
            return deliveries  # the fast path: data only
        inbound = Inbound(
            deliveries=deliveries,
            errors=list(decoded.errors),
            reconnect_reason=decoded.reconnect_reason,
        )
        for reply in decoded.replies:
            self._reply(reply, now, inbound)
        if decoded.resubscribe:
            self._resubscribe(decoded.resubscribe, inbound)
        return inbound

    def _resubscribe(self, streams: Sequence[str], inbound: Inbound) -> None:
        """Unsubscribe and subscribe confirmed ``streams`` again, as two frames in that
        order; their replies are bookkeeping only (the streams stay confirmed)."""
        confirmed = self.book.confirmed()
        again = [s for s in dict.fromkeys(streams) if s in confirmed]
        if not again or not self._can_send_live("subscribe"):
            return  # not confirmed yet: the pending subscribe brings a snapshot anyway
        frames = []
        for build in (self.adapter.unsubscribe, self.adapter.subscribe):
            request_id = self.next_id()
            self._resync.add(request_id)
            frames.append(self._frame(build.__name__, build(again, request_id)))
        inbound.outgoing = [*inbound.outgoing, *frames]

    def on_close(self) -> Inbound:
        self._open = False
        self._authenticated = False
        self.ready = False
        self._step = None
        self._steps.clear()
        self.book.disconnected()
        self._live.clear()
        self._timers.clear()
        self._user.clear()
        self._resync.clear()
        return Inbound(deliveries=self.adapter.on_disconnect())

    def encode_request(self, method: str, params: Any) -> tuple[int | str, str]:
        request_id = self.next_id()
        self._user.add(request_id)
        return request_id, self._frame("request", self.adapter.request(method, params, request_id))

    def abandon(self, request_ids: Iterable[int | str]) -> None:
        for request_id in request_ids:
            self._user.discard(request_id)

    # -- subscriptions (called through Connection.call) ------------------------------------
    def subscribe(self, streams: Sequence[str]) -> tuple[list[int | str], list[str]]:
        new = self.book.acquire(list(streams))
        if not new or not self._can_send_live("subscribe"):
            return [], []  # the restoration sends it
        request_id = self.next_id()
        self.book.sent(request_id, "subscribe", new)
        self._live.add(request_id)
        return [request_id], [self._frame("subscribe", self.adapter.subscribe(new, request_id))]

    def unsubscribe(self, streams: Sequence[str]) -> tuple[list[int | str], list[str]]:
        gone = self.book.release(list(streams))
        confirmed = self.book.confirmed()
        gone = [stream for stream in gone if stream in confirmed]
        if not gone or not self._can_send_live("unsubscribe"):
            return [], []
        request_id = self.next_id()
        self.book.sent(request_id, "unsubscribe", gone)
        self._live.add(request_id)
        frame = self._frame("unsubscribe", self.adapter.unsubscribe(gone, request_id))
        return [request_id], [frame]

    def drain(self, streams: Sequence[str]) -> tuple[list[int | str], list[str]]:
        """An awaited unsubscribe that leaves the book alone, for a rotation's old
        connection about to close: once its answer is read, the connection has
        delivered everything of ``streams`` it ever will."""
        confirmed = self.book.confirmed()
        gone = [stream for stream in dict.fromkeys(streams) if stream in confirmed]
        if not gone or not self._can_send_live("unsubscribe"):
            return [], []
        request_id = self.next_id()
        self._user.add(request_id)
        return [request_id], [
            self._frame("unsubscribe", self.adapter.unsubscribe(gone, request_id))
        ]

    def _frame(self, hook: str, frame: object, optional: bool = False) -> str:
        """What an adapter hook built, if it is a frame the connection can send. Anything
        else would fail in the socket's send, on the reader, far from the hook."""
        if isinstance(frame, str | bytes) or (frame is None and optional):
            return frame  # type: ignore[return-value]
        raise TypeError(
            f"{self.adapter.name}: adapter.{hook}() returned {type(frame).__name__} "
            f"{frame!r:.80}; it must return a frame (str){' or None' if optional else ''}"
        )

    def _can_send_live(self, kind: str) -> bool:
        """Live frames go out once logged in and past the restoration's subscribe step."""
        if not self._open or not self._authenticated:
            return False
        return "subscribe" not in self._steps and (self._step is None or self._step[0] != "auth")

    # -- timers --------------------------------------------------------------------------
    def next_deadline(self) -> float:
        return self.adapter.next_deadline()

    def on_timer(self, now: float) -> list[str]:
        if not self._open or not self._authenticated:
            return []
        request_id = self.next_id()
        frame = self._frame("on_timer", self.adapter.on_timer(now, request_id), optional=True)
        if frame is None:
            return []
        self._timers.add(request_id)
        return [frame]

    # -- internals ---------------------------------------------------------------------
    def _advance(self, inbound: Inbound) -> Inbound:
        """Send the next restoration step, or declare the connection ready."""
        adapter = self.adapter
        while self._steps:
            kind = self._steps.popleft()
            request_id = self.next_id()
            frame: str | None
            if kind == "auth":
                frame = self._frame("authenticate", adapter.authenticate(request_id), optional=True)
                if frame is None:
                    self._authenticated = True  # public only
            elif kind == "subscribe":
                streams = self.book.unconfirmed()
                frame = (
                    self._frame("subscribe", adapter.subscribe(streams, request_id))
                    if streams
                    else None
                )
                if frame is not None:
                    self.book.sent(request_id, "subscribe", streams)
            else:
                frame = self._frame("resume", adapter.resume(request_id), optional=True)
            if frame is not None:
                self._step = (kind, request_id)
                inbound.outgoing = [*inbound.outgoing, frame]
                return inbound
        self._step = None
        self.ready = True
        inbound.ready = True
        # Optional hook: deliveries to hand out once restored (a "reconcile now" marker).
        restored = getattr(adapter, "restored", None)
        if restored is not None:
            inbound.deliveries = [*inbound.deliveries, *restored()]
        return inbound

    def _reply(self, reply: Reply, now: float, inbound: Inbound) -> None:
        request_id = reply.request_id
        step = self._step
        if step is not None and step[1] == request_id:
            self._step = None
            try:
                self._step_answered(step[0], reply, now, inbound)
            except Exception as error:  # an adapter hook failed: see _restoration_failed
                self._restoration_failed(step[0], error, inbound)
            return
        if request_id in self._live:
            self._live.discard(request_id)
            pending = self.book.pending_requests().get(request_id)
            if pending is not None and pending.method == "subscribe":
                self._subscribed(reply, inbound)
            elif reply.error is None:
                self.book.acknowledged(request_id)
            else:
                self.book.refused(request_id)
                inbound.errors.append(reply.error)
            return
        if request_id in self._timers:
            self._timers.discard(request_id)
            if reply.error is not None:
                inbound.errors.append(reply.error)
            else:
                self.adapter.authenticated(reply.result, now)
            return
        if request_id in self._resync:
            self._resync.discard(request_id)
            if reply.error is not None:
                inbound.errors.append(reply.error)
            return
        if request_id in self._user:
            self._user.discard(request_id)
            inbound.responses.append(Response(request_id, reply.result, reply.error))

    def _step_answered(self, kind: str, reply: Reply, now: float, inbound: Inbound) -> None:
        """A restoration step was answered: act on it and send the next one."""
        if kind == "auth":
            if reply.error is not None:
                # Nothing of this session can work: every waiter hears why, now.
                inbound.errors.append(reply.error)
                self._reject(self.book.desired(), reply.error, inbound)
                self._steps.clear()
                return
            self._authenticated = True
            self.adapter.authenticated(reply.result, now)
        elif kind == "subscribe":
            self._subscribed(reply, inbound)
        elif reply.error is not None:  # resume refused: data flows, trading does not
            inbound.errors.append(reply.error)
        self._advance(inbound)

    def _restoration_failed(self, kind: str, error: Exception, inbound: Inbound) -> None:
        """An adapter hook raised while the session was being restored: it can never
        become ready. Left as it was, every ``watch`` and request would sit out its
        timeout on a session that looks alive (heartbeats still answered). Instead the
        waiters hear why at once, and the connection is dropped and comes back by its
        reconnect policy (backing off, since the session died young)."""
        problem = ProtocolError(
            f"{self.adapter.name}: the adapter failed restoring the session (on the "
            f"answer to its {kind} step): {error!r}"
        )
        problem.__cause__ = error
        self._steps.clear()
        inbound.errors.append(problem)
        with contextlib.suppress(Exception):  # adapter.hashes failing too: still reconnect
            self._reject(self.book.desired(), problem, inbound)
        inbound.reconnect_reason = str(problem)

    def _subscribed(self, reply: Reply, inbound: Inbound) -> None:
        if reply.error is not None:
            pending = self.book.refused(reply.request_id)
            if pending is not None:
                self._reject(list(pending.topics), reply.error, inbound)
            return
        pending = self.book.acknowledged(reply.request_id)
        if pending is None:
            return
        refused = self.adapter.refused(pending.topics, reply.result)
        if refused:
            from .._exceptions import BadRequest

            for stream in refused:
                while self.book.is_desired(stream):
                    self.book.release([stream])
            self._reject(refused, BadRequest(f"subscription refused: {refused}"), inbound)

    def _reject(self, streams: Sequence[str], error: BaseException, inbound: Inbound) -> None:
        for stream in streams:
            for message_hash in self.adapter.hashes(stream):
                inbound.rejections = [*inbound.rejections, (message_hash, error)]
