"""WS API rate limits (reference §3): request weight per IP, order counts per account, bans.

Windows are fixed and aligned on wall-clock boundaries (a MINUTE window resets
at :00, a 10 SECOND one at :00, :10, ...), as Binance documents. Over the
weight limit a request gets ``429`` with ``data.retryAfter`` (the window's end) and
is not charged;
an IP that keeps sending while limited (``ban_after`` rejected requests in a row)
is banned for ``ban_seconds`` and gets ``418`` (and is disconnected). Over an
``ORDERS`` limit an order request gets ``429``/``-1015``. ``clock`` is settable so
tests can pin the window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from .auth import ApiDataError

_SECONDS: Final = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}


@dataclass(frozen=True)
class Rule:
    type: str  # REQUEST_WEIGHT or ORDERS
    interval: str
    num: int
    limit: int

    @property
    def seconds(self) -> int:
        return _SECONDS[self.interval] * self.num

    def entry(self, count: int) -> dict[str, Any]:
        return {
            "rateLimitType": self.type,
            "interval": self.interval,
            "intervalNum": self.num,
            "limit": self.limit,
            "count": count,
        }


SPOT_ORDERS: Final = (Rule("ORDERS", "SECOND", 10, 50), Rule("ORDERS", "DAY", 1, 160000))
FUTURES_ORDERS: Final = (Rule("ORDERS", "SECOND", 10, 300), Rule("ORDERS", "MINUTE", 1, 1200))


class WsApiLimits:
    """Counters for every WS API connection of one pool (``spot`` or ``futures``)."""

    def __init__(
        self,
        weight_limit: int,
        order_rules: tuple[Rule, ...],
        *,
        ban_after: int = 3,
        ban_seconds: float = 120.0,
    ) -> None:
        self.weight = Rule("REQUEST_WEIGHT", "MINUTE", 1, weight_limit)
        self.order_rules = order_rules
        self.ban_after = ban_after
        self.ban_seconds = ban_seconds
        self.clock: Callable[[], float] = time.time
        self._lock = threading.Lock()
        self._counts: dict[tuple[Any, Rule], tuple[int, int]] = {}
        self._violations: dict[str, int] = {}
        self._banned_until: dict[str, float] = {}

    def _add(self, who: Any, rule: Rule, n: int, now: float) -> int:
        window = int(now // rule.seconds)
        start, count = self._counts.get((who, rule), (window, 0))
        count = count + n if start == window else n
        self._counts[(who, rule)] = (window, count)
        return count

    def _count(self, who: Any, rule: Rule, now: float) -> int:
        start, count = self._counts.get((who, rule), (0, 0))
        return count if start == int(now // rule.seconds) else 0

    @staticmethod
    def _window_end_ms(rule: Rule, now: float) -> int:
        return int((now // rule.seconds + 1) * rule.seconds * 1000)

    def weight_entry(self, ip: str) -> dict[str, Any]:
        with self._lock:
            return self.weight.entry(self._count(ip, self.weight, self.clock()))

    def order_entries(self, account_id: int) -> list[dict[str, Any]]:
        with self._lock:
            now = self.clock()
            return [r.entry(self._count(account_id, r, now)) for r in self.order_rules]

    def banned(self, ip: str) -> ApiDataError | None:
        with self._lock:
            return self._ban_error(ip, self.clock())

    def _ban_error(self, ip: str, now: float) -> ApiDataError | None:
        until = self._banned_until.get(ip)
        if until is None or until <= now:
            return None
        until_ms = int(until * 1000)
        return ApiDataError(
            -1003,
            f"Way too much request weight used; IP banned until "
            f"{until_ms}. Please use WebSocket Streams for live updates "
            "to avoid bans.",
            418,
            {"serverTime": int(now * 1000), "retryAfter": until_ms},
        )

    def charge_weight(self, ip: str, weight: int) -> None:
        """Charge ``weight`` to ``ip``; raises the 429 or 418 error when over."""
        with self._lock:
            now = self.clock()
            banned = self._ban_error(ip, now)
            if banned is not None:
                raise banned
            if self._count(ip, self.weight, now) + weight <= self.weight.limit:
                self._add(ip, self.weight, weight, now)
                self._violations.pop(ip, None)
                return
            # refused: not charged (Binance documents a ban, not a cost, for requests
            # sent while limited), but counted towards that ban
            violations = self._violations.get(ip, 0) + 1
            self._violations[ip] = violations
            if violations > self.ban_after:
                self._banned_until[ip] = now + self.ban_seconds
                self._violations.pop(ip, None)
                error = self._ban_error(ip, now)
                assert error is not None
                raise error
            raise ApiDataError(
                -1003,
                f"Too much request weight used; current limit is "
                f"{self.weight.limit} request weight per 1 MINUTE. Please "
                "use WebSocket Streams for live updates to avoid polling "
                "the API.",
                429,
                {
                    "serverTime": int(now * 1000),
                    "retryAfter": self._window_end_ms(self.weight, now),
                },
            )

    def charge_order(self, account_id: int) -> None:
        """Count one new order; raises ``-1015``/429 when an ORDERS limit is exceeded."""
        with self._lock:
            now = self.clock()
            over = [r for r in self.order_rules if self._count(account_id, r, now) + 1 > r.limit]
            if over:
                rule = over[0]
                raise ApiDataError(
                    -1015,
                    f"Too many new orders; current limit is {rule.limit} "
                    f"orders per {rule.num} {rule.interval}.",
                    429,
                    {"serverTime": int(now * 1000), "retryAfter": self._window_end_ms(rule, now)},
                )
            for rule in self.order_rules:
                self._add(account_id, rule, 1, now)

    def unban(self) -> None:
        with self._lock:
            self._banned_until.clear()
            self._violations.clear()
