"""Binance's side of make-before-break rotation (the generic part is the planner's).

``RotationRouter`` is the router of one market-stream connection: it serialises
access to the client's shared market data and, while two connections carry a
stream, delivers the old one's updates first and the new one's once the old one
caught up (``DeliveredKeys.offer``, keys from ``rotation_keys``). Order books need
nothing more: with the overlap deduplicated, the new connection's first diff
continues the book's chain (``U``/``pu`` check in the book), so no snapshot is
fetched; a book whose chain does not continue fails that
check and resyncs alone. ``BinanceOverlap`` ties the planner's hooks to it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

import msgspec

from ..._core.events import Delivery, Inbound
from ..._core.rotation import DeliveredKeys
from ..._exceptions import BaseError
from ..._sync.connection import Connection
from ..._sync.planner import Overlap
from .combined import EventHandler, FrameDecode
from .market_data import MarketData
from .rotation_keys import update_key
from .stream_protocol import Routed, routed
from .trade_stream import RunHandler

#: Rotation defaults: Binance closes connections at 24 h; replace them at 23 h 30 m,
#: up to 10 minutes earlier at random, one every 2 s at most.
MAX_CONNECTION_AGE = 23.5 * 3600
ROTATION_JITTER = 600.0
ROTATION_STAGGER = 2.0
#: Seconds the switch waits for the replacement to answer (see ``BinanceOverlap.switch``).
SWITCH_BARRIER_TIMEOUT = 10.0

_log = logging.getLogger(__name__)


#: What an overlap holds per update: the payload, its receive time, and its raw-log
#: entry when the log records (it goes out when the update is delivered, not before).
Item = tuple[msgspec.Raw, float, Delivery | None]
Held = DeliveredKeys[Item]


def _merge(parts: list[Routed]) -> Routed:
    """One frame's worth of routing results from several updates."""
    if all(isinstance(part, list) for part in parts):
        return [d for part in parts for d in part]  # type: ignore[union-attr]
    merged = Inbound(deliveries=[], notices=[], tasks=[], errors=[])
    for part in parts:
        if isinstance(part, list):
            merged.deliveries.extend(part)
        else:
            merged.deliveries.extend(part.deliveries)
            merged.notices.extend(part.notices)
            merged.tasks.extend(part.tasks)
            merged.errors.extend(part.errors)
    return merged


def _overflowed(stream: str) -> None:
    # What the old connection had not delivered yet is dropped from here on: the book's
    # chain check (a resync) or the trade gap filler (a backfill) repairs it.
    _log.warning(
        "%s: rotation hold overflowed while the old connection lagged; "
        "switched to its replacement, a gap may follow",
        stream,
    )


