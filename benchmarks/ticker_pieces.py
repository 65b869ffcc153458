"""Where a ticker's instructions go: each piece of its hot path alone, under cachegrind.

Run by hand: ``.venv/bin/python benchmarks/ticker_pieces.py [--stream ticker|miniTicker|bookTicker]
[--pieces a,b] [--ref REV]`` (needs ``valgrind``). A piece ``decode:<expr>`` times the
callable ``<expr>`` (over ``ticker_floats`` and ``wire``) on each payload, copied.

Each piece runs over 1,000 and then 4,000 pre-built inputs in one process under
``valgrind --tool=cachegrind --cache-sim=no`` (inputs built for 4,000 both times); the
difference divided by 3,000 is one message's instructions for that piece alone. The
pieces are the steps ``BinanceStreamProtocol.receive`` takes for a bound ticker stream
of a float spot client (``bench_stages``' pipeline), and ``Hub.deliver_many`` after it.
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
import bench_stages as bs
import _payloads as pl
import msgspec
from ccxtpro_sync._core.events import Delivery, Policy
from ccxtpro_sync._structures import Ticker, iso8601

piece, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
stream = "btcusdt@" + kind
bs.STREAMS["ticker"] = stream
bs.HASHES["ticker"] = "bidask:BTC/USDT" if kind == "bookTicker" else "ticker:BTC/USDT"
pipe = bs._Pipeline("ticker")
payload = {{"ticker": pl.ticker, "miniTicker": getattr(pl, "mini_ticker", None),
           "bookTicker": getattr(pl, "book_ticker", None)}}[kind]
frames = [pl.envelope(stream.encode(), payload(bs.SYM, 1 + k)) for k in range(4000)]
protocol = pipe.protocol
receive = protocol.receive
protocol.receive(frames[0], 0.0)  # binds the stream
name, decode, handle = protocol._bound[stream.encode()][:3]  # (later: and the run)
route_event = protocol.router.route_event
combined = [decode(f) for f in frames]
datas = [c.data for c in combined]  # what the bound decoder hands its handler
payloads = [msgspec.Raw(payload(bs.SYM, 1 + k)) for k in range(4000)]
lock = pipe.data.lock
LATEST = Policy.LATEST
deliver = pipe.hub.deliver_many
frames, combined, datas, payloads = frames[:n], combined[:n], datas[:n], payloads[:n]
if piece == "receive":
    for f in frames:
        receive(f, 0.0)
elif piece == "receive_hub":
    batch = []
    for f in frames:
        batch += receive(f, 0.0)
        if len(batch) >= 300:
            deliver(batch, "bench", url="ws://local", wake=False)
            batch = []
    if batch:
        deliver(batch, "bench", url="ws://local", wake=False)
elif piece == "frame_decode":
    for f in frames:
        decode(f)
elif piece == "name_lookup":
    bound = protocol._bound
    for f in frames:
        bound.get(f[11 : f.find(b'"', 11)], ())
elif piece == "route_event":
    for d in datas:
        route_event(handle, d, 0.0)
elif piece == "handler":
    for d in datas:
        handle(d)
elif piece == "lock":
    for d in datas:
        with lock:
            pass
elif piece == "iso8601":
    for k in range(n):
        iso8601(1672515782136 + k)
elif piece == "delivery":
    t = handle(datas[0])[0].value
    for d in datas:
        [Delivery("ticker:BTC/USDT", t, LATEST)]
elif piece == "hub":
    values = [handle(d) for d in datas]
    batch = []
    for v in values:
        batch += v
        if len(batch) >= 300:
            deliver(batch, "bench", url="ws://local", wake=False)
            batch = []
    if batch:
        deliver(batch, "bench", url="ws://local", wake=False)
elif piece == "ticker_struct":
    for d in payloads:
        Ticker("BTC/USDT", 1, "x", 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
               1.0, 1.0, 1.0, 1.0, None, None, d)
elif piece == "raw_copy":
    for d in payloads:
        d.copy()
elif piece.startswith("decode:"):
    from ccxtpro_sync._exchanges.binance import ticker_floats, wire
    fn = eval(piece[7:], {{"ticker_floats": ticker_floats, "wire": wire}})
    copies = [d.copy() for d in payloads]
    for d in copies:
        fn(d)
elif piece == "empty":
    for d in datas:
        pass
else:
    raise SystemExit("unknown piece " + piece)
pipe.hub.dispatcher.wake()
pipe.hub.close()
"""

DEFAULT = (
    "receive_hub,receive,hub,name_lookup,frame_decode,route_event,handler,lock,iso8601,"
    "ticker_struct,raw_copy,delivery,empty"
)


def per_message(piece: str, kind: str, src: str | None) -> float:
    env = dict(os.environ)
    if src:
        env["BENCH_SRC"] = src
    else:
        env.pop("BENCH_SRC", None)
    code = _PIECES.format(here=str(HERE))
    counts = [
        _instructions([sys.executable, "-c", code, piece, kind, str(n)], env) for n in (1000, 4000)
    ]
    return (counts[1] - counts[0]) / 3000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stream", default="ticker", help="ticker, miniTicker or bookTicker")
    parser.add_argument("--pieces", default=DEFAULT)
    parser.add_argument("--ref", help="a commit to measure instead of the working tree")
    args = parser.parse_args()
    src = export_ref(args.ref)[1] if args.ref else None
    print(f"instructions per message, @{args.stream} ({args.ref or 'working tree'})")
    for piece in args.pieces.split(","):
        print(f"| {piece} | {per_message(piece, args.stream, src):,.0f} |", flush=True)


if __name__ == "__main__":
    main()
