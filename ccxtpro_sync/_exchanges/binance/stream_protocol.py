"""Binance market-stream connections, sans-I/O: combined streams with live (un)subscribe.

The connection always speaks the combined format (``/stream``), so every data
frame names its stream and the router can dispatch without guessing from the
payload. On (re)connect the URL carries as many desired streams as fit in a
conservative URL budget (they are live the moment the socket opens); the rest
are restored with ``SUBSCRIBE`` requests, batched, and the connection counts
as resumed once the server has acknowledged every one of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import msgspec

from ..._core.events import (
    RAW_HASH,
    Delivery,
    Inbound,
    Notice,
    Policy,
    RawMessage,
    RawTap,
    Response,
)
from ..._core.frames import OP_BINARY
from ..._core.freshness import Freshness
from ..._core.subscriptions import SubscriptionBook
from ..._exceptions import (
    BadRequest,
    CcxtproSyncError,
    ExchangeError,
    ProtocolError,
    RateLimitExceeded,
)
from . import combined as _combined
from .environments import is_stream_name, redact_listen_key, redact_stream, redact_url

#: Stay well under common 8 KiB request-line limits.
URL_BUDGET = 4000
#: Streams per SUBSCRIBE frame; keeps frames small and acks quick.
STREAMS_PER_REQUEST = 100

#: Raw-log channel of REST depth snapshots: ``depthSnapshot:<stream id>@<limit>``.
SNAPSHOT_CHANNEL = "depthSnapshot:"
#: Raw-log channel of a fence: the log resumes from another source here (a fan-out
#: takeover), so a replay restarts its books from the snapshots that follow it.
FENCE_CHANNEL = "fence"

#: What a router returns: deliveries, or an ``Inbound`` when notices come with them.
Routed = list[Delivery] | Inbound


def routed(
    deliveries: list[Delivery], notices: list[Notice], tasks: list[Any] | None = None
) -> Routed:
    """``deliveries`` alone, or with ``notices`` and ``tasks`` (taken by value) in an
    ``Inbound``."""
    if not notices and not tasks:
        return deliveries
    return Inbound(deliveries=deliveries, notices=notices, tasks=tasks or [])


class StreamRouter(Protocol):
    """Turns one stream's payload into deliveries; the exchange client provides it.

    ``route`` and ``reset`` return their telemetry by value: a plain list of
    deliveries normally, an ``Inbound`` with ``deliveries`` and ``notices`` when
    there is telemetry to send. A router shared by several connections therefore
    never hands one connection's notices to another, nor loses them.
    """

    def route(self, stream: str, data: msgspec.Raw, now: float) -> Routed:
        """Deliveries (and notices) for one combined-stream payload (may be empty)."""
        ...

    def hashes(self, stream: str) -> list[str]:
        """The message hashes a stream feeds (to fail their waiters if it is refused)."""
        ...

    def reset(self, streams: Iterable[str]) -> Routed:
        """The connection carrying ``streams`` was lost: drop state that cannot survive it."""
        ...

    def opened(self, streams: Iterable[str]) -> list[Delivery]:
        """A socket opened with ``streams`` already live (they rode in its URL)."""
        ...


class RawStreamRouter:
    """Delivers each payload, decoded to plain Python, under ``stream:<name>``."""

    _decode = msgspec.json.Decoder().decode

    def route(self, stream: str, data: msgspec.Raw, now: float) -> Routed:
        return [Delivery(f"stream:{stream}", [self._decode(data)], Policy.APPEND)]

    def hashes(self, stream: str) -> list[str]:
        return [f"stream:{stream}"]

    def reset(self, streams: Iterable[str]) -> Routed:
        return []

    def opened(self, streams: Iterable[str]) -> list[Delivery]:
        return []


#: A router's ``route_events``: runs the handlers of a group of decoded bound frames
#: under one hold of its lock, adding their deliveries to the batch; returns how many
#: frames it took and, when the last one taken means more than data (or failed), its
#: result. ``(0, None)``: none taken, route them one by one. The group's entries are
#: (handler, None, payload), or (handler, run handler, payloads) for a stream's
#: consecutive frames when its handler has a run form.
RouteEvents = Callable[
    [list[tuple[Any, Any, Any]], list[Delivery]], tuple[int, "Routed | Exception | None"]
]
#: Bound frames routed under one hold of the router's (the client's shared) lock, at
#: most: another reader or a consumer waits for it no longer than this many handlers.
RUN_HOLD = 32

_ABSENT = msgspec.Raw(b"")
#: Where a combined frame's stream name starts: after ``{"stream":"``.
_NAME_START = len(b'{"stream":"')
#: ``receive``: a stream not yet offered for binding.
_UNBOUND = ()


class _Frame(msgspec.Struct, gc=False):
    """Every shape a market-stream frame can take, decoded lazily."""

    stream: str | None = None
    # msgspec cannot put Raw in a union: an absent field is an empty Raw.
    data: msgspec.Raw = _ABSENT
    id: int | str | None = None
    result: msgspec.Raw = _ABSENT
    error: msgspec.Raw = _ABSENT
    code: int | None = None
    msg: str | None = None
    e: str | None = None


class _Error(msgspec.Struct):
    code: int = 0
    msg: str = ""


_decode_frame = msgspec.json.Decoder(_Frame).decode

#: What a decode raises for a frame it refuses (see ``combined.REFUSED``).
_REFUSED = _combined.REFUSED
_decode_error = msgspec.json.Decoder(_Error).decode
_decode_any = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def stream_error(code: int, msg: str) -> ExchangeError | RateLimitExceeded:
    """The typed error for a market-stream error object."""
    if code == -1003 or "too many" in msg.lower():
        return RateLimitExceeded(f"binance stream error {code}: {msg}")
    return BadRequest(f"binance stream error {code}: {msg}", code=code)


class BinanceStreamProtocol:
    """One market-stream connection's protocol state (see module docstring)."""

    #: How the connection shows this protocol's URLs and streams (listenKeys redacted).
    redact_url = staticmethod(redact_url)
    redact_stream = staticmethod(redact_stream)

    def __init__(
        self,
        base_url: str,
        router: StreamRouter | None = None,
        *,
        max_streams: int = 1024,
        url_budget: int = URL_BUDGET,
        streams_per_request: int = STREAMS_PER_REQUEST,
        raw_tap: RawTap | None = None,
        name: str = "",
        freshness: Freshness | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        #: Per-stream silence tracking (None: no freshness watchdog).
        self.freshness = freshness
        self.router: StreamRouter = router or RawStreamRouter()
        # Without a tap from the client, one that stays off (its clock is never read).
        self.raw_tap = raw_tap or RawTap(_never)
        self.name = name or self.base_url
        self.max_streams = max_streams
        self._url_budget = url_budget
        self._per_request = streams_per_request
        self.book = SubscriptionBook()
        self._ids = itertools.count(1)
        self._open = False
        self._url_streams: list[str] = []
        self._resume_ids: set[int | str] = set()
        self._queries: set[int | str] = set()
        #: Asked on ``serverShutdown``: True when the client replaces this connection
        #: (make-before-break) so it must not drop it; unset, it reconnects at once.
        self.on_server_shutdown: Callable[[], bool] | None = None
        # Streams bound for one-pass frames (``_bind_stream``), by name as the frame
        # spells it: (name, frame decoder, payload handler), None when not bindable.
        # Only with a router that binds (``bind`` and ``route_event``).
        # Also the handler's run form or None (see ``receive_run``), and the stream as
        # ``combined.payload_run`` reads it.
        self._bound: dict[bytes, tuple[str, Any, Any, Any, Any] | None] = {}
        self._route_event: Callable[[Any, Any, float], Routed | None] | None = getattr(
            self.router, "route_event", None
        )
        #: The router's ``route_events`` (bound frames in groups, see ``receive_run``).
        self._route_events: RouteEvents | None = getattr(self.router, "route_events", None)

    # -- ConnectionProtocol ----------------------------------------------------------
    def url(self) -> str:
        streams: list[str] = []
        length = len(self.base_url) + len("/stream?streams=")
        for stream in self.book.desired():
            length += len(stream) + 1
            if length > self._url_budget:
                break
            streams.append(stream)
        self._url_streams = streams
        if not streams:
            return f"{self.base_url}/stream"
        return f"{self.base_url}/stream?streams={'/'.join(streams)}"

    def on_open(self, now: float) -> Inbound:
        self._open = True
        if self.freshness is not None:
            self.freshness.restart(self.book.desired(), now)
        self.book.mark_confirmed(self._url_streams)
        remaining = self.book.unconfirmed()
        ids, frames = self._requests("SUBSCRIBE", "subscribe", remaining)
        self._resume_ids = set(ids)
        opened = self.router.opened(self._url_streams)
        return Inbound(deliveries=opened, outgoing=frames, ready=not ids)

    def on_close(self) -> Inbound:
        self._open = False
        self._resume_ids.clear()
        self._queries.clear()
        lost = self.book.desired()
        self.book.disconnected()
        reset = self.router.reset(lost)
        return reset if isinstance(reset, Inbound) else Inbound(deliveries=reset)

    def encode_request(self, method: str, params: Any) -> tuple[int | str, str]:
        request_id = next(self._ids)
        message: dict[str, Any] = {"method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        self._queries.add(request_id)
        return request_id, _encode(message).decode()

    def abandon(self, request_ids: Iterable[int | str]) -> None:
        """The caller stopped waiting for these queries (timed out): forget them.
        (Subscription requests are the book's and settle with their replies.)"""
        self._queries.difference_update(request_ids)

    def receive(self, data: bytes, now: float) -> Inbound | list[Delivery]:
        bound = self._bound.get(data[_NAME_START : data.find(b'"', _NAME_START)], _UNBOUND)
        if bound and not self.raw_tap.enabled:
            # The hot path: a bound stream's frame, envelope and payload in one decode.
            # Anything unusual (the decode refuses it, another stream inside, an
            # overlap under way) goes on to the general path, untouched.
            name, decode, handle, _, _ = bound
            try:
                combined = decode(data)
            except _REFUSED:
                combined = None
            except Exception as error:  # a decoder bug: reported, the frame read below
                return self._decoder_failed(name, data, now, error)
            if combined is not None and combined.stream == name:
                try:
                    fast = self._route_event(handle, combined.data, now)  # type: ignore[misc]
                except CcxtproSyncError as error:  # one bad payload never stops the stream
                    fast = Inbound(errors=[error])
                if fast is not None:
                    if self.freshness is not None:
                        self.freshness.seen(name, now)
                    return fast
        return self._general(data, now, bound)

    def _general(self, data: bytes, now: float, bound: object) -> Inbound | list[Delivery]:
        """``receive``'s general path: the envelope decoded, ``data`` kept raw, routed
        by stream name (``bound``: the stream's entry in ``_bound``, or ``_UNBOUND``)."""
        try:
            frame = _decode_frame(data)
        except _REFUSED as error:
            return Inbound(
                errors=[ProtocolError(f"malformed frame ({error}): {self._shown(data)}")]
            )
        if frame.stream is not None and frame.data:
            if frame.stream == "!serverShutdown":
                return self._server_shutdown()
            if (
                bound is _UNBOUND
                and self._route_event is not None
                and self.book.is_desired(frame.stream)  # bounded by the subscriptions
            ):
                self._bind_stream(frame.stream, data)
            router = self.router
            tap = self.raw_tap
            if self.freshness is not None:
                self.freshness.seen(frame.stream, now)
            try:
                if tap.enabled:
                    # A router that gap-fills places the frame's raw entry itself.
                    route_raw = getattr(router, "route_raw", None)
                    if route_raw is not None:
                        raw = self._raw(frame)
                        recorded: Routed = route_raw(frame.stream, frame.data, now, raw)
                        return recorded
                result = router.route(frame.stream, frame.data, now)
            except (CcxtproSyncError, RecursionError) as caught:  # one bad payload never
                # stops the stream (a payload nested too deep for its decoder: malformed)
                refused = (
                    caught
                    if isinstance(caught, CcxtproSyncError)
                    else ProtocolError(f"malformed payload ({caught}): {self._shown(data)}")
                )
                if tap.enabled:
                    return Inbound(errors=[refused], deliveries=[self._raw(frame)])
                return Inbound(errors=[refused])
            if tap.enabled:
                if isinstance(result, Inbound):
                    result.deliveries = [*result.deliveries, self._raw(frame)]
                else:
                    result = [*result, self._raw(frame)]
            return result
        if frame.e == "serverShutdown":
            return self._server_shutdown()
        if frame.error or frame.code is not None:
            return self._on_error(frame)
        if frame.id is not None:
            return self._on_result(frame)
        return Inbound(errors=[ProtocolError(f"unexpected frame: {self._shown(data)}")])

    def _decoder_failed(self, stream: str, data: bytes, now: float, error: Exception) -> Inbound:
        """A bound decoder raised what no decode should (a bug, tripped by this frame):
        report it as a ``ProtocolError`` (its cause the bug), let the general path read
        the frame, and keep the stream on the general path on this connection (a bug
        is reported once, not for every frame after)."""
        self._bound[stream.encode()] = None
        failure = ProtocolError(
            f"stream {stream}: its decoder failed ({error!r}); the general path reads it "
            f"from now on: {self._shown(data)}"
        )
        failure.__cause__ = error
        result = self._general(data, now, None)
        if isinstance(result, Inbound):
            result.errors = [failure, *result.errors]
            return result
        return Inbound(errors=[failure], deliveries=result)

    def receive_run(
        self, messages: list[tuple[int, bytes]], index: int, now: float, batch: list[Delivery]
    ) -> tuple[int, Inbound | list[Delivery] | Exception | None]:
        """``receive`` for the data frames from ``messages[index]`` on, as the connection
        calls it (``Connection._receive_run``): plain data is added to ``batch``; it stops
        before a control frame, or after a frame that means more or raised (its result
        or error is returned). Returns the index of the next frame and that result.

        Consecutive bound frames are decoded first and routed as a group (up to
        ``RUN_HOLD``) under one hold of the router's lock, not one per frame; a
        stream's consecutive frames whose handler has a run form are decoded in one
        call (``payload_run``) and handed to that run together. Anything else takes
        ``receive``, in order."""
        route_events = self._route_events
        if route_events is None or self.raw_tap.enabled:
            return self._receive_each(messages, index, now, batch)
        bound_of = self._bound
        count = len(messages)
        # (handler, run handler or None, payload or payloads) of consecutive bound frames
        group: list[tuple[Any, Any, Any]] = []
        held = 0  # frames in the group
        # The group's streams, one per stretch of consecutive frames of a stream, and
        # where each stretch begins (frames into the group): for the freshness watchdog.
        names: list[str] = []
        starts: list[int] = []
        last: str | None = None
        bug: tuple[str, Exception] | None = None  # a run decode that raised, and where
        while index < count:
            opcode, data = messages[index]
            if opcode > OP_BINARY:
                break
            grouped = False
            bound = bound_of.get(data[_NAME_START : data.find(b'"', _NAME_START)], _UNBOUND)
            if bound:
                name, decode, handle, run, key = bound
                # A run is worth its calls from two frames on (a steady stream's burst
                # is one frame: that one takes the per-frame path below).
                if run is not None and index + 1 < count and held + 1 < RUN_HOLD:
                    end = index + RUN_HOLD - held
                    try:
                        payloads = _combined.payload_run(
                            messages, index, count if end > count else end, key
                        )
                    except Exception as error:  # a decoder bug: reported below
                        payloads = None
                        bug = (name, error)
                    if payloads:
                        if name is not last:
                            names.append(name)
                            starts.append(held)
                            last = name
                        taken = len(payloads)
                        if taken > 1:
                            group.append((handle, run, payloads))
                        else:
                            group.append((handle, None, payloads[0]))
                        index += taken
                        held += taken
                        if held < RUN_HOLD:
                            continue
                        grouped = True  # the group is full: route it now
                else:
                    try:
                        combined = decode(data)
                    except _REFUSED:
                        combined = None
                    except Exception:  # a decoder bug: ``receive`` below reports it
                        combined = None
                    if combined is not None and combined.stream == name:
                        if name is not last:
                            names.append(name)
                            starts.append(held)
                            last = name
                        group.append((handle, None, combined.data))
                        index += 1
                        held += 1
                        if held < RUN_HOLD:
                            continue
                        grouped = True
            if group:
                start = index - held
                taken, result = self._route_group(group, names, starts, now, batch)
                if taken < held or result is not None:
                    if taken == 0 and result is None:  # an overlap or retired: one by one
                        return self._receive_each(messages, start, now, batch)
                    return start + taken, result
                group = []
                names = []
                starts = []
                last = None
                held = 0
            if grouped:
                continue
            index += 1
            try:
                if bug is None:
                    result = self.receive(data, now)
                else:  # the run's decode failed on this frame: reported, read generally
                    result = self._decoder_failed(bug[0], data, now, bug[1])
            except Exception as error:  # the connection reports it; the stream goes on
                return index, error
            if type(result) is not list:
                return index, result
            batch += result
        if group:
            start = index - held
            taken, result = self._route_group(group, names, starts, now, batch)
            if taken == 0 and result is None:
                return self._receive_each(messages, start, now, batch)
            return start + taken, result
        return index, None

    def _route_group(
        self,
        group: list[tuple[Any, Any, Any]],
        names: list[str],
        starts: list[int],
        now: float,
        batch: list[Delivery],
    ) -> tuple[int, Inbound | list[Delivery] | Exception | None]:
        """Route a group of decoded bound frames (``route_events``), and note what it
        took as heard for the freshness watchdog, once per stretch of a stream's
        consecutive frames (``names``, beginning at ``starts``)."""
        assert self._route_events is not None  # (receive_run checked it)
        taken, result = self._route_events(group, batch)
        if isinstance(result, CcxtproSyncError):  # one bad payload never stops the stream
            result = Inbound(errors=[result])
        freshness = self.freshness
        if freshness is not None and taken:
            if len(names) == 1:  # the common case: one stream's frames
                freshness.seen(names[0], now, taken)
                return taken, result
            ends = starts[1:]
            ends.append(taken)
            for name, begin, end in zip(names, starts, ends, strict=True):
                if begin >= taken:
                    break
                freshness.seen(name, now, (end if end < taken else taken) - begin)
        return taken, result

    def _receive_each(
        self, messages: list[tuple[int, bytes]], index: int, now: float, batch: list[Delivery]
    ) -> tuple[int, Inbound | list[Delivery] | Exception | None]:
        """``receive_run`` one frame at a time."""
        count = len(messages)
        while index < count:
            opcode, data = messages[index]
            if opcode > OP_BINARY:
                break
            index += 1
            try:
                result = self.receive(data, now)
            except Exception as error:  # the connection reports it; the stream goes on
                return index, error
            if type(result) is not list:
                return index, result
            batch += result
        return index, None

    # -- subscriptions (called through Connection.call, under its lock) -----------------
    def subscribe(self, streams: Sequence[str]) -> tuple[list[int | str], list[str]]:
        """Want these streams; returns the requests to send for the newly wanted ones."""
        wanted = [s for s in streams if not self.book.is_desired(s)]
        if len(self.book) + len(wanted) > self.max_streams:
            raise BadRequest(
                f"a connection carries at most {self.max_streams} streams; "
                f"{len(self.book)} in use, {len(wanted)} more requested"
            )
        new = self.book.acquire(list(streams))
        if not self._open:
            return [], []
        return self._requests("SUBSCRIBE", "subscribe", new)

    def unsubscribe(self, streams: Sequence[str]) -> tuple[list[int | str], list[str]]:
        """Release these streams; returns the requests for the ones nobody wants now."""
        gone = self.book.release(list(streams))
        for stream in gone:
            self._bound.pop(stream.encode(), None)
        if not self._open:
            return [], []
        confirmed = self.book.confirmed()
        return self._requests("UNSUBSCRIBE", "unsubscribe", [s for s in gone if s in confirmed])

    def check_freshness(self, now: float) -> Inbound | None:
        """Resubscribe (``UNSUBSCRIBE`` then ``SUBSCRIBE``) the confirmed streams that
        went silent past their freshness limit, with a ``stream_stale`` notice each; a
        book among them is invalidated, so it resyncs from a new snapshot. Paced by the
        freshness policy's interval; None when there is nothing to do."""
        fresh = self.freshness
        if fresh is None or not self._open or not fresh.due(now):
            return None
        live = [s for s in self.book.confirmed() if is_stream_name(s)]
        stale = fresh.stale(now, live, self.book.desired())
        if not stale:
            return None
        names = [s.stream for s in stale]
        outgoing = self._requests("UNSUBSCRIBE", "unsubscribe", names)[1]
        outgoing += self._requests("SUBSCRIBE", "subscribe", names)[1]
        reset = self.router.reset(names)
        inbound = reset if isinstance(reset, Inbound) else Inbound(deliveries=reset)
        inbound.outgoing = outgoing
        notices: list[Notice] = [
            (
                "stream_stale",
                {
                    "name": self.name,
                    "stream": s.stream,
                    "silent_for": s.silent_for,
                    "limit": s.limit,
                    "strikes": s.strikes,
                },
            )
            for s in stale
        ]
        inbound.notices = [*notices, *inbound.notices]
        return inbound

    def apply_snapshot(self, stream: str, body: bytes, depth: int) -> Routed:
        """A REST depth snapshot fetched for ``stream``'s book enters here, under the
        connection's lock (``Connection.feed``), and leaves as a frame's result does."""
        raw = None
        if self.raw_tap.enabled:
            # Recorded too, so that a replay rebuilds the book from the same inputs.
            channel = f"{SNAPSHOT_CHANNEL}{stream.split('@', 1)[0]}@{depth}"
            message = RawMessage("rest", channel, body, self.raw_tap.clock())
            raw = Delivery(RAW_HASH, [message], Policy.APPEND)
        # A router with books has ``snapshot(stream, body, depth, raw) -> Routed``.
        snapshot = getattr(self.router, "snapshot", None)
        if snapshot is None:
            return [] if raw is None else [raw]
        result: Routed = snapshot(stream, body, depth, raw)
        return result

    def capacity(self) -> int:
        return self.max_streams - len(self.book)

    @property
    def is_open(self) -> bool:
        return self._open

    # -- internals ----------------------------------------------------------------------
    def _bind_stream(self, stream: str, data: bytes) -> None:
        """Bind ``stream`` for the hot path of ``receive`` when its frames spell its
        name plainly at their start (``frame`` is one of them)."""
        name = stream.encode()
        if data[_NAME_START : _NAME_START + len(name) + 1] != name + b'"':
            return  # spelled otherwise (escapes, spacing): the general path only
        try:
            decode, handle = self.router.bind(stream)  # type: ignore[attr-defined]
            bind_run = getattr(self.router, "bind_run", None)
            run = bind_run(stream) if bind_run is not None else None
        except CcxtproSyncError:
            self._bound[name] = None  # the general path reports it, frame by frame
            return
        # (The name's bytes and closing quote, where a frame of the stream has them.)
        self._bound[name] = (stream, decode, handle, run, (name + b'"', decode, stream))

    def _server_shutdown(self) -> Inbound:
        hook = self.on_server_shutdown
        if hook is not None and hook():
            return Inbound()
        return Inbound(reconnect_reason="server shutdown notice")

    def _shown(self, data: bytes) -> str:
        """The start of a frame for an error message, with listenKeys redacted."""
        text = data.decode("utf-8", "replace")
        for name in self.book.desired():
            if not is_stream_name(name):
                text = text.replace(name, redact_listen_key(name))
        return repr(text[:200])

    def _raw(self, frame: _Frame) -> Delivery:
        message = RawMessage(self.name, frame.stream or "", bytes(frame.data), self.raw_tap.clock())
        return Delivery(RAW_HASH, [message], Policy.APPEND)

    def _requests(
        self, method: str, kind: str, streams: list[str]
    ) -> tuple[list[int | str], list[str]]:
        ids: list[int | str] = []
        frames: list[str] = []
        for start in range(0, len(streams), self._per_request):
            chunk = streams[start : start + self._per_request]
            request_id = next(self._ids)
            self.book.sent(request_id, kind, chunk)
            ids.append(request_id)
            frames.append(_encode({"method": method, "params": chunk, "id": request_id}).decode())
        return ids, frames

    def _on_result(self, frame: _Frame) -> Inbound:
        request_id = frame.id
        assert request_id is not None
        if request_id in self._queries:
            self._queries.discard(request_id)
            result = _decode_any(frame.result) if frame.result else None
            return Inbound(responses=[Response(request_id, result)])
        request = self.book.acknowledged(request_id)
        if request is None:
            return Inbound(errors=[ProtocolError(f"reply to unknown request id {request_id!r}")])
        inbound = Inbound(responses=[Response(request_id, None)], ready=self._resumed(request_id))
        if request.method == "subscribe":
            # Released while the SUBSCRIBE was in flight: nothing was sent then (the
            # stream was not confirmed), so take it off the wire now that it is.
            stale = [t for t in request.topics if not self.book.is_desired(t)]
            if stale:
                inbound.outgoing = self._requests("UNSUBSCRIBE", "unsubscribe", stale)[1]
        return inbound

    def _on_error(self, frame: _Frame) -> Inbound:
        if frame.error:
            detail = _decode_error(frame.error)
            code, msg = detail.code, detail.msg
        else:
            code, msg = frame.code or 0, frame.msg or ""
        error = stream_error(code, msg)
        request_id = frame.id
        if request_id is None:
            return Inbound(errors=[error])
        self._queries.discard(request_id)
        request = self.book.refused(request_id)
        rejections: list[tuple[str, BaseException]] = []
        if request is not None and request.method == "subscribe":
            for stream in request.topics:
                rejections.extend((h, error) for h in self.router.hashes(stream))
        return Inbound(
            responses=[Response(request_id, error=error)],
            rejections=rejections,
            errors=[error] if request_id in self._resume_ids else [],
            ready=self._resumed(request_id),
        )

    def _resumed(self, request_id: int | str) -> bool:
        """True when this reply completes the resume sequence."""
        if request_id not in self._resume_ids:
            return False
        self._resume_ids.discard(request_id)
        return not self._resume_ids


def _never() -> float:
    raise RuntimeError("a raw tap without a clock was switched on")
