"""Multi-core scaling: N processes, one client each, the symbols split between them.

Run by hand: ``.venv/bin/python benchmarks/bench_sharded.py [--quick] [--shards 1,2]``.

One client is one reader thread and one dispatcher thread under one GIL, so a single
process uses about one core however many the machine has. The way to more cores is
more processes: shard the symbols. This benchmark measures what that gives:

* the blaster (``_blaster.py``, its own process) lists ``--symbols`` synthetic spot
  symbols (8 by default) and blasts ``aggTrade`` frames for all of them, the streams
  interleaved message by message, each connection's batch in one ``sendall``;
* for each shard count N (1 up to the machine's CPU count), N fresh processes each
  run one ``ccxtpro_sync.binance`` client with ``on_trades`` on its share of the
  symbols (round-robin split);
* a run ends when every process has seen the last trade id of each of its symbols.

Reported per N, medians over the rounds (the shard counts interleaved within each
round), speed-ups against N = 1 of the same round:

* total messages/s: all messages over the wall time from the server's go to the last
  process's last callback, and its speed-up;
* client CPU µs per message, all shard processes together (sharding should not
  raise it);
* CPU-bound messages/s: all messages over the busiest process's CPU seconds, i.e. the
  rate if each process had a core to itself. On a machine shared with other work the
  wall-clock rate follows the neighbours; this figure does not.

The blaster needs a little CPU of its own, so on a 2-core machine N = 2 shares the
cores with it.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import threading
import time
from multiprocessing.connection import Connection as Pipe
from typing import Any

from _blaster import Blaster, synthetic_symbols
from _common import median, ours_config, table, use_ref

SYMBOLS = 8
TIMEOUT = 120.0


def _stream(symbol_id: str) -> str:
    return f"{symbol_id.lower()}@aggTrade"


def _shard_main(pipe: Pipe, ws_url: str, rest_url: str, ids: list[str]) -> None:
    """One shard: one client on ``ids``; answers ``arm`` with ``armed`` and, once every
    symbol's target trade id has reached its callback, ``(end, cpu, trades)``."""
    import ccxtpro_sync

    lock = threading.Lock()
    done = threading.Event()
    targets: dict[str, int] = {}
    pending: set[str] = set()
    seen = [0]

    def handler(symbol: str) -> Any:
        def on_trades(trades: list[Any]) -> None:
            last = int(trades[-1].id)
            with lock:
                seen[0] += len(trades)
                if symbol in pending and last >= targets[symbol]:
                    pending.discard(symbol)
                    if not pending:
                        done.set()

        return on_trades

    client = ccxtpro_sync.binance(ours_config(ws_url, rest_url))
    try:
        for sid in ids:
            symbol = f"{sid.removesuffix('USDT')}/USDT"
            client.on_trades(symbol, handler(symbol))
        pipe.send("ready")
        while True:
            command = pipe.recv()
            if command == "stop":
                break
            with lock:
                targets.clear()
                targets.update({f"{s.removesuffix('USDT')}/USDT": m for s, m in command.items()})
                pending.clear()
                pending.update(targets)
                seen[0] = 0
                done.clear()
            cpu0 = time.process_time()
            pipe.send("armed")
            if not done.wait(TIMEOUT):
                pipe.send(("error", f"shard {ids[0]}…: {sorted(pending)} never completed"))
                break
            pipe.send(("done", time.monotonic(), time.process_time() - cpu0, seen[0]))
    finally:
        client.close()


