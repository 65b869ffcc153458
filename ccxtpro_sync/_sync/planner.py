"""Connection planning: which connection carries each stream, and who still needs it.

Exchange-neutral. Streams are reference-counted: every ``on_*``/``stream_*`` holds
a reference until cancelled, a ``watch_*`` holds one (a *hold*, keyed by the call)
until ``un_watch_*``; the wire unsubscribe goes out with the last reference. A
stream is put on the first connection of its route (base URL) with room, up to
the exchange's streams-per-connection limit; beyond it a new connection opens.

The protocol under each connection offers ``subscribe(streams)`` and
``unsubscribe(streams)`` (each returning ``(request ids, frames)``) and a
``book`` (``SubscriptionBook``): Binance's stream protocol and the generic
``AdapterProtocol`` both do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from .connection import Connection

StreamRef = tuple[str, str]  # (route, stream)


class ConnectionPlanner:
    """Stream-to-connection assignment under the owning client's lock."""

    def __init__(
        self,
        lock: threading.RLock,
        *,
        new_connection: Callable[[str, int], Connection],
        max_streams: int,
        route: Callable[[str], str] = lambda stream: "",
        forget: Callable[[str], None] = lambda stream: None,
        check: Callable[[], None] = lambda: None,
        closed: Callable[[], bool] = lambda: False,
        prepare: Callable[[], None] = lambda: None,
    ) -> None:
        self._lock = lock
        self._new_connection = new_connection
        self.max_streams = max_streams
        self._route = route
        self._forget = forget
        self._check = check
        self._closed = closed
        #: Runs under the lock before each acquire (e.g. forget connections that gave up).
        self._prepare = prepare
        self.pools: dict[str, list[Connection]] = {}
        self.carrier: dict[StreamRef, Connection] = {}
        #: Streams each connection carries (the planner's view of its load).
        self.load: dict[Connection, int] = {}
        self.held: set[tuple[str, ...]] = set()

    def acquire(self, streams: Sequence[str]) -> None:
        """Make sure every stream is subscribed on some connection (one more reference)."""
        plan: dict[Connection, list[str]] = {}
        with self._lock:
            self._check()
            self._prepare()
            for stream in streams:
                ref = (self._route(stream), stream)
                conn = self.carrier.get(ref)
                if conn is None:
                    conn = self._pick(ref[0])
                    self.carrier[ref] = conn
                    self.load[conn] = self.load.get(conn, 0) + 1
                plan.setdefault(conn, []).append(stream)
            for conn, wanted in plan.items():
                conn.queue(partial(_subscribe, streams=wanted))
                conn.start()
        # The frames wait for their pacing slots with no client lock held.
        for conn in plan:
            conn.flush()

    def _pick(self, route: str) -> Connection:
        """The first connection of ``route`` with room for one more stream, or a new one."""
        pool = self.pools.setdefault(route, [])
        for conn in pool:
            if self.load.get(conn, 0) < self.max_streams:
                return conn
        conn = self._new_connection(route, len(pool))
        pool.append(conn)
        return conn

    def release(self, streams: Sequence[str]) -> None:
        """Drop one reference per stream; unsubscribe on the wire when none is left.

        Streams of one connection go out in one unsubscribe frame, so releasing many
        costs one paced frame per connection, not one per stream."""
        with self._lock:
            if self._closed():
                return
            plan: dict[Connection, list[tuple[StreamRef, str]]] = {}
            for stream in streams:
                ref = (self._route(stream), stream)
                conn = self.carrier.get(ref)
                if conn is not None:
                    plan.setdefault(conn, []).append((ref, stream))
            for conn, refs in plan.items():
                names = [stream for _, stream in refs]
                conn.queue(partial(_unsubscribe, streams=names))
                kept = conn.query(partial(_still_desired, streams=names))
                for ref, stream in refs:
                    if stream not in kept:
                        del self.carrier[ref]
                        self.load[conn] -= 1
                        self._forget(stream)
        for conn in plan:
            conn.flush()

    def hold(self, key: tuple[str, ...], streams: Sequence[str]) -> None:
        """``watch_X`` keeps its streams subscribed until ``un_watch_X``."""
        with self._lock:
            if key in self.held:
                return
            self.held.add(key)
        try:
            self.acquire(streams)
        except BaseException:
            with self._lock:
                self.held.discard(key)
            raise

    def unhold(self, key: tuple[str, ...], streams: Sequence[str]) -> None:
        with self._lock:
            if key not in self.held:
                return
            self.held.discard(key)
        self.release(streams)

    def connections(self) -> list[Connection]:
        with self._lock:
            return [c for pool in self.pools.values() for c in pool]


def _still_desired(protocol: Any, streams: list[str]) -> set[str]:
    return {stream for stream in streams if protocol.book.is_desired(stream)}


def _subscribe(protocol: Any, streams: list[str]) -> tuple[list[int | str], list[str]]:
    result: tuple[list[int | str], list[str]] = protocol.subscribe(streams)
    return result


def _unsubscribe(protocol: Any, streams: list[str]) -> tuple[list[int | str], list[str]]:
    result: tuple[list[int | str], list[str]] = protocol.unsubscribe(streams)
    return result
