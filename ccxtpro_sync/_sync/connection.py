"""One websocket connection: a reader thread that owns the socket's lifecycle.

The reader thread connects (retrying as the tenacity policy says), runs the
protocol's resume sequence (auth, then subscriptions), then reads frames and
hands their meaning to the hub until the socket dies, and starts over until
``close()``. Everything that interprets bytes lives in the sans-I/O protocol;
this module only moves bytes, keeps time and wakes threads.

Locks: ``_lock`` guards the protocol and the in-flight request table and is
never held while user code runs or while blocking on the network; ``_send_lock``
serialises frames on the socket.
"""

from __future__ import annotations

import collections
import contextlib
import enum
import logging
import os
import select
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import websocket
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from websocket._url import get_proxy_info  # the rule websocket-client dials by

from .._core.events import Delivery, Inbound
from .._core.frames import (
    DEFAULT_MAX_MESSAGE,
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    FrameError,
    FrameParser,
)
from .._core.heartbeat import Heartbeat, ServerPing
from .._core.pacing import FramePacer, TokenBucket
from .._core.protocol import ConnectionProtocol
from .._exceptions import (
    BadRequest,
    CcxtproSyncError,
    ClientClosed,
    ConnectionClosed,
    ExchangeNotAvailable,
    IPBanned,
    NetworkError,
    ProtocolError,
    RateLimitExceeded,
    RequestTimeout,
)
from .._signals import send, signals
from .dial import Dial, tls_wrapper, verified_context
from .futures import reject, resolve
from .hub import Hub
from .placement import start_thread
from .reconnect import default_reconnect_policy
from .slice import READER_SLICE_NS, shorten

T = TypeVar("T")
if TYPE_CHECKING:  # a bare ``Connection`` is ``Connection[Any]``: protocol not named
    from typing_extensions import TypeVar as DefaultTypeVar

    P_co = DefaultTypeVar("P_co", bound=ConnectionProtocol, default=Any, covariant=True)
else:
    P_co = TypeVar("P_co", bound=ConnectionProtocol, covariant=True)
_log = logging.getLogger("ccxtpro_sync")


#: Runs under the protocol lock and returns (ids of the requests to await, frames to send).
RequestBuilder = Callable[[Any], tuple[list[int | str], list[str]]]


#: Bytes per socket read: a burst of frames costs one syscall, not one or more per frame.
READ_SIZE = 1 << 16
#: Seconds between two asks of the protocol's per-stream freshness check (it paces itself too).
FRESHNESS_POLL = 0.25

#: Told on the reader thread (no lock held) that a session ended: the error, or None on close().
SessionEndHandler = Callable[["Connection", "ConnectionClosed | None"], None]

#: Told (on the reader thread, no lock held) that the reconnect policy gave up.
GiveUpHandler = Callable[["Connection", BaseException], None]
#: Called on the reader thread when an open connection is lost, before reconnecting.
LostHandler = Callable[["Connection", BaseException], None]
#: Given the ``Inbound.tasks`` of a frame (work for the owner's helper threads), no lock held.
TaskHandler = Callable[[list[Any]], None]


def _typed(error: Exception) -> Exception:
    """What the ``protocol_error`` signal reports for a frame the protocol raised on:
    the library's own errors as they are, anything else (a bug in a decoder, handler
    or adapter) as a ``ProtocolError`` whose cause it is."""
    if isinstance(error, CcxtproSyncError):
        return error
    typed = ProtocolError(f"the protocol failed on a frame: {error!r}")
    typed.__cause__ = error
    return typed


