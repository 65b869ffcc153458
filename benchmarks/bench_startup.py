"""Startup with many order books: time until every book has its first view.

Each book needs one REST depth snapshot. The local exchange answers ``/depth`` after
``--latency`` seconds (a distant exchange); the variants differ only in
``options.snapshotConcurrency``, the first listed being the baseline (1 = one snapshot
after another, as before the pool). Rounds interleave the variants, so a loaded machine
slows all of them alike; the table gives medians and ratios to the baseline.

    python benchmarks/bench_startup.py --books 100 --latency 0.05 --rounds 3
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import threading
import time

from _common import SOURCE  # noqa: F401  (puts the measured source first on sys.path)

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange
from ccxtpro_sync.simulator.catalog import DEFAULT_SYMBOLS


def startup_seconds(books: int, latency: float, workers: int, seed: int) -> float:
    base = DEFAULT_SYMBOLS["spot"][0]
    specs = [
        dataclasses.replace(base, symbol=f"S{i:03d}USDT", base=f"S{i:03d}") for i in range(books)
    ]
    symbols = [f"S{i:03d}/USDT" for i in range(books)]
    seen: set[str] = set()
    done = threading.Event()
    lock = threading.Lock()

    def on_book(book: object) -> None:
        with lock:
            seen.add(book.symbol)  # type: ignore[attr-defined]
            if len(seen) == books:
                done.set()

    with LocalExchange(
        seed=seed, speed=0.5, tick_interval=0.2, book_levels=20, symbols={"spot": specs}
    ) as ex:
        ex.faults.delay_rest(latency, "/depth")
        config = {
            "environment": "local",
            "local": ex,
            "options": {"snapshotLimit": 100, "snapshotConcurrency": workers},
        }
        with ccxtpro_sync.binance(config) as client:
            client.load_markets()
            started = time.perf_counter()
            client.on_order_book(symbols, on_book)
            if not done.wait(600):
                raise RuntimeError(f"only {len(seen)} of {books} books synced")
            return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--books", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per /depth answer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    times: dict[int, list[float]] = {w: [] for w in args.workers}
    for r in range(args.rounds):
        for w in args.workers:
            times[w].append(startup_seconds(args.books, args.latency, w, seed=r))
    baseline = statistics.median(times[args.workers[0]])
    print(f"{args.books} books, {args.latency * 1000:.0f} ms per snapshot, {args.rounds} rounds")
    print("| snapshotConcurrency | median s | x baseline |\n|---|---|---|")
    for w in args.workers:
        med = statistics.median(times[w])
        print(f"| {w} | {med:.2f} | {med / baseline:.2f} |")


if __name__ == "__main__":
    main()
