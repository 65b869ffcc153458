"""Order book hot-path benchmark (run by hand: ``python benchmarks/bench_orderbook.py``).

Workload: a 1000-level-per-side book; diffs of 10-20 wire-string levels (about 70%
changes of existing levels near the top, 15% new levels, 15% removals, so the book
keeps its size); a 20-level view after every diff, as a watcher would see.

Absolute times depend on the machine, so every cost is also printed as a ratio
against a baseline measured in the same run: a plain ``dict`` update of the same
levels (parse + store/pop, no ordering at all). Alternatives are measured too, to
show why ``LocalOrderBook`` keeps a sorted key list:

* lazy sort: dict only, ``sorted()`` of the keys when a view is taken;
* heap: dict only, ``heapq.nsmallest(20)`` when a view is taken.

``LocalOrderBook``'s rows run once per level loop, the compiled one
(``_book_levels.c``, where built) and the Python one, in the same process; the last
column is their ratio. ``--impl compiled`` or ``--impl python`` runs one of them only.
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccxtpro_sync import _book_levels_py, _orderbook
from ccxtpro_sync._orderbook import LocalOrderBook

Levels = list[list[str]]
DEPTH = 1000
VIEW = 20
N_DIFFS = 5000
REPEAT = 5


def _px(tick: int) -> str:
    return f"{tick / 100:.2f}"


def make_workload(seed: int = 1) -> tuple[Levels, Levels, list[tuple[Levels, Levels]]]:
    rng = random.Random(seed)
    bid_ticks = set(range(100_000 - DEPTH, 100_000))
    ask_ticks = set(range(100_001, 100_001 + DEPTH))
    snap_b = [[_px(t), "1.5"] for t in sorted(bid_ticks, reverse=True)]
    snap_a = [[_px(t), "1.5"] for t in sorted(ask_ticks)]
    diffs: list[tuple[Levels, Levels]] = []
    for _ in range(N_DIFFS):
        sides: list[Levels] = [[], []]
        for _ in range(rng.randint(10, 20)):
            k = rng.randrange(2)
            ticks = bid_ticks if k == 0 else ask_ticks
            best = max(ticks) if k == 0 else min(ticks)
            sign = -1 if k == 0 else 1
            r = rng.random()
            if r < 0.70:  # change an existing level near the top
                t = best + sign * rng.randint(0, 50)
                if t in ticks:
                    sides[k].append([_px(t), f"{rng.uniform(0.1, 9):.3f}"])
                    continue
            if r < 0.85:  # a new level inside the book
                t = best + sign * rng.randint(0, DEPTH)
                if t not in ticks:
                    ticks.add(t)
                    sides[k].append([_px(t), f"{rng.uniform(0.1, 9):.3f}"])
                    continue
            t = rng.choice(sorted(ticks)[-200:] if k == 0 else sorted(ticks)[:200])
            ticks.discard(t)  # removal (sometimes of a level already gone: normal)
            sides[k].append([_px(t), "0.00000000"])
        diffs.append((sides[0], sides[1]))
    return snap_b, snap_a, diffs


# --------------------------------------------------------------------------- contenders


class DictOnly:
    """Baseline: parse and store, no ordering (cannot produce a sorted view cheaply)."""

    def __init__(self, b: Levels, a: Levels) -> None:
        self.b = {float(p): float(q) for p, q in b}
        self.a = {float(p): float(q) for p, q in a}

    def apply(self, b: Levels, a: Levels) -> None:
        for side, levels in ((self.b, b), (self.a, a)):
            for p, q in levels:
                amount = float(q)
                if amount:
                    side[float(p)] = amount
                else:
                    side.pop(float(p), None)


class LazySort(DictOnly):
    def view(self, n: int) -> tuple[list[list[float]], list[list[float]]]:
        b, a = self.b, self.a
        return (
            [[p, b[p]] for p in sorted(b, reverse=True)[:n]],
            [[p, a[p]] for p in sorted(a)[:n]],
        )


class HeapView(DictOnly):
    def view(self, n: int) -> tuple[list[list[float]], list[list[float]]]:
        b, a = self.b, self.a
        return (
            [[p, b[p]] for p in heapq.nlargest(n, b)],
            [[p, a[p]] for p in heapq.nsmallest(n, a)],
        )


def _floats(levels: Levels) -> list[tuple[float, float]]:
    return [(float(p), float(q)) for p, q in levels]


def bench(fn: Callable[[], None]) -> float:
    """Best-of-REPEAT seconds per diff."""
    best = float("inf")
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best / N_DIFFS


def level_loops(which: str) -> dict[str, Any]:
    """The level-loop modules to measure, by name."""
    found: dict[str, Any] = {"python": _book_levels_py}
    try:
        from ccxtpro_sync import _book_levels

        found = {"compiled": _book_levels, **found}
    except ImportError:
        print("ccxtpro_sync._book_levels is not built: the Python loop only")
    return found if which == "both" else {which: found[which]}


def use(module: Any) -> None:
    _orderbook._apply_levels = module.apply_levels
    _orderbook._top_levels = module.top_levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--impl", choices=["both", "compiled", "python"], default="both")
    loops = level_loops(parser.parse_args().impl)
    snap_b, snap_a, diffs = make_workload()
    levels = sum(len(b) + len(a) for b, a in diffs) / len(diffs)

    def run_dict() -> None:
        d = DictOnly(snap_b, snap_a)
        for b, a in diffs:
            d.apply(b, a)

    def run_local_apply() -> None:
        book = LocalOrderBook("X")
        book.reset(snap_b, snap_a, 0)
        for i, (b, a) in enumerate(diffs, 1):
            book.apply(b, a, i)

    # The live path: levels already floats (msgspec's float decoder), parsed=True.
    float_diffs = [(_floats(b), _floats(a)) for b, a in diffs]
    float_b, float_a = _floats(snap_b), _floats(snap_a)

    def run_local_apply_parsed() -> None:
        book = LocalOrderBook("X", parsed=True)
        book.reset(float_b, float_a, 0)
        for i, (b, a) in enumerate(float_diffs, 1):
            book.apply(b, a, i)

    def run_local_apply_view() -> None:
        book = LocalOrderBook("X")
        book.reset(snap_b, snap_a, 0)
        for i, (b, a) in enumerate(diffs, 1):
            book.apply(b, a, i)
            book.snapshot(VIEW)
            book.is_crossed()

    def run_local_view_only() -> None:
        book = LocalOrderBook("X")
        book.reset(snap_b, snap_a, 0)
        for _ in diffs:
            book.snapshot(VIEW)

    def run_lazy() -> None:
        d = LazySort(snap_b, snap_a)
        for b, a in diffs:
            d.apply(b, a)
            d.view(VIEW)

    def run_heap() -> None:
        d = HeapView(snap_b, snap_a)
        for b, a in diffs:
            d.apply(b, a)
            d.view(VIEW)

    def run_reset() -> None:
        book = LocalOrderBook("X")
        for _ in range(N_DIFFS // 50):
            book.reset(snap_b, snap_a, 0)

    base = bench(run_dict)
    book_rows: list[tuple[str, Callable[[], None], int]] = [
        ("LocalOrderBook.apply", run_local_apply, 1),
        ("LocalOrderBook.apply, float levels (parsed=True)", run_local_apply_parsed, 1),
        (f"LocalOrderBook.snapshot({VIEW})", run_local_view_only, 1),
        (f"LocalOrderBook apply+snapshot({VIEW})+is_crossed", run_local_apply_view, 1),
        ("LocalOrderBook.reset(2x1000 levels)", run_reset, 50),  # per reset
    ]
    names = list(loops)
    print(
        f"book {DEPTH} levels/side, {N_DIFFS} diffs, {levels:.1f} levels/diff, python "
        f"{sys.version.split()[0]}"
    )
    head = "".join(f" {n + ' us/op':>17s} {'x base':>7s}" for n in names)
    ratio = len(names) == 2
    print(f"{'operation':50s}{head}" + (f" {'C/Python':>9s}" if ratio else ""))
    print(f"{'baseline: dict update (parse+store)':50s} {base * 1e6:17.2f} {1.0:7.2f}")
    for name, fn, per in book_rows:
        times = []
        for impl in names:
            use(loops[impl])
            times.append(bench(fn) * per)
        cells = "".join(f" {t * 1e6:17.2f} {t / base:7.2f}" for t in times)
        print(f"{name:50s}{cells}" + (f" {times[0] / times[1]:9.2f}" if ratio else ""))
    for name, fn in (
        (f"alt: dict + sorted() per view({VIEW})", run_lazy),
        (f"alt: dict + heapq per view({VIEW})", run_heap),
    ):
        t = bench(fn)
        print(f"{name:50s} {t * 1e6:17.2f} {t / base:7.2f}")


if __name__ == "__main__":
    main()
