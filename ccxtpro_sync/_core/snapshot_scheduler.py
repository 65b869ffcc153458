"""Pure scheduling of REST depth snapshots within a request-weight budget.

Startup with 200 symbols, or a burst of gaps, can need more snapshot weight than
one minute allows (200 x ``limit=1000`` = 10,000 spot weight against 6,000/min),
and overshooting earns a 429 and then a 418 IP ban that stops *every* REST call.
The budget and the weight of each depth are the exchange's (Binance's live in
``_exchanges/binance/depth_weights.py``).
This module decides *when* each snapshot may be sent; it never sleeps, spawns
threads or does I/O: time is an argument. Typical caller loop::

    sched.request("BTCUSDT", 1000)              # BookSync said NEED_SNAPSHOT
    for symbol, limit in sched.due(now):        # send these now
        ...fetch...; sched.completed(symbol) or sched.failed(symbol, now, retry_after=s)
    wake = sched.next_ready_at(now)             # sleep until then (or a new request)

Budget accounting is deliberately pessimistic: weight is charged when a request is
handed out (not when it returns), over a *rolling* 60 s window (stricter than
Binance's fixed minute), with a ``headroom`` fraction left for other REST calls.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SnapshotScheduler"]


@dataclass(slots=True)
class _Item:
    symbol: str
    limit: int | None
    weight: int
    not_before: float = 0.0
    failures: int = 0


class SnapshotScheduler:
    """FIFO queue of snapshot requests, released only as the weight budget allows.

    * ``futures`` picks the default budget (spot 6000/min, futures 2400/min, shared
      by USD-M and COIN-M) and weight table; ``weight_limit`` / ``weight_of``
      override them.
    * ``headroom`` is the fraction of the budget left unused for everything else
      (orders, exchangeInfo, other processes on the IP).
    * ``max_in_flight`` caps concurrent snapshot requests (``None``: no cap).
    * Strict FIFO: an eligible request that does not fit the budget blocks those
      behind it, so a deep snapshot is never starved by a stream of cheap ones.
      Requests in individual back-off are skipped until they are eligible.
    """

    def __init__(
        self,
        *,
        weight_limit: int,
        weight_of: Callable[[int | None], int],
        window: float = 60.0,
        headroom: float = 0.1,
        max_in_flight: int | None = None,
        retry_base: float = 1.0,
        retry_max: float = 60.0,
    ) -> None:
        if not 0.0 <= headroom < 1.0:
            raise ValueError("headroom must be in [0, 1)")
        if window <= 0:
            raise ValueError("window must be > 0")
        limit = weight_limit
        #: The whole per-window limit; direct REST calls (``admit``) may use the headroom.
        self.limit = int(limit)
        self.budget = int(limit * (1.0 - headroom))
        if self.budget < 1:
            raise ValueError("weight budget after headroom must be >= 1")
        self.window = window
        self.max_in_flight = max_in_flight
        self.weight_of = weight_of
        self.retry_base = retry_base
        self.retry_max = retry_max
        self._queue: deque[_Item] = deque()
        self._queued: dict[str, _Item] = {}
        self._in_flight: dict[str, _Item] = {}
        self._spent: deque[tuple[float, int]] = deque()  # (time, weight), oldest first
        self._spent_total = 0
        self._paused_until = float("-inf")
        #: Throttling answers without a wait in a row (see ``failed``); 0 after a success.
        self._throttles = 0

    # ------------------------------------------------------------------ inputs

    def request(self, symbol: str, limit: int | None = None) -> bool:
        """Queue a snapshot. Returns False when ``symbol`` is already queued (the
        larger limit wins) or in flight (its answer will do; if it turns out too old,
        ``BookSync`` says NEED_SNAPSHOT again and the caller re-requests)."""
        weight = self.weight_of(limit)
        if weight > self.budget:
            raise ValueError(f"one snapshot (weight {weight}) exceeds the budget {self.budget}")
        item = self._queued.get(symbol)
        if item is not None:
            if weight > item.weight:
                item.limit, item.weight = limit, weight
            return False
        if symbol in self._in_flight:
            return False
        item = _Item(symbol, limit, weight)
        self._queue.append(item)
        self._queued[symbol] = item
        return True

    def cancel(self, symbol: str) -> None:
        """Forget a queued request (e.g. the symbol was unsubscribed)."""
        item = self._queued.pop(symbol, None)
        if item is not None:
            self._queue.remove(item)

    def due(self, now: float, most: int | None = None) -> list[tuple[str, int | None]]:
        """Pop the requests that may be sent at ``now`` (at most ``most``) and charge
        their weight. A worker of a pool takes one at a time, so a request is handed
        out only when it is about to be sent, never while a ``Retry-After`` runs."""
        if now < self._paused_until or not self._queue:
            return []
        self._expire(now)
        out: list[tuple[str, int | None]] = []
        cap = self.max_in_flight
        kept: list[_Item] = []
        queue = self._queue
        while queue:
            if cap is not None and len(self._in_flight) >= cap:
                break
            if most is not None and len(out) >= most:
                break
            item = queue[0]
            if item.not_before > now:
                kept.append(queue.popleft())  # backing off: not eligible, keeps its place
                continue
            if self._spent_total + item.weight > self.budget:
                break  # strict FIFO: wait for budget rather than let others jump ahead
            queue.popleft()
            del self._queued[item.symbol]
            self._in_flight[item.symbol] = item
            self._spent.append((now, item.weight))
            self._spent_total += item.weight
            out.append((item.symbol, item.limit))
        queue.extendleft(reversed(kept))
        return out

    def completed(self, symbol: str) -> None:
        """The snapshot for ``symbol`` arrived (whatever BookSync then made of it)."""
        self._in_flight.pop(symbol, None)
        self._throttles = 0

    def failed(
        self,
        symbol: str,
        now: float,
        *,
        retry_after: float | None = None,
        throttled: bool = False,
    ) -> None:
        """The snapshot request failed; it is queued again at the front.

        ``retry_after`` (seconds, from the ``Retry-After`` header of a 429/418)
        pauses *all* requests: the limit is per IP, not per symbol. A throttling
        answer that names no wait (``throttled``; a proxy dropped the header) pauses
        all of them too, exponentially over such answers in a row: sending on would
        earn the IP a ban. Other failures (timeouts, 5xx) back this symbol off alone,
        exponentially.
        """
        item = self._in_flight.pop(symbol, None)
        if item is None or symbol in self._queued:
            return
        item.failures += 1
        if retry_after is not None or throttled:
            self.throttle(now, retry_after)
        else:
            delay = min(self.retry_max, self.retry_base * 2 ** (item.failures - 1))
            item.not_before = now + delay
        self._queue.appendleft(item)
        self._queued[symbol] = item

    def used_weight(self, used: int, now: float) -> None:
        """Fold in ``X-MBX-USED-WEIGHT-1M`` from any REST response.

        The server's count includes weight this scheduler never saw (orders, other
        processes). The excess over our own rolling total is charged at ``now``, so it
        also expires a window later: conservative, since the server resets at :00.
        """
        self._expire(now)
        extra = used - self._spent_total
        if extra > 0:
            self._spent.append((now, extra))
            self._spent_total += extra

    def admit(self, weight: int, now: float) -> float:
        """A REST call outside the queue (``fetch_*``) that costs ``weight``.

        Returns 0.0 after charging it to the window, or the seconds until it could be
        sent (paused by a ``Retry-After``, or the whole limit used): then nothing is
        charged and the caller must not send. Snapshots keep ``budget``; these calls
        may also use the headroom.
        """
        if now < self._paused_until:
            return self._paused_until - now
        self._expire(now)
        if self._spent_total + weight > self.limit:
            wait = self._fits_at(weight, now, self.limit) - now
            if wait > 0:
                return wait
            # Heavier than the whole limit on its own: waiting cannot help, the server decides.
        self._spent.append((now, weight))
        self._spent_total += weight
        return 0.0

    def throttle(self, now: float, retry_after: float | None) -> None:
        """A 429/418 on any REST call: pause everything for its ``retry_after`` or,
        when it names none, for ``retry_base`` doubled per such answer in a row (up
        to ``retry_max``) until a snapshot succeeds."""
        if retry_after is None:
            retry_after = min(self.retry_max, self.retry_base * 2**self._throttles)
            self._throttles += 1
        self.pause(retry_after, now)

    def pause(self, seconds: float, now: float) -> None:
        """Send nothing for ``seconds`` (a ``Retry-After`` seen on any REST call)."""
        self._paused_until = max(self._paused_until, now + max(0.0, seconds))

    # ------------------------------------------------------------------ queries

    def next_ready_at(self, now: float) -> float | None:
        """Earliest time ``due`` may return something; ``now`` if it would now.

        ``None`` means nothing can become due by waiting alone (queue empty, or
        every slot in flight): wake on the next ``request``/``completed``/``failed``.
        The answer is never later than the true time, but may be earlier.
        """
        if not self._queue:
            return None
        if self.max_in_flight is not None and len(self._in_flight) >= self.max_in_flight:
            return None
        self._expire(now)
        best = float("inf")
        fit_at: dict[int, float] = {}
        for item in self._queue:
            t = fit_at.get(item.weight)
            if t is None:
                t = fit_at[item.weight] = self._fits_at(item.weight, now)
            best = min(best, max(t, item.not_before))
        return max(best, self._paused_until, now)

    @property
    def spent(self) -> int:
        """Weight charged within the current window (as of the last call)."""
        return self._spent_total

    @property
    def paused_until(self) -> float:
        return self._paused_until

    @property
    def pending(self) -> list[str]:
        """Queued symbols, in FIFO order."""
        return [item.symbol for item in self._queue]

    @property
    def in_flight(self) -> list[str]:
        return list(self._in_flight)

    # ------------------------------------------------------------------ internals

    def _expire(self, now: float) -> None:
        spent = self._spent
        horizon = now - self.window
        while spent and spent[0][0] <= horizon:
            self._spent_total -= spent.popleft()[1]

    def _fits_at(self, weight: int, now: float, cap: int | None = None) -> float:
        """When the rolling total will have room for ``weight`` (``now`` if it has)."""
        excess = self._spent_total + weight - (self.budget if cap is None else cap)
        if excess <= 0:
            return now
        for t, w in self._spent:
            excess -= w
            if excess <= 0:
                return t + self.window
        return now  # unreachable: weight <= budget is enforced by request()
