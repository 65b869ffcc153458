"""A burst at socket speed: every trade must arrive; what did it cost the reader?

Run by hand: ``.venv/bin/python benchmarks/bench_burst.py [--rounds 20] [--trades 100000]``.

A raw websocket server (``tests/reliability/raw_ws.py``) runs in a child process;
each round it builds ``--trades`` aggTrade frames with consecutive ids and writes
them with one ``sendall``. The client (``on_trades`` on BTC/USDT, markets from a
local exchange) must hand every trade to the callback, ids consecutive, in every
round: append streams wait for the dispatcher (backpressure) instead of dropping.

Reported per round: seconds to deliver, trades/s, the reader's wait for the
dispatcher (seconds, times blocked by a full queue, high-water yields), drops and
gaps; then the process's peak RSS. The yields show the dispatcher getting to run
during a sustained burst rather than only when the switch interval lets it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import threading
import time
from multiprocessing.connection import Connection as Pipe
from typing import Any

from _common import ROOT, table

sys.path.insert(1, str(ROOT))


def _serve(pipe: Pipe) -> None:
    """The child: one raw server; ``("blast", first, count)`` builds and sends frames."""
    from tests.reliability.raw_ws import RawStreamServer, agg_trade_frames

    server = RawStreamServer()
    pipe.send(server.url)
    while True:
        command = pipe.recv()
        if command[0] == "subscribed":
            server.wait_subscribed(command[1], timeout=30)
            pipe.send("ok")
        elif command[0] == "blast":
            data = agg_trade_frames("BTCUSDT", command[1], command[2])
            pipe.send("built")
            server.blast(data)
            pipe.send("sent")
        else:
            server.close()
            return


class _Collector:
    def __init__(self) -> None:
        self.expected = 0
        self.count = 0
        self.gaps = 0
        self.cond = threading.Condition()

    def __call__(self, batch: list[Any]) -> None:
        expected = self.expected
        for trade in batch:
            trade_id = int(trade.id)
            if trade_id != expected:
                self.gaps += 1
            expected = trade_id + 1
        with self.cond:
            self.expected = expected
            self.count += len(batch)
            self.cond.notify_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--trades", type=int, default=100_000)
    args = parser.parse_args()

    import ccxtpro_sync
    from ccxtpro_sync.simulator import LocalExchange

    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=_serve, args=(theirs,), daemon=True)
    child.start()
    url = ours.recv()
    rows: list[list[str]] = []
    failed = False
    with LocalExchange(seed=1, auto_publish=False) as ex:
        config = {"environment": "local", "local": ex, "urls": {"ws": url}, "readTimeout": 60.0}
        with ccxtpro_sync.binance(config) as client:
            collector = _Collector()
            client.on_trades("BTC/USDT", handler=collector)
            ours.send(("subscribed", "btcusdt@aggTrade"))
            ours.recv()
            for round_ in range(args.rounds):
                before = client.hub.stats()
                ours.send(("blast", round_ * args.trades, args.trades))
                ours.recv()  # frames built: the clock starts with the sendall
                started = time.perf_counter()
                target = (round_ + 1) * args.trades
                with collector.cond:
                    arrived = collector.cond.wait_for(lambda t=target: collector.count >= t, 300)
                seconds = time.perf_counter() - started
                ours.recv()
                after = client.hub.stats()
                ok = arrived and collector.gaps == 0 and collector.expected == target
                failed |= not ok
                rows.append(
                    [
                        str(round_ + 1),
                        f"{seconds:.2f}",
                        f"{args.trades / seconds:,.0f}",
                        f"{after['reader_wait_total'] - before['reader_wait_total']:.3f}",
                        str(after["reader_blocked"] - before["reader_blocked"]),
                        str(after["reader_yields"] - before["reader_yields"]),
                        str(after["dropped"] - before["dropped"]),
                        str(collector.gaps),
                        "yes" if ok else "NO",
                    ]
                )
    ours.send(("stop",))
    child.join(10)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# Burst: {args.rounds} rounds of {args.trades:,} trades, one sendall each\n")
    headers = ["round", "s", "trades/s", "reader wait s", "blocked", "yields", "dropped"]
    print(table([*headers, "gaps", "all arrived"], rows))
    print(f"\npeak RSS of the client process: {peak_mib:.0f} MiB")
    if failed:
        sys.exit("some round lost or reordered trades")


if __name__ == "__main__":
    main()
