"""``WebSocketClient``: a plain websocket client with the library's threading rules.

For scripts and one-off connections to any ``ws://``/``wss://`` URL. One reader
thread owns the socket; callbacks run on the dispatcher thread, never on the
reader and never under a library lock; every blocking call takes a timeout;
``close()`` is idempotent and wakes every waiter.

    with WebSocketClient("wss://example.org/ws", heartbeat={"type": "ping_pong",
                                                            "interval": 10}) as ws:
        ws.request({"method": "subscribe", "params": ["trades"]}, timeout=5)
        for message in ws:
            print(message)

Reconnection: ``reconnect=False`` (the default) makes the first loss final -- it
reaches every waiter and ``on_close`` as ``ConnectionClosed`` and nothing is
retried, which is what an adapter above this client wants (it owns reconnection;
two layers reconnecting would fight). Pass a tenacity ``Retrying`` policy (e.g.
``default_reconnect_policy()``) and the client reconnects by itself and calls
``on_open`` again after every (re)connect, before anything else is sent.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from tenacity import Retrying

from ._arguments import check_timeout
from ._core.events import Delivery, Policy
from ._core.heartbeat import Heartbeat, JsonRpcHeartbeat, make_heartbeat
from ._core.plain import MESSAGE_HASH, OPEN_HASH, KeyFunction, PlainProtocol, encode, jsonrpc_id
from ._exceptions import ClientClosed, ConnectionClosed, NetworkError, RequestTimeout
from ._sync.connection import Connection
from ._sync.consumers import Subscription
from ._sync.follow import follow_home
from ._sync.hub import Hub
from ._sync.placement import FOLLOW, start_thread, thread_placement
from ._sync.slice import thread_slice as check_thread_slice

__all__ = ["WebSocketClient"]

_log = logging.getLogger("ccxtpro_sync")

OpenHook = Callable[["WebSocketClient"], object]
CloseHook = Callable[["WebSocketClient", "BaseException | None"], object]
HeartbeatSpec = Heartbeat | str | Mapping[str, Any] | None
#: Message hash of "the session ended" (value: the error), for the close hook.
_CLOSE_HASH = "close"


class WebSocketClient:
    """A websocket connection with a reader thread, heartbeats and request correlation.

    Args:
        url: the ``ws://`` or ``wss://`` URL.
        heartbeat: ``"server_ping"`` (default: answer pings, dead after ``read_timeout``
            of silence), ``{"type": "ping_pong", "interval": s, "timeout": s}``,
            ``{"type": "jsonrpc", "interval": s}``, ``{"type": "custom", "probe": fn,
            "is_reply": fn, "interval": s, "timeout": s}``, ``"disabled"``, or a
            ``Heartbeat`` object (see ``ccxtpro_sync.heartbeat``).
        reconnect: ``False`` (one session; its loss is final) or a tenacity policy.
        on_open: ``on_open(client)``, after every (re)connect, on the dispatcher thread;
            it may ``send``/``request`` (authenticate, subscribe). The client is ready
            -- queued ``send`` calls go out -- only once it returns.
        on_close: ``on_close(client, error)`` when a session ends: ``ConnectionClosed``
            on a loss, None after ``close()``.
        key: how a reply names its request (default: the JSON ``id``).
        timeout: default seconds for blocking calls.
        buffer: messages kept for ``recv()``/iteration (oldest dropped first);
            0 when only callbacks consume.
        headers: extra HTTP headers for the handshake.
        thread_affinity: ``"follow"`` (default): the dispatcher wakes on the reader's
            CPU, nothing is pinned; a CPU id or a set of them: the reader and the
            dispatcher run only there; None: the scheduler places both (Linux;
            docs/threading.md, "Latency and CPU placement").
        thread_slice: True (default): the reader and the dispatcher ask Linux for a
            short scheduler slice; False: the kernel's default (docs/threading.md,
            "Latency and the scheduler slice").
    """

    def __init__(
        self,
        url: str,
        *,
        heartbeat: HeartbeatSpec = "server_ping",
        reconnect: Retrying | Literal[False] = False,
        on_open: OpenHook | None = None,
        on_close: CloseHook | None = None,
        key: KeyFunction = jsonrpc_id,
        timeout: float = 10.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        outgoing_rate: float = 50.0,
        buffer: int = 10_000,
        headers: dict[str, str] | None = None,
        name: str = "websocket",
        thread_affinity: Any = FOLLOW,
        thread_slice: Any = True,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise ValueError(f"url must be a ws:// or wss:// URL, not {url!r}")
        _check_address(url)
        if reconnect is not False and not isinstance(reconnect, Retrying):
            raise ValueError("reconnect must be False or a tenacity Retrying policy")
        if not isinstance(buffer, int) or buffer < 0:
            raise ValueError("buffer must be a non-negative int")
        self.name = name
        self.timeout = check_timeout(timeout)
        self._pid = os.getpid()
        placement = thread_placement(thread_affinity)
        short_slice = check_thread_slice(thread_slice, "thread_slice")
        if heartbeat == "server_ping":
            heartbeat = {"type": "server_ping", "interval": min(20.0, read_timeout),
                         "silence": read_timeout}  # fmt: skip
        self.heartbeat = make_heartbeat(heartbeat)
        self._on_open = on_open
        self._on_close = on_close
        self._final_loss = reconnect is False
        self._protocol = PlainProtocol(url, key=key, hooked=on_open is not None)
        if isinstance(self.heartbeat, JsonRpcHeartbeat):
            self.heartbeat.bind(self._protocol.next_id)  # one id space on the socket
        self.hub = Hub(owner=self, name=f"ccxtpro_sync-{name}")
        self.hub.dispatcher.placement = placement  # and the reader: Connection.start
        self.hub.dispatcher.follow_home = follow_home(thread_affinity)
        self.hub.dispatcher.short_slice = short_slice  # and the reader: Connection._run
        self._inbox: collections.deque[Any] = collections.deque(maxlen=buffer or None)
        self._buffer = buffer
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._closed = False
        #: Set once the first ``close()`` is done; the thread running it (so a close
        #: from its own ``on_close`` hook does not wait for itself).
        self._close_done = threading.Event()
        self._closer: int | None = None
        self._hook = threading.local()
        self._timers: list[_Timer] = []
        self.dropped = 0
        if buffer:
            self.hub.add_callback(MESSAGE_HASH, self._keep)
        if on_open is not None:
            self.hub.add_callback(OPEN_HASH, self._run_open_hook)
        if on_close is not None:
            self.hub.add_callback(_CLOSE_HASH, self._run_close_hook)
        self.connection = Connection(
            self._protocol,
            hub=self.hub,
            owner=self,
            name=name,
            reconnect=reconnect,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            outgoing_rate=outgoing_rate,
            headers=headers,
            heartbeat=self.heartbeat,
            on_session_end=self._session_ended,
            on_give_up=self._gave_up,
        )
        self.connection.start()
        _live.add(self)

    # -- sending ---------------------------------------------------------------------
    def send(self, message: Any, *, timeout: float | None = None) -> None:
        """Send one text frame: a str, UTF-8 bytes, or an object sent as JSON.

        Waits at most ``timeout`` (default: the client's) until the client is ready and
        the frame can go out; ``RequestTimeout`` (frame not sent) when the rate limit or a
        peer that stopped reading would hold it longer."""
        frame = encode(message)
        seconds = self.timeout if timeout is None else check_timeout(timeout)
        deadline = time.monotonic() + seconds
        self._wait_usable(seconds)
        self.connection.call(lambda _protocol: ([], [frame]), max(0.0, deadline - time.monotonic()))

    def request(self, payload: Any, *, timeout: float | None = None) -> Any:
        """Send ``payload`` and return the reply that carries its key.

        A dict without an ``id`` gets the next integer id. A JSON-RPC reply returns
        its ``result`` or raises ``ExchangeError`` for its ``error``; any other reply
        is returned whole. ``RequestTimeout`` when no reply within ``timeout``;
        ``ConnectionClosed`` when the connection is lost first.
        """
        seconds = self.timeout if timeout is None else check_timeout(timeout)
        self._wait_usable(seconds)

        def build(protocol: PlainProtocol) -> tuple[list[Any], list[str]]:
            key, frame = protocol.prepare(payload)
            return [key], [frame]

        return self.connection.call(build, seconds)

    # -- receiving -------------------------------------------------------------------
    def on_message(self, callback: Callable[[Any], object]) -> Subscription:
        """Call ``callback(message)`` for every message that is not a reply, on the
        dispatcher thread. ``cancel()`` on the result stops it."""
        if not callable(callback):
            raise TypeError("on_message needs a callable")
        self._check_process()

        def each(messages: list[Any]) -> None:
            for message in messages:
                try:
                    callback(message)
                except Exception:  # one bad message must not cost the rest of the batch
                    _log.exception("%s: on_message callback raised", self.name)

        handle = self.hub.add_callback(MESSAGE_HASH, each)

        def cancel() -> None:
            self.hub.remove_callback(handle)

        return Subscription("on_message", cancel)

    def recv(self, timeout: float | None = None) -> Any:
        """The next message (oldest first). ``RequestTimeout`` after ``timeout``;
        ``ConnectionClosed`` once the connection is lost for good; ``ClientClosed``
        after ``close()``."""
        if not self._buffer:
            raise ValueError("recv() needs buffer > 0")
        self._check_process()
        seconds = self.timeout if timeout is None else check_timeout(timeout)
        with self._cond:
            ready = self._cond.wait_for(lambda: self._inbox or self._error is not None, seconds)
            if self._inbox:
                return self._inbox.popleft()
            if ready and self._error is not None:
                raise self._error
        raise RequestTimeout(f"{self.name}: no message within {seconds}s")

    def __iter__(self) -> Iterator[Any]:
        """Messages until ``close()`` (then the loop ends) or a final loss (raised)."""
        while True:
            try:
                yield self.recv()
            except ClientClosed:
                return

    # -- timers and lifecycle --------------------------------------------------------
    def every(self, interval: float, callback: Callable[[WebSocketClient], object]) -> Subscription:
        """Call ``callback(client)`` every ``interval`` seconds on a timer thread (token
        refresh, application pings) until cancelled or closed. Errors are logged."""
        seconds = check_timeout(interval, "interval")
        self._check_process()
        timer = _Timer(self, seconds, callback)
        self._timers.append(timer)
        timer.start()
        return Subscription("timer", timer.stop)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until connected (and ``on_open`` has returned)."""
        self._check_process()
        self.connection.wait_ready(self.timeout if timeout is None else check_timeout(timeout))

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, timeout: float = 5.0) -> None:
        """Close the socket and every thread; wake every waiter. Idempotent.

        In a forked child it only marks the inherited copy closed: the socket and the
        threads are the parent's, and closing them would end the parent's session."""
        if os.getpid() != self._pid:
            self._closed = True
            self.connection.close(timeout)  # marks it closed, touches nothing
            return
        timeout = check_timeout(timeout)
        with self._cond:
            first = not self._closed
            if first:
                self._closed = True
                self._closer = threading.get_ident()
                if self._error is None:
                    self._error = ClientClosed(f"{self.name}: closed")
                self._cond.notify_all()
        if not first:
            # Another thread is closing: return when it is done, as a single close
            # would; not on a library thread it may be joining, nor on its own thread.
            current = threading.current_thread()
            if not current.name.startswith("ccxtpro_sync") and current.ident != self._closer:
                self._close_done.wait(timeout + 5.0)
            return
        _live.discard(self)
        try:
            for timer in self._timers:
                timer.stop()
            self.connection.close(timeout)
            self.hub.close(ClientClosed(f"{self.name}: closed"), timeout)
            for timer in self._timers:
                timer.join(timeout)
        finally:
            self._close_done.set()
        if self._on_close is not None:
            try:
                self._on_close(self, None)
            except Exception:
                _log.exception("%s: on_close raised", self.name)

    def __enter__(self) -> WebSocketClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<WebSocketClient {self.name} {self.connection.state.value}>"

    # -- internals -------------------------------------------------------------------
    def _check_process(self) -> None:
        """A forked child has none of this client's threads: say so instead of waiting
        for messages that only the parent's reader would receive."""
        if os.getpid() != self._pid:
            raise NetworkError(
                f"{self.name}: this client was created in process {self._pid}; a client "
                "cannot cross a fork (its socket and threads stay in the parent). "
                "Create the client in the child, e.g. in Celery's worker_process_init."
            )

    def _wait_usable(self, timeout: float | None) -> None:
        self._check_process()
        if self._closed:
            raise ClientClosed(f"{self.name}: closed")
        if getattr(self._hook, "active", False):
            return  # the open hook itself runs before ready: it must not wait for it
        if not self.connection.is_ready():
            self.wait_ready(timeout)

    def _keep(self, messages: list[Any]) -> None:
        with self._cond:
            room = self._buffer - len(self._inbox)
            if len(messages) > room:
                self.dropped += len(messages) - room
            self._inbox.extend(messages)  # maxlen drops the oldest
            self._cond.notify_all()

    def _run_open_hook(self, session: int) -> None:
        assert self._on_open is not None
        self._hook.active = True
        try:
            self._on_open(self)
        except Exception as error:
            _log.exception("%s: on_open raised; dropping the connection", self.name)
            self.connection.force_reconnect(f"on_open failed: {error!r}")
            return
        finally:
            self._hook.active = False
        if self.connection.query(lambda protocol: protocol.session) == session:
            self.connection.mark_ready()

    def _run_close_hook(self, errors: list[BaseException]) -> None:
        assert self._on_close is not None
        for error in errors:  # one per lost session, in order
            self._on_close(self, error)

    def _session_ended(self, connection: Any, error: ConnectionClosed | None) -> None:
        """On the reader thread, no lock held: a lost session reaches waiters and hooks."""
        if error is None:
            return  # close(): it wakes everyone itself
        if self._final_loss:
            with self._cond:
                if self._error is None:
                    self._error = error
                self._cond.notify_all()
        if self._on_close is not None:
            self.hub.deliver_many([Delivery(_CLOSE_HASH, [error], Policy.APPEND)], self.name)

    def _gave_up(self, connection: Any, error: BaseException) -> None:
        """On the reader thread: the connection will not come back (a first connect
        refused with ``reconnect=False``, the retries spent). Waiters raise ``error``."""
        with self._cond:
            if self._error is None:
                self._error = error
            self._cond.notify_all()


