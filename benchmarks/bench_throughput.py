"""Throughput and CPU per message, socket to callback, against the same-run bare loop.

Run by hand: ``.venv/bin/python benchmarks/bench_throughput.py [--quick] [--pin]``.

The blaster (``_blaster.py``, its own process) pushes N pre-built frames of one
workload (``aggTrade`` trades, ``24hrTicker`` tickers, ``depthUpdate`` diffs) as fast
as the client takes them over 127.0.0.1. Four clients take them, each in a fresh
interpreter, interleaved repeat by repeat so that drift hits them alike:

* ``ceiling``: the decode ceiling (``_ceiling.py``): frames walked in one buffer, one
  typed ``msgspec`` decode per message, nothing else;
* ``bare``: websocket-client's ``recv_data`` loop on the same combined stream, doing
  nothing with the frames (the physical floor of a Python websocket-client reader);
* ``ours``: ``ccxtpro_sync.binance`` with ``on_trades``/``on_ticker``/``on_order_book``;
  the callback runs on the dispatcher thread;
* ``ccxt``: ``ccxt.pro.binance`` (asyncio + aiohttp) with a ``watch_*`` loop.

A run ends when the consumer sees the last message's marker (trade id, ticker ``n``,
book ``nonce``). Reported: messages/s (N / wall time from the server's go), client
CPU seconds per message (``time.process_time``, all threads), and medians over the
repeats of the per-repeat ratios ours/ceiling, ours/bare and ours/ccxt.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from _blaster import Blaster
from _common import (
    CLIENT_CPU,
    SERVER_CPU,
    WORKLOADS,
    Sample,
    ccxt_exchange,
    emit,
    export_ref,
    median,
    ours_config,
    pin,
    run_worker,
    table,
    use_ref,
)

VARIANTS = ("bare", "ceiling", "ours", "ccxt")
TIMEOUT = 120.0


def _measure(
    blaster: Blaster, stream: str, count: int, wait: Callable[[], None]
) -> tuple[float, float]:
    """Prepare ``count`` frames, start the blast, ``wait()`` for the end; (wall, cpu)."""
    blaster.prepare(stream, count)
    cpu0, t0 = time.process_time(), time.perf_counter()
    blaster.go()
    wait()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    blaster.wait_done()
    return wall, cpu


# -- bare ----------------------------------------------------------------------------------
def run_bare(blaster: Blaster, workload: str, n: int, warmup: int) -> Sample:
    import websocket

    stream, _ = WORKLOADS[workload]
    ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=False)
    ws.connect(f"{blaster.ws_url}/stream?streams={stream}", suppress_origin=True)
    blaster.wait_subscribed(stream)
    recv = ws.recv_data
    try:
        results = []
        for count in (warmup, n):

            def receive(count: int = count) -> None:
                for _ in range(count):
                    recv(control_frame=True)

            results.append(_measure(blaster, stream, count, receive))
    finally:
        ws.close()
    wall, cpu = results[-1]
    return Sample("bare", workload, n, wall, cpu)


# -- decode ceiling ------------------------------------------------------------------------
def run_ceiling(blaster: Blaster, workload: str, n: int, warmup: int) -> Sample:
    """Frames walked in a 256 KiB buffer, one typed msgspec decode each (``_ceiling``)."""
    from _ceiling import CeilingReader, connect

    stream, _ = WORKLOADS[workload]
    sock, leftover = connect(f"{blaster.ws_url}/stream?streams={stream}")
    sock.settimeout(TIMEOUT)
    reader = CeilingReader(sock, leftover, workload)
    blaster.wait_subscribed(stream)
    try:
        results = []
        for count in (warmup, n):
            target = blaster.prepare(stream, count)
            cpu0, t0 = time.process_time(), time.perf_counter()
            blaster.go()
            last = reader.run(count)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            blaster.wait_done()
            if last != target:
                raise RuntimeError(f"ceiling/{workload}: last marker {last}, expected {target}")
            results.append((wall, cpu))
    finally:
        reader.close()
    wall, cpu = results[-1]
    return Sample("ceiling", workload, n, wall, cpu)


# -- ours ----------------------------------------------------------------------------------
def run_ours(
    blaster: Blaster, workload: str, n: int, warmup: int, *, reader_only: bool = False
) -> Sample:
    """``reader_only`` (what-if): values go to the check on the reader thread, skipping
    the hub and the dispatcher hop (see ``_whatif.py``)."""
    import ccxtpro_sync

    stream, symbol = WORKLOADS[workload]
    target = [math.inf]
    done = threading.Event()
    first = threading.Event()

    def check(marker: int) -> None:
        first.set()
        if marker >= target[0]:
            done.set()

    client = ccxtpro_sync.binance(ours_config(blaster.ws_url, blaster.rest_url))
    try:
        handler = _handlers(check)[workload]
        if workload == "trades":
            client.on_trades(symbol, handler)
        elif workload == "ticker":
            client.on_ticker(symbol, handler)
        else:
            client.on_order_book(symbol, handler)
        if reader_only:
            from _whatif import reader_only as patch

            patch(client, handler)
        blaster.wait_subscribed(stream)
        if workload == "depth":  # diffs until the REST snapshot has synced the book
            while not first.wait(0.02):
                blaster.one(stream)
        results = []
        for count in (warmup, n):
            done.clear()
            before = client.hub.stats()
            snapshots = blaster.depth_requests()
            target[0] = blaster.prepare(stream, count)
            with _sampled(count == n):
                cpu0, t0 = time.process_time(), time.perf_counter()
                blaster.go()
                if not done.wait(TIMEOUT):
                    raise TimeoutError(f"ours/{workload}: last message never reached the callback")
                wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            blaster.wait_done()
            after = client.hub.stats()
            stats = {k: after[k] - before[k] for k in after}
            # a snapshot fetched during the blast means the book resynced and jumped
            # to the end: that run's depth figure would not be a synced-book figure
            stats["resyncs"] = blaster.depth_requests() - snapshots
            results.append((wall, cpu, stats))
    finally:
        client.close()
    wall, cpu, stats = results[-1]
    extra = {k: stats[k] for k in ("delivered", "coalesced", "dropped", "resyncs")}
    return Sample("ours", workload, n, wall, cpu, extra)


@contextlib.contextmanager
def _sampled(active: bool) -> Iterator[None]:
    """With ``BENCH_PYSPY=<file>`` set, record this process with py-spy (raw stacks,
    all threads) for the duration of the block (``profile_hotpath.py`` sets it)."""
    target = os.environ.get("BENCH_PYSPY")
    if not (active and target):
        yield
        return
    local = pathlib.Path(sys.executable).with_name("py-spy")
    command = [
        str(local) if local.exists() else "py-spy",
        "record",
        "--pid",
        str(os.getpid()),
        "--rate",
        "400",
        "--threads",
        "--format",
        "raw",
        "--output",
        target,
    ]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # let py-spy attach before the blast starts
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


def _handlers(check: Callable[[int], None]) -> dict[str, Callable[[Any], None]]:
    """Per workload: the callback that passes the value's marker to ``check``."""
    return {
        "trades": lambda trades: check(int(trades[-1].id)),
        "ticker": lambda ticker: check(ticker.info.trade_count),
        "depth": lambda book: check(book.nonce),
    }


