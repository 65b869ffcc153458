"""Outgoing pacing toward Deribit: its credit pools, per request class (sans-I/O).

Deribit does not limit frames per connection; it charges each request to credit
pools of the (sub)account, which refill continuously (protocol reference §8, from
docs.deribit.com ``articles/rate-limits`` and the support article on rate limits):

* every request: the non-matching-engine pool, 500 credits a request, 50,000 at most,
  refilled at 10,000/s: **20 requests/s, bursts of 100**;
* matching-engine requests (``buy``, ``sell``, ``edit*``, ``cancel*``,
  ``close_position``, …): their own pool, by volume tier; the default (lowest
  published) is **5/s, burst 20**, which is also CCXT's pace (cost 4 at 50 ms);
  ``get_account_summary`` shows an account's own figures under
  ``limits.matching_engine``;
* ``*/subscribe``: about **3.3/s, burst 10** (3,000 credits of a 30,000 pool).

Going over a pool is answered with ``10028 too_many_requests`` *and the session is
terminated*, so the client stays below each pool with a margin: 90 % of the rate
(the server may see our frames closer together than we sent them) and half of the
burst. A frame takes a token from every pool it is charged to; it waits for the
slowest. Pools are per account, so one pacer serves every connection of a client.

Keep-alive frames (the answer to a heartbeat ``test_request``, a token refresh, the
heartbeat set-up) are charged but never wait: Deribit closes a connection whose
``test_request`` goes unanswered for about 10 s, and a queue of user requests must
not cause that. The unused half of each burst absorbs them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..._core.pacing import TokenBucket
from ..._exceptions import InvalidArgument

__all__ = ["DEFAULT_POOLS", "DeribitPacer", "Pool", "method_of", "pools_from_options"]

#: Matching-engine methods (reference §8, "ME methods"); everything else is non-ME.
MATCHING_ENGINE: Final = frozenset(
    f"private/{m}"
    for m in (
        "buy", "sell", "edit", "edit_by_label", "cancel", "cancel_all",
        "cancel_all_by_instrument", "cancel_all_by_currency", "cancel_all_by_kind_or_type",
        "cancel_by_label", "cancel_quotes", "close_position", "move_positions",
        "verify_block_trade", "execute_block_trade",
    )
)  # fmt: skip
#: Sent at once whatever the queue (charged all the same): see the module docstring.
KEEP_ALIVE: Final = frozenset({"public/test", "public/auth", "public/set_heartbeat"})
#: Share of a pool's rate the client uses, and of its burst.
RATE_MARGIN: Final = 0.9
BURST_MARGIN: Final = 0.5


@dataclass(frozen=True, slots=True)
class Pool:
    """A Deribit credit pool as requests per second and burst (the server's figures)."""

    rate: float
    burst: float

    def bucket(self, now: float) -> TokenBucket:
        """The client's bucket for this pool, with the margins applied."""
        return TokenBucket(self.rate * RATE_MARGIN, max(1.0, self.burst * BURST_MARGIN), now=now)


#: Deribit's default pools (reference §8).
DEFAULT_POOLS: Final[Mapping[str, Pool]] = {
    "nonMatching": Pool(20.0, 100.0),
    "matching": Pool(5.0, 20.0),
    "subscribe": Pool(10 / 3, 10.0),
}


def method_of(frame: str) -> str:
    """The JSON-RPC ``method`` of an outgoing frame ('' when it has none)."""
    try:
        message = json.loads(frame)
    except ValueError:
        return ""
    method = message.get("method") if isinstance(message, dict) else None
    return method if isinstance(method, str) else ""


def pools_from_options(value: Any) -> dict[str, Pool]:
    """``options.rateLimits`` (``{"matching": {"rate": 20, "burst": 50}}``, e.g. a
    higher tier from ``get_account_summary``) over Deribit's defaults."""
    pools = dict(DEFAULT_POOLS)
    if value is None:
        return pools
    if not isinstance(value, Mapping):
        raise InvalidArgument("options.rateLimits must be a mapping of pool -> {rate, burst}")
    for name, figures in value.items():
        if name not in DEFAULT_POOLS:
            raise InvalidArgument(
                f"options.rateLimits has no pool {name!r}; use {', '.join(DEFAULT_POOLS)}"
            )
        if not isinstance(figures, Mapping) or set(figures) - {"rate", "burst"}:
            raise InvalidArgument(f"options.rateLimits.{name} takes 'rate' and 'burst'")
        rate = figures.get("rate", pools[name].rate)
        burst = figures.get("burst", pools[name].burst)
        for key, number in (("rate", rate), ("burst", burst)):
            if isinstance(number, bool) or not isinstance(number, int | float) or number <= 0:
                raise InvalidArgument(f"options.rateLimits.{name}.{key} must be a positive number")
        pools[name] = Pool(float(rate), float(burst))
    return pools


class DeribitPacer:
    """Books each outgoing frame against the pools it is charged to (see the module
    docstring); thread-safe, shared by every connection of one client."""

    def __init__(self, pools: Mapping[str, Pool] = DEFAULT_POOLS, *, now: float = 0.0) -> None:
        self.pools = dict(pools)
        self._lock = threading.Lock()  # a leaf lock: held for the arithmetic only
        self._buckets = {name: pool.bucket(now) for name, pool in self.pools.items()}
        self._booked = dict.fromkeys(self.pools, 0)

    def classes(self, method: str) -> tuple[str, ...]:
        """The pools ``method`` is charged to."""
        if method in MATCHING_ENGINE:
            return ("matching",)
        if method.endswith("/subscribe"):
            return ("nonMatching", "subscribe")
        return ("nonMatching",)

    def reserve(self, now: float, frame: str) -> float:
        """Book ``frame``; seconds to wait before sending it."""
        method = method_of(frame)
        with self._lock:
            delay = 0.0
            for name in self.classes(method):
                delay = max(delay, self._buckets[name].reserve(now))
                self._booked[name] += 1
        return 0.0 if method in KEEP_ALIVE else delay

    def booked(self) -> dict[str, int]:
        """Frames charged to each pool so far (``connection_info()["pacing"]``)."""
        with self._lock:
            return dict(self._booked)
