"""A 429/418 that names no wait (a proxy dropped ``Retry-After``; a body without a ban
time) still backs the whole snapshot pool off: the limit is the IP's, and Binance bans
an IP that keeps sending after a 429. Before, only the refused symbol backed off and
the other workers went on at full speed into the limit."""

from __future__ import annotations

import time

import pytest

from ccxtpro_sync import RateLimitExceeded
from ccxtpro_sync._core.snapshot_scheduler import SnapshotScheduler
from ccxtpro_sync._sync.snapshot_fetcher import SnapshotFetcher

from .support import converge_books
from .test_snapshot_pool import _depth_calls, _exchange, _pairs, _watching


@pytest.mark.parametrize("status", [429, 418])
def test_a_throttle_without_retry_after_pauses_every_worker(status: int) -> None:
    pairs = _pairs(24)
    workers = 4
    with _exchange(len(pairs)) as ex:
        ex.faults.delay_rest(0.1, "/depth")
        with _watching(ex, pairs, workers) as (_, books, logs, sub):
            ex.faults.refuse_rest(count=1, status=status, retry_after=None)
            converge_books(ex, "spot", books, pairs, timeout=60)

            calls = _depth_calls(ex)
            refused = [c for c in calls if c.status == status]
            assert len(refused) == 1 and ex.stats().rest_refused == 1
            assert len(calls) == len(pairs) + 1  # nothing lost, nothing fetched twice
            # the pool's first pause is the scheduler's retry_base (1 s): only requests
            # other workers had already sent may arrive before it ends
            pause_end = refused[0].answered + 0.95
            during = [c for c in calls if refused[0].answered < c.arrived < pause_end]
            assert len(during) <= workers - 1, during
            assert logs["order_book_resync"].payloads == []
            assert not books.violations
            sub.cancel()


def test_throttles_without_a_wait_pause_longer_each_time_until_one_succeeds() -> None:
    s = SnapshotScheduler(weight_limit=6000, weight_of=lambda _: 1, retry_base=1, retry_max=8)
    for symbol in ("A", "B", "C"):
        s.request(symbol)
    now = 100.0
    pauses = []
    for _ in range(5):
        [(symbol, _)] = s.due(now, most=1)
        s.failed(symbol, now, throttled=True)
        pauses.append(s.paused_until - now)
        assert s.due(now + pauses[-1] - 0.01) == []  # nothing, whichever symbol
        now += pauses[-1]
    assert pauses == [1, 2, 4, 8, 8]
    [(symbol, _)] = s.due(now, most=1)
    s.completed(symbol)  # a success ends the series
    [(symbol, _)] = s.due(now, most=1)
    s.failed(symbol, now, throttled=True)
    assert s.paused_until - now == 1
    # a 5xx or a timeout (not throttled) backs off that symbol alone, as before
    [(other, _)] = s.due(now + 1, most=1)
    s.failed(other, now + 1)
    assert s.paused_until == now + 1


def test_a_direct_call_throttled_without_a_wait_pauses_the_snapshots_too() -> None:
    """``fetch_*`` calls share the budget (``settled``): their 429 without a wait pauses
    the pool as a snapshot's does (it was ignored)."""
    scheduler = SnapshotScheduler(weight_limit=6000, weight_of=lambda _: 1)
    fetcher = SnapshotFetcher(
        lambda symbol, limit: b"", lambda: None, scheduler, lambda *_: None, rest_timeout=1
    )
    before = time.monotonic()
    fetcher.settled(RateLimitExceeded("429 without Retry-After"))
    assert scheduler.paused_until >= before + scheduler.retry_base
    with pytest.raises(RateLimitExceeded) as caught:
        fetcher.admit(1, "fetch_trades")
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    fetcher.settled(None)  # a success says nothing about the pause
    assert scheduler.paused_until >= before + scheduler.retry_base
    fetcher.close()
