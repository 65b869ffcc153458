"""Depth snapshots fetched by a bounded pool: many books at once, 429s, close() mid-burst.

The local exchange answers ``/depth`` slowly (``faults.delay_rest``) so that requests
overlap, and its journal of answered calls (``rest.calls()``) shows when each arrived.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange
from ccxtpro_sync.simulator.catalog import DEFAULT_SYMBOLS
from ccxtpro_sync.simulator.rest import RestCall

from .support import (
    BookWatcher,
    converge_books,
    library_threads,
    make_client,
    signal_logs,
    wait_for,
    wait_wire_matches,
)

RETRY_AFTER = 1


def _specs(count: int) -> list[Any]:
    base = DEFAULT_SYMBOLS["spot"][0]
    return [
        dataclasses.replace(base, symbol=f"P{i:03d}USDT", base=f"P{i:03d}") for i in range(count)
    ]


def _pairs(count: int) -> list[tuple[str, str]]:
    return [(f"P{i:03d}/USDT", f"P{i:03d}USDT") for i in range(count)]


def _exchange(count: int) -> LocalExchange:
    return LocalExchange(
        seed=11, auto_publish=False, book_levels=20, symbols={"spot": _specs(count)}
    )


def _depth_calls(ex: LocalExchange) -> list[RestCall]:
    return [c for c in ex.rest.calls() if c.path.endswith("/depth")]


@contextmanager
def _watching(
    ex: LocalExchange, pairs: list[tuple[str, str]], workers: int
) -> Iterator[tuple[Any, BookWatcher, Any, Any]]:
    """A client with a pool of ``workers`` watching every book, its signals logged,
    subscribed on the wire: (client, books, signal logs, subscription)."""
    client = make_client(
        ccxtpro_sync.binance,
        ex,
        options={"snapshotLimit": 100, "snapshotConcurrency": workers},
    )
    books = BookWatcher()
    with client, signal_logs(client) as logs:
        client.load_markets()
        sub = client.on_order_book([s for s, _ in pairs], books)
        wait_wire_matches(ex, [client])
        yield client, books, logs, sub


def _peak_overlap(calls: list[RestCall]) -> int:
    """Most calls the exchange was serving at the same moment."""
    edges = sorted([(c.arrived, 1) for c in calls] + [(c.answered, -1) for c in calls])
    peak = level = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    return peak


@pytest.mark.parametrize("workers", [1, 4])
def test_many_books_sync_with_at_most_the_pool_in_flight(workers: int) -> None:
    pairs = _pairs(40)
    with _exchange(len(pairs)) as ex:
        ex.faults.delay_rest(0.05, "/depth")  # a slow exchange: round trips overlap
        with _watching(ex, pairs, workers) as (client, books, logs, sub):
            converge_books(ex, "spot", books, pairs, timeout=60)
            calls = _depth_calls(ex)
            # each book's snapshot fetched once, and all of them served
            statuses = sorted(c.status for c in calls)
            assert statuses == [200] * len(pairs), (statuses, logs["order_book_resync"].payloads)
            peak = _peak_overlap(calls)
            assert peak <= workers, calls
            if workers > 1:
                assert peak > 1, "the snapshots were fetched one after another"
            assert len(client._fetcher.threads) <= workers
            assert not books.violations
            sub.cancel()


def test_a_429_with_retry_after_backs_every_worker_off_and_loses_nothing() -> None:
    pairs = _pairs(24)
    workers = 4
    with _exchange(len(pairs)) as ex:
        ex.faults.delay_rest(0.1, "/depth")
        with _watching(ex, pairs, workers) as (_, books, logs, sub):
            ex.faults.refuse_rest(count=1, status=429, retry_after=RETRY_AFTER)
            converge_books(ex, "spot", books, pairs, timeout=60)

            calls = _depth_calls(ex)
            refused = [c for c in calls if c.status == 429]
            assert len(refused) == 1 and ex.stats().rest_refused == 1
            # nothing lost, nothing fetched twice: every book once, the refused one again
            assert len(calls) == len(pairs) + 1
            # Backed off together: once the 429 was answered, only requests the other
            # workers had already taken could arrive before Retry-After ran out.
            pause_end = refused[0].answered + RETRY_AFTER * 0.95
            during = [c for c in calls if refused[0].answered < c.arrived < pause_end]
            assert len(during) <= workers - 1, during
            assert len([c for c in calls if c.arrived >= pause_end]) >= len(pairs) // 2
            assert logs["order_book_resync"].payloads == []
            assert not books.violations
            sub.cancel()


def test_close_during_a_burst_of_fetches_leaves_no_thread() -> None:
    pairs = _pairs(30)
    slow = 30.0  # the exchange would answer each snapshot only after this
    with _exchange(len(pairs)) as ex:
        ex.faults.delay_rest(slow, "/depth")
        client = make_client(
            ccxtpro_sync.binance,
            ex,
            timeout=slow * 2,
            options={"snapshotLimit": 100, "snapshotConcurrency": 4},
        )
        with client:
            client.load_markets()
            client.on_order_book([s for s, _ in pairs], BookWatcher())
            wait_wire_matches(ex, [client])
            scheduler = client._fetcher._scheduler

            def burst() -> bool:
                ex.tick(1)  # books ask for a snapshot on their first diff
                return len(scheduler.in_flight) == 4

            wait_for(burst, 30, "four snapshots in flight")
            assert scheduler.pending, "more snapshots should be waiting behind the pool"
            prefix = f"ccxtpro_sync-{client.name}-snapshots"
            assert len([t for t in library_threads() if t.name.startswith(prefix)]) == 4
            started = time.monotonic()
            client.close()
        # close() cut the requests in flight short rather than waiting for the answers
        assert time.monotonic() - started < slow / 2
        assert library_threads() == []
