"""``AdapterClient``: every exchange's watch/on/stream/un_watch on top of an ``Adapter``.

The exchange-neutral half of a client: connection planning (``ConnectionPlanner``),
holds and reference counts, the three consumer faces, requests, heartbeats and
adapter timers, reconnection with the restoration order, raw tap and replay, and
``connections()``. An exchange supplies only its ``Adapter``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tenacity import Retrying

from .._arguments import check_handler
from .._core.events import Delivery, Policy, RawMessage
from .._core.heartbeat import Heartbeat, Tick, make_heartbeat
from .._core.rotation import DeliveredKeys
from .._exceptions import BadRequest
from .._sync.base_client import BaseClient
from .._sync.connection import Connection
from .._sync.consumers import Stream, Subscription
from .._sync.info import ConnectionInfo
from .._sync.planner import ConnectionPlanner, Overlap
from .._sync.rotator import Rotator
from .base import Adapter
from .protocol import AdapterProtocol, Dedupe

__all__ = ["AdapterClient"]

Handler = Callable[[Any], object]


class AdapterClient(BaseClient):
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
    ) -> None:
        self._make_adapter = make_adapter
        #: An adapter for what is the same on every connection (names, hashes, limits).
        self.adapter = make_adapter()
        super().__init__(name=name or self.adapter.name, timeout=timeout, max_pending=max_pending)
        self._reconnect = reconnect
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._planner = ConnectionPlanner(
            self._lock,
            new_connection=self._new_connection,
            max_streams=self.adapter.limits.max_streams,
            check=self._check_usable,
            closed=lambda: self._closed,
            overlap=_AdapterOverlap(self),
        )
        # Make-before-break rotation: what each message hash last delivered.
        self._dedupe = Dedupe(DeliveredKeys(), threading.Lock())
        self._rotator = Rotator(
            lambda conn: self._planner.rotate(conn, self._timeout(None)),
            self._planner.connections,
            max_age=max_connection_age,
            jitter=(max_connection_age or 0.0) / 10,
            stagger=rotation_stagger,
            name=self.name,
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
        )
        beat.connection = conn
        if self._rotator.max_age is not None:
            self._rotator.start()
        return conn

    def rotate(self, name: str, timeout: float | None = None) -> None:
        """Replace connection ``name`` (as ``connections()`` lists it), make-before-break.

        A new connection logs on, subscribes to every stream of the old one and is
        confirmed before the old one closes. While both deliver, an update whose
        ``adapter.update_key(delivery)`` is not above the last delivered one of its
        message hash is dropped (an adapter without ``update_key`` gets no dedupe).
        ``BadRequest`` if there is no such connection."""
        self._check_usable()
        for conn in self._planner.connections():
            if conn.name == name:
                break
        else:
            raise BadRequest(f"{self.name} has no connection {name!r}")
        self._planner.rotate(conn, self._timeout(timeout))

    def _first_connection(self) -> Connection:
        with self._lock:
            self._check_usable()
            pool = self._planner.pools.setdefault("", [])
            if not pool:
                pool.append(self._new_connection("", 0))
            conn = pool[0]
        return conn.start()

    def connections(self) -> list[ConnectionInfo]:
        """Figures for every websocket connection of this client."""
        shared: dict[str, Any] = {**self.hub.stats(), "cache_sizes": {}}
        return [ConnectionInfo(**c.info(), **shared) for c in self._planner.connections()]

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the first connection is connected and restored."""
        self._first_connection().wait_ready(self._timeout(timeout))

    def _close_resources(self, timeout: float) -> None:
        self._rotator.stop()
        for conn in self._planner.connections():
            conn.close(timeout)
        self._rotator.close(timeout)

    # -- the consumer faces ------------------------------------------------------------
    def _hashes(self, streams: Sequence[str]) -> list[str]:
        return [h for stream in streams for h in self.adapter.hashes(stream)]

    def watch(self, stream: str, *, timeout: float | None = None) -> Any:
        """Block for the next update of ``stream``; it stays subscribed until ``un_watch``."""
        streams = [stream]
        return self._wait_next(
            self._hashes(streams),
            lambda: self._planner.hold(("watch", stream), streams),
            timeout,
            f"watch {stream}",
        )

    def un_watch(self, stream: str) -> None:
        """Release what ``watch(stream)`` holds (unsubscribes with the last reference)."""
        self._planner.unhold(("watch", stream), [stream])

    def on(self, streams: str | Sequence[str], handler: Handler | None = None) -> Subscription:
        """Call ``handler(update)`` on the dispatcher thread for every update of ``streams``."""
        names = [streams] if isinstance(streams, str) else list(streams)
        check_handler(handler)
        assert handler is not None
        return self._add_handler(
            self._hashes(names),
            handler,
            lambda: self._planner.acquire(names),
            lambda: self._planner.release(names),
            f"on {', '.join(names)}",
        )

    def stream(
        self,
        streams: str | Sequence[str],
        *,
        policy: Policy = Policy.APPEND,
        timeout: float | None = None,
    ) -> Stream[Any]:
        """An iterator over the updates of ``streams`` (see ``Stream``)."""
        names = [streams] if isinstance(streams, str) else list(streams)
        return self._open_stream(
            self._hashes(names),
            policy,
            lambda: self._planner.acquire(names),
            lambda: self._planner.release(names),
            f"stream {', '.join(names)}",
            timeout=timeout,
        )

    def request(self, method: str, params: Any = None, *, timeout: float | None = None) -> Any:
        """Send an application request on the first connection (after it is restored)."""
        self._check_usable()
        return self._first_connection().request(method, params, timeout=self._timeout(timeout))

    # -- raw frames ----------------------------------------------------------------------
    def replay(self, messages: Iterable[RawMessage]) -> list[Delivery]:
        """Decode recorded frames with a fresh adapter; touches no live state."""
        adapter = self._make_adapter()
        deliveries: list[Delivery] = []
        for message in messages:
            deliveries.extend(adapter.decode(message.data, 0.0).deliveries)
        return deliveries

    def __enter__(self) -> AdapterClient:
        self._check_open()
        return self

    def __repr__(self) -> str:
        return f"<AdapterClient {self.name}{' closed' if self._closed else ''}>"


class _AdapterOverlap(Overlap):
    """The planner's rotation hooks: streams become message hashes for the dedupe."""

    def __init__(self, client: AdapterClient) -> None:
        self._client = client

    def begin(self, streams: list[str]) -> None:
        dedupe = self._client._dedupe
        with dedupe.lock:
            dedupe.keys.begin(self._client._hashes(streams))

    def handover(self, old: Connection) -> None:
        protocol = old.protocol
        if isinstance(protocol, AdapterProtocol):
            with self._client._dedupe.lock:
                protocol.retired = True

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
        self.connection: Connection | None = None

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
