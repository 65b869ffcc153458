"""Fan-out through Redis: publish rate and socket → Redis → consumer latency.

Run by hand: ``.venv/bin/python benchmarks/bench_fanout.py [--seconds S] [--redis URL]``.
Needs redis-py and, without ``--redis``, a ``redis-server`` binary (a throwaway server
on a unix socket is started).

One run, three processes besides Redis: the blaster (a Binance-like websocket server),
a **collector** (``ccxtpro_sync.binance`` + ``Collector``, trades only) and the
**measuring** process, which holds both an in-process client subscribed to the blaster
directly (``local``) and a ``remote()`` consumer reading the collector's stream from
Redis (``remote``). Both see the same frames in the same run.

* Publish rate: the blaster sends ``--blast`` aggTrades as fast as the sockets take
  them; reported are the messages per second until the last one reached the local
  client's callback, and until it reached the remote consumer's callback (the
  collector's publish rate, bounded by its parse + encode + ``XADD`` pipeline).
* Latency: aggTrades at 1k and 10k msg/s, each stamped with its send time in µs of
  ``CLOCK_MONOTONIC`` (shared by every process) in the first trade id ``f`` (kept in
  the trade's ``info``; the trade ids stay consecutive); each consumer takes the clock
  in its ``on_trades`` callback. p50/p90/p99/max in µs.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _blaster import Blaster
from _common import WORKLOADS, ours_config, percentile, sent_us, table

STREAM, SYMBOL = WORKLOADS["trades"]
GRACE = 10.0
WARMUP = 500


def _now_us() -> int:
    return time.monotonic_ns() // 1000


@contextlib.contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("no redis-server binary: pass --redis URL")
    root = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    sock = root / "redis.sock"
    proc = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(sock), "--dir", str(root), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(unix_socket_path=str(sock))
    for _ in range(200):
        with contextlib.suppress(redis.RedisError):
            client.ping()
            break
        time.sleep(0.02)
    client.close()
    try:
        yield f"unix://{sock}"
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def collector_main(redis_url: str, ws_url: str, rest_url: str) -> None:
    """The collector process: publishes until its stdin closes."""
    import ccxtpro_sync
    from ccxtpro_sync.fanout import Collector

    with (
        ccxtpro_sync.binance(ours_config(ws_url, rest_url)) as client,
        Collector(client, redis_url, [SYMBOL], channels=["trades"], prefix="bench") as collector,
    ):
        if not collector.wait_active(10):
            sys.exit("collector did not get its lease")
        print("ready", flush=True)
        sys.stdin.read()
        print(collector.stats(), file=sys.stderr)


class Meter:
    """Latencies and arrival of a marker id, per consumer."""

    def __init__(self) -> None:
        self.latencies: list[int] = []
        self.cond = threading.Condition()
        self.count = 0
        self.last_id = -1

    def reset(self) -> None:
        with self.cond:
            self.latencies = []
            self.count = 0

    def on_trades(self, trades: list[Any]) -> None:
        now = _now_us()
        with self.cond:
            self.latencies.extend(now - sent_us(t) for t in trades)
            self.count += len(trades)
            self.last_id = int(trades[-1].id)
            self.cond.notify_all()

    def wait_count(self, n: int, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.count >= n, timeout)


def summary(latencies: list[int]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50": float(percentile(ordered, 50)),
        "p90": float(percentile(ordered, 90)),
        "p99": float(percentile(ordered, 99)),
        "max": float(ordered[-1]) if ordered else float("nan"),
        "n": float(len(ordered)),
    }


def measure(redis_url: str, rates: list[float], seconds: float, blast: int) -> None:
    import redis

    import ccxtpro_sync
    from ccxtpro_sync.fanout import remote

    logging.getLogger("ccxtpro_sync.fanout").setLevel(logging.ERROR)
    with contextlib.closing(redis.Redis.from_url(redis_url)) as admin:
        stale = list(admin.scan_iter("bench:*"))  # ids of a previous run would refuse ours
        if stale:
            admin.delete(*stale)
    with Blaster() as blaster:
        collector = subprocess.Popen(
            [sys.executable, __file__, "--collector", redis_url, blaster.ws_url, blaster.rest_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert collector.stdout is not None and collector.stdin is not None
        if collector.stdout.readline().strip() != "ready":
            sys.exit("collector failed")
        local, far = Meter(), Meter()
        client = ccxtpro_sync.binance(ours_config(blaster.ws_url, blaster.rest_url))
        consumer = remote(redis_url, prefix="bench", start="latest", block_ms=1000)
        rows: list[list[Any]] = []
        try:
            client.on_trades(SYMBOL, handler=local.on_trades)
            consumer.on_trades(SYMBOL, handler=far.on_trades)
            blaster.wait_subscribed(STREAM, 2)
            time.sleep(0.5)  # let the consumer's first XREAD start
            # publish rate: a blast of index-numbered trades (ids below the stamps to come)
            local.reset()
            far.reset()
            blaster.prepare(STREAM, blast)
            started = time.perf_counter()
            blaster.go()
            blaster.wait_done()
            local.wait_count(blast, 60)
            local_s = time.perf_counter() - started
            far.wait_count(blast, 120)
            far_s = time.perf_counter() - started
            rows.append(["blast", f"{blast:,}", f"{blast / local_s:,.0f}", f"{blast / far_s:,.0f}",
                         f"{local.count:,}", f"{far.count:,}"])  # fmt: skip
            print(table(["run", "messages", "local msg/s", "remote msg/s", "local got",
                         "remote got"], rows), flush=True)  # fmt: skip
            latency_rows: list[list[Any]] = []
            for rate in rates:
                count = int(rate * seconds)
                for total in (WARMUP, count):
                    local.reset()
                    far.reset()
                    blaster.paced(STREAM, total, rate)
                    local.wait_count(total, GRACE)
                    far.wait_count(total, GRACE)
                for name, meter in (("local", local), ("remote", far)):
                    s = summary(meter.latencies)
                    latency_rows.append([f"{rate:,.0f}", name, s["p50"], s["p90"], s["p99"],
                                         s["max"], f"{meter.count}/{count}"])  # fmt: skip
            print(table(["rate msg/s", "consumer", "p50 µs", "p90 µs", "p99 µs", "max µs",
                         "received"], latency_rows), flush=True)  # fmt: skip
        finally:
            consumer.close()
            client.close()
            collector.stdin.close()
            collector.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", default=os.environ.get("CCXTPRO_SYNC_TEST_REDIS_URL"))
    parser.add_argument("--rates", default="1000,10000")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--blast", type=int, default=50_000)
    parser.add_argument("--collector", nargs=3, metavar=("REDIS", "WS", "REST"))
    args = parser.parse_args()
    if args.collector:
        collector_main(*args.collector)
        return
    with redis_server(args.redis) as url:
        measure(url, [float(r) for r in args.rates.split(",")], args.seconds, args.blast)


if __name__ == "__main__":
    main()