def one_run(blaster: Blaster, ids: list[str], shards: int, n: int, warmup: int) -> dict[str, Any]:
    """``shards`` fresh processes on ``ids`` (split round-robin); the measured blast of
    ``n`` messages in total, after a warm-up of ``warmup``."""
    ctx = multiprocessing.get_context("spawn")
    parts = [ids[k::shards] for k in range(shards)]
    pipes: list[Pipe] = []
    processes = []
    for part in parts:
        mine, theirs = ctx.Pipe()
        process = ctx.Process(
            target=_shard_main,
            args=(theirs, blaster.ws_url, blaster.rest_url, part),
            daemon=True,
            name="bench-shard",
        )
        process.start()
        pipes.append(mine)
        processes.append(process)
    streams = [_stream(i) for i in ids]
    try:
        for pipe in pipes:
            if not pipe.poll(TIMEOUT) or pipe.recv() != "ready":
                raise RuntimeError("a shard did not start")
        for stream in streams:
            blaster.wait_subscribed(stream, timeout=TIMEOUT)
        result: dict[str, Any] = {}
        for total in (warmup, n):
            per_stream = max(1, total // len(ids))
            markers = blaster.prepare_many(streams, per_stream)
            for pipe, part in zip(pipes, parts, strict=True):
                pipe.send({i: markers[_stream(i)] for i in part})
            for pipe in pipes:
                if pipe.recv() != "armed":
                    raise RuntimeError("a shard did not arm")
            start = time.monotonic()
            blaster.go()
            ends, cpus, seen = [], [], 0
            for pipe in pipes:
                if not pipe.poll(TIMEOUT + 10):
                    raise TimeoutError("a shard never reported")
                reply = pipe.recv()
                if reply[0] != "done":
                    raise RuntimeError(reply[1])
                ends.append(reply[1])
                cpus.append(reply[2])
                seen += reply[3]
            blaster.wait_done()
            messages = per_stream * len(ids)
            if seen != messages:
                raise RuntimeError(f"{shards} shard(s): {seen} trades seen, {messages} sent")
            wall = max(ends) - start
            result = {"shards": shards, "messages": messages, "wall": wall, "cpus": cpus}
        for pipe in pipes:
            pipe.send("stop")
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    return result


def collect(
    shard_counts: list[int], symbols: int, n: int, warmup: int, repeat: int
) -> list[list[dict[str, Any]]]:
    """``repeat`` rounds; every shard count once per round, one blaster for all."""
    ids = synthetic_symbols(symbols)
    rounds = []
    with Blaster(extra_symbols=symbols) as blaster:
        for _ in range(repeat):
            rounds.append([one_run(blaster, ids, k, n, warmup) for k in shard_counts])
    return rounds


def summarise(rounds: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    counts = [r["shards"] for r in rounds[0]]
    for index, count in enumerate(counts):
        runs = [r[index] for r in rounds]
        ones = [r[0] for r in rounds]
        rows.append(
            {
                "shards": count,
                "rate": median([_rate(r) for r in runs]),
                "speedup": _ratio(runs, ones, _rate) if counts[0] == 1 else math.nan,
                "cpu_us": median([sum(r["cpus"]) / r["messages"] * 1e6 for r in runs]),
                "capacity": median([_capacity(r) for r in runs]),
                "capacity_up": _ratio(runs, ones, _capacity) if counts[0] == 1 else math.nan,
            }
        )
    return rows


def _rate(run: dict[str, Any]) -> float:
    return float(run["messages"] / run["wall"])


def _capacity(run: dict[str, Any]) -> float:
    """Messages over the busiest process's CPU seconds: the rate if every process had
    a core to itself (a load-independent view of the same run)."""
    return float(run["messages"] / max(run["cpus"]))


def _ratio(runs: list[dict[str, Any]], ones: list[dict[str, Any]], figure: Any) -> float:
    """Median over the rounds of ``figure(run) / figure(the round's 1-process run)``."""
    return median([figure(r) / figure(one) for r, one in zip(runs, ones, strict=True)])


def render(rows: list[dict[str, Any]]) -> str:
    headers = [
        "processes",
        "total msg/s",
        "speed-up vs 1",
        "CPU µs/msg (all)",
        "CPU-bound msg/s",
        "CPU-bound speed-up",
    ]
    body = [
        [r["shards"], r["rate"], r["speedup"], r["cpu_us"], r["capacity"], r["capacity_up"]]
        for r in rows
    ]
    return table(headers, body)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer messages and repeats")
    parser.add_argument(
        "--shards", help="comma list of process counts (default 1 .. the machine's CPUs)"
    )
    parser.add_argument("--symbols", type=int, default=SYMBOLS)
    parser.add_argument("--n", type=int, help="messages per run, all symbols (100k, quick 20k)")
    parser.add_argument("--warmup", type=int, default=4000)
    parser.add_argument("--repeat", type=int, help="rounds (default 5, quick 2)")
    parser.add_argument("--ref", default="HEAD", help="library commit to measure, or 'worktree'")
    args = parser.parse_args()
    label = use_ref(args.ref)
    counts = (
        [int(k) for k in args.shards.split(",")]
        if args.shards
        else list(range(1, (os.cpu_count() or 1) + 1))
    )
    n = args.n or (20_000 if args.quick else 100_000)
    repeat = args.repeat or (2 if args.quick else 5)
    rounds = collect(counts, args.symbols, n, args.warmup, repeat)
    print(
        f"sharded ({label}): aggTrade on {args.symbols} symbols, {n:,} messages per run, "
        f"median of {repeat} rounds, {os.cpu_count()} CPUs"
    )
    print(render(summarise(rounds)))


if __name__ == "__main__":
    main()