# -- ccxt ----------------------------------------------------------------------------------
def run_ccxt(blaster: Blaster, workload: str, n: int, warmup: int) -> Sample:
    return asyncio.run(_ccxt(blaster, workload, n, warmup))


async def _ccxt(blaster: Blaster, workload: str, n: int, warmup: int) -> Sample:
    stream, symbol = WORKLOADS[workload]
    exchange = ccxt_exchange(blaster.ws_url, blaster.rest_url)
    target = [math.inf]
    done = asyncio.Event()
    first = asyncio.Event()
    seen = [0]

    async def consume() -> None:
        while True:
            if workload == "trades":
                trades = await exchange.watch_trades(symbol, params={"name": "aggTrade"})
                marker, seen[0] = int(trades[-1]["id"]), seen[0] + len(trades)
            elif workload == "ticker":
                ticker = await exchange.watch_ticker(symbol, params={"name": "ticker"})
                marker, seen[0] = int(ticker["info"]["n"]), seen[0] + 1
            else:
                book = await exchange.watch_order_book(symbol)
                marker, seen[0] = int(book["nonce"]), seen[0] + 1
            first.set()
            if marker >= target[0]:
                done.set()

    try:
        await exchange.load_markets()
        task = asyncio.create_task(consume())
        await asyncio.to_thread(blaster.wait_subscribed, stream)
        if workload == "depth":
            while not first.is_set():
                blaster.one(stream)
                await asyncio.sleep(0.02)
        results = []
        for count in (warmup, n):
            done.clear()
            seen[0] = 0
            target[0] = blaster.prepare(stream, count)
            cpu0, t0 = time.process_time(), time.perf_counter()
            blaster.go()
            await asyncio.wait_for(done.wait(), TIMEOUT)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            blaster.wait_done()
            results.append((wall, cpu, seen[0]))
        task.cancel()
    finally:
        await exchange.close()
    wall, cpu, consumed = results[-1]
    return Sample("ccxt", workload, n, wall, cpu, {"consumed": consumed})


