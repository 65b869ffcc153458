"""Micro-benchmark: decode + parse per message vs bare ``msgspec.json.decode`` to dict.

Run by hand: ``.venv/bin/python benchmarks/bench_parse.py [--number N]``.
Prints µs per message and the ratio to the dict baseline measured in the same
run, for float and Decimal mode, raw and combined-stream frames.

``--ref <commit>`` compares the library at that commit with the working tree
instead: each runs in its own process, alternating over ``--rounds`` rounds so
both see the same machine noise, and the best µs of each is kept. The ratio is
ref µs / worktree µs, i.e. worktree throughput relative to ref (>= 0.95: no
regression beyond noise). This is how a change to the unified structures shows
that parsing did not get slower.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import timeit
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
from _common import ROOT, use_ref  # puts the library to measure first on sys.path

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


def _cases() -> list[tuple[str, bytes, Callable[[], object]]]:
    fm, dm = _market(float), _market(Decimal)
    # The converters the client parses with: NaN and infinities refused.
    fnum, dnum = finite(float), finite(Decimal)

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
    return cases


def _access_cases() -> list[tuple[str, Callable[[], object]]]:
    """What reading a parsed ticker costs, CCXT-style or not (this tree only: older
    commits lack some of these)."""
    ticker = p.parse_ticker(w.TICKER_DECODER.decode(TICKER), _market(float), float)
    return [
        ("ticker.last (attribute)", lambda: ticker.last),
        ("ticker['last']", lambda: ticker["last"]),
        ("'last' in ticker", lambda: "last" in ticker),
        ("ticker['info'] (converted on access)", lambda: ticker["info"]),
        ("ticker.to_dict()", ticker.to_dict),
    ]


def _measure(n: int) -> dict[str, tuple[float, float]]:
    """``{case: (dict-baseline µs, ours µs)}`` for every case, after a warm-up."""
    cases = _cases()
    for _, _, fn in cases:  # warm up caches and the allocator
        _per_call(fn, n // 10 or 1)
    out: dict[str, tuple[float, float]] = {}
    for name, payload, fn in cases:
        baseline = _per_call(lambda payload=payload: msgspec.json.decode(payload), n)  # type: ignore[misc]
        out[name] = (baseline, _per_call(fn, n))
    return out


def _compare(ref: str, n: int, rounds: int) -> None:
    label = use_ref(ref)
    sources = {"ref": os.environ["BENCH_SRC"], "worktree": str(ROOT)}
    best: dict[str, dict[str, float]] = {"ref": {}, "worktree": {}}
    for _ in range(rounds):
        for which, source in sources.items():
            run = subprocess.run(
                [sys.executable, __file__, "--number", str(n), "--json"],
                env={**os.environ, "BENCH_SRC": source},
                capture_output=True,
                text=True,
                check=True,
            )
            for name, (_, ours) in json.loads(run.stdout).items():
                best[which][name] = min(ours, best[which].get(name, ours))
    print(f"parse cost: {label} vs working tree, best of {rounds} alternating rounds")
    print(f"{'case':40} {'ref µs':>8} {'tree µs':>8} {'ratio':>6}")
    for name, ref_us in best["ref"].items():
        tree_us = best["worktree"][name]
        print(f"{name:40} {ref_us:8.2f} {tree_us:8.2f} {ref_us / tree_us:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--ref", help="compare this commit's parse cost with the working tree")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds with --ref")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ref:
        _compare(args.ref, args.number, args.rounds)
        return
    results = _measure(args.number)
    if args.json:
        print(json.dumps(results))
        return
    print(f"{'case':40} {'dict µs':>8} {'ours µs':>8} {'ratio':>6}")
    for name, (baseline, ours) in results.items():
        print(f"{name:40} {baseline:8.2f} {ours:8.2f} {ours / baseline:6.2f}")
    print(f"\n{'reading a parsed ticker':40} {'µs':>8}")
    for name, fn in _access_cases():
        print(f"{name:40} {_per_call(fn, args.number):8.3f}")


if __name__ == "__main__":
    main()
