"""Fan-out end to end: local exchange → collector process → real Redis → consumers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import redis

import ccxtpro_sync
from ccxtpro_sync.fanout import Collector, KeySchema, codec, fanout_signals, remote
from ccxtpro_sync.simulator import LocalExchange
from ccxtpro_sync.simulator.catalog import MARKETS

from .consumer_proc import book_digest

ROOT = Path(__file__).resolve().parents[2]
SYMBOL = "BTC/USDT"
ENVIRON = {**os.environ, "PYTHONPATH": str(ROOT)}


def make_client(exchange: LocalExchange) -> ccxtpro_sync.binance:
    return ccxtpro_sync.binance(
        {
            "environment": "local",
            "local": exchange,
            "timeout": 10,
            "reconnect": ccxtpro_sync.default_reconnect_policy(initial=0.05, maximum=0.5),
        }
    )


def urls(exchange: LocalExchange) -> str:
    return json.dumps({m: exchange.urls(m) for m in MARKETS})


class Collected:
    """What an in-process consumer saw, with a condition to wait on."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.trades: list[int] = []
        self.books: dict[int, str] = {}
        self.gaps: list[dict[str, Any]] = []

    def on_trades(self, batch: list[Any]) -> None:
        with self.cond:
            self.trades.extend(int(t.id) for t in batch)
            self.cond.notify_all()

    def on_book(self, book: Any) -> None:
        with self.cond:
            self.books[int(book.nonce)] = book_digest(book)
            self.cond.notify_all()

    def on_gap(self, sender: Any, **payload: Any) -> None:
        with self.cond:
            self.gaps.append(payload)
            self.cond.notify_all()

    def wait(self, predicate: Any, timeout: float = 30.0, what: str = "") -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise AssertionError(f"timed out waiting for {what}: {len(self.trades)} trades")


class CollectorProcess:
    """``ccxtpro-sync collect`` in a child process; reads its JSON event lines."""

    def __init__(self, exchange: LocalExchange, url: str, prefix: str, *extra: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ccxtpro_sync", "collect", SYMBOL, "--redis", url,
             "--prefix", prefix, "--urls", urls(exchange), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENVIRON, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                with self.cond:
                    self.events.append(json.loads(line))
                    self.cond.notify_all()

    def wait_event(self, predicate: Any, timeout: float = 30.0) -> dict[str, Any]:
        with self.cond:
            found: list[dict[str, Any]] = []

            def seen() -> bool:
                found[:] = [e for e in self.events if predicate(e)]
                return bool(found)

            if not self.cond.wait_for(seen, timeout):
                raise AssertionError(f"collector never reported the event; saw {self.events}")
            return found[0]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(30)
        self._reader.join(10)


@contextlib.contextmanager
def active_and_standby(
    exchange: LocalExchange, redis_url: str, prefix: str, *extra: str
) -> Iterator[tuple[CollectorProcess, CollectorProcess]]:
    """Two collector processes (``extra`` arguments): "first" once it holds the lease,
    then "second", started as its standby. Both are SIGKILLed after the block."""
    first = CollectorProcess(exchange, redis_url, prefix, *extra, "--owner", "first")
    second = None
    try:
        first.wait_event(lambda e: e.get("event") == "lease" and e["active"])
        second = CollectorProcess(exchange, redis_url, prefix, *extra, "--owner", "second")
        second.wait_event(lambda e: e.get("event") == "started")
        yield first, second
    finally:
        first.stop(signal.SIGKILL)
        if second is not None:
            second.stop(signal.SIGKILL)


def exchange_fixture(seed: int) -> Any:
    """A module's ``exchange`` fixture: a fast-ticking local exchange of ``seed``."""

    @pytest.fixture(name="exchange")
    def exchange() -> Iterator[LocalExchange]:
        with LocalExchange(seed=seed, speed=10.0, tick_interval=0.01) as ex:
            yield ex

    return exchange


exchange = exchange_fixture(seed=11)


def test_consumer_processes_see_the_in_process_sequence(
    exchange: LocalExchange, redis_url: str, prefix: str
) -> None:
    local = Collected()
    with make_client(exchange) as client:
        client.on_trades(SYMBOL, handler=local.on_trades)
        client.on_order_book(SYMBOL, handler=local.on_book)
        local.wait(lambda: local.trades and local.books, what="the in-process client")
        collector = CollectorProcess(exchange, redis_url, prefix, "--lease-ttl", "2")
        try:
            consumers = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.fanout.consumer_proc",
                        redis_url,
                        prefix,
                        SYMBOL,
                        "150",
                        "60",
                    ],
                    stdout=subprocess.PIPE,
                    env=ENVIRON,
                    cwd=ROOT,
                    text=True,
                )
                for _ in range(2)
            ]
            outputs = [json.loads(p.communicate(timeout=90)[0]) for p in consumers]
        finally:
            collector.stop()
        with local.cond:
            trades, books = list(local.trades), dict(local.books)
    assert trades == list(range(trades[0], trades[0] + len(trades)))  # the reference itself
    for out in outputs:
        assert out["ok"], "a consumer process did not get enough updates"
        got: list[int] = out["trades"]
        assert got == list(range(got[0], got[0] + len(got))), "consumer trades not consecutive"
        start = trades.index(got[0])
        assert trades[start : start + len(got)] == got
        assert not out["gaps"]
        common = set(out["books"]) & {str(n) for n in books}
        assert len(common) >= 10, f"too few books at common update ids: {len(common)}"
        for nonce in common:
            assert out["books"][nonce] == books[int(nonce)], f"books differ at update id {nonce}"
    stopped = collector.wait_event(lambda e: e["event"] == "stopped")
    assert stopped["dropped"] == 0 and stopped["errors"] == 0
    lease = KeySchema(prefix=prefix).lease(0, 1)
    assert redis.Redis.from_url(redis_url).get(lease) is None, "SIGTERM gives the lease up"


