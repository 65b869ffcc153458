"""Where the time goes on ccxtpro_sync's hot path, socket to callback.

Run by hand: ``.venv/bin/python benchmarks/profile_hotpath.py [--quick] [--workloads trades]``.

Two views of the same pipeline (reader thread: ``recv_data`` → protocol decode →
``MarketData`` parse and caches → ``Hub.deliver`` → dispatcher thread → callback):

1. **Decomposition by subtraction**, end to end through the blaster, each variant in
   fresh processes, median of the rounds (``bench_throughput.py`` variants):

   * ``bare``: websocket-client ``recv_data`` only;
   * ``ours-reader``: the library's reader thread, values handed to the check on the
     reader thread (hub and dispatcher skipped, see ``_whatif.reader_only``);
   * ``ours``: the full path;
   * ``+buf`` (what-if): the same with socket reads served from a 256 KiB buffer
     (``_whatif.BufferedWebSocket``), i.e. one ``recv`` syscall per buffer instead
     of two or three per frame.

   ``ours-reader - bare`` is the decode/parse/cache cost; ``ours - ours-reader`` the
   hub and dispatcher hop (a lock, a ``Condition.notify`` and a thread handoff, which
   under the GIL also slows the reader's next socket reads).

2. **py-spy** (when installed; it needs ptrace): all threads of an ``ours`` worker
   sampled during the measured blast, reader-thread samples grouped by stage.
"""

from __future__ import annotations

import argparse
import collections
import os
import pathlib
import re
import shutil
import sys
import tempfile

import bench_throughput
from _common import median, run_worker, table, use_ref

DECOMPOSITION = ("bare", "bare+buf", "ours-reader", "ours-reader+buf", "ours", "ours+buf")

#: Reader-thread stages: the first pattern found in a sample's stack (innermost
#: first) names the stage it is charged to.
STAGES: list[tuple[str, str]] = [
    ("callback (dispatcher)", r"bench_throughput"),
    ("socket recv syscall (+ GIL re-take)", r"^recv\.<locals>\._recv|^recv \(websocket/_socket"),
    ("dispatcher put: lock + notify", r"^(Dispatcher\.put|Condition\.|PendingUpdates)"),
    ("hub deliver", r"^Hub\.deliver"),
    ("book sync / order book", r"(BookSync|OrderBook|_orderbook|book_sync)"),
    ("parse to unified structs", r"^(parse_|iso8601|__create_fn__|_cost|_volumes|Ticker|Trade)"),
    ("caches (ArrayCache)", r"^ArrayCache"),
    ("payload decode (msgspec) + route", r"^(MarketData|RotationRouter|_decode|on_)"),
    ("envelope decode + Inbound", r"^BinanceStreamProtocol|^Inbound"),
    (
        "websocket-client framing",
        r"(frame_buffer|recv_data|recv_frame|ABNF|continuous_frame"
        r"|WebSocket\.)",
    ),
    ("reader loop itself", r"^Connection\._read_loop"),
]


def decomposition(workloads: list[str], n: int, repeat: int) -> str:
    rounds = bench_throughput.collect(list(DECOMPOSITION), workloads, n, 2000, repeat, False)
    rows = []
    for workload in workloads:
        got: dict[str, tuple[float, float]] = {}
        for variant in DECOMPOSITION:
            samples = [
                s for r in rounds for s in r if s.workload == workload and s.variant == variant
            ]
            got[variant] = (
                median([s.rate for s in samples]),
                median([s.cpu_per_message * 1e6 for s in samples]),
            )
        bare_rate = got["bare"][0]
        for variant in DECOMPOSITION:
            rate, cpu = got[variant]
            rows.append([workload, variant, rate, rate / bare_rate, cpu])
        rows.append(
            [
                workload,
                "= parse (ours-reader - bare)",
                "",
                "",
                got["ours-reader"][1] - got["bare"][1],
            ]
        )
        rows.append(
            [
                workload,
                "= hub + dispatcher hop (ours - ours-reader)",
                "",
                "",
                got["ours"][1] - got["ours-reader"][1],
            ]
        )
        rows.append(
            [
                workload,
                "= buffered reads save (ours - ours+buf)",
                "",
                "",
                got["ours"][1] - got["ours+buf"][1],
            ]
        )
    return table(["workload", "variant", "msg/s", "vs bare", "CPU µs/msg"], rows)


def _frame_name(frame: str) -> str:
    return re.sub(r" \((?:.*/)?(ccxtpro_sync/|websocket/)?", r" (\1", frame)


def spy(workload: str, n: int) -> str | None:
    local = pathlib.Path(sys.executable).with_name("py-spy")
    if not (local.exists() or shutil.which("py-spy")):
        return None
    out = pathlib.Path(tempfile.gettempdir()) / f"ccxtpro_sync-pyspy-{workload}.txt"
    out.unlink(missing_ok=True)
    os.environ["BENCH_PYSPY"] = str(out)
    try:
        run_worker(
            "bench_throughput.py", ["--worker", "ours", "--workloads", workload, "--n", str(n)]
        )
    finally:
        del os.environ["BENCH_PYSPY"]
    if not out.exists():
        return None
    threads: collections.Counter[str] = collections.Counter()
    stages: collections.Counter[str] = collections.Counter()
    selfs: collections.Counter[str] = collections.Counter()
    for line in out.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = stack.split(";")
        count = int(count_text)
        thread = re.sub(r"^thread \(\d+\): ", "", frames[0])
        threads[thread] += count
        if "reader" not in thread:
            continue
        names = [f.split(" (")[0] + " (" + f.split(" (")[-1] for f in frames[1:]]
        selfs[_frame_name(frames[-1])] += count
        for stage, pattern in STAGES:
            if any(re.search(pattern, name) for name in reversed(names[-6:])):
                stages[stage] += count
                break
        else:
            stages["other"] += count
    reader = sum(v for k, v in threads.items() if "reader" in k) or 1
    lines = [
        f"py-spy, ours/{workload}, samples per thread (active only): "
        + ", ".join(f"{k}: {v}" for k, v in threads.most_common())
    ]
    lines.append(
        table(
            ["reader-thread stage (innermost frames)", "share"],
            [[k, f"{v / reader:.0%}"] for k, v in stages.most_common()],
        )
    )
    lines.append(
        table(
            ["top self frames, reader thread", "share"],
            [[k, f"{v / reader:.0%}"] for k, v in selfs.most_common(12)],
        )
    )
    lines.append(f"raw stacks: {out}")
    return "\n\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workloads", default="trades,ticker,depth")
    parser.add_argument("--n", type=int, help="messages per run (default 100k, quick 20k)")
    parser.add_argument("--repeat", type=int, help="rounds (default 3, quick 1)")
    parser.add_argument("--ref", default="HEAD", help="library commit to measure, or 'worktree'")
    parser.add_argument("--no-spy", action="store_true", help="skip the py-spy pass")
    args = parser.parse_args()
    label = use_ref(args.ref)
    n = args.n or (20_000 if args.quick else 100_000)
    repeat = args.repeat or (1 if args.quick else 3)
    workloads = args.workloads.split(",")
    print(f"hot-path decomposition ({label}): {n:,} messages, median of {repeat} rounds\n")
    print(decomposition(workloads, n, repeat))
    if not args.no_spy:
        for workload in workloads:
            report = spy(workload, max(n, 200_000))
            print("\n" + (report or f"py-spy unavailable for {workload}"))


if __name__ == "__main__":
    main()
