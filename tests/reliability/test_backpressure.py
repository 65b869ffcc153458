"""Append streams get backpressure: a burst loses no trade; a stuck callback is bounded.

The burst test talks to a raw local websocket server (``raw_ws``) that writes
100,000 pre-built trade frames with one ``sendall``; the reader must then wait for
the dispatcher instead of dropping. ``benchmarks/bench_burst.py`` runs 20 rounds and
reports the reader's wait time and peak memory; here ``BURST_ROUNDS`` (default 3)
keeps the suite quick.
"""

from __future__ import annotations

import os
import threading
import tracemalloc
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync._exceptions import BadRequest
from ccxtpro_sync.simulator import LocalExchange

from .raw_ws import RawStreamServer, agg_trade_frames
from .support import fast_config, signal_logs, wait_for

TRADES = 100_000
ROUNDS = int(os.environ.get("BURST_ROUNDS", "3"))


class Collector:
    """Checks ids as they arrive: consecutive, none missing, none repeated."""

    def __init__(self) -> None:
        self.expected = 0
        self.count = 0
        self.gaps: list[tuple[int, int]] = []
        self.lock = threading.Condition()

    def __call__(self, batch: list[Any]) -> None:
        expected = self.expected
        for trade in batch:
            trade_id = int(trade.id)
            if trade_id != expected:
                self.gaps.append((expected, trade_id))
            expected = trade_id + 1
        with self.lock:
            self.expected = expected
            self.count += len(batch)
            self.lock.notify_all()

    def wait_count(self, count: int, timeout: float) -> None:
        with self.lock:
            if not self.lock.wait_for(lambda: self.count >= count, timeout):
                raise AssertionError(f"{self.count} of {count} trades arrived in {timeout}s")


@pytest.fixture
def raw_server() -> Any:
    server = RawStreamServer()
    yield server
    server.close()


def burst_client(exchange: LocalExchange, server: RawStreamServer, **extra: Any) -> Any:
    # Markets from the local exchange's REST, market streams from the raw server.
    return ccxtpro_sync.binance(fast_config(exchange, urls={"ws": server.url}, **extra))


def test_a_burst_at_socket_speed_loses_no_trade(raw_server: RawStreamServer) -> None:
    with LocalExchange(seed=1, auto_publish=False) as ex:
        client = burst_client(ex, raw_server, readTimeout=30.0, pingInterval=5.0)
        collector = Collector()
        with client, signal_logs(client) as logs:
            client.on_trades("BTC/USDT", handler=collector)
            raw_server.wait_subscribed("btcusdt@aggTrade", timeout=10)
            for round_ in range(ROUNDS):
                frames = agg_trade_frames("BTCUSDT", round_ * TRADES, TRADES)
                raw_server.blast(frames)
                collector.wait_count((round_ + 1) * TRADES, timeout=120)
                assert collector.gaps == [], f"round {round_}: ids skipped {collector.gaps[:5]}"
                assert collector.expected == (round_ + 1) * TRADES
            stats = client.hub.stats()
            assert stats["dropped"] == 0
            assert not logs["message_dropped"].events
            info = client.connections()[0]
            assert info.dropped == 0 and info.reader_wait >= 0.0


def test_a_stuck_callback_makes_the_reader_wait_up_to_the_bound_then_drop(
    raw_server: RawStreamServer,
) -> None:
    max_items, max_lag = 1_000, 0.5
    with LocalExchange(seed=1, auto_publish=False) as ex:
        client = burst_client(
            ex, raw_server, readTimeout=30.0, pingInterval=5.0, maxPending=max_items, maxLag=max_lag
        )
        release = threading.Event()
        entered = threading.Event()
        received: list[int] = []
        done = threading.Event()
        total = 20_000

        def stuck(batch: list[Any]) -> None:
            entered.set()
            release.wait(30)  # blocks on an event, not on time
            received.extend(int(t.id) for t in batch)
            if received[-1] == total - 1:
                done.set()

        try:
            with client, signal_logs(client) as logs:
                client.on_trades("BTC/USDT", handler=stuck)
                raw_server.wait_subscribed("btcusdt@aggTrade", timeout=10)
                raw_server.blast(agg_trade_frames("BTCUSDT", 0, 1))
                assert entered.wait(10)  # the dispatcher holds trade 0 and blocks
                tracemalloc.start()
                raw_server.blast(agg_trade_frames("BTCUSDT", 1, total - 1))
                drops = wait_for(
                    lambda: client.hub.stats()["dropped"] >= total - 1 - max_items,
                    timeout=30,
                    what="the policy to apply past the lag bound",
                )
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                stats = client.hub.stats()
                info = client.connections()[0]
                # the reader waited (backpressure) up to the bound, then the policy applied
                assert stats["reader_blocked"] >= 1
                # the bound is lag (the oldest queued trade's age), not the wait alone
                assert info.reader_wait > 0.0
                assert info.reader_blocked >= 1 and info.lag >= max_lag
                assert drops and stats["dropped"] == total - 1 - max_items
                # Each drop is signalled once the hub has counted it (outside its lock):
                # the signals catch up with the figure, to the exact count.
                dropped_log = logs["message_dropped"]
                wait_for(
                    lambda: sum(p["count"] for p in dropped_log.payloads) >= stats["dropped"],
                    timeout=10,
                    what="every drop signalled",
                )
                assert sum(p["count"] for p in dropped_log.payloads) == stats["dropped"]
                assert stats["queued"] == 1  # bounded: one entry of max_items trades
                assert peak < 20_000_000, f"peak {peak} bytes while the callback was stuck"
                release.set()
                assert done.wait(10)
                # drop_oldest past the bound: the newest max_items survive, in order
                assert received == [0, *range(total - max_items, total)]
                assert not logs["connection_closed"].events
        finally:
            release.set()


def test_drop_oldest_per_kind_drops_without_waiting(raw_server: RawStreamServer) -> None:
    with LocalExchange(seed=1, auto_publish=False) as ex:
        client = burst_client(
            ex,
            raw_server,
            readTimeout=30.0,
            pingInterval=5.0,
            maxPending=100,
            maxLag=30.0,
            callbackOverflow={"trades": "drop_oldest"},
        )
        release = threading.Event()
        entered = threading.Event()

        def stuck(batch: list[Any]) -> None:
            entered.set()
            release.wait(30)

        try:
            with client:
                client.on_trades("BTC/USDT", handler=stuck)
                raw_server.wait_subscribed("btcusdt@aggTrade", timeout=10)
                raw_server.blast(agg_trade_frames("BTCUSDT", 0, 1))
                assert entered.wait(10)
                raw_server.blast(agg_trade_frames("BTCUSDT", 1, 1_000))
                # with a 30 s lag bound, only drop_oldest can drop this soon
                wait_for(
                    lambda: client.hub.stats()["dropped"] == 900,
                    timeout=10,
                    what="drop_oldest to apply at once",
                )
                assert client.hub.stats()["reader_blocked"] == 0
                release.set()
        finally:
            release.set()


def test_an_unknown_overflow_policy_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="drop_oldest"):
        ccxtpro_sync.binance({"callbackOverflow": {"trades": "drop-newest"}})
    with pytest.raises(BadRequest, match="maxLag"):
        ccxtpro_sync.binance({"maxLag": -1})