def test_sigkilled_collector_is_replaced_by_the_standby(
    exchange: LocalExchange, redis_url: str, prefix: str
) -> None:
    seen = Collected()
    fanout_signals.fanout_gap.connect(seen.on_gap)
    try:
        with active_and_standby(exchange, redis_url, prefix, "--lease-ttl", "1") as (
            first,
            second,
        ):
            with remote(redis_url, prefix=prefix, start="earliest") as consumer:
                consumer.on_trades(SYMBOL, handler=seen.on_trades)
                seen.wait(lambda: len(seen.trades) >= 50, what="trades from the first collector")
                # let the standby's own stream run a while, so its buffer overlaps the stream
                with seen.cond:
                    mark = len(seen.trades)
                seen.wait(lambda: len(seen.trades) >= mark + 100, what="trades while both run")
                first.stop(signal.SIGKILL)
                with seen.cond:
                    before_kill = len(seen.trades)
                second.wait_event(lambda e: e.get("event") == "lease" and e["active"])
                seen.wait(
                    lambda: len(seen.trades) >= before_kill + 100, what="trades after takeover"
                )
            second.stop()
            stopped = second.wait_event(lambda e: e["event"] == "stopped")
    finally:
        fanout_signals.fanout_gap.disconnect(seen.on_gap)
    ids = seen.trades
    assert len(set(ids)) == len(ids), "a trade was delivered twice"
    assert ids == sorted(ids)
    jumps = [(a, b) for a, b in pairwise(ids) if b != a + 1]
    reported = [(g["after"], g["before"]) for g in seen.gaps]
    assert jumps == reported, "every gap is reported, and only real gaps"
    # the standby's buffered trades overlapped what the first had written: refused by id
    assert stopped["duplicates"] > 0


