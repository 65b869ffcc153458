"""Credit-based rate limits (reference §8), sans-I/O.

Each account has a non-matching-engine pool (500 credits a request, 50,000 max,
10,000/s refill: 20 requests/s, bursts of 100) and a matching-engine pool (default
5/s, burst 20, the oldest published tier); subscribe calls have their own small
pool (about 3.3/s, burst 10). Exceeding a pool answers ``10028 too_many_requests``
and the server then ends the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

#: Matching-engine methods (everything else is non-matching-engine).
ME_METHODS: Final = frozenset(
    f"private/{m}"
    for m in (
        "buy", "sell", "edit", "edit_by_label", "cancel", "cancel_all",
        "cancel_all_by_instrument", "cancel_all_by_currency", "cancel_all_by_kind_or_type",
        "cancel_by_label", "cancel_quotes", "close_position",
    )
)  # fmt: skip


@dataclass(frozen=True)
class RateLimits:
    """Pools as ``rate`` requests per second with ``burst`` capacity."""

    non_matching_rate: float = 20.0
    non_matching_burst: float = 100.0
    matching_rate: float = 5.0
    matching_burst: float = 20.0
    subscribe_rate: float = 10 / 3
    subscribe_burst: float = 10.0

    def to_json(self) -> dict[str, object]:
        """The ``limits`` block of ``get_account_summary``."""
        return {
            "limits_per_currency": False,
            "non_matching_engine": {
                "rate": self.non_matching_rate,
                "burst": self.non_matching_burst,
            },
            "matching_engine": {
                "trading": {"total": {"rate": self.matching_rate, "burst": self.matching_burst}},
                "cancel_all": {"rate": self.matching_rate, "burst": self.matching_burst},
            },
        }


@dataclass
class Bucket:
    """A leaky bucket of ``burst`` requests refilling at ``rate`` per second."""

    rate: float
    burst: float
    level: float = -1.0
    at: float = 0.0

    def take(self, now: float) -> bool:
        if self.level < 0:
            self.level, self.at = self.burst, now
        self.level = min(self.burst, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level < 1.0:
            return False
        self.level -= 1.0
        return True


@dataclass
class Credits:
    """The three pools of one account (or one unauthenticated connection)."""

    limits: RateLimits
    pools: dict[str, Bucket] = field(default_factory=dict)

    def allow(self, method: str, now: float) -> bool:
        """Charge ``method``; ``False`` means ``10028`` and the session ends."""
        if method in ME_METHODS:
            key, rate, burst = "me", self.limits.matching_rate, self.limits.matching_burst
        else:
            key, rate, burst = (
                "non_me",
                self.limits.non_matching_rate,
                self.limits.non_matching_burst,
            )
        pool = self.pools.setdefault(key, Bucket(rate, burst))
        if method.endswith("/subscribe"):
            sub = self.pools.setdefault(
                "subscribe", Bucket(self.limits.subscribe_rate, self.limits.subscribe_burst)
            )
            if not sub.take(now):
                return False
        return pool.take(now)
