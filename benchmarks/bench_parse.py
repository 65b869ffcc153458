"""Micro-benchmark: decode + parse per message vs bare ``msgspec.json.decode`` to dict.

Run by hand: ``.venv/bin/python benchmarks/bench_parse.py [--number N]``.
Prints µs per message and the ratio to the dict baseline measured in the same
run, for float and Decimal mode, raw and combined-stream frames.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import timeit
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # run from a checkout

from ccxtpro_sync._exchanges.binance import parsers as p
from ccxtpro_sync._exchanges.binance import wire as w
from ccxtpro_sync._exchanges.binance.markets import parse_market
from ccxtpro_sync._numbers import finite

AGG_TRADE = (
    b'{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"16612.01000000",'
    b'"q":"0.00120000","f":100,"l":105,"T":1672515782136,"m":true,"M":true}'
)
TICKER = (
    b'{"e":"24hrTicker","E":1672515782136,"s":"BTCUSDT","p":"-93.49000000","P":"-0.560",'
    b'"w":"16627.40450373","x":"16695.76000000","c":"16602.26000000","Q":"0.00670000",'
    b'"b":"16602.25000000","B":"0.05690000","a":"16602.26000000","A":"0.29220000",'
    b'"o":"16695.75000000","h":"16773.18000000","l":"16497.77000000","v":"159435.48210000",'
    b'"q":"2651010617.38939170","O":1672429382136,"C":1672515782136,"F":2429138451,'
    b'"L":2431879131,"n":2740681}'
)
_LEVELS = b",".join(b'["16602.%02d000000","0.%04d0000"]' % (i, i * 7) for i in range(10))
DEPTH_UPDATE = (
    b'{"e":"depthUpdate","E":1672515782136,"s":"BTCUSDT","U":157,"u":160,"b":['
    + _LEVELS
    + b'],"a":['
    + _LEVELS
    + b"]}"
)


def _market(number: Any) -> Any:
    raw = {
        "symbol": "BTCUSDT",
        "status": "TRADING",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "filters": [],
    }
    return parse_market(raw, "spot", number)


def _per_call(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=20_000)
    args = parser.parse_args()
    n: int = args.number
    fm, dm = _market(float), _market(Decimal)
    # The converters the client parses with: NaN and infinities refused.
    fnum, dnum = finite(float), finite(Decimal)
    dict_decode = msgspec.json.decode

    def combined(payload: bytes, stream: str) -> bytes:
        return b'{"stream":"%s","data":%s}' % (stream.encode(), payload)

    agg_env = combined(AGG_TRADE, "btcusdt@aggTrade")
    cases: list[tuple[str, bytes, Callable[[], object]]] = [
        (
            "aggTrade float",
            AGG_TRADE,
            lambda: p.parse_agg_trade(w.AGG_TRADE_DECODER.decode(AGG_TRADE), fm, fnum),
        ),
        (
            "aggTrade Decimal",
            AGG_TRADE,
            lambda: p.parse_agg_trade(w.AGG_TRADE_DECODER.decode(AGG_TRADE), dm, dnum),
        ),
        (
            "aggTrade combined (envelope + data)",
            agg_env,
            lambda: p.parse_agg_trade(
                w.AGG_TRADE_DECODER.decode(w.ENVELOPE_DECODER.decode(agg_env).data), fm, float
            ),
        ),
        (
            "aggTrade decode only (wire struct)",
            AGG_TRADE,
            lambda: w.AGG_TRADE_DECODER.decode(AGG_TRADE),
        ),
        (
            "ticker float",
            TICKER,
            lambda: p.parse_ticker(w.TICKER_DECODER.decode(TICKER), fm, fnum),
        ),
        (
            "ticker Decimal",
            TICKER,
            lambda: p.parse_ticker(w.TICKER_DECODER.decode(TICKER), dm, dnum),
        ),
        (
            "depthUpdate 10+10 float",
            DEPTH_UPDATE,
            lambda: p.parse_depth_update_levels(w.DEPTH_UPDATE_DECODER.decode(DEPTH_UPDATE), fnum),
        ),
        (
            "depthUpdate 10+10 Decimal",
            DEPTH_UPDATE,
            lambda: p.parse_depth_update_levels(w.DEPTH_UPDATE_DECODER.decode(DEPTH_UPDATE), dnum),
        ),
        (
            "depthUpdate 10+10 float fast path",
            DEPTH_UPDATE,
            lambda: w.DEPTH_UPDATE_FLOAT_DECODER.decode(DEPTH_UPDATE),
        ),
        (
            "depthUpdate decode only (wire struct)",
            DEPTH_UPDATE,
            lambda: w.DEPTH_UPDATE_DECODER.decode(DEPTH_UPDATE),
        ),
    ]
    print(f"{'case':40} {'dict µs':>8} {'ours µs':>8} {'ratio':>6}")
    for _, _, fn in cases:  # warm up caches and the allocator
        _per_call(fn, n // 10 or 1)
    for name, payload, fn in cases:
        baseline = _per_call(lambda payload=payload: dict_decode(payload), n)  # type: ignore[misc]
        ours = _per_call(fn, n)
        print(f"{name:40} {baseline:8.2f} {ours:8.2f} {ours / baseline:6.2f}")


if __name__ == "__main__":
    main()
