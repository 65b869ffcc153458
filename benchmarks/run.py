"""The socket-level benchmark suite: one entry point, one report.

Run by hand (never in CI): ``.venv/bin/python benchmarks/run.py [--quick] [--pin]
[--baseline REV]`` (``--baseline``: a regression check against another commit, same run).

Runs, each client in fresh processes against the blaster (``_blaster.py``):

1. ``bench_throughput.py``: messages/s and CPU/message, socket to callback, for
   trades, tickers and depth diffs; ratios ours/ceiling (a same-run loop that walks
   the frames and makes one typed msgspec decode per message, ``_ceiling.py``),
   ours/bare (the same-run websocket-client ``recv_data`` loop) and ours/CCXT Pro;
2. ``bench_latency.py``: send-to-callback percentiles at 1k and 10k msg/s;
3. ``bench_memory.py``: idle memory per subscribed stream with 10,000 ticker streams
   on one client (against the project's local exchange and the blaster; CCXT Pro);
4. ``bench_sharded.py``: N processes, one client each, the symbols split; how
   throughput scales with the machine's cores.

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
import bench_sharded
import bench_throughput
from _common import WORKLOADS, export_ref, median, use_ref

#: Issue 20's targets, per workload: (ratio, minimum), all same-run ratios.
TARGETS: dict[str, list[tuple[str, float]]] = {
    "trades": [("ours/ceiling", 0.5)],
    "ticker": [("ours/ceiling", 0.5)],
    "depth": [("ours/bare", 1.0), ("ours/ccxt", 4.0)],
}
TARGET_P99_US = 250.0  # p99 socket to callback under 250 µs at 10k msg/s
TARGET_MEMORY_B = 1024.0  # idle memory per subscribed stream at 10,000 streams
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
    parser.add_argument("--skip", default="", help="comma list: throughput,latency,memory,sharded")
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
            if row["resyncs"]:
                checks.append(
                    f"{row['workload']}: INVALID, ours fetched {row['resyncs']} REST "
                    "snapshot(s) during measured blasts (the book resynced)"
                )
            checks += [
                f"{row['workload']}: {ratio} {row[ratio]:.2f} (target >= {low:g}) "
                f"{_verdict(row[ratio] >= low)}"
                for ratio, low in TARGETS.get(row["workload"], [])
            ]

    if "latency" not in skip:
        seconds = 1.5 if quick else 5.0
        repeat = 1 if quick else 3
        # Free and pinned, each against the bare loop of the same rounds (--pin: pinned only).
        placements = ["pinned"] if args.pin else list(bench_latency.PLACEMENTS)
        found = bench_latency.collect(
            list(bench_latency.VARIANTS), [1000.0, 10000.0], seconds, repeat, placements
        )
        rows = bench_latency.summarise(found)
        print(f"\n## Latency: aggTrade, {seconds:g} s per rate, median of {repeat} rounds\n")
        print(bench_latency.render(rows))
        print(bench_latency.verdict(found))
        for row in rows:
            if row["variant"] == "ours" and row["rate"] == 10000.0:
                checks.append(
                    f"p99 at 10k msg/s, {row['placement']}: {row['p99']:.0f} µs "
                    f"(target < {TARGET_P99_US:.0f}) {_verdict(row['p99'] < TARGET_P99_US)}"
                )

    if "memory" not in skip:
        repeat = 1 if quick else 3
        symbols = bench_memory.SYMBOLS
        found_memory = bench_memory.collect(list(bench_memory.VARIANTS), symbols, repeat)
        print(f"\n## Memory: {symbols:,} ticker streams, one client, median of {repeat} rounds\n")
        print(bench_memory.render(found_memory))
        print("\nWhere the idle streams' memory was allocated (local exchange):\n")
        print(bench_memory.render_top(found_memory))
        for variant in ("ours-local", "ours"):
            runs = found_memory.get(variant) or []
            if runs:
                idle = median([r["traced_subscribed"] for r in runs])
                checks.append(
                    f"idle memory, {variant}: {idle:,.0f} B/stream at {symbols:,} streams "
                    f"(target < {TARGET_MEMORY_B:,.0f}) {_verdict(idle < TARGET_MEMORY_B)}"
                )

    if "sharded" not in skip:
        n = 20_000 if quick else 100_000
        repeat = 2 if quick else 5
        counts = list(range(1, (os.cpu_count() or 1) + 1))
        sharded = bench_sharded.collect(counts, bench_sharded.SYMBOLS, n, 4000, repeat)
        print(
            f"\n## Multi-core: aggTrade on {bench_sharded.SYMBOLS} symbols split over N "
            f"processes, {n:,} messages per run, median of {repeat} rounds\n"
        )
        print(bench_sharded.render(bench_sharded.summarise(sharded)))

    print("\n## Targets\n")
    for check in checks:
        print(f"* {check}")
    print(f"\n({time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.2f} at the end)")


if __name__ == "__main__":
    main()
