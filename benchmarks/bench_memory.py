"""Memory per subscription with 1,000 streams (tracemalloc and RSS deltas).

Run by hand: ``.venv/bin/python benchmarks/bench_memory.py [--quick]``.

The blaster lists 1,000 synthetic spot symbols besides the default ones. Each client,
in a fresh process, loads the markets, then (baseline taken here) subscribes to
``<symbol>@ticker`` for the 1,000 symbols, in groups of 100 symbols:

* ``ours``: ``on_tickers(group)`` with ``maxStreamsPerConnection`` 200, so five
  connections and five reader threads;
* ``ccxt``: one ``watch_tickers(group)`` loop per group, ``streamLimits`` 5 so it too
  spreads the streams over five connections.

Groups, not 1,000 single ``on_ticker`` calls: each call after the connection is open
sends its own ``SUBSCRIBE``, and frames are paced at 4/s (Binance allows 5), so
1,000 single calls take over four minutes to be acknowledged.

Two points are measured against the baseline: ``subscribed`` (every stream
acknowledged, nothing received yet) and ``one message`` (after one ticker per
stream reached the consumer, so the caches exist). Memory is the
``tracemalloc`` total (Python allocations, started after ``load_markets``) and the
process RSS (``/proc/self/statm``), both divided by 1,000.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import threading
import time
import tracemalloc
from typing import Any

from _blaster import Blaster, synthetic_symbols
from _common import emit, median, ours_config, run_worker, table, use_ref

SYMBOLS = 1000
GROUP = 100
VARIANTS = ("ours", "ccxt")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _point() -> tuple[int, int]:
    gc.collect()
    return tracemalloc.get_traced_memory()[0], _rss()


def _streams(ids: list[str]) -> list[str]:
    return [f"{i.lower()}@ticker" for i in ids]


def _groups(symbols: list[str]) -> list[list[str]]:
    return [symbols[k : k + GROUP] for k in range(0, len(symbols), GROUP)]


def _wait_all(blaster: Blaster, streams: list[str]) -> None:
    for stream in streams:
        blaster.wait_subscribed(stream, timeout=30)


def run_ours(blaster: Blaster, ids: list[str], per_connection: int = 200) -> dict[str, Any]:
    import ccxtpro_sync

    config = ours_config(blaster.ws_url, blaster.rest_url, maxStreamsPerConnection=per_connection)
    client = ccxtpro_sync.binance(config)
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
        for group in _groups(symbols):
            client.on_tickers(group, lambda t: mark(t.symbol))
        streams = _streams(ids)
        _wait_all(blaster, streams)
        subscribed = _point()
        blaster.one(*streams)
        if not everything.wait(60):
            raise TimeoutError(f"ours: {len(seen)}/{wanted} first messages")
        received = _point()
        threads = threading.active_count()
        connections = len(client.connections())
    finally:
        client.close()
    return _result(base, subscribed, received, len(streams), threads, connections)


def run_ccxt(blaster: Blaster, ids: list[str]) -> dict[str, Any]:
    return asyncio.run(_ccxt(blaster, ids))


async def _ccxt(blaster: Blaster, ids: list[str]) -> dict[str, Any]:
    from _common import ccxt_exchange

    exchange = ccxt_exchange(blaster.ws_url, blaster.rest_url)
    exchange.options["streamLimits"]["spot"] = 5  # five connections, like ours
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
    base: tuple[int, int],
    subscribed: tuple[int, int],
    received: tuple[int, int],
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
        "threads": threads,
        "connections": connections,
    }


def worker(variant: str, symbols: int) -> None:
    ids = synthetic_symbols(symbols)
    with Blaster(extra_symbols=symbols) as blaster:
        emit(run_ours(blaster, ids) if variant == "ours" else run_ccxt(blaster, ids))


def collect(variants: list[str], symbols: int, repeat: int) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for _ in range(repeat):
        for variant in variants:
            args = ["--worker", variant, "--symbols", str(symbols)]
            found.setdefault(variant, []).append(run_worker("bench_memory.py", args))
    return found


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
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.symbols)
        return
    label = use_ref(args.ref)
    repeat = args.repeat or (1 if args.quick else 3)
    started = time.perf_counter()
    found = collect(args.variants.split(","), args.symbols, repeat)
    print(
        f"memory ({label}): {args.symbols} streams, median of {repeat} rounds "
        f"({time.perf_counter() - started:.0f} s)"
    )
    print(render(found))


if __name__ == "__main__":
    main()
