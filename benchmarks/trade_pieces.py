"""Where a trade's instructions go after its decode: the handler alone, under cachegrind.

Run by hand: ``.venv/bin/python benchmarks/trade_pieces.py [--pieces a,b] [--ref REV]``
(needs ``valgrind``).

Each piece runs over 1,000 and then 4,000 decoded ``@aggTrade`` payloads in one process
under ``valgrind --tool=cachegrind --cache-sim=no`` (payloads decoded for 4,000 both
times); the difference divided by 3,000, minus the same for ``empty`` (the loop alone),
is one trade's instructions for that piece. Pieces: ``handler`` (``trade_stream``'s
handler of a float spot client: the ``Trade``, the cache, the ``Delivery`` list),
``handler_gap`` (the same with a gap filler bound), ``python`` / ``python_gap`` (the
same on the Python path alone: no compiled builder), ``build`` (the compiled
``_trade_build.trade`` alone, where the library at ``--ref`` has it).
"""

from __future__ import annotations

import argparse
import os
import sys

from _common import HERE, export_ref
from count_instructions import _instructions

_PIECES = """
import sys
sys.path.insert(0, {here!r})
import _common  # puts BENCH_SRC (the library at --ref) first on sys.path
from ccxtpro_sync._core.cache import ArrayCache
from ccxtpro_sync._core.events import Delivery
from ccxtpro_sync._core.trade_gap import GapFiller
from ccxtpro_sync._exchanges.binance import trade_stream, wire
from ccxtpro_sync._exchanges.binance.markets import parse_market
from ccxtpro_sync._numbers import finite_float

piece, n = sys.argv[1], int(sys.argv[2])
filters = [
    {{"filterType": "PRICE_FILTER", "minPrice": "0", "maxPrice": "0", "tickSize": "0.01"}},
    {{"filterType": "LOT_SIZE", "minQty": "0.0001", "maxQty": "1000", "stepSize": "0.0001"}},
]
raw = {{"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT"}}
market = parse_market(raw | {{"filters": filters}}, "spot", float)
events = [
    wire.AGG_TRADE_DECODER.decode(
        b'{{"e":"aggTrade","E":%d,"s":"BTCUSDT","a":%d,"p":"65000.12000000",'
        b'"q":"0.00150000","f":%d,"l":%d,"T":%d,"m":%s,"M":true}}'
        % (1672515782136 + k, k, k, k, 1672515782136 + k, b"true" if k & 1 else b"false")
    )
    for k in range(4000)
][:n]
if piece.startswith("python"):
    trade_stream.build_trade = None
gaps = GapFiller(lambda t: int(t.id)) if piece.endswith("_gap") else None
handle = trade_stream.trade_handler(
    True, market, number=finite_float, cache=ArrayCache(1000), key="trades:BTC/USDT",
    gaps=gaps, on_gap=lambda t: [Delivery("trades:BTC/USDT", [t], None)],
)
run_of = getattr(trade_stream, "trade_run_handler", None)
on_run = run_of and run_of(
    market, number=finite_float, cache=ArrayCache(1000), key="trades:BTC/USDT", gaps=gaps
)
if gaps is not None and piece.startswith("run"):
    gaps.cursor[:] = [None, 0]  # the first id: every payload follows
groups = [events[k : k + 32] for k in range(0, len(events), 32)]
def run():
    if piece.startswith("run"):
        for group in groups:
            on_run(group, 0)
    elif piece == "build":
        build = trade_stream.build_trade
        for e in events:
            build(e, "BTC/USDT", True)
    elif piece == "empty":
        for e in events:
            pass
    else:
        for e in events:
            handle(e)
run()
"""

DEFAULT = "handler,handler_gap,python,python_gap,build,run,run_gap"


def _count(piece: str, src: str | None) -> float:
    env = dict(os.environ)
    if src:
        env["BENCH_SRC"] = src
    else:
        env.pop("BENCH_SRC", None)
    code = _PIECES.format(here=str(HERE))
    counts = [_instructions([sys.executable, "-c", code, piece, str(n)], env) for n in (1000, 4000)]
    return (counts[1] - counts[0]) / 3000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pieces", default=DEFAULT)
    parser.add_argument("--ref", help="a commit to measure instead of the working tree")
    args = parser.parse_args()
    src = export_ref(args.ref)[1] if args.ref else None
    empty = _count("empty", src)
    print(f"instructions per trade, loop taken off ({args.ref or 'working tree'})")
    for piece in args.pieces.split(","):
        print(f"| {piece} | {_count(piece, src) - empty:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
