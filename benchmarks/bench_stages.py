"""Where the microseconds of one message go, stage by stage, in one process (no socket).

Run by hand: ``.venv/bin/python benchmarks/bench_stages.py [--workloads trades,ticker,depth]``.

Each stage is timed alone on the library's own objects (best of several repeats, so
a busy machine inflates less), then the stages are timed together:

* ``frames``: ``FrameParser.feed`` over 64 KiB reads, per frame;
* ``envelope``: the combined-stream envelope decode (``{"stream":..,"data":..}``);
* ``payload``: the payload decode into the wire struct (tickers: the one lax decode
  of their numbers, ``ticker_floats``);
* ``parse``: wire struct to the unified structure (trades, tickers) or the book update
  (depth: ``BookSync.on_diff``, i.e. sequencing and both sides' levels);
* ``receive``: ``BinanceStreamProtocol.receive`` as the reader calls it, i.e. all of the
  above but framing, plus the rotation router and its lock, freshness, caches, the gap
  check and the deliveries; ``glue`` is ``receive`` minus the decodes and the parse;
* ``hub``: ``Hub.deliver_many`` + the dispatcher's queueing, per message, in bursts of
  300 (the dispatcher thread's callback runs once per burst and is not in this column).

The sum ``frames + receive + hub`` is the reader thread's CPU per message, short of the
``recv`` syscall and the read loop's own lines (``bench_hotpath.py`` measures the lot).
"""

from __future__ import annotations

import argparse
import sys
import threading
import timeit
from collections.abc import Callable
from typing import Any

import _payloads as pl
from _blaster import ws_frame
from _common import use_ref

use_ref("worktree")

from ccxtpro_sync import _orderbook  # noqa: E402
from ccxtpro_sync._core.frames import FrameParser  # noqa: E402
from ccxtpro_sync._core.freshness import FreshnessPolicy  # noqa: E402
from ccxtpro_sync._core.rotation import DeliveredKeys  # noqa: E402
from ccxtpro_sync._exchanges.binance import parsers, ticker_floats, wire  # noqa: E402
from ccxtpro_sync._exchanges.binance import stream_protocol as sp  # noqa: E402
from ccxtpro_sync._exchanges.binance.cadence import new_freshness  # noqa: E402
from ccxtpro_sync._exchanges.binance.market_data import MarketData  # noqa: E402
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_market  # noqa: E402
from ccxtpro_sync._exchanges.binance.rotation import RotationRouter  # noqa: E402
from ccxtpro_sync._numbers import finite_float  # noqa: E402
from ccxtpro_sync._sync.hub import Hub  # noqa: E402

SYM = b"BTCUSDT"
STREAMS = {"trades": "btcusdt@aggTrade", "ticker": "btcusdt@ticker", "depth": "btcusdt@depth"}
HASHES = {"trades": "trades:BTC/USDT", "ticker": "ticker:BTC/USDT", "depth": "orderbook:BTC/USDT"}
N = 20_000


def _best(fn: Callable[[], object], per: int, repeat: int = 7) -> float:
    """Best µs per message of ``fn`` (which handles ``per`` messages)."""
    return min(timeit.repeat(fn, number=1, repeat=repeat)) / per * 1e6


class _Pipeline:
    """A float client's stream pipeline over plain objects: no socket, no thread but
    the dispatcher's."""

    def __init__(self, workload: str) -> None:
        raw = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC",
               "quoteAsset": "USDT", "filters": []}  # fmt: skip
        self.markets = Markets([parse_market(raw, "spot", float)], "spot", number=float)
        lock = threading.Lock()
        self.data = MarketData(self.markets, lock=lock, defer_views=True, fill_gaps=True)
        router = RotationRouter(self.data, lock, DeliveredKeys())
        self.protocol = sp.BinanceStreamProtocol(
            "ws://local", router, freshness=new_freshness(FreshnessPolicy())
        )
        # Subscribed, as on a live connection (only wanted streams take the bound path).
        self.protocol.subscribe([STREAMS[workload]])
        self.hub = Hub()
        self.hub.add_callback(HASHES[workload], lambda value: None)
        self.workload = workload
        self.stream = STREAMS[workload]
        self.next = 1
        if workload == "depth":
            self._sync_book()

    def _sync_book(self) -> None:
        sides = [
            b",".join(b'["%s","1.0"]' % pl.price(pl.MID_TICKS + s * k) for k in range(1, 101))
            for s in (-1, 1)
        ]
        self.protocol.receive(pl.envelope(b"btcusdt@depth", pl.depth_update(SYM, 1, 3)), 0.0)
        snapshot = b'{"lastUpdateId":2,"bids":[%s],"asks":[%s]}' % (sides[0], sides[1])
        self.data.apply_snapshot("BTC/USDT", snapshot, 1000)
        assert self.data.books["BTC/USDT"].synced
        self.next = 4

    def payloads(self, count: int) -> list[bytes]:
        start, self.next = self.next, self.next + count * (3 if self.workload == "depth" else 1)
        if self.workload == "trades":
            return [pl.agg_trade(SYM, start + k) for k in range(count)]
        if self.workload == "ticker":
            return [pl.ticker(SYM, start + k) for k in range(count)]
        return [pl.depth_update(SYM, start + 3 * k, start + 3 * k + 2) for k in range(count)]

    def envelopes(self, count: int) -> list[bytes]:
        name = self.stream.encode()
        return [pl.envelope(name, p) for p in self.payloads(count)]


