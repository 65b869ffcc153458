"""Latency from the server's send to the consumer, at a fixed message rate.

Run by hand: ``.venv/bin/python benchmarks/bench_latency.py [--quick] [--pin]``.

The blaster sends ``aggTrade`` frames at a steady rate (1k and 10k msg/s by default;
it sleeps to each due time and never spins, which would take a core from the client).
Each frame carries its send time, in µs of ``CLOCK_MONOTONIC`` (shared by every
process of the machine), in the first trade id ``f``, which both clients keep in the
trade's ``info``; the aggregate ids ``a`` stay consecutive (the library holds trades
back while it fills a gap in them). The consumer takes
the clock again when it sees the trade:

* ``bare``: right after websocket-client's ``recv_data`` returns the frame;
* ``ours``: in the ``on_trades`` callback (dispatcher thread), for each trade of the batch;
* ``ccxt``: after ``await watch_trades(...)`` returns, for each new trade.

Reported: p50/p90/p99/p99.9 in µs per client and rate, each the median over the
repeats (every repeat a fresh process per client, interleaved).
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from _blaster import Blaster
from _common import (
    CLIENT_CPU,
    SERVER_CPU,
    WORKLOADS,
    ccxt_exchange,
    emit,
    median,
    ours_config,
    percentile,
    pin,
    run_worker,
    sent_us,
    table,
    use_ref,
)

VARIANTS = ("bare", "ours", "ccxt")
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
STREAM, SYMBOL = WORKLOADS["trades"]
GRACE = 5.0  # seconds to wait for stragglers after the last send
WARMUP = 500


def _now_us() -> int:
    return time.monotonic_ns() // 1000


def _sent(frame: bytes) -> int:
    """The ``f`` field of a combined aggTrade frame, without a JSON decoder."""
    start = frame.index(b'"f":') + 4
    return int(frame[start : frame.index(b",", start)])


def run_bare(blaster: Blaster, rate: float, count: int) -> list[int]:
    import websocket

    ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=False)
    ws.connect(f"{blaster.ws_url}/stream?streams={STREAM}", suppress_origin=True)
    ws.settimeout(GRACE)
    blaster.wait_subscribed(STREAM)
    recv = ws.recv_data
    latencies: list[int] = []
    try:
        for total in (WARMUP, count):
            latencies = []
            blaster.start_paced(STREAM, total, rate)
            for _ in range(total):
                _, frame = recv(control_frame=True)
                latencies.append(_now_us() - _sent(frame))
            blaster.paced_result()
    finally:
        ws.close()
    return latencies


def run_ours(blaster: Blaster, rate: float, count: int) -> list[int]:
    import ccxtpro_sync

    latencies: list[int] = []
    enough = threading.Event()
    wanted = [WARMUP]

    def on_trades(trades: list[Any]) -> None:
        now = _now_us()
        latencies.extend(now - sent_us(t) for t in trades)
        if len(latencies) >= wanted[0]:
            enough.set()

    client = ccxtpro_sync.binance(ours_config(blaster.ws_url, blaster.rest_url))
    try:
        client.on_trades(SYMBOL, on_trades)
        blaster.wait_subscribed(STREAM)
        for total in (WARMUP, count):
            latencies.clear()
            enough.clear()
            wanted[0] = total
            blaster.start_paced(STREAM, total, rate)
            blaster.paced_result()
            enough.wait(GRACE)
        result = list(latencies)
    finally:
        client.close()
    return result


def run_ccxt(blaster: Blaster, rate: float, count: int) -> list[int]:
    return asyncio.run(_ccxt(blaster, rate, count))


async def _ccxt(blaster: Blaster, rate: float, count: int) -> list[int]:
    exchange = ccxt_exchange(blaster.ws_url, blaster.rest_url)
    latencies: list[int] = []

    async def consume() -> None:
        while True:
            trades = await exchange.watch_trades(SYMBOL, params={"name": "aggTrade"})
            now = _now_us()
            latencies.extend(now - int(t["info"]["f"]) for t in trades)

    try:
        await exchange.load_markets()
        task = asyncio.create_task(consume())
        await asyncio.to_thread(blaster.wait_subscribed, STREAM)
        for total in (WARMUP, count):
            latencies.clear()
            blaster.start_paced(STREAM, total, rate)
            await asyncio.to_thread(blaster.paced_result)
            deadline = time.monotonic() + GRACE
            while len(latencies) < total and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        result = list(latencies)
        task.cancel()
    finally:
        await exchange.close()
    return result


RUNNERS: dict[str, Callable[[Blaster, float, int], list[int]]] = {
    "bare": run_bare,
    "ours": run_ours,
    "ccxt": run_ccxt,
}


def summary(latencies: list[int], count: int) -> dict[str, float]:
    ordered = sorted(latencies)
    out = {f"p{q:g}": float(percentile(ordered, q)) for q in PERCENTILES}
    out["received"] = len(latencies) / count
    out["max"] = float(ordered[-1]) if ordered else float("nan")
    return out


def worker(variant: str, rates: list[float], seconds: float, pinned: bool) -> None:
    pin(CLIENT_CPU if pinned else None)
    results = {}
    with Blaster(cpu=SERVER_CPU if pinned else None) as blaster:
        for rate in rates:
            count = int(rate * seconds)
            results[str(rate)] = summary(RUNNERS[variant](blaster, rate, count), count)
    emit(results)


def collect(
    variants: list[str], rates: list[float], seconds: float, repeat: int, pinned: bool
) -> dict[tuple[str, float], list[dict[str, float]]]:
    found: dict[tuple[str, float], list[dict[str, float]]] = {}
    for _ in range(repeat):
        for variant in variants:
            args = ["--worker", variant, "--rates", ",".join(f"{r:g}" for r in rates)]
            args += ["--seconds", str(seconds)] + (["--pin"] if pinned else [])
            for rate, stats in run_worker("bench_latency.py", args).items():
                found.setdefault((variant, float(rate)), []).append(stats)
    return found


def summarise(found: dict[tuple[str, float], list[dict[str, float]]]) -> list[dict[str, Any]]:
    rows = []
    for (variant, rate), runs in sorted(found.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        row: dict[str, Any] = {"rate": rate, "variant": variant}
        for key in [f"p{q:g}" for q in PERCENTILES] + ["max", "received"]:
            row[key] = median([r[key] for r in runs])
        rows.append(row)
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    headers = ["rate msg/s", "client", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "recv"]
    body = [
        [
            f"{r['rate']:,.0f}",
            r["variant"],
            r["p50"],
            r["p90"],
            r["p99"],
            r["p99.9"],
            r["max"],
            f"{r['received']:.0%}",
        ]
        for r in rows
    ]
    return table(headers, body)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs, one repeat")
    parser.add_argument("--rates", default="1000,10000", help="messages per second")
    parser.add_argument("--seconds", type=float, help="seconds per rate (default 5, quick 1.5)")
    parser.add_argument("--repeat", type=int, help="rounds (default 3, quick 1)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--pin", action="store_true", help="pin server and client CPUs")
    parser.add_argument("--ref", default="HEAD", help="library commit to measure, or 'worktree'")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    seconds = args.seconds or (1.5 if args.quick else 5.0)
    if args.worker:
        worker(args.worker, rates, seconds, args.pin)
        return
    label = use_ref(args.ref)
    repeat = args.repeat or (1 if args.quick else 3)
    found = collect(args.variants.split(","), rates, seconds, repeat, args.pin)
    print(f"latency ({label}): aggTrade, {seconds:g} s per rate, median of {repeat} rounds")
    print(render(summarise(found)))


if __name__ == "__main__":
    main()
