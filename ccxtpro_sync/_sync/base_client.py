"""Lifecycle and consumer plumbing shared by every exchange client.

A client owns one hub (waiters and callbacks by message hash), its
connections and its background helpers. ``watch_*``, ``on_*`` and
``stream_*`` are all built from the three primitives here, so they behave
the same for every stream: register interest first (nothing is missed),
then make sure the wire subscription exists, then wait or return.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._arguments import check_handler, check_timeout
from .._core.events import RAW_HASH, Policy, RawMessage, RawTap
from .._core.pending import Overflow
from .._exceptions import ClientClosed, NetworkError
from .consumers import Stream, Subscription
from .follow import follow_home
from .hub import Hub
from .placement import FOLLOW, thread_placement
from .slice import thread_slice as check_thread_slice

_log = logging.getLogger("ccxtpro_sync")

_live_clients: weakref.WeakSet[BaseClient] = weakref.WeakSet()


@atexit.register
def _close_everything() -> None:
    """At interpreter exit, close clients nobody closed so sockets end cleanly."""
    for client in list(_live_clients):
        if client._pid != os.getpid():  # a forked child: the parent owns these sockets
            continue
        try:
            client.close(timeout=1.0)
        except Exception:  # exiting anyway; never mask the program's own exit status
            _log.debug("closing %r at exit failed", client, exc_info=True)


class BaseClient:
    """What every client has: a hub, a lifecycle, fork safety and consumer plumbing."""

    def __init__(
        self,
        *,
        name: str,
        timeout: float,
        max_pending: int = 10_000,
        overflow: Mapping[str, str | Overflow] | None = None,
        max_lag: float = 5.0,
        thread_affinity: Any = FOLLOW,
        thread_slice: Any = True,
    ) -> None:
        self.name = name
        #: Default timeout in seconds for blocking calls that are not given one.
        self.timeout = check_timeout(timeout)
        # Checked first: a bad CPU id fails here, never later in a thread.
        placement = thread_placement(thread_affinity)
        short_slice = check_thread_slice(thread_slice)
        self.hub = Hub(
            owner=self,
            name=f"ccxtpro_sync-{name}",
            max_items=max_pending,
            overflow=overflow,
            max_lag=max_lag,
        )
        #: ``threadAffinity``: the readers (``Connection.start`` reads it there) and the
        #: dispatcher run on these CPUs (``_sync/placement.py``); None: the scheduler's.
        self.hub.dispatcher.placement = placement
        #: ``threadAffinity="follow"`` (the default): the dispatcher wakes on the CPU of
        #: the reader that rings it (``_sync/follow.py``); None where it cannot.
        self.hub.dispatcher.follow_home = follow_home(thread_affinity)
        #: ``threadSlice``: the readers and the dispatcher ask for a short scheduler
        #: slice (``_sync/slice.py``), read there like the placement.
        self.hub.dispatcher.short_slice = short_slice
        self._lock = threading.RLock()
        self._closed = False
        self._close_done = threading.Event()
        self._pid = os.getpid()
        self._streams: weakref.WeakSet[Stream[Any]] = weakref.WeakSet()
        #: Switched on while an ``on_raw`` handler exists; protocols read it.
        self._raw_tap = RawTap(time.time)
        self._raw_handlers = 0
        #: Live on_*/stream_* subscriptions and their hashes, to fail when their
        #: connection gives up or is closed on its own. The hashes are a tuple, only
        #: scanned: a set's hash table would cost several times as much per stream.
        self._consumers: weakref.WeakKeyDictionary[Subscription, tuple[str, ...]] = (
            weakref.WeakKeyDictionary()
        )
        self._consumers_lock = threading.Lock()  # a leaf: readers take it, never _lock
        _live_clients.add(self)

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, timeout: float = 5.0) -> None:
        """Close every connection and helper thread; wake every waiter. Idempotent.

        Blocked ``watch_*`` calls and ``stream_*`` iterators raise ``ClientClosed``.
        In a forked child it only marks the inherited copy closed: the sockets and
        threads are the parent's, and a close frame or ``shutdown()`` would cut them.
        """
        timeout = check_timeout(timeout)
        if os.getpid() != self._pid:
            self._closed = True
            _live_clients.discard(self)
            return
        with self._lock:
            first = not self._closed
            self._closed = True
        if not first:
            # Another thread is closing: return when it is done, as a single close would,
            # unless we are a library thread that closer may be waiting to join.
            if not threading.current_thread().name.startswith("ccxtpro_sync"):
                self._close_done.wait(timeout + 5.0)
            return
        try:
            error = ClientClosed(f"{self.name}: client closed")
            # A reader waiting for a callback (backpressure) must stop waiting before its
            # connection joins it: the callback may be this very close(), or stuck.
            self.hub.dispatcher.release_producers()
            self._close_resources(timeout)
            for stream in list(self._streams):
                stream.fail(error)
            self.hub.close(error, timeout)
            _live_clients.discard(self)
        finally:
            self._close_done.set()

    def _close_resources(self, timeout: float) -> None:
        """Subclasses close their connections and helpers here."""

    def __enter__(self) -> BaseClient:
        self._check_open()
        return self

    def _check_open(self) -> None:
        """``with client:`` on a closed client is a mistake: say so at once."""
        if self._closed:
            raise ClientClosed(f"{self.name}: client closed; create a new client")

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_usable(self) -> None:
        if os.getpid() != self._pid:
            raise NetworkError(
                f"{self.name}: this client was created in process {self._pid}; a client "
                "cannot cross a fork (its sockets and threads stay in the parent). "
                "Create the client in the child, e.g. in Celery's worker_process_init."
            )
        if self._closed:
            raise ClientClosed(f"{self.name}: client closed")

    def _fail_consumers(self, match: Callable[[str], bool], error: BaseException) -> None:
        """Give ``error`` at once to every waiter, stream and callback on the hashes
        ``match`` accepts. Takes only leaf locks: safe on a reader thread."""
        self.hub.reject_where(match, error)
        with self._consumers_lock:
            failing = [s for s, hashes in self._consumers.items() if any(map(match, hashes))]
        for subscription in failing:
            subscription.fail(error)

    def _timeout(self, timeout: float | None) -> float:
        """The seconds a blocking call may wait: ``None`` is the client's default."""
        return self.timeout if timeout is None else check_timeout(timeout)

    # -- raw frames ------------------------------------------------------------------------
    def on_raw(self, handler: Callable[[list[RawMessage]], object]) -> Subscription:
        """Call ``handler(messages)`` with every payload received, exactly as received.

        For recorders and bug reports: it sees the frames of every stream of this
        client (subscribe to them with ``watch_*``/``on_*`` as usual). Costs nothing
        while no raw handler is registered.
        """

        def acquire() -> None:
            with self._lock:
                self._raw_handlers += 1
                self._raw_tap.enabled = True

        def release() -> None:
            with self._lock:
                self._raw_handlers -= 1
                self._raw_tap.enabled = self._raw_handlers > 0

        return self._add_handler([RAW_HASH], handler, acquire, release, "raw frames")

    # -- consumer primitives ---------------------------------------------------------------
    #: CCXT Pro's ``newUpdates``: list-returning ``watch_*`` calls return only what is new
    #: since the caller's previous call.
    new_updates = True

    def _collect(
        self,
        unread: Callable[[], bool],
        read: Callable[[], list[Any]],
        wait: Callable[[], object],
    ) -> list[Any]:
        """Return the items new since the previous call; wait for more only if there are none.

        A sequential caller (the usual sync loop) would otherwise miss updates that
        arrive between two calls: they are in the cache but resolve no waiter.
        """
        if self.new_updates and unread():
            return read()
        wait()
        return read()

    def _wait_next(
        self,
        hashes: list[str],
        acquire: Callable[[], None],
        timeout: float | None,
        what: str,
    ) -> Any:
        """Block for the next update on any of ``hashes`` after making sure it flows."""
        self._check_usable()
        seconds = self._timeout(timeout)  # a bad timeout fails before anything is subscribed
        future = self.hub.waiter(hashes)
        try:
            acquire()
        except BaseException:
            self.hub.discard_waiter(future)
            raise
        return self.hub.wait(future, seconds, what)

    def _add_handler(
        self,
        hashes: Iterable[str],
        handler: Callable[[Any], object],
        acquire: Callable[[], None],
        release: Callable[[], None],
        description: str,
        *,
        per_hash: Callable[[str], Callable[[Any], object]] | None = None,
        on_fail: Callable[[BaseException], None] | None = None,
    ) -> Subscription:
        """Register ``handler`` on every hash (or ``per_hash(hash)``, a callback per
        hash, when given) and acquire the streams; the subscription undoes both."""
        check_handler(handler)
        self._check_usable()
        handles = [
            self.hub.add_callback(h, handler if per_hash is None else per_hash(h)) for h in hashes
        ]
        try:
            acquire()
        except BaseException:
            for handle in handles:
                self.hub.remove_callback(handle)
            raise

        def detach() -> None:
            for handle in handles:
                self.hub.remove_callback(handle)

        def cancel() -> None:
            detach()
            if not self._closed:
                release()

        subscription = Subscription(description, cancel, detach=detach, on_fail=on_fail)
        with self._consumers_lock:
            self._consumers[subscription] = tuple(h.message_hash for h in handles)
        return subscription

    def _open_stream(
        self,
        hashes: Iterable[str],
        policy: Policy,
        acquire: Callable[[], None],
        release: Callable[[], None],
        description: str,
        *,
        timeout: float | None,
    ) -> Stream[Any]:
        stream: Stream[Any] = Stream(
            description,
            policy,
            timeout=self._timeout(timeout),
            feeding=self.hub.dispatcher.on_own_thread,
        )
        subscription = self._add_handler(
            hashes,
            stream.push,
            acquire,
            release,
            description,
            per_hash=stream.pusher,
            on_fail=stream.failer(),
        )
        stream.attach(subscription)
        self._streams.add(stream)
        return stream
