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
import time
import weakref
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from .._exceptions import BadRequest, ClientClosed
from .connection import Connection


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
        start: Callable[[str], None] | None = None,
        check: Callable[[], None] = lambda: None,
        closed: Callable[[], bool] = lambda: False,
        prepare: Callable[[], None] = lambda: None,
        overlap: Overlap | None = None,
    ) -> None:
        self._lock = lock
        self._new_connection = new_connection
        self.max_streams = max_streams
        self._route = route
        self._forget = forget
        #: A stream no connection carries is subscribed (anew): default ``forget``.
        self._start = start or forget
        self._check = check
        self._closed = closed
        #: Runs under the lock before each acquire (e.g. forget connections that gave up).
        self._prepare = prepare
        self.pools: dict[str, list[Connection]] = {}
        #: The connection carrying each stream. Keyed by the stream alone: its route is a
        #: function of its name, and a tuple key per stream would cost memory per stream.
        self.carrier: dict[str, Connection] = {}
        #: Streams each connection carries (the planner's view of its load).
        self.load: dict[Connection, int] = {}
        self.held: set[tuple[str, ...]] = set()
        #: Connections being replaced: they keep delivering but take no new stream.
        self.retiring: set[Connection] = set()
        self._overlap = overlap or Overlap()
        self._index: weakref.WeakKeyDictionary[Connection, int] = weakref.WeakKeyDictionary()

    def acquire(self, streams: Sequence[str]) -> None:
        """Make sure every stream is subscribed on some connection (one more reference)."""
        plan: dict[Connection, list[str]] = {}
        with self._lock:
            self._check()
            self._prepare()
            for stream in streams:
                conn = self.carrier.get(stream)
                if conn is None:
                    # Frames of an earlier subscription, read after its release, may have
                    # remade its state (a book whose snapshot was dropped as unsubscribed
                    # meanwhile, waiting for it forever): a new subscription starts afresh.
                    self._start(stream)
                    conn = self._pick(self._route(stream))
                    self.carrier[stream] = conn
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
            if conn not in self.retiring and self.load.get(conn, 0) < self.max_streams:
                return conn
        index = self._free_index(route)
        conn = self._new_connection(route, index)
        self._index[conn] = index
        pool.append(conn)
        return conn

    def _free_index(self, route: str) -> int:
        """The lowest connection index of ``route`` not in use (names stay unique)."""
        pool = self.pools.setdefault(route, [])
        used = {self._index.get(c) for c in pool}
        index = len(pool)
        while index in used:
            index += 1
        return index

    def rotate(self, old: Connection, timeout: float) -> Connection:
        """Make-before-break: move every stream of ``old`` to a new connection.

        The replacement subscribes to all of them and is confirmed (ready) before
        ``old`` is closed; while both deliver, the ``Overlap`` hooks dedupe. On
        failure the streams go back to ``old`` (still live) and the error is raised."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._check()
            route = next((r for r, pool in self.pools.items() if old in pool), None)
            if route is None or old in self.retiring or old.finished:
                raise BadRequest(f"{old.name} cannot be rotated now")
            streams = [stream for stream, conn in self.carrier.items() if conn is old]
            counts: dict[str, int] = old.query(_counts)
            index = self._free_index(route)
            new = self._new_connection(route, index)
            self._index[new] = index
            pool = self.pools[route]
            pool.insert(pool.index(old) + 1, new)
            self.retiring.add(old)
            for stream in streams:
                self.carrier[stream] = new
            self.load[new] = self.load.pop(old, 0)
            wanted = [s for s in streams for _ in range(counts.get(s, 1))]
            # Not open yet: this only fills its book; the URL and resume subscribe.
            new.queue(partial(_subscribe, streams=wanted))
            self._overlap.begin(streams)
            new.start()
        try:
            new.wait_ready(timeout)
        except BaseException:
            with self._lock:
                moved = [stream for stream, conn in self.carrier.items() if conn is new]
                for stream in moved:
                    self.carrier[stream] = old
                self.load[old] = self.load.pop(new, 0)
                if new in self.pools.get(route, []):
                    self.pools[route].remove(new)
                self.retiring.discard(old)
            new.close(timeout)
            self._overlap.end(streams)
            raise
        # Confirmed on the new connection; the old one first delivers what it is
        # behind on (bounded by the timeout), then its loss is no loss.
        self._overlap.catch_up(old, streams, max(0.0, deadline - time.monotonic()))
        self._overlap.handover(old)
        self._overlap.switch(new, streams)
        old.close(timeout)
        with self._lock:
            if old in self.pools.get(route, []):
                self.pools[route].remove(old)
            self.retiring.discard(old)
            self.load.pop(old, None)
        self._overlap.end(streams)
        return new

    def release(self, streams: Sequence[str]) -> None:
        """Drop one reference per stream; unsubscribe on the wire when none is left.

        Streams of one connection go out in one unsubscribe frame, so releasing many
        costs one paced frame per connection, not one per stream."""
        with self._lock:
            if self._closed():
                return
            plan: dict[Connection, list[str]] = {}
            for stream in streams:
                conn = self.carrier.get(stream)
                if conn is not None:
                    plan.setdefault(conn, []).append(stream)
            for conn, names in plan.items():
                conn.queue(partial(_unsubscribe, streams=names))
                kept = conn.query(partial(_still_desired, streams=names))
                for stream in names:
                    if stream not in kept:
                        del self.carrier[stream]
                        self.load[conn] -= 1
                        self._forget(stream)
        for conn in plan:
            try:
                conn.flush()
            except ClientClosed:
                # Closed meanwhile by a rotation: its subscriptions ended with it, so
                # the release is done. Only the client's own close is the caller's news.
                if self._closed():
                    raise

    def hold(self, key: tuple[str, ...], streams: Sequence[str]) -> None:
        """``watch_X`` keeps its streams subscribed until ``un_watch_X``."""
        with self._lock:
            self._check()
            # A hold whose connection gave up died with it: forget such connections
            # first, or the hold would look alive and no stream be subscribed again.
            self._prepare()
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

    def purge_finished(self) -> None:
        """Forget connections that gave up or were closed (under the lock)."""
        for pool in self.pools.values():
            for conn in [c for c in pool if c.finished]:
                self.forget_connection(conn)

    def forget_connection(self, conn: Connection) -> None:
        """Drop ``conn`` and what it carried: its streams count as unsubscribed."""
        for pool in self.pools.values():
            if conn in pool:
                pool.remove(conn)
        streams = [stream for stream, c in self.carrier.items() if c is conn]
        for stream in streams:
            del self.carrier[stream]
        self.load.pop(conn, None)
        gone = set(streams)
        dropped = [key for key in self.held if not gone.isdisjoint(key[1:])]
        self.held.difference_update(dropped)
        for stream in streams:
            self._forget(stream)
        # A watch hold is re-acquired whole by its next call: release what it still
        # holds on other (live) connections, so no stream is referenced twice.
        alive = [s for key in dropped for s in key[1:] if s not in gone]
        if alive:
            self.release(alive)


class Overlap:
    """What the client does around a rotation (default: nothing).

    ``begin(streams)`` before the replacement subscribes; once it is confirmed,
    ``catch_up`` waits until ``old`` delivered what it was behind on, then
    ``handover(old)`` before ``old`` closes (``old`` must not reset what it carried)
    and ``switch(new, streams)``; ``end(streams)`` after ``old`` is closed, or when
    the rotation failed."""

    def begin(self, streams: list[str]) -> None:
        pass

    def catch_up(self, old: Connection, streams: list[str], timeout: float) -> None:
        """Wait (at most ``timeout``) until ``old`` has caught up with the replacement."""

    def switch(self, new: Connection, streams: list[str]) -> None:
        """``old`` is retired: ``new`` alone delivers ``streams`` from now on."""

    def handover(self, old: Connection) -> None:
        pass

    def end(self, streams: list[str]) -> None:
        pass


def _counts(protocol: Any) -> dict[str, int]:
    book = protocol.book
    return {stream: book.count(stream) for stream in book.desired()}


def _still_desired(protocol: Any, streams: list[str]) -> set[str]:
    return {stream for stream in streams if protocol.book.is_desired(stream)}


def _subscribe(protocol: Any, streams: list[str]) -> tuple[list[int | str], list[str]]:
    result: tuple[list[int | str], list[str]] = protocol.subscribe(streams)
    return result


def _unsubscribe(protocol: Any, streams: list[str]) -> tuple[list[int | str], list[str]]:
    result: tuple[list[int | str], list[str]] = protocol.unsubscribe(streams)
    return result
