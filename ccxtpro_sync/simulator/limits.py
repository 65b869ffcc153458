"""Rate limits and keep-alive settings, with Binance's defaults per market.

The counters are clock-agnostic (the caller passes ``now``) so they are trivially
testable and usable from both the asyncio thread and the HTTP threads.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Final

from .catalog import MarketName


@dataclass(frozen=True)
class MarketLimits:
    """Per-market connection policy (seconds / counts)."""

    ping_interval: float
    pong_timeout: float
    max_lifetime: float
    message_rate: int  # incoming frames per second per connection
    max_streams: int  # streams per connection
    rest_weight: int  # REST request weight per minute per IP
    #: Seconds before ``max_lifetime`` that spot sends ``serverShutdown`` (Binance documents
    #: no lead time, only "when the server is about to shut down").
    shutdown_notice: float = 0.0


DAY: Final = 86_400.0
DEFAULT_LIMITS: Final[dict[MarketName, MarketLimits]] = {
    "spot": MarketLimits(20.0, 60.0, DAY, 5, 1024, 6000),
    "usdm": MarketLimits(180.0, 600.0, DAY, 10, 200, 2400),
    "coinm": MarketLimits(180.0, 600.0, DAY, 10, 200, 2400),
}


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds."""

    __slots__ = ("_events", "limit", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._events: deque[float] = deque()

    def hit(self, now: float) -> bool:
        """Record one event; ``False`` if it exceeds the limit."""
        events = self._events
        while events and now - events[0] >= self.window:
            events.popleft()
        events.append(now)
        return len(events) <= self.limit

    def retry_after(self, now: float) -> float:
        return max(0.0, self.window - (now - self._events[0])) if self._events else 0.0


class AttemptLimiter:
    """Connection attempts per client IP (Binance: 300 per 5 minutes)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._per_ip: dict[str, SlidingWindow] = {}
        self._lock = threading.Lock()

    def attempt(self, ip: str, now: float) -> tuple[bool, float]:
        with self._lock:
            win = self._per_ip.setdefault(ip, SlidingWindow(self.limit, self.window))
            ok = win.hit(now)
            return ok, win.retry_after(now)


class WeightCounter:
    """REST request weight per (pool, IP), reset on each wall-clock minute like Binance."""

    def __init__(self) -> None:
        self._used: dict[tuple[str, str], tuple[int, int]] = {}  # -> (minute, weight)
        self._lock = threading.Lock()

    def add(self, pool: str, ip: str, weight: int, now: float) -> int:
        """Charge ``weight`` and return the weight used in the current minute."""
        minute = int(now // 60)
        with self._lock:
            start, used = self._used.get((pool, ip), (minute, 0))
            used = used + weight if start == minute else weight
            self._used[(pool, ip)] = (minute, used)
            return used

    def charge(self, pool: str, ip: str, weight: int, limit: int, now: float) -> tuple[bool, int]:
        """Charge ``weight`` only if the minute's weight stays within ``limit``:
        ``(charged, weight used in the current minute)``. A refused call costs nothing."""
        minute = int(now // 60)
        with self._lock:
            start, used = self._used.get((pool, ip), (minute, 0))
            if start != minute:
                used = 0
            if used + weight > limit:
                return False, used
            self._used[(pool, ip)] = (minute, used + weight)
            return True, used + weight

    def used(self, pool: str, ip: str, now: float) -> int:
        with self._lock:
            start, used = self._used.get((pool, ip), (0, 0))
            return used if start == int(now // 60) else 0

    @staticmethod
    def retry_after(now: float) -> int:
        """Seconds until the minute window resets (at least 1)."""
        return max(1, int(60 - now % 60 + 0.999))
