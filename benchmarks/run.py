"""The socket-level benchmark suite: one entry point, one report.

Run by hand (never in CI): ``.venv/bin/python benchmarks/run.py [--quick] [--pin]
[--baseline REV]`` (``--baseline``: a regression check against another commit, same run).

Runs, each client in fresh processes against the blaster (``_blaster.py``):

1. ``bench_throughput.py``: messages/s and CPU/message, socket to callback, for
   trades, tickers and depth diffs; ratios ours/bare (same-run websocket-client
   loop) and ours/CCXT Pro;
2. ``bench_latency.py``: send-to-callback percentiles at 1k and 10k msg/s;
3. ``bench_memory.py``: memory per stream with 1,000 ticker streams.

and checks the issue's targets. ``benchmarks/profile_hotpath.py`` explains the
throughput figures (where the time goes); ``docs/benchmarks.md`` has the method.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

import bench_latency
import bench_memory
import bench_throughput
from _common import WORKLOADS, export_ref, use_ref

TARGET_BARE = 0.70  # ours >= 70% of the bare loop's throughput
TARGET_CCXT = 3.0  # ours >= 3x CCXT Pro's throughput
TARGET_P99_US = 1000.0  # p99 under 1 ms at 10k msg/s
TARGET_BASELINE = 0.95  # no regression beyond noise against --baseline


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller runs, fewer repeats")
    parser.add_argument("--pin", action="store_true", help="pin server and client CPUs")
    parser.add_argument("--ref", default="HEAD", help="library commit to measure, or 'worktree'")
    parser.add_argument(
        "--baseline",
        help="also measure this commit's throughput in every round (ours/base, same run)",
    )
    parser.add_argument("--skip", default="", help="comma list: throughput,latency,memory")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    label = use_ref(args.ref)
    quick = args.quick
    load = os.getloadavg()[0]
    print(
        f"ccxtpro_sync benchmarks, {datetime.date.today()}, library {label}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load {load:.2f}"
        + (", pinned" if args.pin else "")
        + (", quick" if quick else "")
    )
    started = time.perf_counter()
    checks: list[str] = []

    if "throughput" not in skip:
        n = 20_000 if quick else 100_000
        repeat = 2 if quick else 5
        workloads = list(WORKLOADS)
        baseline = export_ref(args.baseline)[1] if args.baseline else None
        rounds = bench_throughput.collect(
            list(bench_throughput.VARIANTS), workloads, n, 2000, repeat, args.pin, baseline
        )
        rows = bench_throughput.summarise(rounds, workloads)
        print(f"\n## Throughput: {n:,} messages per run, median of {repeat} rounds\n")
        print(bench_throughput.render(rows))
        if args.baseline:
            print(f"\nSame run against {args.baseline}:\n")
            print(bench_throughput.render_baseline(rows, args.baseline))
            for row in rows:
                checks.append(
                    f"{row['workload']}: ours/{args.baseline} {row['ours/base']:.2f} "
                    f"(target >= {TARGET_BASELINE}) {_verdict(row['ours/base'] >= TARGET_BASELINE)}"
                )
        for row in rows:
            checks.append(
                f"{row['workload']}: ours/bare {row['ours/bare']:.2f} (target >= {TARGET_BARE}) "
                f"{_verdict(row['ours/bare'] >= TARGET_BARE)}; ours/ccxt {row['ours/ccxt']:.2f} "
                f"(target >= {TARGET_CCXT}) {_verdict(row['ours/ccxt'] >= TARGET_CCXT)}"
            )

    if "latency" not in skip:
        seconds = 1.5 if quick else 5.0
        repeat = 1 if quick else 3
        found = bench_latency.collect(
            list(bench_latency.VARIANTS), [1000.0, 10000.0], seconds, repeat, args.pin
        )
        rows = bench_latency.summarise(found)
        print(f"\n## Latency: aggTrade, {seconds:g} s per rate, median of {repeat} rounds\n")
        print(bench_latency.render(rows))
        for row in rows:
            if row["variant"] == "ours" and row["rate"] == 10000.0:
                checks.append(
                    f"p99 at 10k msg/s: {row['p99']:.0f} µs (target < {TARGET_P99_US:.0f}) "
                    f"{_verdict(row['p99'] < TARGET_P99_US)}"
                )

    if "memory" not in skip:
        repeat = 1 if quick else 3
        found_memory = bench_memory.collect(
            list(bench_memory.VARIANTS), bench_memory.SYMBOLS, repeat
        )
        print(f"\n## Memory: {bench_memory.SYMBOLS:,} ticker streams, median of {repeat} rounds\n")
        print(bench_memory.render(found_memory))

    print("\n## Targets\n")
    for check in checks:
        print(f"* {check}")
    print(f"\n({time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.2f} at the end)")


if __name__ == "__main__":
    main()