def stages(workload: str) -> dict[str, float]:
    pipe = _Pipeline(workload)
    out: dict[str, float] = {}
    envs = pipe.envelopes(N)
    data = b"".join(ws_frame(e) for e in envs[:2000])
    reads = [data[i : i + 65536] for i in range(0, len(data), 65536)]

    def frames() -> None:
        parser = FrameParser()
        for chunk in reads:
            parser.feed(chunk)

    out["frames"] = _best(frames, 2000)
    decode_frame = sp._decode_frame
    out["envelope"] = _best(lambda: [decode_frame(e) for e in envs[:2000]], 2000)
    raws = [decode_frame(e).data for e in envs[:2000]]
    if workload == "depth":
        pipe.next = 4  # those were never applied: the book continues from its snapshot
    market = pipe.markets.by_id("BTCUSDT")
    if workload == "trades":
        decode = wire.AGG_TRADE_DECODER.decode
        out["payload"] = _best(lambda: [decode(r) for r in raws], 2000)
        events = [decode(r) for r in raws]
        parse = parsers.parse_agg_trade
        out["parse"] = _best(lambda: [parse(e, market, finite_float) for e in events], 2000)
    elif workload == "ticker":
        decode_numbers = ticker_floats.decode
        out["payload"] = _best(lambda: [decode_numbers(r) for r in raws], 2000)
        decoded = [(decode_numbers(r), r) for r in raws]
        parse_numbers = ticker_floats.parse
        out["parse"] = _best(
            lambda: [parse_numbers(n, r, market, finite_float) for n, r in decoded], 2000
        )
    else:
        decode = wire.DEPTH_UPDATE_FLOAT_DECODER.decode
        out["payload"] = _best(lambda: [decode(r) for r in raws], 2000)
        # The book update needs fresh, chained events each run: measured once, on N.
        book = pipe.data.books["BTC/USDT"]
        events = [decode(decode_frame(e).data) for e in pipe.envelopes(N)]

        def update() -> None:
            for e in events:
                book.on_diff(e.first_update_id, e.final_update_id, None, e.bids, e.asks, view=False)

        out["parse"] = _best(update, N, repeat=1)
    receive = pipe.protocol.receive
    took: list[float] = []
    for _ in range(5):
        fresh = pipe.envelopes(N)

        def run(fresh: list[bytes] = fresh) -> None:
            batch: list[Any] = []
            for e in fresh:
                batch += receive(e, 0.0)
                if len(batch) >= 300:  # handed over per burst, as the reader does
                    batch = []

        took.append(_best(run, N, repeat=1))
    out["receive"] = min(took)
    batches: list[list[Any]] = []
    for _ in range(3):
        batches.append([d for e in pipe.envelopes(N) for d in receive(e, 0.0)])
    deliver = pipe.hub.deliver_many

    def hand_over(batch: list[Any]) -> None:
        for k in range(0, len(batch), 300):
            deliver(batch[k : k + 300], "bench", url="ws://local", wake=False)
        pipe.hub.dispatcher.wake()

    out["hub"] = min(_best(lambda b=b: hand_over(b), len(b), repeat=1) for b in batches)
    pipe.hub.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", default="trades,ticker,depth")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    columns = ["frames", "envelope", "payload", "parse", "glue", "receive", "hub", "reader total"]
    # depth's `parse` is the book update: C or Python (CCXTPRO_SYNC_PURE_PYTHON=1)
    print(f"order book level loop: {_orderbook._LEVELS_IMPL}\n")
    print("| workload | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for workload in args.workloads.split(","):
        runs = [stages(workload) for _ in range(args.rounds)]  # best of the rounds, per cell
        got = {c: min(r[c] for r in runs) for c in columns if c in runs[0]}
        got["glue"] = got["receive"] - got["envelope"] - got["payload"] - got["parse"]
        got["reader total"] = got["frames"] + got["receive"] + got["hub"]
        print(f"| {workload} | " + " | ".join(f"{got[c]:.2f}" for c in columns) + " |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
