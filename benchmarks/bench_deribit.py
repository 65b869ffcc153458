"""Deribit book changes and trades: the Deribit client against a bare websocket loop.

Run by hand: ``.venv/bin/python benchmarks/bench_deribit.py [--seconds 5] [--rounds 3]``.

One local Deribit exchange (``LocalDeribit``) runs in its own process with a fast
generator (``--tick`` seconds per step), so its CPU never counts against the
client measured. For each workload (``book``: ``book.{instrument}.100ms`` of every
BTC and ETH future and perpetual; ``trades``: ``trades.{instrument}.100ms`` of the
same instruments) two clients take turns, each in a fresh interpreter, round after
round, on the same server:

* ``bare``: websocket-client's ``recv_data`` loop after one ``public/subscribe``,
  doing nothing with the frames (the floor of a Python websocket-client reader);
* ``ours``: ``ccxtpro_sync.deribit`` with ``on_order_book``/``on_trades``: frames
  decoded, books chained by ``change_id`` and synchronised, trades parsed, the
  callback run on the dispatcher thread.

The server is the bottleneck (it generates the market), so both see about the
same message rate; the figure that matters is client CPU per frame
(``time.process_time`` of the client process, all threads), and the ratio
ours/bare per round (median over the rounds).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

from _common import ROOT, SOURCE

WORKLOADS = ("book", "trades")
WARMUP = 1.0


def _serve(conn: Any, tick: float) -> None:
    sys.path.insert(0, SOURCE)
    from ccxtpro_sync.simulator import LocalDeribit

    exchange = LocalDeribit(seed=1, tick_interval=tick, max_connections=64).start()
    conn.send(exchange.urls())
    conn.recv()  # until told to stop
    exchange.close()


def _instruments(rest: str) -> list[str]:
    names: list[str] = []
    for currency in ("BTC", "ETH"):
        url = f"{rest}/public/get_instruments?currency={currency}&kind=future"
        with urllib.request.urlopen(url, timeout=10) as reply:
            names += [i["instrument_name"] for i in json.loads(reply.read())["result"]]
    return names


def _channels(workload: str, instruments: list[str]) -> list[str]:
    return [f"{'book' if workload == 'book' else 'trades'}.{i}.100ms" for i in instruments]


# -- workers (each in its own interpreter) -------------------------------------------------
def worker_bare(urls: dict[str, str], workload: str, seconds: float) -> dict[str, Any]:
    import websocket

    channels = _channels(workload, _instruments(urls["rest"]))
    ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=False)
    ws.connect(urls["ws"], suppress_origin=True)
    ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "public/subscribe",
                        "params": {"channels": channels}}))  # fmt: skip
    end = time.perf_counter() + WARMUP
    while time.perf_counter() < end:
        ws.recv_data(control_frame=True)
    frames = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    end = t0 + seconds
    while time.perf_counter() < end:
        ws.recv_data(control_frame=True)
        frames += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    ws.close()
    return {"frames": frames, "updates": frames, "wall": wall, "cpu": cpu}


def worker_ours(urls: dict[str, str], workload: str, seconds: float) -> dict[str, Any]:
    import ccxtpro_sync

    instruments = _instruments(urls["rest"])
    client = ccxtpro_sync.deribit({"environment": "local", "urls": urls})
    markets = client.load_markets()
    by_id = {m.id: m.symbol for m in markets.values()}
    symbols = [by_id[i] for i in instruments]
    counted = [0]
    lock = threading.Lock()

    def count(_update: Any) -> None:
        with lock:
            counted[0] += 1

    if workload == "book":
        client.on_order_book(symbols, handler=count)
    else:
        client.on_trades(symbols, handler=count)
    client.wait_ready(10)
    time.sleep(WARMUP)  # the benchmark's warm-up, not a synchronisation
    frames0 = client.connections()[0].messages
    with lock:
        updates0 = counted[0]
    cpu0, t0 = time.process_time(), time.perf_counter()
    time.sleep(seconds)
    with lock:
        updates = counted[0] - updates0
    frames = client.connections()[0].messages - frames0
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    resyncs = sum(b["resyncs"] for b in client.connection_info()["books"].values())
    client.close()
    return {"frames": frames, "updates": updates, "wall": wall, "cpu": cpu, "resyncs": resyncs}


def _run_worker(variant: str, urls: dict[str, str], workload: str, seconds: float) -> Any:
    command = [sys.executable, __file__, "--worker", variant, "--urls", json.dumps(urls)]
    command += ["--workload", workload, "--seconds", str(seconds)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=seconds * 4 + 60,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tick", type=float, default=0.002, help="generator seconds per step")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--worker", choices=("bare", "ours"))
    parser.add_argument("--urls")
    parser.add_argument("--workload")
    args = parser.parse_args()
    if args.worker:
        work = worker_bare if args.worker == "bare" else worker_ours
        print(json.dumps(work(json.loads(args.urls), args.workload, args.seconds)))
        return 0
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, args.tick), daemon=True)
    server.start()
    urls = parent.recv()
    try:
        print(f"local deribit at {urls['ws']} (tick {args.tick}s), {args.seconds}s x "
              f"{args.rounds} rounds")  # fmt: skip
        header = (f"{'workload':<8} {'client':<5} {'frames/s':>10} {'updates/s':>10} "
                  f"{'cpu us/frame':>13} {'ours/bare cpu':>14}")  # fmt: skip
        print(header)
        for workload in args.workloads.split(","):
            samples: dict[str, list[dict[str, Any]]] = {"bare": [], "ours": []}
            for _ in range(args.rounds):
                for variant in ("bare", "ours"):
                    samples[variant].append(_run_worker(variant, urls, workload, args.seconds))
            ratios = [
                (o["cpu"] / o["frames"]) / (b["cpu"] / b["frames"])
                for b, o in zip(samples["bare"], samples["ours"], strict=True)
            ]
            for variant in ("bare", "ours"):
                runs = samples[variant]
                rate = statistics.median(r["frames"] / r["wall"] for r in runs)
                updates = statistics.median(r["updates"] / r["wall"] for r in runs)
                cpu = statistics.median(1e6 * r["cpu"] / max(r["frames"], 1) for r in runs)
                ratio = f"{statistics.median(ratios):14.2f}" if variant == "ours" else ""
                line = f"{workload:<8} {variant:<5} {rate:10.0f} {updates:10.0f} {cpu:13.1f}"
                print(f"{line} {ratio}")
            resyncs = [r.get("resyncs", 0) for r in samples["ours"]]
            if workload == "book":
                print(f"{'':<8} book resyncs in ours: {resyncs}")
    finally:
        parent.send("stop")
        server.join(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