#: Clients not closed yet, closed at interpreter exit (as the exchange clients are), so
#: the server sees a close frame rather than a socket dropped by the process's end.
_live: weakref.WeakSet[WebSocketClient] = weakref.WeakSet()


@atexit.register
def _close_at_exit() -> None:
    for client in list(_live):
        try:
            client.close(timeout=1.0)  # in a forked child: marks the copy closed only
        except Exception:  # exiting anyway; never mask the program's own exit status
            _log.debug("closing %r at exit failed", client, exc_info=True)


def _check_address(url: str) -> None:
    """Refuse a URL with no host or an impossible port now: on the reader an empty
    host would be a resolver error, retried as network trouble."""
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port  # noqa: B018 (raises for a port out of range or not a number)
    except ValueError as error:
        raise ValueError(f"url {url!r}: {error}") from None
    if not parts.hostname:
        raise ValueError(f"url {url!r} names no host")


class _Timer:
    """One timer thread for ``WebSocketClient.every``."""

    def __init__(
        self,
        client: WebSocketClient,
        interval: float,
        callback: Callable[[WebSocketClient], object],
    ) -> None:
        self._client = client
        self._interval = interval
        self._callback = callback
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # start_thread: begun from a pinned callback it runs at home, not on the pin
        self._thread = start_thread(self._run, f"ccxtpro_sync-timer-{self._client.name}")

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._callback(self._client)
            except Exception:
                _log.exception("%s: timer callback raised", self._client.name)