class RotationRouter:
    """One connection's router over the shared market data (see module docstring)."""

    def __init__(self, data: MarketData, lock: threading.Lock, keys: Held) -> None:
        self._data = data
        self._lock = lock
        self._keys = keys
        self._overlapping = keys.overlaps
        #: Tells this connection from the one it replaces (or is replaced by). Taken
        #: under the planner's lock, like ``begin``, which reads the count.
        self.source = keys.source()
        #: Set at handover: the streams live on elsewhere, so losing them resets nothing.
        self.retired = False

    def route(self, stream: str, data: msgspec.Raw, now: float) -> Routed:
        keys = self._keys
        if not keys.active:  # the hot path: no rotation, no key read
            with self._lock:
                if self.retired:
                    return []
                return self._data.route(stream, data, now)
        # (A read of ``active`` racing a ``begin`` at worst leaves one update
        # unrecorded, which starts no overlap.)
        key, tie, prev = update_key(stream, data)
        # Notices come back by value, taken under the same lock as the deliveries.
        with self._lock:
            if self.retired:
                return []
            # batch=now: the reader passes one receive time for every frame of a chunk
            # and hands the chunk's deliveries over after it (DeliveredKeys.offer).
            overflows = keys.overflows
            items = keys.offer(
                stream, key, tie, self.source, (data, now, None), batch=now, prev=prev
            )
            overflowed = keys.overflows != overflows
            if len(items) == 1 and items[0][0] is data:
                result = self._data.route(stream, data, now)
            else:
                result = _merge([self._route_item(stream, item) for item in items])
        if overflowed:  # logged once the lock every reader shares is released
            _overflowed(stream)
        return result

    def bind(self, stream: str) -> tuple[FrameDecode, EventHandler]:
        """``stream``'s one-pass frame decoder and payload handler, for
        ``route_event`` (``MarketData.bind``)."""
        with self._lock:
            return self._data.bind(stream)

    def route_event(self, handle: EventHandler, event: Any, now: float) -> Routed | None:
        """``route`` for a payload decoded by a bound stream's frame decoder; None
        when the frame must go through ``route`` instead (a rotation overlap is under
        way, or this connection was retired), which nothing here has touched."""
        # acquire/release rather than ``with``: once per frame, and about 900
        # instructions cheaper on Python 3.11 (no ``__enter__``/``__exit__`` lookups).
        lock = self._lock
        lock.acquire()
        try:
            if self._overlapping or self.retired:
                return None
            deliveries = handle(event)
            data = self._data
            if data.notices or data.tasks:  # handed over with what caused them
                return routed(deliveries, data.take_notices(), data.take_tasks())
            return deliveries
        finally:
            lock.release()

    def bind_run(self, stream: str) -> RunHandler | None:
        """The run form of ``stream``'s bound handler, if any (``MarketData.bind_run``)."""
        with self._lock:
            return self._data.bind_run(stream)

    def route_events(
        self, group: list[tuple[EventHandler, RunHandler | None, Any]], batch: list[Delivery]
    ) -> tuple[int, Routed | Exception | None]:
        """``route_event`` for consecutive bound frames' payloads under one hold of the
        lock (``BinanceStreamProtocol.receive_run``): their deliveries are added to
        ``batch`` in order. Each entry is (handler, None, one payload) or, for a
        stream's consecutive frames whose handler has a run form, (handler, run,
        their payloads): the run takes what it can in one call, the handler each
        payload the run stops at. Stops after a payload whose handler gathered
        notices or tasks (returned with its deliveries) or raised (the error is
        returned, for the caller to report). Returns how many frames it took: none,
        with no result, when they must go through ``route`` (an overlap, or this
        connection was retired). An overlap or a retirement begins under this lock,
        so one check covers the group."""
        taken = 0
        lock = self._lock
        lock.acquire()
        try:
            if self._overlapping or self.retired:
                return 0, None
            data = self._data
            for handle, run, event in group:
                if run is None:
                    taken += 1
                    deliveries = handle(event)
                    if data.notices or data.tasks:  # handed over with what caused them
                        return taken, routed(deliveries, data.take_notices(), data.take_tasks())
                    batch += deliveries
                    continue
                done, size = 0, len(event)
                while done < size:
                    # Notices or tasks already gathered (a snapshot applied meanwhile,
                    # say) go out with the next frame, as one by one: a handler's.
                    if not (data.notices or data.tasks):
                        try:
                            stop, deliveries = run(event, done)
                        except Exception:  # (a bug) took nothing: its first frame is
                            taken += 1  # taken, as a raising handler's, so the reader
                            raise  # goes on after it
                        taken += stop - done
                        batch += deliveries
                        if stop == size:
                            break
                        done = stop
                    taken += 1  # one the run leaves to its handler (a gap, an error)
                    deliveries = handle(event[done])
                    done += 1
                    if data.notices or data.tasks:
                        return taken, routed(deliveries, data.take_notices(), data.take_tasks())
                    batch += deliveries
        except Exception as error:  # its frame is taken; those after it wait
            return taken, error
        finally:
            lock.release()
        return taken, None

    def release(self, streams: list[str]) -> tuple[Routed, bool]:
        """The old connection is retired: what ``streams`` hold for this one, and
        whether there was any (``DeliveredKeys.release``: call until there is none)."""
        with self._lock:
            released = self._keys.release(streams)
            return _merge([self._route_item(s, item) for s, item in released]), bool(released)

    def _route_item(self, stream: str, item: Item) -> Routed:
        # Under the lock. A held update's raw-log entry goes out with its deliveries.
        data, now, raw = item
        if raw is None:
            return self._data.route(stream, data, now)
        return self._data.route_raw(stream, data, now, raw)

    def route_raw(self, stream: str, data: msgspec.Raw, now: float, raw: Delivery) -> Routed:
        """``route`` while the raw log records: the frame's entry goes out with its
        deliveries, or later with the item a trade/candle gap holds. During an overlap
        the log keeps the frames in the order they are delivered (the overlap rule of
        ``route``): a held frame's entry goes out when it is released, a repeat dropped
        is not logged, so a replay chains the books across the rotation."""
        keys = self._keys
        if not keys.active:
            with self._lock:
                if self.retired:
                    return [raw]
                return self._data.route_raw(stream, data, now, raw)
        key, tie, prev = update_key(stream, data)
        with self._lock:
            if self.retired:
                return [raw]
            overflows = keys.overflows
            items = keys.offer(
                stream, key, tie, self.source, (data, now, raw), batch=now, prev=prev
            )
            overflowed = keys.overflows != overflows
            if len(items) == 1 and items[0][0] is data:
                result = self._data.route_raw(stream, data, now, raw)
            else:
                result = _merge([self._route_item(stream, item) for item in items])
        if overflowed:
            _overflowed(stream)
        return result

    def hashes(self, stream: str) -> list[str]:
        with self._lock:
            return self._data.hashes(stream)

    def reset(self, streams: Iterable[str]) -> Routed:
        with self._lock:
            if self.retired:
                return []
            # A stream being taken over lives on: the replacement's diffs either
            # continue its book's chain or fail the book's own gap check (one resync).
            kept = [s for s in streams if not self._keys.in_overlap(s)]
            return self._data.reset(kept)

    def opened(self, streams: Any) -> list[Delivery]:
        return []

    def snapshot(self, stream: str, body: bytes, depth: int, raw: Delivery | None) -> Routed:
        # Applied even when retired: the book is shared and lives on elsewhere.
        with self._lock:
            return self._data.snapshot(stream, body, depth, raw)


