"""Futures listenKeys (reference §7.3): one per account and market, 60 minutes of validity.

POST returns the account's active key (extending it) or a new one; PUT extends
it; DELETE closes it; an unknown or expired key is ``-1125``. When a key
expires, ``listenKeyExpired`` is pushed on its stream and the key is gone, so
the next PUT fails and the client must POST again. ``validity`` is an option
so tests can compress the hour; :meth:`ListenKeys.sweep` runs on the server
loop.
"""

from __future__ import annotations

import random
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from .accounts import Account
from .catalog import MarketName
from .engine import Engine, now_ms
from .rest import ApiError
from .streams import StreamKey

USER_DATA_KIND: Final = "userData"
UNKNOWN_KEY: Final = "This listenKey does not exist."


@dataclass
class ListenKey:
    key: str
    market: MarketName
    account: Account
    expires_at: float  # monotonic seconds


class ListenKeys:
    """Registry of live listenKeys (thread-safe: REST threads, WS loop, tests)."""

    def __init__(self, engine: Engine, validity: float, seed: int) -> None:
        self.engine = engine
        self.validity = validity
        self._rng = random.Random(f"{seed}:listenKeys")
        self._lock = threading.Lock()
        self._keys: dict[str, ListenKey] = {}
        self.clock: Callable[[], float] = time.monotonic
        self.expired: list[str] = []

    def create(self, account: Account, market: MarketName) -> str:
        self.sweep()
        with self._lock:
            for entry in self._keys.values():
                if entry.account is account and entry.market == market:
                    entry.expires_at = self.clock() + self.validity
                    return entry.key
            key = "".join(self._rng.choices(string.ascii_letters + string.digits, k=64))
            self._keys[key] = ListenKey(key, market, account, self.clock() + self.validity)
            return key

    def _find(self, account: Account, market: MarketName, key: str | None) -> ListenKey:
        for entry in self._keys.values():
            if entry.account is account and entry.market == market and key in (None, entry.key):
                return entry
        raise ApiError(-1125, UNKNOWN_KEY)

    def keepalive(self, account: Account, market: MarketName, key: str | None) -> str:
        self.sweep()
        with self._lock:
            entry = self._find(account, market, key)
            entry.expires_at = self.clock() + self.validity
            return entry.key

    def close(self, account: Account, market: MarketName, key: str | None) -> None:
        self.sweep()
        with self._lock:
            entry = self._find(account, market, key)
            del self._keys[entry.key]

    def keys_of(self, account: Account, market: MarketName) -> list[str]:
        with self._lock:
            return [
                k
                for k, e in self._keys.items()
                if e.account is account and e.market == market and e.expires_at > self.clock()
            ]

    def stream_key(self, market: MarketName, name: str) -> StreamKey | None:
        """A stream key for a live listenKey used as a stream name, else ``None``."""
        with self._lock:
            entry = self._keys.get(name)
            if entry is None or entry.market != market or entry.expires_at <= self.clock():
                return None
        return StreamKey(name, USER_DATA_KIND, route="private")

    def expire(self, key: str) -> bool:
        """Expire ``key`` now (test hook); returns whether it was live."""
        with self._lock:
            entry = self._keys.get(key)
            if entry is None:
                return False
            entry.expires_at = self.clock()
        self.sweep()
        return True

    def sweep(self) -> None:
        """Drop expired keys and push ``listenKeyExpired`` on their streams.

        Publishing happens outside the registry lock: the engine lock is taken by
        callers that already hold it while they look keys up.
        """
        now = self.clock()
        with self._lock:
            gone = [e for e in self._keys.values() if e.expires_at <= now]
            for entry in gone:
                del self._keys[entry.key]
                self.expired.append(entry.key)
        for entry in gone:
            event: dict[str, Any] = {"e": "listenKeyExpired", "E": now_ms(), "listenKey": entry.key}
            self.engine.publish(entry.market, entry.key, event)
