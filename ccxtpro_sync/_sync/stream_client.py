"""``StreamClient``: the exchange-neutral half of every streaming client.

Binance's clients and ``AdapterClient`` (Deribit and any adapter) share this one
implementation of the consumer faces (watch/on/stream/un_watch over streams and
their message hashes), watch holds, connection planning and make-before-break
rotation, raw replay, and the connection listing (``connections()``,
``rotate``, ``close_connection``). An exchange client supplies its names (stream
→ message hashes), its connections and a replay decoder through the hooks below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._core.events import Delivery, Policy, RawMessage
from .._exceptions import BadRequest, ConnectionClosed, NotSupported
from .base_client import BaseClient
from .connection import Connection
from .consumers import Stream, Subscription
from .info import ConnectionInfo
from .planner import ConnectionPlanner, Overlap
from .rotator import Rotator

Handler = Callable[[Any], object]


class StreamClient(BaseClient):
    """Consumer faces, holds, planning, rotation and replay over named streams.

    Subclasses call :meth:`_init_streams` from their constructor and implement
    ``_stream_hashes`` and ``_replayer``; the rest has defaults."""

    _planner: ConnectionPlanner
    _rotator: Rotator

    def _init_streams(
        self,
        *,
        new_connection: Callable[[str, int], Connection],
        max_streams: int,
        rotation_timeout: float,
        route: Callable[[str], str] = lambda stream: "",
        forget: Callable[[str], None] = lambda stream: None,
        start: Callable[[str], None] | None = None,
        overlap: Overlap | None = None,
        max_age: float | None = None,
        jitter: float = 0.0,
        stagger: float = 2.0,
    ) -> None:
        self._planner = ConnectionPlanner(
            self._lock,
            new_connection=new_connection,
            max_streams=max_streams,
            route=route,
            forget=forget,
            start=start,
            check=self._check_usable,
            closed=lambda: self._closed,
            prepare=self._purge_finished,
            overlap=overlap,
        )
        self._rotator = Rotator(
            lambda conn: self._rotate_connection(conn, rotation_timeout),
            self._rotatable_connections,
            max_age=max_age,
            jitter=jitter,
            stagger=stagger,
            name=self.name,
        )

    # -- hooks ---------------------------------------------------------------------------
    def _stream_hashes(self, stream: str) -> list[str]:
        """The message hashes ``stream`` feeds (a reader may ask: no client lock)."""
        raise NotImplementedError

    def _replayer(self) -> Callable[[RawMessage], list[Delivery]]:
        """A decoder with state of its own for :meth:`replay`."""
        raise NotImplementedError

    def _extra_connections(self) -> list[Connection]:
        """Connections the planner does not carry (request/user-data sessions)."""
        return []

    def _rotate_extra(self, conn: Connection, timeout: float) -> bool:
        """Rotate a connection the planner does not carry (a request or user-data
        session), make-before-break; False if this client cannot."""
        return False

    def _rotatable_extra(self) -> list[Connection]:
        """The extra connections ``_rotate_extra`` handles (the rotator watches their age)."""
        return []

    def _cache_sizes(self) -> dict[str, int]:
        return {}

    def _close_helpers(self, timeout: float) -> None:
        """Stop helper threads feeding the connections, before those close."""

    # -- the consumer faces --------------------------------------------------------------
    def _watch(
        self, kind: str, streams: list[str], hashes: list[str], timeout: float | None
    ) -> Any:
        """Block for the next update on ``hashes``; ``streams`` stay held (by
        ``(kind, *streams)``) until :meth:`_unwatch` with the same arguments."""
        key = (kind, *streams)
        return self._wait_next(
            hashes,
            lambda: self._planner.hold(key, streams),
            timeout,
            f"{kind} {', '.join(hashes)}",
        )

    def _unwatch(self, kind: str, streams: list[str]) -> None:
        self._planner.unhold((kind, *streams), streams)

    def _watch_each(
        self,
        kind: str,
        streams: list[str],
        hashes: list[str],
        timeout: float | None,
        what: str | None = None,
    ) -> Any:
        """:meth:`_watch` holding each stream on its own (by ``(kind, stream)``), so
        :meth:`_unwatch_each` (or one ``un_watch`` per stream) releases them singly."""

        def hold() -> None:
            for stream in streams:
                self._planner.hold((kind, stream), [stream])

        return self._wait_next(hashes, hold, timeout, what or f"{kind} {', '.join(hashes)}")

    def _unwatch_each(self, kind: str, streams: list[str]) -> None:
        for stream in streams:
            self._planner.unhold((kind, stream), [stream])

    def _on(
        self, kind: str, streams: list[str], hashes: list[str], handler: Handler
    ) -> Subscription:
        return self._add_handler(
            hashes,
            handler,
            lambda: self._planner.acquire(streams),
            lambda: self._planner.release(streams),
            f"{kind} {', '.join(hashes)}",
        )

    def _stream(
        self,
        kind: str,
        streams: list[str],
        hashes: list[str],
        policy: Policy,
        timeout: float | None,
    ) -> Stream[Any]:
        return self._open_stream(
            hashes,
            policy,
            lambda: self._planner.acquire(streams),
            lambda: self._planner.release(streams),
            f"{kind} {', '.join(hashes)}",
            timeout=timeout,
        )

    # -- connections ---------------------------------------------------------------------
    def _all_connections(self) -> list[Connection]:
        """The planner's connections (market streams)."""
        return self._planner.connections()

    def _every_connection(self) -> list[Connection]:
        """The planner's connections, then the extra ones."""
        with self._lock:
            if not self._closed:  # a closed client still lists its (closed) connections
                self._purge_finished()
            return [*self._planner.connections(), *self._extra_connections()]

    def _purge_finished(self) -> None:
        """Forget connections that gave up or were closed (under the client lock), so
        the next call builds new ones and their streams count as unsubscribed."""
        self._planner.purge_finished()

    def _find_connection(self, name_or_url: str) -> Connection:
        for conn in self._every_connection():
            if name_or_url in (conn.name, conn.url) or conn.url.split("?")[0] == name_or_url:
                return conn
        raise BadRequest(f"{self.name} has no connection {name_or_url!r}")

    def rotate(self, name_or_url: str, timeout: float | None = None) -> None:
        """Replace one stream connection (by name or URL), make-before-break.

        A new connection subscribes to every stream of the old one and is confirmed
        before the old one closes; while both deliver, updates are passed on once.
        ``BadRequest`` if there is no such connection; ``NotSupported`` for a
        connection that carries no planned streams (a request or user-data session)
        unless the client rotates it itself (``_rotate_extra``).
        """
        self._check_usable()
        self._rotate_connection(self._find_connection(name_or_url), self._timeout(timeout))

    def _rotate_connection(self, conn: Connection, timeout: float) -> None:
        if conn in self._planner.connections():
            self._planner.rotate(conn, timeout)
        elif not self._rotate_extra(conn, timeout):
            raise NotSupported(f"{conn.name}: only market-stream connections rotate")

    def _rotatable_connections(self) -> list[Connection]:
        return [*self._all_connections(), *self._rotatable_extra()]

    def close_connection(self, name_or_url: str, timeout: float | None = None) -> None:
        """Close one connection (by name or URL, as ``connections()`` lists them).

        Its waiters, streams and callbacks get ``ConnectionClosed``; its subscriptions
        are released, not restored; the client's other connections are untouched, and a
        later call that needs one of those streams opens a new connection.
        ``BadRequest`` if the client has no such connection.
        """
        self._check_usable()
        conn = self._find_connection(name_or_url)
        match = self._connection_match(conn)
        conn.close(self._timeout(timeout))
        with self._lock:
            self._purge_finished()
        error = ConnectionClosed(f"{conn.name}: closed by close_connection()", reason="closed")
        self._fail_consumers(match, error)

    def connections(self) -> list[ConnectionInfo]:
        """Figures for every websocket connection of this client (see ``ConnectionInfo``).
        Empty once ``close()`` has returned."""
        held = self._every_connection()
        if self.closed:  # a closed client holds nothing, unless close() left one running
            held = [conn for conn in held if not conn.finished]
        return self._infos(held)

    def _infos(self, connections: list[Connection]) -> list[ConnectionInfo]:
        shared: dict[str, Any] = {**self.hub.stats(), "cache_sizes": self._cache_sizes()}
        return [ConnectionInfo(**conn.info(), **shared) for conn in connections]

    def _connection_match(self, conn: Connection) -> Callable[[str], bool]:
        """Which message hashes ``conn`` feeds (no client lock: a reader may ask)."""
        hashes: set[str] = set()
        for stream in conn.query(_desired):
            hashes.update(self._stream_hashes(stream))
        return hashes.__contains__

    def _connection_gave_up(self, conn: Connection, error: BaseException) -> None:
        """On the reader of ``conn``: its reconnect policy gave up. Everyone waiting on
        what it carried gets the final error now; the next call builds a new one."""
        self._fail_consumers(self._connection_match(conn), error)

    def _close_resources(self, timeout: float) -> None:
        self._rotator.stop()
        connections = self._all_connections()
        self._close_helpers(timeout)
        for conn in connections:
            conn.close(timeout)
        self._rotator.close(timeout)  # its rotation in progress failed with them

    # -- raw frames ----------------------------------------------------------------------
    def replay(self, messages: Iterable[RawMessage]) -> list[Delivery]:
        """Feed recorded payloads back through the parsers; returns what they produce.

        For backtests and bug reports: the replay has state of its own and touches
        neither this client's live caches and books nor the network."""
        decode = self._replayer()
        deliveries: list[Delivery] = []
        for message in messages:
            deliveries.extend(decode(message))
        return deliveries


def _desired(protocol: Any) -> list[str]:
    book = getattr(protocol, "book", None)
    return [] if book is None else list(book.desired())
