"""``AdapterClient``: every exchange's watch/on/stream/un_watch on top of an ``Adapter``.

The faces, holds, planning, rotation, replay and ``connections()`` are
``StreamClient``'s, the one implementation Binance's clients use too; this adds
the adapter's connections (heartbeats and adapter timers, reconnection with the
restoration order) and requests. An exchange supplies only its ``Adapter``.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tenacity import Retrying

from .._arguments import check_handler, check_symbol
from .._core.events import Delivery, Policy, RawMessage
from .._core.heartbeat import Heartbeat, Tick, make_heartbeat
from .._core.rotation import DeliveredKeys
from .._exceptions import BaseError, InvalidArgument
from .._sync.connection import Connection
from .._sync.consumers import Stream, Subscription
from .._sync.planner import Overlap
from .._sync.stream_client import StreamClient
from .base import Adapter
from .protocol import AdapterProtocol, Dedupe

__all__ = ["AdapterClient"]

_log = logging.getLogger(__name__)

Handler = Callable[[Any], object]


class AdapterClient(StreamClient):
    """A threaded client for any exchange that implements ``Adapter``.

    Args:
        make_adapter: builds one adapter per connection (a class, or a function
            closing over credentials): each connection has its own session state.
        reconnect: a tenacity policy (default: ``default_reconnect_policy()``). The
            connection reconnects and replays the restoration order after every drop.
        timeout: default seconds for blocking calls.
        max_connection_age: replace each connection, make-before-break, this many
            seconds after it opened (less up to 10 % jitter); None: only ``rotate``.
        rotation_stagger: seconds between two rotations (connection-attempt limits).
        thread_affinity: ``"follow"`` (default): the dispatcher wakes on the CPU of the
            reader that rings it, nothing is pinned; a CPU id or a set of them: the
            readers and the dispatcher run only there; None: the scheduler places them
            (Linux; docs/threading.md, "Latency and CPU placement").
        thread_slice: True (default): the readers and the dispatcher ask Linux for a
            short scheduler slice; False: the kernel's default (docs/threading.md,
            "Latency and the scheduler slice").
    """

    def __init__(
        self,
        make_adapter: Callable[[], Adapter],
        *,
        reconnect: Retrying | None = None,
        timeout: float = 10.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_pending: int = 10_000,
        name: str | None = None,
        max_connection_age: float | None = None,
        rotation_stagger: float = 2.0,
        thread_affinity: Any = "follow",
        thread_slice: Any = True,
    ) -> None:
        self._make_adapter = make_adapter
        #: An adapter for what is the same on every connection (names, hashes, limits).
        self.adapter = make_adapter()
        super().__init__(
            name=name or self.adapter.name,
            timeout=timeout,
            max_pending=max_pending,
            thread_affinity=thread_affinity,
            thread_slice=thread_slice,
        )
        self._reconnect = reconnect
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        # Make-before-break rotation: what each message hash last delivered.
        self._dedupe = Dedupe(DeliveredKeys[Delivery](), threading.Lock())
        self._init_streams(
            new_connection=self._new_connection,
            max_streams=self.adapter.limits.max_streams,
            rotation_timeout=self.timeout,
            overlap=_AdapterOverlap(self),
            max_age=max_connection_age,
            jitter=(max_connection_age or 0.0) / 10,
            stagger=rotation_stagger,
        )

    # -- connections -----------------------------------------------------------------
    def _new_connection(self, route: str, index: int) -> Connection:
        adapter = self._make_adapter()
        protocol = AdapterProtocol(adapter, raw_tap=self._raw_tap, delivered=self._dedupe)
        beat = _AdapterTimers(make_heartbeat(adapter.heartbeat))
        conn = Connection(
            protocol,
            hub=self.hub,
            owner=self,
            name=f"{self.name}-{index}",
            reconnect=self._reconnect,
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            outgoing_rate=adapter.limits.messages_per_second,
            pacer=adapter.limits.pacer,
            heartbeat=beat,
            on_give_up=self._connection_gave_up,
        )
        beat.connection = conn
        if self._rotator.max_age is not None:
            self._rotator.start()
        return conn

    def _first_connection(self) -> Connection:
        with self._lock:
            self._check_usable()
            self._purge_finished()
            pool = self._planner.pools.setdefault("", [])
            if not pool:
                pool.append(self._new_connection("", 0))
            conn = pool[0]
        return conn.start()

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the first connection is connected and restored."""
        self._first_connection().wait_ready(self._timeout(timeout))

    # -- the consumer faces ------------------------------------------------------------
    def _stream_hashes(self, stream: str) -> list[str]:
        hashes = self.adapter.hashes(stream)
        # A str is a sequence too: iterated, its characters would become the hashes
        # and a watch would wait for updates that never come. Refused here, at once.
        if (
            isinstance(hashes, str)
            or not isinstance(hashes, Sequence)
            or not hashes
            or not all(isinstance(h, str) and h for h in hashes)
        ):
            raise InvalidArgument(
                f"{self.adapter.name}: adapter.hashes({stream!r}) returned {hashes!r}; "
                "it must return a non-empty list of message hashes (str)"
            )
        return list(hashes)

    def _hashes(self, streams: Sequence[str]) -> list[str]:
        for index, stream in enumerate(streams):
            name = "stream" if len(streams) == 1 else f"streams[{index}]"
            if not check_symbol(stream, name, _EXAMPLE):
                raise InvalidArgument(f"{name} must be a non-empty str such as {_EXAMPLE}")
        return [h for stream in streams for h in self._stream_hashes(stream)]

    def watch(self, stream: str, *, timeout: float | None = None) -> Any:
        """Block for the next update of ``stream``; it stays subscribed until ``un_watch``."""
        return self._watch("watch", [stream], self._hashes([stream]), timeout)

    def un_watch(self, stream: str) -> None:
        """Release what ``watch(stream)`` holds (unsubscribes with the last reference)."""
        self._unwatch("watch", [stream])

    def on(self, streams: str | Sequence[str], handler: Handler | None = None) -> Subscription:
        """Call ``handler(update)`` on the dispatcher thread for every update of ``streams``."""
        names = _stream_names(streams)
        check_handler(handler)
        assert handler is not None
        return self._on("on", names, self._hashes(names), handler)

    def stream(
        self,
        streams: str | Sequence[str],
        *,
        policy: Policy = Policy.APPEND,
        timeout: float | None = None,
    ) -> Stream[Any]:
        """An iterator over the updates of ``streams`` (see ``Stream``)."""
        names = _stream_names(streams)
        return self._stream("stream", names, self._hashes(names), policy, timeout)

    def request(self, method: str, params: Any = None, *, timeout: float | None = None) -> Any:
        """Send an application request on the first connection (after it is restored)."""
        self._check_usable()
        if not isinstance(method, str) or not method:
            raise InvalidArgument(f"method must be a non-empty str, got {method!r}")
        if params is not None and (
            isinstance(params, str) or not isinstance(params, Mapping | Sequence)
        ):
            raise InvalidArgument(
                f"params must be a mapping (or a list, for positional params) or None, "
                f"got {type(params).__name__} {params!r}"
            )
        return self._first_connection().request(method, params, timeout=self._timeout(timeout))

    # -- raw frames ----------------------------------------------------------------------
    def _replayer(self) -> Callable[[RawMessage], list[Delivery]]:
        adapter = self._make_adapter()  # a fresh one: touches no live state
        return lambda message: adapter.decode(message.data, 0.0).deliveries

    def __enter__(self) -> AdapterClient:
        self._check_open()
        return self

    def __repr__(self) -> str:
        return f"<AdapterClient {self.name}{' closed' if self._closed else ''}>"