class BinanceOverlap(Overlap):
    """The planner's rotation hooks for Binance market streams."""

    def __init__(self, lock: threading.Lock, keys: Held) -> None:
        self._lock = lock
        self._keys = keys

    def begin(self, streams: list[str]) -> None:
        with self._lock:
            self._keys.begin(streams)

    def catch_up(self, old: Connection, streams: list[str], timeout: float) -> None:
        # The exchange answers an UNSUBSCRIBE after everything it sent before it and
        # sends nothing of those streams after it: once the old connection has read
        # the answer, it delivered all it ever will (its backlog included), and the
        # replacement, subscribed before, carries the rest. Exact, and no waiting on
        # quiet streams. On failure the handover goes on (a gap is the books' and the
        # trade gap filler's to find). An old connection that is not live has no
        # backlog to wait for (its socket is gone).
        if old.finished or not old.is_ready() or not streams:
            return
        try:
            old.request("UNSUBSCRIBE", streams, timeout=timeout)
        except (BaseError, TimeoutError) as error:
            _log.info("%s: old connection did not confirm its unsubscribe: %r", old.name, error)

    def handover(self, old: Connection) -> None:
        lock = self._lock

        def retire(protocol: Any) -> None:
            router = getattr(protocol, "router", None)
            if isinstance(router, RotationRouter):
                with lock:
                    router.retired = True

        old.query(retire)

    def switch(self, new: Connection, streams: list[str]) -> None:
        # Released through the new connection, as its frames are, round after round
        # until nothing is left (its reader holds what it reads meanwhile).
        more = [True]

        def release(protocol: Any) -> Routed:
            router = getattr(protocol, "router", None)
            if not isinstance(router, RotationRouter):
                more[0] = False
                return []
            routed, more[0] = router.release(streams)
            return routed

        while more[0] and not new.finished:
            new.feed(release)
        # The replacement's reader may lag: what the old connection delivered can still
        # sit unread in the new one's socket, and read once the overlap has ended it
        # would go out again. The exchange answers a request after everything it sent
        # before it, so once this answer is read every such frame met the overlap's
        # check (a repeat: dropped). On failure the rotation goes on.
        if streams and not new.finished and new.is_ready():
            try:
                new.request("LIST_SUBSCRIPTIONS", timeout=SWITCH_BARRIER_TIMEOUT)
            except (BaseError, TimeoutError) as error:
                _log.info("%s: no answer after the switch: %r", new.name, error)

    def end(self, streams: list[str]) -> None:
        with self._lock:
            self._keys.end(streams)