RUNNERS: dict[str, Callable[[Blaster, str, int, int], Sample]] = {
    "bare": run_bare,
    "ceiling": run_ceiling,
    "ours": run_ours,
    "ccxt": run_ccxt,
    # what-if variants for profile_hotpath.py (see _whatif.py)
    "bare+buf": run_bare,
    "ours+buf": run_ours,
    "ours-reader": partial(run_ours, reader_only=True),
    "ours-reader+buf": partial(run_ours, reader_only=True),
}


def worker(variant: str, workloads: list[str], n: int, warmup: int, pinned: bool) -> None:
    """One variant, each workload once, in this fresh process; prints JSON samples."""
    pin(CLIENT_CPU if pinned else None)
    if variant.endswith("+buf"):
        from _whatif import buffered_sockets

        buffered_sockets()
    with Blaster(cpu=SERVER_CPU if pinned else None) as blaster:
        samples = [RUNNERS[variant](blaster, w, n, warmup) for w in workloads]
    for sample in samples:
        sample.variant = variant
    emit(samples)


# -- orchestration -------------------------------------------------------------------------
def collect(
    variants: list[str],
    workloads: list[str],
    n: int,
    warmup: int,
    repeat: int,
    pinned: bool,
    baseline: str | None = None,
) -> list[list[Sample]]:
    """``repeat`` rounds; each round runs every variant once in its own process.

    ``baseline``: a folder holding another commit's library (``export_ref``), run as
    variant ``base`` in every round, so that ``ours/base`` compares two commits in
    the same run, under the same load."""
    rounds = []
    for _ in range(repeat):
        samples: list[Sample] = []
        for variant in [*variants, *(["base"] if baseline else [])]:
            args = [
                "--worker",
                variant,
                "--workloads",
                ",".join(workloads),
                "--n",
                str(n),
                "--warmup",
                str(warmup),
            ] + (["--pin"] if pinned else [])
            if variant == "base":
                args[1] = "ours"
                found = run_worker("bench_throughput.py", args, source=baseline)
                samples += [Sample(**{**s, "variant": "base"}) for s in found]
            else:
                samples += [Sample(**s) for s in run_worker("bench_throughput.py", args)]
        rounds.append(samples)
    return rounds