_EXAMPLE = "'trades.BTC-PERPETUAL'"


def _stream_names(streams: object) -> list[str]:
    """One stream name or a sequence of them, as a list (each checked by ``_hashes``)."""
    if isinstance(streams, str):
        return [streams]
    if isinstance(streams, Sequence) and not isinstance(streams, bytes | bytearray):
        return list(streams)
    return [check_symbol(streams, "streams", _EXAMPLE)]


class _AdapterOverlap(Overlap):
    """The planner's rotation hooks: streams become message hashes for the dedupe."""

    def __init__(self, client: AdapterClient) -> None:
        self._client = client

    def begin(self, streams: list[str]) -> None:
        dedupe = self._client._dedupe
        with dedupe.lock:
            dedupe.keys.begin(self._client._hashes(streams))

    def catch_up(self, old: Connection, streams: list[str], timeout: float) -> None:
        # The server sends nothing of a stream after answering its unsubscribe: once
        # the old connection read the answer, its backlog is delivered too.
        if old.finished or not streams:
            return
        try:
            old.call(lambda protocol: protocol.drain(streams), timeout)
        except (BaseError, TimeoutError) as error:
            _log.info("%s: old connection did not confirm its unsubscribe: %r", old.name, error)

    def switch(self, new: Connection, streams: list[str]) -> None:
        dedupe = self._client._dedupe
        hashes = self._client._hashes(streams)
        more = [True]

        def release(protocol: Any) -> list[Delivery]:
            released = dedupe.release(hashes)
            more[0] = bool(released)
            return released

        # Round after round until nothing is left (see ``DeliveredKeys.release``).
        while more[0] and not new.finished:
            new.feed(release)

    def handover(self, old: Connection) -> None:
        lock = self._client._dedupe.lock

        def retire(protocol: Any) -> None:
            if isinstance(protocol, AdapterProtocol):
                with lock:
                    protocol.retired = True

        old.query(retire)

    def end(self, streams: list[str]) -> None:
        dedupe = self._client._dedupe
        with dedupe.lock:
            dedupe.keys.end(self._client._hashes(streams))


class _AdapterTimers:
    """The connection's heartbeat plus the adapter's own timers (token refresh).

    Runs on the reader thread; the adapter is reached only through the
    connection's locked ``query``."""

    def __init__(self, inner: Heartbeat) -> None:
        self.inner = inner
        self.period = inner.period
        self.inspects_messages = inner.inspects_messages
        self.connection: Connection[AdapterProtocol] | None = None

    def on_open(self, now: float) -> list[str]:
        return self.inner.on_open(now)

    def next_deadline(self) -> float:
        conn = self.connection
        adapter_deadline = conn.query(lambda p: p.next_deadline()) if conn is not None else math.inf
        return min(self.inner.next_deadline(), adapter_deadline)

    def on_timer(self, now: float, last_rx: float) -> Tick:
        tick = self.inner.on_timer(now, last_rx)
        conn = self.connection
        if tick.dead is None and conn is not None:
            tick.frames = [*tick.frames, *conn.query(lambda p: p.on_timer(now))]
        return tick

    def on_pong(self, now: float) -> None:
        self.inner.on_pong(now)

    def on_message(self, data: bytes, now: float) -> tuple[bool, list[str]]:
        return self.inner.on_message(data, now)
