"""Idle memory per subscribed stream at 10,000 streams on one client (tracemalloc, RSS).

Run by hand: ``.venv/bin/python benchmarks/bench_memory.py [--quick] [--symbols N]``.

Each client runs in a fresh process, loads the markets (10,000 synthetic spot symbols
besides the default ones), takes the baseline, then subscribes to ``<symbol>@ticker``
for every synthetic symbol in groups of 100 (``on_tickers(group)``; CCXT:
``watch_tickers(group)``). Variants:

* ``ours-local``: the library against the project's local exchange
  (``ccxtpro_sync.simulator``) running idle in a process of its own (``_local.py``):
  nothing is published, so this is the *idle* cost of a subscribed stream, the figure
  of issue 20's target (< 1 KB/stream). It also lists the library source lines that
  allocated most, per stream;
* ``ours``: the library against the blaster (``_blaster.py``), measured idle and again
  after one ticker per stream has reached the callback (the caches then exist);
* ``ccxt``: CCXT Pro against the blaster, the same two points, with its streams spread
  over as many connections as ours (1,024 streams each at most, Binance's spot limit
  and the library's default).

The ``Subscription`` each call returns is kept until the measurement is taken, as a
user keeps it to cancel the handler: it and the hashes it fails on are part of the
cost (until 2026-12-01 they were dropped, which measured about 50 B/stream less).

Groups, not 10,000 single calls: each call after a connection is open sends its own
``SUBSCRIBE``, and frames are paced at 4/s per connection (Binance allows 5).

Memory is the ``tracemalloc`` total (Python allocations, started after
``load_markets``) and the process RSS (``/proc/self/statm``), both over the streams.
RSS includes tracemalloc's own bookkeeping (an entry per live allocation, about 250 B
per stream here), so it overstates the library's share; the "RSS less tracemalloc"
columns subtract what ``tracemalloc.get_tracemalloc_memory()`` grew by.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import os
import threading
import time
import tracemalloc
from typing import Any

from _blaster import Blaster, synthetic_symbols
from _common import emit, median, ours_config, run_worker, table, use_ref
from _local import LocalServer

SYMBOLS = 10_000
GROUP = 100
VARIANTS = ("ours-local", "ours", "ccxt")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


#: ``--trim``: hand free heap memory back to the system before each point, so the
#: streams' memory cannot hide in pages ``load_markets`` left resident and free.
_TRIM = False


def _point() -> tuple[int, int, int]:
    """Traced bytes, RSS, and the memory tracemalloc itself uses for its traces."""
    gc.collect()
    if _TRIM:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return tracemalloc.get_traced_memory()[0], _rss(), tracemalloc.get_tracemalloc_memory()


def _streams(ids: list[str]) -> list[str]:
    return [f"{i.lower()}@ticker" for i in ids]


def _groups(symbols: list[str]) -> list[list[str]]:
    return [symbols[k : k + GROUP] for k in range(0, len(symbols), GROUP)]


def _wait_all(blaster: Blaster, streams: list[str]) -> None:
    for stream in streams:
        blaster.wait_subscribed(stream, timeout=30)


def run_ours(blaster: Blaster, ids: list[str]) -> dict[str, Any]:
    """Against the blaster: idle after subscribing, then after one ticker per stream."""
    import ccxtpro_sync

    client = ccxtpro_sync.binance(ours_config(blaster.ws_url, blaster.rest_url))
    seen: set[str] = set()
    lock = threading.Lock()
    everything = threading.Event()
    wanted = len(ids)

    def mark(key: str) -> None:
        with lock:
            seen.add(key)
            if len(seen) >= wanted:
                everything.set()

    try:
        client.load_markets()
        symbols = [f"{i.removesuffix('USDT')}/USDT" for i in ids]
        tracemalloc.start()
        base = _point()
        # Kept, as a user keeps them to cancel: a Subscription is part of what it costs.
        kept = [client.on_tickers(group, lambda t: mark(t.symbol)) for group in _groups(symbols)]
        streams = _streams(ids)
        _wait_all(blaster, streams)
        subscribed = _point()
        blaster.one(*streams)
        if not everything.wait(120):
            raise TimeoutError(f"ours: {len(seen)}/{wanted} first messages")
        received = _point()
        threads = threading.active_count()
        connections = len(client.connections())
        del kept
    finally:
        client.close()
    return _result(base, subscribed, received, len(streams), threads, connections)


def run_ours_local(server: LocalServer, ids: list[str]) -> dict[str, Any]:
    """Against the project's idle local exchange: memory once every stream is subscribed
    (nothing is published, so there is no "1 msg" point)."""
    import ccxtpro_sync

    urls = server.urls
    client = ccxtpro_sync.binance(
        {
            "environment": "local",
            "urls": {"ws": urls["ws"], "ws_api": urls["ws_api"], "rest": urls["rest"]},
        }
    )
    try:
        client.load_markets()
        symbols = [f"{i.removesuffix('USDT')}/USDT" for i in ids]
        tracemalloc.start()
        base = _point()
        before = tracemalloc.take_snapshot()
        kept = [client.on_tickers(group, lambda t: None) for group in _groups(symbols)]
        server.wait_streams(len(ids))
        subscribed = _point()
        top = _top_sites(before, tracemalloc.take_snapshot(), len(ids))
        threads = threading.active_count()
        connections = len(client.connections())
        del kept
    finally:
        client.close()
    nothing = (float("nan"), float("nan"), float("nan"))
    return {**_result(base, subscribed, nothing, len(ids), threads, connections), "top": top}


def _top_sites(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, streams: int, count: int = 12
) -> list[tuple[str, float]]:
    """Where the subscribed streams' memory was allocated: the largest source lines of
    the library, in bytes per stream (what a per-stream cut would have to attack)."""
    root = os.path.dirname(os.path.dirname(__import__("ccxtpro_sync").__file__))
    sites = []
    for stat in after.compare_to(before, "lineno")[:count]:
        frame = stat.traceback[0]
        where = (
            os.path.relpath(frame.filename, root)
            if frame.filename.startswith(root)
            else frame.filename
        )
        sites.append((f"{where}:{frame.lineno}", stat.size_diff / streams))
    return sites


def run_ccxt(blaster: Blaster, ids: list[str]) -> dict[str, Any]:
    return asyncio.run(_ccxt(blaster, ids))


async def _ccxt(blaster: Blaster, ids: list[str]) -> dict[str, Any]:
    from _common import ccxt_exchange

    exchange = ccxt_exchange(blaster.ws_url, blaster.rest_url)
    # as many connections as ours (1,024 streams each at most), the groups spread over them
    exchange.options["streamLimits"]["spot"] = -(-len(ids) // 1024)
    exchange.options["subscriptionLimitByStream"]["spot"] = 1024
    wanted = len(ids)

    async def tickers(group: list[str]) -> None:
        while True:
            await exchange.watch_tickers(group, params={"name": "ticker"})

    try:
        await exchange.load_markets()
        symbols = [f"{i.removesuffix('USDT')}/USDT" for i in ids]
        tracemalloc.start()
        base = _point()
        tasks = [asyncio.create_task(tickers(group)) for group in _groups(symbols)]
        streams = _streams(ids)
        await asyncio.to_thread(_wait_all, blaster, streams)
        subscribed = _point()
        await asyncio.to_thread(blaster.one, *streams)
        # watch_tickers returns only what changed since the consumer last looked, so
        # count what CCXT has parsed into exchange.tickers rather than what was returned.
        deadline = time.monotonic() + 60
        while sum(1 for s in symbols if s in exchange.tickers) < wanted:
            if time.monotonic() > deadline:
                raise TimeoutError(f"ccxt: {len(exchange.tickers)}/{wanted} first messages")
            await asyncio.sleep(0.01)
        received = _point()
        connections = len(exchange.clients)
        for task in tasks:
            task.cancel()
    finally:
        await exchange.close()
    return _result(base, subscribed, received, len(streams), 1, connections)


def _result(
    base: tuple[int, int, int],
    subscribed: tuple[int, int, int],
    received: tuple[float, float, float],
    streams: int,
    threads: int,
    connections: int,
) -> dict[str, Any]:
    return {
        "streams": streams,
        "traced_subscribed": (subscribed[0] - base[0]) / streams,
        "traced_received": (received[0] - base[0]) / streams,
        "rss_subscribed": (subscribed[1] - base[1]) / streams,
        "rss_received": (received[1] - base[1]) / streams,
        # RSS less tracemalloc's own traces (about one entry per live block): the
        # resident memory the client would add without tracemalloc running.
        "rss_own_subscribed": _own(base, subscribed) / streams,
        "rss_own_received": _own(base, received) / streams,
        "threads": threads,
        "connections": connections,
    }


def _own(base: tuple[int, int, int], point: tuple[float, float, float]) -> float:
    return (point[1] - base[1]) - (point[2] - base[2])


def worker(variant: str, symbols: int) -> None:
    ids = synthetic_symbols(symbols)
    if variant == "ours-local":
        with LocalServer(extra_symbols=symbols) as server:
            emit(run_ours_local(server, ids))
        return
    with Blaster(extra_symbols=symbols) as blaster:
        emit(run_ours(blaster, ids) if variant == "ours" else run_ccxt(blaster, ids))


def collect(
    variants: list[str], symbols: int, repeat: int, trim: bool = False
) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for _ in range(repeat):
        for variant in variants:
            args = ["--worker", variant, "--symbols", str(symbols), *(["--trim"] if trim else [])]
            found.setdefault(variant, []).append(run_worker("bench_memory.py", args))
    return found


def render_top(found: dict[str, list[dict[str, Any]]]) -> str:
    """The per-stream allocation sites of the last ``ours-local`` round."""
    runs = found.get("ours-local") or []
    if not runs or "top" not in runs[-1]:
        return ""
    return table(["allocated at (idle, subscribed)", "B/stream"], runs[-1]["top"])


def render(found: dict[str, list[dict[str, Any]]]) -> str:
    headers = [
        "client",
        "streams",
        "conns",
        "threads",
        "traced B/sub (subscribed)",
        "traced B/sub (1 msg)",
        "RSS B/sub (subscribed)",
        "RSS B/sub (1 msg)",
        "RSS less tracemalloc (subscribed)",
        "RSS less tracemalloc (1 msg)",
    ]
    rows = []
    for variant, runs in found.items():

        def m(key: str, runs: list[dict[str, Any]] = runs) -> float:
            return median([r[key] for r in runs])

        rows.append(
            [
                variant,
                runs[0]["streams"],
                runs[0]["connections"],
                runs[0]["threads"],
                m("traced_subscribed"),
                m("traced_received"),
                m("rss_subscribed"),
                m("rss_received"),
                m("rss_own_subscribed"),
                m("rss_own_received"),
            ]
        )
    return table(headers, rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--symbols", type=int, default=SYMBOLS, help="streams (one ticker each)")
    parser.add_argument("--repeat", type=int, help="rounds (default 3, quick 1)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--ref", default="HEAD", help="library commit to measure, or 'worktree'")
    parser.add_argument(
        "--trim", action="store_true", help="malloc_trim before each point (glibc; stricter RSS)"
    )
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        global _TRIM
        _TRIM = args.trim
        worker(args.worker, args.symbols)
        return
    label = use_ref(args.ref)
    repeat = args.repeat or (1 if args.quick else 3)
    started = time.perf_counter()
    found = collect(args.variants.split(","), args.symbols, repeat, args.trim)
    print(
        f"memory ({label}{', malloc_trim' if args.trim else ''}): {args.symbols} streams, "
        f"median of {repeat} rounds "
        f"({time.perf_counter() - started:.0f} s)"
    )
    print(render(found))
    print()
    print(render_top(found))


if __name__ == "__main__":
    main()