def test_redis_restart_loses_nothing_within_the_buffer(
    exchange: LocalExchange, own_redis: Any, prefix: str
) -> None:
    seen = Collected()
    fanout_signals.fanout_gap.connect(seen.on_gap)
    try:
        with (
            make_client(exchange) as client,
            Collector(client, own_redis.url, [SYMBOL], prefix=prefix, lease_ttl=30.0) as collector,
        ):
            assert collector.wait_active(10)
            with remote(own_redis.url, prefix=prefix, start="earliest") as consumer:
                consumer.on_trades(SYMBOL, handler=seen.on_trades)
                seen.wait(lambda: len(seen.trades) >= 30, what="trades before the restart")
                own_redis.kill()
                local = Collected()
                with client.on_trades(SYMBOL, handler=local.on_trades):
                    local.wait(lambda: len(local.trades) >= 50, what="trades while Redis is down")
                own_redis.start()
                last = local.trades[-1]
                seen.wait(lambda: seen.trades and seen.trades[-1] >= last, what="catching up")
            # A consumer can read a batch before the writer has counted it written
            # (and reset its failure count): wait for the writer to settle first.
            assert collector.flush(30), "the writer never settled"
            stats = collector.stats()
    finally:
        fanout_signals.fanout_gap.disconnect(seen.on_gap)
    ids = seen.trades
    assert ids == list(range(ids[0], ids[0] + len(ids))), "a trade was lost or repeated"
    assert not seen.gaps
    assert stats["dropped"] == 0 and stats["redis_failures"] == 0


def test_redis_outage_beyond_the_buffer_is_counted_and_signalled(
    exchange: LocalExchange, own_redis: Any, prefix: str
) -> None:
    seen = Collected()
    drops: list[dict[str, Any]] = []
    fanout_signals.fanout_gap.connect(seen.on_gap)

    def on_drop(sender: Any, **payload: Any) -> None:
        drops.append(payload)

    fanout_signals.fanout_dropped.connect(on_drop)
    try:
        with (
            make_client(exchange) as client,
            # standby_buffer <= max_buffer: what arrives before the lease is taken fits
            # the buffer, so nothing is dropped ahead of the stream's first entry (a
            # drop no consumer could see).
            Collector(
                client, own_redis.url, [SYMBOL], prefix=prefix, lease_ttl=30.0,
                channels=["trades"], max_buffer=20, standby_buffer=20,
            ) as collector,
        ):  # fmt: skip
            assert collector.wait_active(10)
            with remote(own_redis.url, prefix=prefix, start="earliest") as consumer:
                consumer.on_trades(SYMBOL, handler=seen.on_trades)
                seen.wait(lambda: len(seen.trades) >= 10, what="trades before the outage")
                own_redis.kill()
                local = Collected()
                with client.on_trades(SYMBOL, handler=local.on_trades):
                    local.wait(lambda: len(local.trades) >= 100, what="trades while Redis is down")
                own_redis.start()
                assert collector.flush(30), "the writer never caught up"
                # Trades keep coming: stop the collector, so that nothing is queued,
                # dropped or written any more, and the consumer reads to the stream's
                # end (a drop after the last entry it read would be one it cannot see).
                collector.close(30)
                stats = collector.stats()
                newest = redis.Redis.from_url(own_redis.url).xrevrange(
                    collector.schema.trades(SYMBOL), count=1
                )
                end = int(newest[0][0].split(b"-")[0])
                seen.wait(lambda: seen.trades and seen.trades[-1] >= end, what="the stream's end")
    finally:
        fanout_signals.fanout_gap.disconnect(seen.on_gap)
        fanout_signals.fanout_dropped.disconnect(on_drop)
    assert stats["dropped"] > 0
    assert sum(d["count"] for d in drops) == stats["dropped"]
    ids = seen.trades
    missing = sum(b - a - 1 for a, b in pairwise(ids))
    assert missing == stats["dropped"], "what the consumer misses is what was dropped"
    assert seen.gaps, "the consumer reports the gap"


