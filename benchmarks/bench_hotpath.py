"""In-process hot-path benchmark: the library's own read loop on pre-built frames, no socket.

Run by hand: ``.venv/bin/python benchmarks/bench_hotpath.py [--workloads trades,ticker,depth]
[--n 50000] [--rounds 5] [--ref REV] [--baseline REV] [--profile]``.

A client subscribes through the blaster as usual (so markets, subscriptions and, for
depth, the REST snapshot are real). Then the connection's own ``_read_loop`` is run on
the main thread over a stand-in socket whose ``recv`` hands out 64 KiB slices of frames
serialised before the clock starts: frame parsing, envelope and payload decode, routing,
caches, books, the hub and the dispatcher thread running the callback are all measured;
the kernel, the server and the GIL hand-offs of a real socket read are not. The figure
is the process's CPU (all threads) per message until the callback has seen the last
one, the median of the rounds; each library version runs in its own fresh processes,
alternating round by round, so a ratio against ``--baseline`` is same-run.

``--profile`` prints a cProfile of the read loop (the callback's thread is not profiled).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import threading
import time
from typing import Any

import _payloads as pl
from _blaster import Blaster, ws_frame
from _common import HERE, WORKLOADS, export_ref, median, ours_config, use_ref

READ = 64 * 1024


class _FakeSocket:
    """``recv`` serves pre-built bytes in 64 KiB slices, then ends the loop."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def settimeout(self, timeout: float | None) -> None:
        pass

    def recv(self, size: int) -> bytes:
        pos = self._pos
        if pos >= len(self._view):
            raise OSError("end of the pre-built frames")
        self._pos = pos + size
        return bytes(self._view[pos : pos + size])


class _FakeWs:
    def __init__(self, data: bytes) -> None:
        self.sock = _FakeSocket(data)


def _protocol(conn: Any) -> Any:
    """A connection's protocol (``_protocol`` since the seam; ``protocol`` before)."""
    found = getattr(conn, "protocol", None)
    return found if found is not None else conn._protocol


def _frames(stream: str, payloads: list[bytes]) -> bytes:
    name = stream.encode()
    return b"".join(ws_frame(pl.envelope(name, p)) for p in payloads)


def _worker(workload: str, n: int, profile: bool, build_only: bool = False) -> dict[str, float]:
    """One process's rounds. ``build_only`` builds the frames of every round and reads
    none (what ``count_instructions.py --loop`` subtracts: building costs about as
    many instructions per message as reading them)."""
    import ccxtpro_sync
    from ccxtpro_sync._sync.connection import Connection

    stream, symbol = WORKLOADS[workload]
    sym = stream.split("@")[0].upper().encode()
    seen: dict[str, Any] = {"marker": -1, "book": None}
    target = [math.inf]
    done = threading.Event()
    first = threading.Event()

    def check(marker: int) -> None:
        seen["marker"] = marker
        first.set()
        if marker >= target[0]:
            done.set()

    with Blaster() as blaster:
        client = ccxtpro_sync.binance(ours_config(blaster.ws_url, blaster.rest_url))
        try:
            if workload == "trades":
                client.on_trades(symbol, lambda trades: check(int(trades[-1].id)))
            elif workload == "ticker":
                client.on_ticker(symbol, lambda t: check(t.info.trade_count))
            else:
                client.on_order_book(symbol, lambda book: check(book.nonce))
            blaster.wait_subscribed(stream)
            if workload == "depth":  # diffs until the REST snapshot has synced the book
                while not first.wait(0.02):
                    blaster.one(stream)
            conns = [o for o in gc.get_objects() if isinstance(o, Connection)]
            conn = next(c for c in conns if stream in _protocol(c).book.desired())
            start = int(seen["marker"]) + 1 if workload != "ticker" else 1
            results = []
            for count in (2000, n, n):
                if workload == "depth":
                    ids = [(start + 3 * k, start + 3 * k + 2) for k in range(count)]
                    payloads = [pl.depth_update(sym, a, b) for a, b in ids]
                    last = ids[-1][1]
                    start = last + 1
                elif workload == "trades":
                    payloads = [pl.agg_trade(sym, start + k) for k in range(count)]
                    last = start + count - 1
                    start = last + 1
                else:
                    payloads = [pl.ticker(sym, start + k) for k in range(count)]
                    last = start + count - 1
                    start = last + 1
                data = _frames(stream, payloads)
                done.clear()
                target[0] = last
                ws = _FakeWs(data)
                profiler = None
                if profile and count == n and results:
                    import cProfile

                    profiler = cProfile.Profile()
                if build_only:
                    continue
                cpu0, t0 = time.process_time(), time.perf_counter()
                if profiler is not None:
                    profiler.enable()
                try:
                    conn._read_loop(ws)
                except Exception as error:
                    if "pre-built" not in repr(error):
                        raise
                if profiler is not None:
                    profiler.disable()
                if not done.wait(60):
                    raise TimeoutError(f"{workload}: last marker {last} never reached, at {seen}")
                wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
                results.append((wall, cpu))
                if profiler is not None:
                    import pstats

                    stats = pstats.Stats(profiler, stream=sys.stderr)
                    stats.sort_stats("tottime").print_stats(25)
        finally:
            client.close()
    if build_only:
        return {}
    wall, cpu = min(results[1:], key=lambda r: r[1])
    return {"cpu_us": cpu / n * 1e6, "rate": n / wall}


def _run(src: str | None, workload: str, n: int, profile: bool) -> dict[str, float]:
    env = dict(os.environ)
    if src:
        env["BENCH_SRC"] = src
    else:
        env.pop("BENCH_SRC", None)
    command = [sys.executable, str(HERE / "bench_hotpath.py"), "--worker", workload, "--n", str(n)]
    if profile:
        command.append("--profile")
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=600)
    if out.returncode:
        raise RuntimeError(f"worker failed:\n{out.stderr}")
    if profile:
        sys.stderr.write(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", default="trades,ticker,depth")
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ref", default="worktree")
    parser.add_argument("--baseline")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.n, args.profile, args.build_only)))
        return
    label = use_ref(args.ref)
    src = os.environ.get("BENCH_SRC")
    base = export_ref(args.baseline)[1] if args.baseline else None
    print(f"in-process hot path ({label}), {args.n} messages, best of 2 runs, median of rounds")
    head = "| workload | CPU µs/msg | msg/s (1 core) |"
    print(head + (" base µs | ours/base CPU |" if base else ""))
    for workload in args.workloads.split(","):
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(args.rounds):
            ours.append(_run(src, workload, args.n, args.profile)["cpu_us"])
            if base:
                theirs.append(_run(base, workload, args.n, False)["cpu_us"])
        row = f"| {workload} | {median(ours):.2f} | {1e6 / median(ours):,.0f} |"
        if base:
            row += f" {median(theirs):.2f} | {median(ours) / median(theirs):.2f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
