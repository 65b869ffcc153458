"""Token buckets for the exchange's message-rate limits (pure: the caller passes the time)."""

from __future__ import annotations

from typing import Protocol


class FramePacer(Protocol):
    """Paces outgoing frames by what each one is (an exchange whose limits differ per
    request class). Shared by the connections of one account, so it must be
    thread-safe; like ``TokenBucket.reserve`` it books the frame's cost and returns
    how long to wait before sending it."""

    def reserve(self, now: float, frame: str) -> float: ...


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up.

    ``reserve`` books a token and says how long the caller must wait before
    using it, so concurrent senders queue up fairly without a busy loop.
    """

    __slots__ = ("_available", "_updated", "burst", "rate")

    def __init__(self, rate: float, burst: float | None = None, *, now: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else rate
        self._available = self.burst
        self._updated = now

    def reserve(self, now: float, tokens: float = 1.0) -> float:
        """Take ``tokens`` (possibly going into debt); returns seconds to wait first."""
        elapsed = max(0.0, now - self._updated)
        self._available = min(self.burst, self._available + elapsed * self.rate)
        self._updated = now
        self._available -= tokens
        if self._available >= 0:
            return 0.0
        return -self._available / self.rate