def test_named_consumer_resumes_after_its_last_entry(
    exchange: LocalExchange, redis_url: str, prefix: str
) -> None:
    first, second = Collected(), Collected()
    fanout_signals.fanout_gap.connect(second.on_gap)
    try:
        with (
            make_client(exchange) as client,
            Collector(client, redis_url, [SYMBOL], prefix=prefix, channels=["trades"]) as collector,
        ):
            assert collector.wait_active(10)
            with (
                remote(redis_url, prefix=prefix, name="worker", start="earliest") as consumer,
                consumer.stream_trades(SYMBOL, timeout=10) as batches,
            ):
                for batch in batches:  # a loop that stops with more pending: they stay unread
                    first.on_trades(batch)
                    if len(first.trades) >= 40:
                        break
            later = Collected()
            with client.on_trades(SYMBOL, handler=later.on_trades):
                later.wait(lambda: len(later.trades) >= 40, what="trades between the runs")
            with remote(redis_url, prefix=prefix, name="worker", start="latest") as consumer:
                consumer.on_trades(SYMBOL, handler=second.on_trades)
                second.wait(lambda: len(second.trades) >= 60, what="the second run")
    finally:
        fanout_signals.fanout_gap.disconnect(second.on_gap)
    assert second.trades[0] == first.trades[-1] + 1, "resumed right after the last trade"
    ids = first.trades + second.trades
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    assert not second.gaps


def test_takeover_repeats_no_ticker_or_candle(
    exchange: LocalExchange, redis_url: str, prefix: str
) -> None:
    """The standby buffers tickers and candles too and writes them on takeover; their
    ids come from the exchange's data, so what the first collector wrote is refused."""
    extra = ("--lease-ttl", "1", "--channels", "ticker,ohlcv", "--timeframes", "1m")
    schema = KeySchema(prefix=prefix)
    ticker_key, candle_key = schema.ticker(SYMBOL), schema.ohlcv(SYMBOL, "1m")
    seen = Collected()
    tickers: list[tuple[int, int]] = []
    candles: list[tuple[Any, ...]] = []

    def on_ticker(ticker: Any) -> None:
        with seen.cond:
            tickers.append((ticker.info["E"], ticker.info["L"]))
            seen.cond.notify_all()

    def on_ohlcv(batch: list[Any]) -> None:
        with seen.cond:
            candles.extend(tuple(c) for c in batch)
            seen.cond.notify_all()

    with active_and_standby(exchange, redis_url, prefix, *extra) as (first, second):
        with remote(redis_url, prefix=prefix, start="earliest") as consumer:
            consumer.on_ticker(SYMBOL, handler=on_ticker)
            consumer.on_ohlcv(SYMBOL, "1m", handler=on_ohlcv)
            seen.wait(lambda: len(tickers) >= 20 and len(candles) >= 20, what="both running")
            first.stop(signal.SIGKILL)
            with seen.cond:
                at_kill = (len(tickers), len(candles))
            second.wait_event(lambda e: e.get("event") == "lease" and e["active"])
            seen.wait(
                lambda: len(tickers) >= at_kill[0] + 20 and len(candles) >= at_kill[1] + 20,
                what="tickers and candles after takeover",
            )
        second.stop()
        stopped = second.wait_event(lambda e: e["event"] == "stopped")
    # what any consumer reads: every entry of both streams, compared by exchange fields
    r = redis.Redis.from_url(redis_url)
    stream_tickers = [
        (t.info["E"], t.info["L"])
        for _, f in r.xrange(ticker_key)
        for t in [codec.decode_ticker(f[codec.FIELD])]
    ]
    stream_candles = [tuple(codec.decode_ohlcv(f[codec.FIELD])) for _, f in r.xrange(candle_key)]
    assert len(set(stream_tickers)) == len(stream_tickers), "a ticker was written twice"
    assert len(set(stream_candles)) == len(stream_candles), "a candle update was written twice"
    assert stream_tickers == sorted(stream_tickers)
    assert [c[0] for c in stream_candles] == sorted(c[0] for c in stream_candles)
    assert len(set(tickers)) == len(tickers), "the consumer saw a ticker twice"
    assert len(set(candles)) == len(candles), "the consumer saw a candle update twice"
    # only tickers and candles here: the standby buffered them while the first wrote,
    # and on takeover Redis refused those the first had written already
    assert stopped["duplicates"] > 0, "the standby's buffer did not reach the takeover"
    assert stopped["errors"] == 0