def summarise(rounds: list[list[Sample]], workloads: list[str]) -> list[dict[str, Any]]:
    """Medians per workload and variant, and medians of the per-round ratios."""
    rows = []
    for workload in workloads:
        row: dict[str, Any] = {"workload": workload}
        per_round = [{s.variant: s for s in r if s.workload == workload} for r in rounds]
        for variant in (*VARIANTS, "base"):
            got = [r[variant] for r in per_round if variant in r]
            if variant == "base" and not got:
                continue
            row[f"{variant}_rate"] = median([s.rate for s in got])
            row[f"{variant}_cpu_us"] = median([s.cpu_per_message * 1e6 for s in got])
        for other in ("bare", "ceiling", "ccxt", "base"):
            pairs = [r for r in per_round if "ours" in r and other in r]
            if other == "base" and not pairs:
                continue
            row[f"ours/{other}"] = median([r["ours"].rate / r[other].rate for r in pairs])
            row[f"cpu ours/{other}"] = median(
                [r["ours"].cpu_per_message / r[other].cpu_per_message for r in pairs]
            )
        ours = [r["ours"] for r in per_round if "ours" in r]
        row["ours_extra"] = ours[-1].extra if ours else {}
        row["resyncs"] = sum(s.extra.get("resyncs", 0) for s in ours)
        rows.append(row)
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """Two tables: msg/s with the same-run ratios, then CPU µs per message."""
    rates = [
        [
            r["workload"],
            r["ceiling_rate"],
            r["bare_rate"],
            r["ours_rate"],
            r["ccxt_rate"],
            r["ours/ceiling"],
            r["ours/bare"],
            r["ours/ccxt"],
        ]
        for r in rows
    ]
    cpu = [
        [
            r["workload"],
            r["ceiling_cpu_us"],
            r["bare_cpu_us"],
            r["ours_cpu_us"],
            r["ccxt_cpu_us"],
            r["cpu ours/ceiling"],
            r["cpu ours/bare"],
            r["cpu ours/ccxt"],
        ]
        for r in rows
    ]
    names = ["ceiling", "bare", "ours", "ccxt"]
    ratios = ["ours/ceiling", "ours/bare", "ours/ccxt"]
    return (
        table(["workload", *(f"{n} msg/s" for n in names), *ratios], rates)
        + "\n\nCPU µs per message (client process, all threads):\n\n"
        + table(["workload", *names, *(f"CPU {r}" for r in ratios)], cpu)
    )


def render_baseline(rows: list[dict[str, Any]], ref: str) -> str:
    """The same-run comparison with another commit (``--baseline``)."""
    body = [
        [r["workload"], r["base_rate"], r["ours_rate"], r["ours/base"], r["cpu ours/base"]]
        for r in rows
    ]
    return table(["workload", f"{ref} msg/s", "ours msg/s", "ours/base", "CPU ours/base"], body)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer messages and repeats")
    parser.add_argument("--n", type=int, help="messages per run (default 100k, quick 20k)")
    parser.add_argument("--repeat", type=int, help="rounds (default 5, quick 2)")
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--pin",
        action="store_true",
        help=f"pin the server to CPU {SERVER_CPU} and the client to {CLIENT_CPU}",
    )
    parser.add_argument("--ref", default="HEAD", help="library commit to measure, or 'worktree'")
    parser.add_argument(
        "--baseline", help="also measure this commit in every round (ratio ours/base)"
    )
    parser.add_argument("--worker", choices=list(RUNNERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = args.n or (20_000 if args.quick else 100_000)
    workloads = args.workloads.split(",")
    if args.worker:
        worker(args.worker, workloads, n, args.warmup, args.pin)
        return
    label = use_ref(args.ref)
    repeat = args.repeat or (2 if args.quick else 5)
    baseline = export_ref(args.baseline)[1] if args.baseline else None
    rounds = collect(
        args.variants.split(","), workloads, n, args.warmup, repeat, args.pin, baseline
    )
    print(f"throughput ({label}): {n} messages per run, median of {repeat} rounds")
    rows = summarise(rounds, workloads)
    print(render(rows))
    if baseline:
        print(render_baseline(rows, args.baseline))


if __name__ == "__main__":
    main()
