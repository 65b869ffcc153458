"""REST IP bans: the 429 → 418 escalation Binance documents for its REST API.

Binance's limits page: after a 429 a client must back off; one that keeps sending
(or keeps breaking the limits) gets an automated IP ban, HTTP 418 with
``Retry-After`` (the seconds until the ban ends), and bans scale for repeat
offenders from 2 minutes to 3 days. The exact rule is not published; here
``ban_after`` refused (429) calls in a row from one IP (per weight pool, as the
weights are) earn a ban of ``ban_seconds``, doubled for each earlier ban of that
IP, at most ``max_ban_seconds``. Tests shorten them (``exchange.rest.bans``).

Clock-agnostic: the caller passes ``now`` (the REST server's clock).
"""

from __future__ import annotations

import math
import threading
from typing import Final

#: Binance's shortest and longest documented bans (seconds).
FIRST_BAN: Final = 120.0
LONGEST_BAN: Final = 3 * 86_400.0


class RestBans:
    """Per (pool, IP): refused calls in a row, bans so far and the running ban."""

    def __init__(
        self,
        *,
        ban_after: int = 3,
        ban_seconds: float = FIRST_BAN,
        max_ban_seconds: float = LONGEST_BAN,
    ) -> None:
        self.ban_after = ban_after
        self.ban_seconds = ban_seconds
        self.max_ban_seconds = max_ban_seconds
        self._lock = threading.Lock()
        self._refused: dict[tuple[str, str], int] = {}
        self._bans: dict[tuple[str, str], int] = {}
        self._until: dict[tuple[str, str], float] = {}

    def banned_for(self, pool: str, ip: str, now: float) -> float | None:
        """Seconds the running ban of ``ip`` has left, or None."""
        with self._lock:
            until = self._until.get((pool, ip))
            return None if until is None or until <= now else until - now

    def accepted(self, pool: str, ip: str) -> None:
        """A call within the limit: the IP backed off, its refusals in a row end."""
        with self._lock:
            self._refused.pop((pool, ip), None)

    def refused(self, pool: str, ip: str, now: float) -> float | None:
        """Count a call refused for the weight (429); the ban it earns (seconds), or None."""
        key = (pool, ip)
        with self._lock:
            count = self._refused.get(key, 0) + 1
            if count <= self.ban_after:
                self._refused[key] = count
                return None
            self._refused.pop(key, None)
            bans = self._bans.get(key, 0)
            self._bans[key] = bans + 1
            seconds = min(self.max_ban_seconds, self.ban_seconds * 2.0**bans)
            self._until[key] = now + seconds
            return seconds

    def lift(self) -> None:
        """End every ban and forget every offence (a test's reset)."""
        with self._lock:
            self._refused.clear()
            self._bans.clear()
            self._until.clear()


def retry_after_header(seconds: float) -> str:
    """Whole seconds, rounded up: waiting that long always reaches the ban's end."""
    return str(max(1, math.ceil(seconds)))
