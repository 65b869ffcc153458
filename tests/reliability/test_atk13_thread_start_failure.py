"""A helper thread that cannot be started (a container's pids limit, memory pressure:
``Thread.start`` raises ``RuntimeError: can't start new thread``).

The snapshot fetcher and the backfiller start their threads from the reader, when a
book first asks for a snapshot. The RuntimeError escaped into the reader, which took it
for a bug and gave the connection up for good: every stream on it ended, for a
snapshot request. Now the request stays queued, the failure is logged, and the next
request starts the thread; while no snapshot worker runs at all, books still waiting ask
again, so a lone book's own asks retry the start. ``start_thread`` is replaced to fail:
the machine's real thread limit is shared with everything else running here.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync._exchanges.binance import backfill
from ccxtpro_sync._sync import lazy_thread, snapshot_fetcher
from ccxtpro_sync._sync.lazy_thread import LazyThread

from .support import (
    BookWatcher,
    converge_books,
    make_client,
    signal_logs,
    wait_wire_matches,
    wire_connections,
)
from .test_snapshot_pool import _exchange, _pairs


def _failing_once(module: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make ``module.start_thread`` refuse its first call; returns the refused names."""
    real = module.start_thread
    refused: list[str] = []

    def start(target: Any, name: str, **kwargs: Any) -> threading.Thread:
        if not refused:
            refused.append(name)
            raise RuntimeError("can't start new thread")
        return real(target, name, **kwargs)

    monkeypatch.setattr(module, "start_thread", start)
    return refused


def test_a_snapshot_thread_that_cannot_start_leaves_the_connection_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    refused = _failing_once(snapshot_fetcher, monkeypatch)
    pairs = _pairs(2)
    with _exchange(len(pairs)) as ex:
        client = make_client(ccxtpro_sync.binance, ex, options={"snapshotLimit": 100})
        books = BookWatcher()
        with client, signal_logs(client) as logs, caplog.at_level(logging.WARNING):
            client.load_markets()
            sub = client.on_order_book([s for s, _ in pairs], books)
            wait_wire_matches(ex, [client])
            # the first book's request could not start a worker; the second's does, and
            # that worker takes both (converge_books ticks until every book is synced)
            converge_books(ex, "spot", books, pairs, timeout=30)
            assert refused
            conns = wire_connections(client)
            assert conns and all(c._fatal is None and c.is_ready() for c in conns)
            assert logs["order_book_resync"].payloads == []
            assert "could not start" in caplog.text
            assert not books.violations
            sub.cancel()


def test_a_lone_book_whose_snapshot_thread_was_refused_is_not_left_waiting(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """One book, so no later request from another book: the refused start used to
    leave its snapshot queued for good. The book asks again while the fetcher has no
    worker, and an ask retries the start (refused three times here)."""
    real = snapshot_fetcher.start_thread
    refused: list[str] = []

    def start(target: Any, name: str, **kwargs: Any) -> threading.Thread:
        if len(refused) < 3:
            refused.append(name)
            raise RuntimeError("can't start new thread")
        return real(target, name, **kwargs)

    monkeypatch.setattr(snapshot_fetcher, "start_thread", start)
    pairs = _pairs(1)
    with _exchange(len(pairs)) as ex:
        client = make_client(ccxtpro_sync.binance, ex, options={"snapshotLimit": 100})
        books = BookWatcher()
        with client, caplog.at_level(logging.WARNING):
            client.load_markets()
            sub = client.on_order_book([s for s, _ in pairs], books)
            wait_wire_matches(ex, [client])
            converge_books(ex, "spot", books, pairs, timeout=30)
            assert len(refused) == 3
            assert client._fetcher.stalled is False and len(client._fetcher.threads) == 1
            assert caplog.text.count("could not start a snapshot thread") == 1  # once a stall
            assert not books.violations
            sub.cancel()


class _Queue(LazyThread):
    def __init__(self) -> None:
        super().__init__("ccxtpro_sync-test-lazy")
        self.done: list[int] = []
        self.items: list[int] = []
        self.all_done = threading.Event()

    def put(self, item: int) -> None:
        self._enqueue(lambda: self.items.append(item))

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self.items and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                self.done.append(self.items.pop(0))
                if len(self.done) == 2:
                    self.all_done.set()


def test_a_lazy_thread_that_cannot_start_keeps_the_work_for_the_next_request(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    refused = _failing_once(lazy_thread, monkeypatch)
    queue = _Queue()
    with caplog.at_level(logging.WARNING):
        queue.put(1)  # returns: the backfiller's request runs on a reader
    assert refused and queue.thread is None and queue.items == [1]
    assert "could not start" in caplog.text
    queue.put(2)
    assert queue.all_done.wait(10)
    assert queue.done == [1, 2]
    queue._shut(5)
    assert issubclass(backfill.Backfiller, LazyThread)  # what the backfiller rests on
