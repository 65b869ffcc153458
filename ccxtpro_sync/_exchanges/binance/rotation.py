"""Binance's side of make-before-break rotation (the generic part is the planner's).

``RotationRouter`` is the router of one market-stream connection: it serialises
access to the client's shared market data and drops, per stream, what another
connection already delivered while two carry it (keys from ``rotation_keys``).
Order books need nothing more: with the overlap deduplicated, the new
connection's first diff continues the book's chain (``U``/``pu`` check in the
book), so no snapshot is fetched; a book whose chain does not continue fails that
check and resyncs alone. ``BinanceOverlap`` ties the planner's hooks to it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import msgspec

from ..._core.events import Delivery
from ..._core.rotation import DeliveredKeys
from ..._sync.connection import Connection
from ..._sync.planner import Overlap
from .market_data import MarketData
from .rotation_keys import update_key
from .stream_protocol import Routed

#: Rotation defaults: Binance closes connections at 24 h; replace them at 23 h 30 m,
#: up to 10 minutes earlier at random, one every 2 s at most.
MAX_CONNECTION_AGE = 23.5 * 3600
ROTATION_JITTER = 600.0
ROTATION_STAGGER = 2.0


class RotationRouter:
    """One connection's router over the shared market data (see module docstring)."""

    def __init__(self, data: MarketData, lock: threading.Lock, keys: DeliveredKeys) -> None:
        self._data = data
        self._lock = lock
        self._keys = keys
        #: Set at handover: the streams live on elsewhere, so losing them resets nothing.
        self.retired = False

    def route(self, stream: str, data: msgspec.Raw, now: float) -> Routed:
        keys = self._keys
        # Keys are read only while a rotation overlaps (a read of ``active`` racing a
        # ``begin`` at worst leaves one update unrecorded, which starts no overlap).
        if keys.active:
            key, tie = update_key(stream, data)
            with self._lock:
                if self.retired or not keys.admit(stream, key, tie):
                    return []
                return self._data.route(stream, data, now)
        # Notices come back by value, taken under the same lock as the deliveries.
        with self._lock:
            if self.retired:
                return []
            return self._data.route(stream, data, now)

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

    def __init__(self, lock: threading.Lock, keys: DeliveredKeys) -> None:
        self._lock = lock
        self._keys = keys

    def begin(self, streams: list[str]) -> None:
        with self._lock:
            self._keys.begin(streams)

    def handover(self, old: Connection) -> None:
        lock = self._lock

        def retire(protocol: Any) -> None:
            router = getattr(protocol, "router", None)
            if isinstance(router, RotationRouter):
                with lock:
                    router.retired = True

        old.query(retire)

    def end(self, streams: list[str]) -> None:
        with self._lock:
            self._keys.end(streams)