class State(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


#: A protocol's optional ``receive_run`` (see ``Connection._receive_run``).
ReceiveRun = Callable[
    [list[tuple[int, bytes]], int, float, list[Delivery]],
    tuple[int, "Inbound | list[Delivery] | Exception | None"],
]


class _Reconnect(Exception):
    """Internal: leave the read loop and reconnect."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def _handshake_error(error: websocket.WebSocketBadStatusException) -> CcxtproSyncError:
    """Turn a refused websocket handshake into the matching typed error."""
    status = error.status_code
    headers = {k.lower(): v for k, v in (error.resp_headers or {}).items()}
    retry_after: float | None = None
    if "retry-after" in headers:
        try:
            retry_after = float(headers["retry-after"])
        except ValueError:
            retry_after = None
    message = f"handshake refused with HTTP {status}"
    if status == 418:
        return IPBanned(f"{message}: IP banned", retry_after=retry_after)
    if status == 429:
        return RateLimitExceeded(f"{message}: too many requests", retry_after=retry_after)
    if status >= 500:
        return ExchangeNotAvailable(message)
    return BadRequest(message, code=status)


class Connection(Generic[P_co]):
    """A self-healing websocket connection driven by a sans-I/O protocol ``P_co``.

    Thread-safe. ``start()`` returns at once; ``wait_ready()`` blocks until the
    socket is open and the protocol's resume sequence has completed. The protocol
    is the connection's own: other threads reach it only through ``query``,
    ``queue``, ``call`` and ``feed``, each under the connection's lock.
    """

    def __init__(
        self,
        protocol: P_co,
        *,
        hub: Hub | None = None,
        owner: Any = None,
        name: str | None = None,
        reconnect: Retrying | Literal[False] | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        ping_interval: float = 20.0,
        outgoing_rate: float = 3.0,
        pacer: FramePacer | None = None,
        stable_after: float = 5.0,
        headers: dict[str, str] | None = None,
        heartbeat: Heartbeat | None = None,
        on_session_end: SessionEndHandler | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE,
        kind: str = "stream",
        on_give_up: GiveUpHandler | None = None,
        on_lost: LostHandler | None = None,
        on_tasks: TaskHandler | None = None,
    ) -> None:
        if read_timeout <= 0 or ping_interval <= 0:
            raise ValueError("read_timeout and ping_interval must be positive")
        if max_message_size < 125:
            raise ValueError("max_message_size must be at least 125 bytes")
        self._protocol = protocol
        self.name = name or "connection"
        #: What the connection carries: ``market``, ``ws_api``, ``user_data`` (or ``stream``).
        self.kind = kind
        self._max_message = max_message_size
        self._on_give_up = on_give_up
        self._on_lost = on_lost
        self._on_tasks = on_tasks
        self._owner = owner if owner is not None else self
        self._owns_hub = hub is None
        self.hub = hub if hub is not None else Hub(owner=self._owner, name=self.name)
        # reconnect=False: one session; its loss is final (the layer above reconnects).
        self._one_shot = reconnect is False
        if reconnect is False:
            self._policy = Retrying(stop=stop_after_attempt(1), reraise=True)
        else:
            self._policy = reconnect if reconnect is not None else default_reconnect_policy()
        self._on_session_end = on_session_end
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._ping_interval = min(ping_interval, read_timeout)
        self.heartbeat: Heartbeat = (
            heartbeat if heartbeat is not None else ServerPing(self._ping_interval, read_timeout)
        )
        self._stable_after = stable_after
        self._headers = [f"{k}: {v}" for k, v in (headers or {}).items()]

        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        #: Frames queue()d under the protocol lock, sent by flush() in that order.
        self._outbox: collections.deque[str] = collections.deque()
        self._flush_lock = threading.Lock()
        # burst 1: at most rate + 1 frames in any one-second window, whatever the phase.
        self._bucket = TokenBucket(outgoing_rate, burst=1.0, now=time.monotonic())
        #: When given, paces each frame by its class instead of ``_bucket``.
        self._pacer = pacer
        self._closing = threading.Event()
        self._ready = threading.Event()
        #: Notified when the connection becomes ready, gives up or is closed (a leaf lock):
        #: wait_ready() wakes for any of them, not only for ready.
        self._changed = threading.Condition()
        self._ws: websocket.WebSocket | None = None
        self._connecting: websocket.WebSocket | None = None
        #: The connect attempt under way: close() cuts its TCP connect and handshake.
        self._dial: Dial | None = None
        self._thread: threading.Thread | None = None
        self._inflight: dict[int | str, Future[Any]] = {}
        self._pid = os.getpid()
        self._state = State.IDLE
        self._last_error: BaseException | None = None
        self._fatal: BaseException | None = None
        self._flaps = 0
        self._url = ""  # redacted
        # A protocol whose URLs carry tokens says how to show them (default: as they are).
        self._redact: Callable[[str], str] = getattr(protocol, "redact_url", _as_is)
        self._redact_stream: Callable[[str], str] = getattr(protocol, "redact_stream", _as_is)

        # Figures for connection_info(); written by the reader thread only.
        self.connects = 0
        self.reconnects = 0
        self.messages = 0
        self.protocol_errors = 0
        self.requests_rejected = 0
        self.connected_at: float | None = None
        self.last_update_at: float | None = None
        #: Seconds from the latest (re)connect to its first data frame.
        self.first_update_latency: float | None = None
        #: Longest silence between two data frames within a session, in seconds.
        self.max_gap = 0.0
        #: Seconds the reader waited for the callback dispatcher (backpressure).
        self.reader_wait = 0.0

    # -- public ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The URL of the current (or last) socket, with its tokens redacted (a
        listenKey is a bearer token): the real URL never leaves the connection."""
        if self._url:
            return self._url
        with self._lock:  # never connected yet: the URL it would use
            return self._url or self._redact(self._protocol.url())

    @property
    def state(self) -> State:
        return self._state

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    @property
    def last_error(self) -> BaseException | None:
        return self._last_error

    @property
    def finished(self) -> bool:
        """True once closed or given up: this connection will carry nothing more."""
        return self._fatal is not None or self._closing.is_set()

    def start(self) -> Connection[P_co]:
        """Start the reader thread (idempotent). Returns self for chaining."""
        self._check_usable()
        with self._lock:
            if self._thread is None:
                self._state = State.CONNECTING
                self._thread = start_thread(
                    self._run,
                    f"ccxtpro_sync-reader-{self.name}",
                    placement=self.hub.dispatcher.placement,
                )
        return self

    def wait_ready(self, timeout: float) -> None:
        """Block until connected and resumed; raises ``RequestTimeout``, or at once the
        final error if the reconnect policy gives up (``ClientClosed`` on close)."""
        self._check_usable()

        def outcome() -> str:
            if self._fatal is not None or self._closing.is_set():
                return "ended"
            return "ready" if self._ready.is_set() else ""

        with self._changed:
            result = self._changed.wait_for(outcome, timeout)
        self._check_usable()  # raises the final error, or ClientClosed
        if result != "ready":
            last = f" (last error: {self._last_error!r})" if self._last_error else ""
            raise RequestTimeout(f"{self.name}: not connected after {timeout}s{last}")

    def is_ready(self) -> bool:
        return self._ready.is_set()

    def mark_ready(self) -> None:
        """The layer above finished its own resume steps (an open hook): let waiters go.
        Ignored when no socket is open."""
        if self._ws is not None and not self._closing.is_set():
            self._ready.set()
            self._notify_changed()

    def queue(self, build: RequestBuilder) -> None:
        """Run ``build(protocol)`` under the protocol lock and queue its frames for
        :meth:`flush`, in the order the protocol produced them. For intents the protocol
        restores itself after a reconnect (subscriptions): nothing is awaited. Quick and
        non-blocking, so a caller may hold its own lock around it."""
        self._check_usable()
        with self._lock:
            _request_ids, frames = build(self._protocol)
            if frames:
                self._outbox.extend(frames)

    def flush(self) -> None:
        """Send what :meth:`queue` queued, in queueing order, within the rate limit.
        Call it with no lock of yours held: it waits for pacing slots. A lost socket
        is not an error here (what was queued is restored on reconnect)."""
        with self._flush_lock:  # one sender at a time keeps the queueing order
            while True:
                with self._lock:
                    if not self._outbox:
                        return
                    frames = list(self._outbox)
                    self._outbox.clear()
                try:
                    self._send_paced(frames)
                except ClientClosed:
                    raise
                except ConnectionClosed:
                    return

    def call(
        self,
        build: RequestBuilder,
        timeout: float | None = None,
        *,
        restored_on_reconnect: bool = False,
    ) -> Any:
        """Run ``build(protocol)`` under the protocol lock, send its frames, await the replies.

        ``build`` returns ``(request_ids, frames)``. With no request ids (or no
        frames, e.g. while disconnected: the protocol records the intent and
        replays it on reconnect) nothing is awaited and None is returned. With
        a ``timeout`` of None the replies are not awaited either. Otherwise the
        result of the last request is returned, or the first error raised.

        ``restored_on_reconnect`` is for intents the protocol replays itself
        (subscriptions): losing the socket mid-call is then not an error; with
        a timeout the call waits for the resumed connection instead.
        """
        self._check_usable()
        futures: list[tuple[int | str, Future[Any]]] = []
        with self._lock:
            request_ids, frames = build(self._protocol)
            if frames and timeout is not None:
                for request_id in request_ids:
                    future: Future[Any] = Future()
                    self._inflight[request_id] = future
                    futures.append((request_id, future))
        deadline = time.monotonic() + (timeout or 0.0)
        try:
            if frames:
                # A restored intent (a subscription) is recorded by the protocol and
                # must reach the socket, however late; a request is abandoned unsent.
                bounded = timeout is not None and not restored_on_reconnect
                self._send_paced(frames, deadline if bounded else None)
            result: Any = None
            for request_id, future in futures:
                try:
                    result = future.result(max(0.0, deadline - time.monotonic()))
                except FutureTimeout:
                    raise RequestTimeout(
                        f"{self.name}: no reply to request {request_id!r} within {timeout}s"
                    ) from None
            return result
        except ConnectionClosed as error:
            if not restored_on_reconnect or isinstance(error, ClientClosed):
                raise
            if timeout is not None:
                self.wait_ready(max(0.0, deadline - time.monotonic()))
            return None
        finally:
            if futures:
                with self._lock:
                    for request_id, _ in futures:
                        self._inflight.pop(request_id, None)
                    # Requests nobody waits for any more leave nothing in the protocol.
                    unanswered = [rid for rid, future in futures if not future.done()]
                    abandon = getattr(self._protocol, "abandon", None)
                    if unanswered and abandon is not None:
                        abandon(unanswered)
                    idle = not self._inflight
                if idle:  # wait_idle() may be waiting for the last reply
                    self._notify_changed()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no request awaits its reply here (or the connection is finished);
        False if some still did after ``timeout`` seconds. A connection being retired
        (make-before-break) lets the requests it carries finish before it closes."""

        def idle() -> bool:
            return not self._inflight or self.finished

        with self._changed:
            return self._changed.wait_for(idle, timeout)

    def query(self, read: Callable[[P_co], T]) -> T:
        """``read(protocol)`` under the protocol lock: the one way to look at protocol
        state from another thread. ``read`` must be quick and must not block."""
        with self._lock:
            return read(self._protocol)

    def feed(self, produce: Callable[[P_co], Inbound | list[Delivery]]) -> None:
        """Input from elsewhere than the socket (a REST snapshot fetched for the
        protocol's state) enters as a frame does: ``produce(protocol)`` runs under
        the protocol lock, and what it returns is handed over once the lock is
        released, by the same code as a frame's deliveries, notices and tasks."""
        with self._lock:
            result = produce(self._protocol)
        self._deliver(result if isinstance(result, Inbound) else Inbound(deliveries=result))

    def request(self, method: str, params: Any = None, *, timeout: float = 10.0) -> Any:
        """Send one request frame built by the protocol and return its result."""

        def build(protocol: ConnectionProtocol) -> tuple[list[int | str], list[str]]:
            request_id, frame = protocol.encode_request(method, params)
            return [request_id], [frame]

        if not self._ready.is_set():
            self.wait_ready(timeout)
        return self.call(build, timeout)

    def force_reconnect(self, reason: str = "requested") -> None:
        """Drop the socket now; the reader reconnects and resumes as after any drop."""
        ws = self._ws
        if ws is not None:
            _log.info("%s: forcing reconnect (%s)", self.name, reason)
            self._abort(ws)

    def close(self, timeout: float = 5.0) -> None:
        """Close the socket, stop the reader, fail in-flight requests. Idempotent.

        In a forked child it only marks the inherited copy closed: the socket and the
        reader are the parent's, and a close frame or ``shutdown()`` would end them."""
        if os.getpid() != self._pid:
            self._closing.set()
            return
        if self._closing.is_set() and self._state is State.CLOSED:
            return
        self._closing.set()
        self.hub.dispatcher.wake_producers()  # the reader may wait for a callback
        self._notify_changed()
        self._cut_connect()
        ws = self._ws
        if ws is not None:
            self._send_close_now(ws)
            self._abort(ws)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            self._join_reader(thread, timeout + self._connect_timeout)
        self._fail_inflight(ClientClosed(f"{self.name}: closed"))
        if self._owns_hub:
            self.hub.close(ClientClosed(f"{self.name}: closed"), timeout)
        self._state = State.CLOSED
        self._ready.clear()

    def info(self) -> dict[str, Any]:
        """Figures about this connection (see ``ConnectionInfo`` for their meaning)."""
        now = time.monotonic()
        with self._lock:
            book = getattr(self._protocol, "book", None)
            desired = book.desired() if book is not None else []
            subscriptions = [self._redact_stream(stream) for stream in desired]
            confirmed = len(book.confirmed()) if book is not None else 0
            inflight = len(self._inflight)
        last = self.last_update_at
        return {
            "name": self.name,
            "kind": self.kind,
            "url": self.url,
            "state": self._state.value,
            "subscriptions": subscriptions,
            "confirmed": confirmed,
            "in_flight_requests": inflight,
            "connects": self.connects,
            "reconnects": self.reconnects,
            "messages": self.messages,
            "protocol_errors": self.protocol_errors,
            "requests_rejected": self.requests_rejected,
            "first_update_latency": self.first_update_latency,
            "max_gap": self.max_gap,
            "reader_wait": self.reader_wait,
            "last_message_age": None if last is None else now - last,
            "connected_for": (
                now - self.connected_at
                if self.connected_at is not None and self._state is State.OPEN
                else None
            ),
            "last_error": repr(self._last_error) if self._last_error else None,
        }

    def __enter__(self) -> Connection[P_co]:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Connection {self.name} {self._state.value}>"

    # -- reader thread -----------------------------------------------------------------
    def _run(self) -> None:
        if self.hub.dispatcher.short_slice:  # a wake-up preempts longer-sliced work
            shorten(READER_SLICE_NS)  # (see ``slice``)
        try:
            while not self._closing.is_set():
                try:
                    ws = self._connect()
                except ClientClosed:
                    break
                except BaseException as error:  # a final error: tell everyone, stop
                    _log.error("%s: giving up: %r", self.name, error)
                    self._give_up(error)
                    break
                try:
                    lost = self._serve(ws)
                except Exception as error:  # a bug below us: end loudly, never silently
                    _log.exception("%s: reader failed", self.name)
                    self._give_up(error)
                    break
                if lost is not None and self._one_shot:  # nothing is retried: that was final
                    self._give_up(lost)
                    break
        finally:
            self._state = State.CLOSED
            self._ready.clear()
            self._fail_inflight(self._fatal or ClientClosed(f"{self.name}: closed"))

    def _give_up(self, error: BaseException) -> None:
        """The connection will not come back: record why and wake every waiter."""
        self._fatal = error
        self._last_error = error
        self._notify_changed()
        self._reject_all(error)
        if self._on_give_up is not None:
            try:
                self._on_give_up(self, error)
            except Exception:  # the reader must still end cleanly
                _log.exception("%s: give-up handler failed", self.name)

    def _reject_all(self, error: BaseException) -> None:
        if self._owns_hub:
            self.hub.close(error, timeout=0)

    def _connect(self) -> websocket.WebSocket:
        if self._flaps:
            # The last session died young: back off before the first attempt too, so
            # a server that accepts and drops at once is not hammered.
            state = RetryCallState(self._policy, None, (), {})
            state.attempt_number = self._flaps
            self._sleep(self._policy.wait(state))
        retrying = self._policy.copy(
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            retry=retry_if_exception(lambda e: not isinstance(e, ClientClosed))
            & self._policy.retry,
        )
        return retrying(self._open_socket)

    def _sleep(self, seconds: float) -> None:
        if self._closing.wait(seconds):
            raise ClientClosed(f"{self.name}: closed while waiting to reconnect")

    def _before_sleep(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        self._last_error = error
        _log.warning(
            "%s: connect attempt %d failed (%r); retrying in %.2fs",
            self.name,
            state.attempt_number,
            error,
            delay,
        )
        if signals.reconnect_scheduled.receivers:
            send(
                signals.reconnect_scheduled,
                self._owner,
                url=self.url,
                name=self.name,
                attempt=state.attempt_number,
                delay=delay,
                error=error,
            )

    def _open_socket(self) -> websocket.WebSocket:
        if self._closing.is_set():
            raise ClientClosed(f"{self.name}: closed")
        self._state = State.CONNECTING if self.connects == 0 else State.RECONNECTING
        with self._lock:
            url = self._protocol.url()
            self._url = self._redact(url)  # what signals, logs and errors may show
        ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=False)
        dial = Dial()
        self._dial = dial  # so that close() can cut the TCP connect and the handshake short
        self._connecting = ws
        # websocket-client's timeout bounds each read, not the handshake: a server that
        # trickles its answer would hold us forever. The watchdog cuts the socket at the
        # deadline, whatever the handshake is doing.
        watchdog = _Watchdog(ws, dial, self._connect_timeout, f"ccxtpro_sync-handshake-{self.name}")
        try:
            if self._closing.is_set():  # close() looked before there was a dial to cut
                dial.cut()
            ws.connect(  # type: ignore[no-untyped-call]
                url,
                timeout=self._connect_timeout,
                header=self._headers,
                suppress_origin=True,
                **_dialled(url, self._connect_timeout, dial),
            )
        except websocket.WebSocketBadStatusException as error:
            raise _handshake_error(error) from error
        except websocket.WebSocketTimeoutException as error:
            raise RequestTimeout(f"{self.name}: connect to {self._url} timed out") from error
        except (OSError, websocket.WebSocketException) as error:
            if self._closing.is_set():
                raise ClientClosed(f"{self.name}: closed while connecting") from error
            if watchdog.fired or isinstance(error, TimeoutError):
                raise RequestTimeout(
                    f"{self.name}: connect and handshake with {self._url} "
                    f"not done within {self._connect_timeout}s"
                ) from error
            raise ExchangeNotAvailable(
                f"{self.name}: cannot connect to {self._url}: {error}"
            ) from error
        finally:
            watchdog.cancel()
            self._connecting = None
            self._dial = None
            dial.release()
        if watchdog.fired:  # cut just as the handshake completed: the socket is unusable
            self._release(ws)
            raise RequestTimeout(
                f"{self.name}: handshake with {self._url} not done within {self._connect_timeout}s"
            )
        if self._closing.is_set():
            self._release(ws)
            raise ClientClosed(f"{self.name}: closed")
        return ws

    def _serve(self, ws: websocket.WebSocket) -> ConnectionClosed | None:
        """Resume and read until the socket dies; always leaves the socket closed.
        Returns why the session ended, or None when close() ended it."""
        code: int | None = None
        reason = ""
        self.connects += 1
        if self.connects > 1:
            self.reconnects += 1
        started = time.monotonic()
        try:
            with self._lock:
                self._ws = ws
                inbound = self._protocol.on_open(started)
                greeting = self.heartbeat.on_open(started)
        except BaseException:  # a bug: the reader gives up, but leaves no socket open
            with self._lock:
                self._ws = None
            self._release(ws)
            raise
        if greeting:  # the keep-alive set-up goes out first (e.g. public/set_heartbeat)
            inbound.outgoing = greeting + inbound.outgoing
        self._state = State.OPEN
        self.connected_at = started
        if signals.connection_started.receivers:
            send(
                signals.connection_started,
                self._owner,
                url=self.url,
                name=self.name,
                attempt=self.connects,
            )
        try:
            self._apply(inbound)
            self._read_loop(ws)
        except _Reconnect as signal_:
            code, reason = signal_.code, signal_.reason
        except ClientClosed:
            reason = "client closed"
        except ConnectionClosed as error:  # a send on this thread found the socket gone
            reason = str(error)
        except (OSError, websocket.WebSocketException) as error:
            reason = f"socket error: {error!r}"
        finally:
            try:
                with self._lock:
                    self._ws = None
                    self._outbox.clear()  # the next session restores from the protocol's state
                    tail = self._protocol.on_close()
            finally:  # a failing on_close (a bug: the reader gives up) leaves no socket open
                self._ready.clear()
                self._release(ws)
        closing = self._closing.is_set()
        if closing:  # whatever the socket said while we shut it down
            code, reason = None, "client closed"
        lived = time.monotonic() - started
        self._flaps = 0 if lived >= self._stable_after else self._flaps + 1
        lost = ConnectionClosed(
            f"{self.name}: connection lost ({reason})", code=code, reason=reason
        )
        if not closing:
            self._last_error = lost
            _log.warning("%s: %s; reconnecting", self.name, reason)
        self._fail_inflight(lost if not closing else ClientClosed(f"{self.name}: closed"))
        self._deliver(tail)
        if not closing and self._on_lost is not None:
            try:  # runs before the reconnect: the handler acts while we are offline
                self._on_lost(self, lost)
            except Exception:  # the reader must still reconnect
                _log.exception("%s: connection-lost handler failed", self.name)
        if signals.connection_closed.receivers:
            send(
                signals.connection_closed,
                self._owner,
                url=self.url,
                name=self.name,
                code=code,
                reason=reason,
                will_reconnect=not closing and not self._one_shot,
            )
        ended = None if closing else lost
        if self._on_session_end is not None:
            try:
                self._on_session_end(self, ended)
            except Exception:  # the reader must still end or reconnect cleanly
                _log.exception("%s: session-end handler failed", self.name)
        return ended

    def _read_loop(self, ws: websocket.WebSocket) -> None:
        """Read frames until the socket dies. websocket-client did the handshake and
        does the sending; receiving is ours: one large ``recv`` per burst, parsed by the
        sans-I/O ``FrameParser`` (websocket-client would read each frame with two or
        three small ``recv`` calls and several objects, which dominated the cost)."""
        started = self.connected_at or time.monotonic()
        sock = ws.sock
        if sock is None:
            raise _Reconnect("socket gone before reading")
        heartbeat = self.heartbeat
        protocol = self._protocol
        # The protocol's per-stream freshness check (resubscribes silent streams), if any:
        # a connection whose only streams went silent must still wake up to run it.
        check_freshness = getattr(protocol, "check_freshness", None)
        next_check = 0.0
        period = heartbeat.period
        sock.settimeout(period if check_freshness is None else min(period, 1.0))
        deadline = heartbeat.next_deadline()  # inf unless the heartbeat runs on a schedule
        inspect = heartbeat.inspects_messages
        parser = FrameParser(self._max_message)
        last_rx = time.monotonic()
        lock = self._lock
        deliver_many = self.hub.deliver_many
        wake = self.hub.dispatcher.wake
        closing = self._closing  # ends a backpressure wait (``close``)
        # The protocol's own run over consecutive data frames, if it has one (see
        # ``_receive_run``).
        run: ReceiveRun | None = getattr(protocol, "receive_run", None)
        received = signals.message_received
        recv = sock.recv
        while True:
            try:
                chunk = recv(READ_SIZE)
            except TimeoutError:
                now = time.monotonic()
                if self._closing.is_set():
                    raise ClientClosed("closed") from None
                if check_freshness is not None:
                    next_check = self._check_freshness(check_freshness, now, next_check)
                self._beat(ws, now, last_rx)
                deadline = heartbeat.next_deadline()
                continue
            except OSError as error:
                raise _Reconnect(f"socket error: {error!r}") from None
            if not chunk:
                raise _Reconnect("connection closed by peer without close frame")
            try:
                messages = parser.feed(chunk)
            except FrameError as error:
                # parser (and what it buffered) is dropped with the socket: memory stays flat.
                self._framing_error(error)
                raise _Reconnect(f"broken framing from the server: {error}") from None
            now = time.monotonic()
            last_rx = now
            if now >= deadline:
                self._beat(ws, now, last_rx)
                deadline = heartbeat.next_deadline()
            # Plain data of this burst, handed over together (one dispatcher lock);
            # flushed before anything else is acted on, so order is kept.
            batch: list[Delivery] = []
            # Consecutive data frames go through the protocol under one hold of its lock
            # (``_receive_run``) unless user code must see each frame first (a
            # ``message_received`` receiver, an application heartbeat).
            per_frame = inspect or bool(received.receivers)
            index, count = 0, len(messages)
            while index < count:
                opcode, data = messages[index]
                if opcode > OP_BINARY:
                    index += 1
                    if opcode == OP_PING:
                        with self._send_lock:
                            ws.pong(data)
                    elif opcode == OP_PONG:
                        heartbeat.on_pong(now)
                        deadline = heartbeat.next_deadline()
                    elif opcode == OP_CLOSE:
                        code, reason, answer = _parse_close(data)
                        with contextlib.suppress(Exception), self._send_lock:
                            ws.send_close(answer)
                        if batch:
                            self._note_update(now, started)
                            self.reader_wait += deliver_many(
                                batch, self.name, url=self._url, wake=False, stop=closing
                            )
                        wake()
                        reason = f"server closed the connection: {code} {reason}".strip()
                        raise _Reconnect(reason, code)
                    continue
                result: Inbound | list[Delivery] | Exception | None
                if not per_frame:
                    start = index
                    index, result = self._receive_run(messages, index, now, batch, run)
                    self.messages += index - start
                    if result is None:  # nothing but data, now in batch
                        continue
                    if isinstance(result, Exception):  # a protocol bug must not kill the stream
                        _log.error("%s: protocol failed on a frame", self.name, exc_info=result)
                        result = Inbound(errors=[_typed(result)])
                else:
                    index += 1
                    if inspect:  # an application heartbeat may own this frame
                        consumed, answers = self._heartbeat_message(data, now)
                        if answers:
                            self._send_paced(answers)
                        if consumed:
                            deadline = heartbeat.next_deadline()
                            continue
                    self.messages += 1
                    if received.receivers:
                        send(received, self._owner, url=self._url, name=self.name, size=len(data))
                    try:
                        with lock:
                            result = protocol.receive(data, now)
                    except Exception as error:  # a protocol bug must not kill the stream
                        _log.exception("%s: protocol failed on a frame", self.name)
                        result = Inbound(errors=[_typed(error)])
                if not isinstance(result, list):  # a list: nothing but data (the fast path)
                    if (
                        result.notices
                        or result.tasks
                        or result.responses
                        or result.outgoing
                        or result.errors
                        or result.ready
                        or result.rejections
                        or result.reconnect_reason
                    ):
                        if batch:  # _apply may raise: these must not wait for a wake
                            self._note_update(now, started)
                            self.reader_wait += deliver_many(
                                batch, self.name, url=self._url, stop=closing
                            )
                            batch = []
                        if result.deliveries:
                            self._note_update(now, started)
                        self._apply(result)
                        continue
                    result = result.deliveries
                batch += result
            if batch:
                self._note_update(now, started)
                # May wait for the dispatcher (backpressure): no library lock is held here.
                # Wakes it under the same lock as the queueing: one lock per burst.
                self.reader_wait += deliver_many(batch, self.name, url=self._url, stop=closing)
            wake()  # one wake-up for the whole burst (a no-op when the flush woke it)
            if check_freshness is not None and now >= next_check:
                next_check = self._check_freshness(check_freshness, now, next_check)

    def _receive_run(
        self,
        messages: list[tuple[int, bytes]],
        index: int,
        now: float,
        batch: list[Delivery],
        run: ReceiveRun | None = None,
    ) -> tuple[int, Inbound | list[Delivery] | Exception | None]:
        """Feed data frames from ``messages[index]`` on to the protocol under one hold
        of its lock, adding what is plain data to ``batch``; stop before a control frame
        or after a frame that means more (its result is returned, to be acted on with
        the lock released) or that raised (the error is returned). Returns the index of
        the next frame and that result, or None. Runs no user code. ``run``, the
        protocol's ``receive_run`` (same contract, e.g. to route frames in groups), does
        it instead of ``receive`` frame by frame."""
        count = len(messages)
        lock = self._lock  # acquire/release: about 900 instructions less than ``with``
        lock.acquire()
        try:
            if run is not None:
                return run(messages, index, now, batch)
            receive = self._protocol.receive  # the protocol is only touched under its lock
            while index < count:
                opcode, data = messages[index]
                if opcode > OP_BINARY:
                    break
                index += 1
                try:
                    result = receive(data, now)
                except Exception as error:
                    return index, error
                if type(result) is not list:
                    return index, result
                batch += result
        finally:
            lock.release()
        return index, None

    def _check_freshness(
        self, check: Callable[[float], Inbound | None], now: float, next_check: float
    ) -> float:
        """Run the protocol's freshness check (at most every ``FRESHNESS_POLL`` s) and
        act on it; returns when to check next."""
        if now < next_check:
            return next_check
        with self._lock:
            inbound = check(now)
        if inbound is not None:
            self._apply(inbound)
        return now + FRESHNESS_POLL

    def _heartbeat_message(self, data: bytes, now: float) -> tuple[bool, list[str]]:
        """The heartbeat's look at a data frame. It may run user code (a custom
        heartbeat's ``is_reply``) on whatever the server sent: if that raises, the
        frame is reported and passed on, never the reader's end."""
        try:
            return self.heartbeat.on_message(data, now)
        except Exception as error:
            _log.exception("%s: heartbeat failed on a frame", self.name)
            self._deliver(Inbound(errors=[error]))
            return False, []

    def _beat(self, ws: websocket.WebSocket, now: float, last_rx: float) -> None:
        """Run the heartbeat's timer: probe, or leave a dead connection."""
        try:
            tick = self.heartbeat.on_timer(now, last_rx)
        except Exception as error:  # e.g. a custom heartbeat's probe(): reported, not fatal
            _log.exception("%s: heartbeat timer failed", self.name)
            self._deliver(Inbound(errors=[error]))
            return
        if tick.dead is not None:
            raise _Reconnect(tick.dead)
        if tick.ping:
            # A ping counts against the exchange's message rate like any frame, so it
            # waits for its slot too (at most a slot or two: keep-alive timeouts are
            # far longer). Sent at once, pings more frequent than the rate (or next to
            # paced frames) went over the limit and the exchange cut the connection.
            with self._send_lock:
                delay = self._bucket.reserve(time.monotonic())
            if delay > 0 and self._closing.wait(delay):
                raise ClientClosed(f"{self.name}: closed")
            with self._send_lock:
                ws.ping()
        if tick.frames:
            self._send_paced(tick.frames)

    def _framing_error(self, error: FrameError) -> None:
        self.protocol_errors += 1
        problem = ProtocolError(f"{self.name}: {error}")
        problem.__cause__ = error
        _log.warning("%s: broken framing from the server: %s", self.name, error)
        if signals.protocol_error.receivers:
            send(signals.protocol_error, self._owner, url=self.url, name=self.name, error=problem)

    def _note_update(self, now: float, started: float) -> None:
        """Timing figures of data updates (replies to our own requests do not count)."""
        previous = self.last_update_at
        if previous is None or previous < started:
            self.first_update_latency = now - started
        elif now - previous > self.max_gap:
            self.max_gap = now - previous
        self.last_update_at = now

    def _apply(self, inbound: Inbound) -> None:
        """Act on everything a frame meant; runs on the reader thread."""
        self._deliver(inbound)
        if inbound.outgoing:
            self._send_paced(inbound.outgoing)
        if inbound.ready:
            self._ready.set()
            self._notify_changed()
        if inbound.reconnect_reason:
            raise _Reconnect(inbound.reconnect_reason)

    def _deliver(self, inbound: Inbound) -> None:
        """Hand over data, outcomes and telemetry; no lock is held here."""
        for error in inbound.errors:
            self.protocol_errors += 1
            _log.warning("%s: %s", self.name, error)
            if signals.protocol_error.receivers:
                send(signals.protocol_error, self._owner, url=self.url, name=self.name, error=error)
        for name, payload in inbound.notices:
            signal = getattr(signals, name)
            if signal.receivers:  # like every signal: sent only when someone listens
                send(signal, self._owner, **payload)
        if inbound.tasks and self._on_tasks is not None:
            self._on_tasks(inbound.tasks)
        if inbound.deliveries:
            self.reader_wait += self.hub.deliver_many(
                inbound.deliveries, self.name, url=self._url, stop=self._closing
            )
        for message_hash, error in inbound.rejections:
            self.hub.reject([message_hash], error)
        for response in inbound.responses:
            with self._lock:
                future = self._inflight.pop(response.request_id, None)
            if response.error is not None:
                self.requests_rejected += 1
                if future is not None:
                    reject([future], response.error)
                if signals.request_rejected.receivers:
                    send(
                        signals.request_rejected,
                        self._owner,
                        url=self.url,
                        name=self.name,
                        request_id=response.request_id,
                        error=response.error,
                    )
            else:
                if future is not None:
                    resolve([future], response.result)
                if signals.request_resolved.receivers:
                    send(
                        signals.request_resolved,
                        self._owner,
                        url=self.url,
                        name=self.name,
                        request_id=response.request_id,
                        result=response.result,
                    )

    # -- sending -----------------------------------------------------------------------
    def _send_paced(self, frames: list[str], deadline: float | None = None) -> None:
        """Send frames in order, within the exchange's incoming-message rate limit.

        With a ``deadline`` (``time.monotonic()``), a frame that cannot start before it
        (its pacing slot is later, or another sender is stuck on a socket the peer
        does not read) is not sent: ``RequestTimeout`` says so. Without one, the wait
        is bounded by the socket's own timeout only (the reader's and heartbeat's
        sends, which must go out eventually)."""
        for frame in frames:
            self._acquire_send_lock(deadline)
            try:
                if self._pacer is None:
                    delay = self._bucket.reserve(time.monotonic())
                else:
                    delay = self._pacer.reserve(time.monotonic(), frame)
            finally:
                self._send_lock.release()
            if deadline is not None and delay > 0 and time.monotonic() + delay > deadline:
                raise RequestTimeout(
                    f"{self.name}: not sent: the rate limit's next slot is {delay:.3f}s away,"
                    " past the call's timeout"
                )
            if delay > 0 and self._closing.wait(delay):
                raise ClientClosed(f"{self.name}: closed")
            ws = self._ws
            if ws is None:
                raise ConnectionClosed(f"{self.name}: not connected")
            self._acquire_send_lock(deadline)
            try:
                ws.send(frame)
            except (OSError, websocket.WebSocketException) as error:
                raise ConnectionClosed(f"{self.name}: send failed: {error}") from error
            finally:
                self._send_lock.release()

    def _acquire_send_lock(self, deadline: float | None) -> None:
        left = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._send_lock.acquire(timeout=left):
            raise RequestTimeout(
                f"{self.name}: not sent: another send has been blocked on the socket"
                " (the peer is not reading) past the call's timeout"
            )

    # -- helpers -----------------------------------------------------------------------
    def _join_reader(self, thread: threading.Thread, timeout: float) -> None:
        """Wait for the reader to end. A connect that began just as close() looked has
        no socket to cut yet: cut it as soon as it has one, rather than waiting for the
        connect timeout."""
        deadline = time.monotonic() + timeout
        while thread.is_alive():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._cut_connect()
            thread.join(min(0.05, left))

    def _cut_connect(self) -> None:
        dial = self._dial
        if dial is not None:
            dial.cut()
        connecting = self._connecting
        if connecting is not None:
            self._abort(connecting)

    def _send_close_now(self, ws: websocket.WebSocket) -> None:
        """Send a close frame only if it can go at once. A server that stops reading
        leaves a sender (the reader's pong) blocked on the socket, holding the send
        lock; close() must not wait behind it: the frame is a courtesy, the shutdown
        that follows wakes that sender."""
        if not self._send_lock.acquire(blocking=False):
            return
        try:
            sock = ws.sock
            if sock is not None and _writable(sock):
                ws.send_close(reason=b"client closed")
        except Exception:  # the socket may already be gone; closing anyway
            pass
        finally:
            self._send_lock.release()

    def _abort(self, ws: websocket.WebSocket) -> None:
        sock = ws.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _release(self, ws: websocket.WebSocket) -> None:
        """Shut and close ``ws``'s socket now. Not ``ws.close()``: once ``send_close()``
        ran (our close(), or our answer to the server's close frame) websocket-client
        counts the socket as gone and ``close()`` does nothing, leaving the descriptor
        open (FIN_WAIT1) until the garbage collector finds the WebSocket."""
        self._abort(ws)
        with contextlib.suppress(Exception):
            ws.shutdown()  # type: ignore[no-untyped-call]

    def _notify_changed(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _fail_inflight(self, error: BaseException) -> None:
        with self._lock:
            futures = list(self._inflight.values())
            self._inflight.clear()
        reject(futures, error)

    def _check_usable(self) -> None:
        if os.getpid() != self._pid:
            raise NetworkError(
                f"{self.name}: this connection was created in process {self._pid} and cannot be "
                "used after fork; create the client in the child process"
            )
        if self._fatal is not None:
            raise self._fatal
        if self._closing.is_set():
            raise ClientClosed(f"{self.name}: closed")


def _as_is(text: str) -> str:
    return text


class _Watchdog:
    """Cuts a connect attempt when its deadline passes (a short-lived timer thread)."""

    def __init__(self, ws: websocket.WebSocket, dial: Dial, timeout: float, name: str) -> None:
        self._ws = ws
        self._dial = dial
        self._done = threading.Event()
        self.fired = False
        self._thread = start_thread(self._run, name, args=(timeout,))

    def _run(self, timeout: float) -> None:
        if self._done.wait(timeout):
            return
        self.fired = True
        self._dial.cut()
        # Through a proxy websocket-client dials itself (no dial to cut): keep trying
        # until there is a socket to cut or the handshake is over.
        while not self._done.is_set():
            sock = self._ws.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                return
            self._done.wait(0.05)

    def cancel(self) -> None:
        self._done.set()
        if self._thread is not threading.current_thread():
            self._thread.join()


def _dialled(url: str, timeout: float, dial: Dial) -> dict[str, Any]:
    """Open the socket of ``url`` through ``dial`` (TCP, then TLS for ``wss``), as the
    ``socket`` option of websocket-client's ``connect``. When websocket-client would
    go through a proxy (``http_proxy``/``https_proxy``, less ``no_proxy``: its own rule
    decides, so the two never disagree) it connects through it itself (nothing to
    pass), and only the handshake can be cut."""
    parts = urllib.parse.urlsplit(url)
    secure = parts.scheme == "wss"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    if get_proxy_info(host, secure)[0]:
        return {}
    wrap = tls_wrapper(_tls_context(), host) if secure else None
    sock = dial.connect((host, port), timeout, options=websocket.DEFAULT_SOCKET_OPTION, wrap=wrap)
    if isinstance(sock, ssl.SSLSocket):
        try:
            sock.do_handshake()
        except BaseException:
            sock.close()
            raise
    return {"socket": sock}


def _tls_context() -> ssl.SSLContext:
    """The CAs websocket-client trusted when it did the TLS itself: its
    ``WEBSOCKET_CLIENT_CA_BUNDLE`` (a CA file or a hashed directory) instead of the
    system's (which ``SSL_CERT_FILE``/``SSL_CERT_DIR`` change, as before); built once
    per CA configuration (``verified_context``). Python 3.13 adds strict X.509 checks
    to the default context; websocket-client's own context had none, and a CA it
    accepted must stay accepted."""
    return verified_context(os.environ.get("WEBSOCKET_CLIENT_CA_BUNDLE"), x509_strict=False)


def _writable(sock: socket.socket) -> bool:
    """Whether a small frame can be written to ``sock`` without waiting (the kernel
    reports writable only with ample buffer room)."""
    try:
        if hasattr(select, "poll"):  # no descriptor limit, unlike select()
            poller = select.poll()
            poller.register(sock, select.POLLOUT)
            return bool(poller.poll(0))
        return bool(select.select([], [sock], [], 0)[1])
    except (OSError, ValueError):
        return False


def _not_closed(error: BaseException) -> bool:
    return not isinstance(error, ClientClosed)


def _parse_close(data: bytes) -> tuple[int | None, str, int]:
    """A server's close frame: its code, its reason made safe to log (the server's
    text: control characters, newlines included, shown escaped so it cannot forge log
    lines), and the code to answer with (RFC 6455 §7.4: the code echoed when a close
    frame may carry it; 1002 for one it may not, 1005, 1006 and 1015 included, or for a
    payload of one byte; 1007 for a reason that is not UTF-8)."""
    if not data:
        return None, "", 1000
    if len(data) < 2:
        return None, "malformed close frame", 1002
    code = int.from_bytes(data[:2], "big")
    try:
        text = data[2:].decode("utf-8")
        answer = code if _sendable_close_code(code) else 1002
    except UnicodeDecodeError:
        text = data[2:].decode("utf-8", "replace")
        answer = 1007
    reason = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return code, reason, answer


def _sendable_close_code(code: int) -> bool:
    """Codes a close frame may carry: the defined ones less those reserved for local
    use (1004 reserved, 1005/1006/1015 never sent), and 3000-4999 (libraries and apps)."""
    return code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014) or (
        3000 <= code <= 4999
    )
