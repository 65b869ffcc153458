"""Run by hand, not by the suite: the C extensions built with AddressSanitizer and
UBSan in a scratch copy, fed many seeded hostile inputs (``extension_inputs``) and
compared with their Python versions (``_trade_build`` with ``trade_inputs``, its
``run`` and ``_stream_run`` with the tests' references); then a
reference-leak check of the normal build (RSS and the inputs' reference counts over
about a million calls, error paths included).

    PYTHONPATH=$PWD python tests/fuzz/sanitize_extensions.py [--seeds 20000] [--calls 1000000]

Needs gcc (with libasan/libubsan). Exits non-zero on any mismatch, sanitizer report or
leak.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import sys
from ccxtpro_sync import _book_levels
from ccxtpro_sync._core import frames
from tests.fuzz import extension_inputs as fx
import random
from ccxtpro_sync import _book_levels_py
from tests.unit import test_packed_levels as packed
from tests.fuzz import trade_inputs
from ccxtpro_sync import _trade_build
from ccxtpro_sync._exchanges.binance import trade_stream
from tests.unit.test_binance_parsers import BNBBTC, BTCUSD_PERP
import random
from ccxtpro_sync import _stream_run
from ccxtpro_sync._exchanges.binance.combined import REFUSED, _payload_run
from tests.unit import test_payload_run as pr, test_trade_run as tr
assert _book_levels.__file__.startswith(sys.argv[3]), _book_levels.__file__
assert _trade_build.__file__.startswith(sys.argv[3]), _trade_build.__file__
assert _stream_run.__file__.startswith(sys.argv[3]), _stream_run.__file__
assert trade_stream.build_trade is _trade_build.trade
bad = 0

def payloads(*args):
    return _stream_run.payloads(REFUSED, *args)

for seed in range(int(sys.argv[1]), int(sys.argv[2])):
    rng = random.Random(seed)
    messages = pr._frames(rng, rng.randint(1, 40))
    index = rng.randint(0, len(messages))
    end = rng.randint(index, len(messages) + 2)
    if pr._outcome(payloads, messages, index, end, pr.KEY) != pr._outcome(
        _payload_run, messages, index, end, pr.KEY
    ):
        bad += 1
        print("payload run mismatch, seed", seed)
    events = [trade_inputs.event(rng) if rng.random() < 0.3 else tr._agg(k) for k in range(20)]
    cursor = [None, rng.choice([0, 1, None])]
    expected_cursor = list(cursor)
    expected = tr._reference(events, 0, expected_cursor, 1)
    if tr._bits(_trade_build.run(events, 0, "BNB/BTC", cursor, 1)) != tr._bits(expected) or (
        cursor != expected_cursor
    ):
        bad += 1
        print("trade run mismatch, seed", seed)
    if fx.compare_book(_book_levels, seed)[0] != fx.compare_book(_book_levels, seed)[1]:
        bad += 1
        print("book mismatch, seed", seed)
    if fx.run_frames(seed, frames.text_scan) != fx.run_frames(seed, None):
        bad += 1
        print("frame mismatch, seed", seed)
    fx.scan_direct(frames.text_scan, seed)
    depth = packed.depth_frame_text(random.Random(seed))[0]
    if packed._read(_book_levels, depth) != packed._reference(depth):
        bad += 1
        print("depth frame mismatch, seed", seed)
    level_text = packed.level_text(random.Random(seed))
    if _book_levels.pack_levels(level_text) != _book_levels_py.pack_levels(level_text):
        bad += 1
        print("pack mismatch, seed", seed)
    for market in (BNBBTC, BTCUSD_PERP):
        for mismatch in trade_inputs.compare_trade(_trade_build.trade, seed, market):
            bad += 1
            print("trade", mismatch)
sys.exit(1 if bad else 0)
"""


def sanitized(seeds: int) -> int:
    """Build an ASan/UBSan copy and fuzz it in a child process."""
    with tempfile.TemporaryDirectory(prefix="ccxtpro_sync_asan_") as scratch:
        copy = Path(scratch)
        shutil.copytree(
            ROOT / "ccxtpro_sync", copy / "ccxtpro_sync", ignore=shutil.ignore_patterns("*.so")
        )
        for name in ("setup.py", "setup.cfg", "pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, copy / name)
        flags = (
            "-fsanitize=address,undefined -fno-sanitize-recover=undefined"
            " -O1 -g -fno-omit-frame-pointer"
        )
        env = {**os.environ, "CFLAGS": flags, "LDFLAGS": "-fsanitize=address,undefined"}
        subprocess.run(
            [sys.executable, "setup.py", "build_ext", "--inplace", "-q"],
            cwd=copy,
            env=env,
            check=True,
        )
        preload = " ".join(
            subprocess.run(
                ["gcc", f"-print-file-name={lib}"], capture_output=True, text=True, check=True
            ).stdout.strip()
            for lib in ("libasan.so", "libubsan.so")
        )
        env = {
            **os.environ,
            "LD_PRELOAD": preload,
            "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",  # CPython itself "leaks" at exit
            "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
            "PYTHONPATH": f"{copy}{os.pathsep}{ROOT}",
        }
        code = subprocess.run(
            [sys.executable, "-c", _CHILD, "0", str(seeds), str(copy)],
            env=env,
            cwd=copy,
            check=False,  # its exit status is the result
        ).returncode
        print(f"sanitized fuzz of {seeds} seeds: exit {code}")
        return code


def _rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _leak_check(
    what: str, watched: tuple[object, ...], rounds: int, once: Callable[[int], object]
) -> int:
    """``once(i)`` for each round: 0 when ``watched``'s reference counts end as they began
    and the peak RSS grew less than 4 MiB after the first tenth (the warm-up)."""
    before = [sys.getrefcount(x) for x in watched]
    peak = 0
    for i in range(rounds):
        once(i)
        if i == rounds // 10:
            peak = _rss_kib()
    after = [sys.getrefcount(x) for x in watched]
    growth = _rss_kib() - peak
    print(f"{what} before {before} after {after}; RSS growth after warm-up {growth} KiB")
    return 0 if before == after and growth < 4096 else 1


def leaks(calls: int) -> int:
    """Reference counts of the inputs and peak RSS over ``calls`` calls of each kind."""
    from decimal import Decimal

    from ccxtpro_sync import _book_levels as c
    from ccxtpro_sync._core import frames
    from ccxtpro_sync._exchanges.binance.combined import Combined

    assert frames.text_scan is not None
    price, amount, dec = 65000.5, 1.25, Decimal("3.5")
    levels = [[price, amount], (dec, amount), [price, 0.0]]
    bad = [[price, amount], ("x", amount)]  # fails on the second level, after one insert
    hostile = [[price, amount], (price, amount, amount)]
    watched: tuple[object, ...] = (price, amount, dec, levels, bad, hostile)
    frame = b"\x81\x05hello" * 20 + b"\x81\x7e\x01\x00" + b"x" * 256 + b"\x82\x00"
    # pack_levels: plain (fast path), long (strtod), refused texts; a long array grows
    # the packer's buffer on the heap
    texts = [b'[["65000.01000000","1.25000000"],["65000.5","0"]]',
             b'[["123456789012345678901234.5","1"]]', b'[["1e5","1"]]', b'[["1",',
             b"[" + b",".join([b'["1.5","2"]'] * 100) + b"]"]  # fmt: skip
    bad_packed = b"\x00" * 24
    plain = (
        b'{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":5,"s":"BTCUSDT","U":7,'
        b'"u":9,"b":' + texts[4] + b',"a":' + texts[0] + b"}}"
    )
    frames_in = [plain, plain.replace(b'"E":5', b'"E":null'), plain.replace(b'"a":', b'"a":x')]

    def fallback(frame: bytes) -> None:
        raise ValueError("not read")

    watched += (*texts, bad_packed, *frames_in)

    def once(i: int) -> None:
        keys: list[object] = [1.0, 2.0]
        amounts: list[object] = [1.0, 1.0]
        c.apply_levels(keys, amounts, None, i & 1, 3, levels)
        for broken in (bad, hostile):
            with contextlib.suppress(TypeError, ValueError):
                c.apply_levels(keys, amounts, None, False, None, broken)
        c.top_levels(keys, amounts, 2, True)
        with contextlib.suppress(TypeError):
            c.top_levels(keys, amounts, 1.5, True)
        frames.text_scan(frame, 0, 1000, [])
        for text in texts:
            packed = c.pack_levels(text)
            if packed is not None:
                c.apply_levels(keys, amounts, None, i & 1, 3, packed)
        with contextlib.suppress(ValueError):
            c.apply_levels(keys, amounts, None, False, None, bad_packed)
        c.apply_levels([dec], [amount], None, False, None, c.pack_levels(texts[0]))
        for depth in frames_in:
            with contextlib.suppress(ValueError):
                c.depth_frame(b"btcusdt@depth", "btcusdt@depth", Combined, fallback, depth)

    return _leak_check("references", watched, calls // 4, once)


def trade_leaks(calls: int) -> int:
    """The same for ``_trade_build.trade``: a Trade built, a number float() refuses
    (None), an id str() refuses (ValueError), a time out of range and a contract."""
    from ccxtpro_sync import _trade_build
    from ccxtpro_sync._exchanges.binance import wire

    def agg(trade_id: int, price: str, qty: str, ts: int) -> wire.AggTradeEvent:
        return wire.AggTradeEvent(
            event_type="aggTrade", event_time=1, symbol="BNBBTC", agg_trade_id=trade_id,
            price=price, quantity=qty, first_trade_id=1, last_trade_id=1, trade_time=ts,
            buyer_is_maker=True,
        )  # fmt: skip

    symbol = "".join(["BNB/", "BTC"])
    good = agg(2**40, "".join(["65000.", "5"]), "".join(["1e-", "320"]), 1_700_000_000_123)
    refused = agg(5, "".join(["n", "an"]), "1", -1)
    huge = agg(10**5000, "1.5", "2", 2**64)
    watched = (symbol, good, refused, huge, good.price, good.quantity, good.agg_trade_id)
    build = _trade_build.trade

    def once(i: int) -> None:
        build(good, symbol, i & 1 == 0)
        build(refused, symbol, True)
        with contextlib.suppress(ValueError):  # int's string conversion limit, as str()
            build(huge, symbol, True)

    return _leak_check("trade references", watched, calls // 3, once)


def run_leaks(calls: int) -> int:
    """The same for the run forms: ``_trade_build.run`` over good, refused and gapped
    events with a cursor, ``_stream_run.payloads`` over taken, refused and stopped
    frames."""
    from ccxtpro_sync import _stream_run, _trade_build
    from ccxtpro_sync._exchanges.binance import combined, wire
    from tests.unit.test_combined_frames import TRADES, agg

    def event(k: int) -> wire.AggTradeEvent:
        return wire.AggTradeEvent(
            event_type="aggTrade", event_time=1, symbol="BNBBTC", agg_trade_id=k,
            price="1.5" if k != 3 else "nan", quantity="2", first_trade_id=1,
            last_trade_id=1, trade_time=1_700_000_000_000 + k, buyer_is_maker=False,
        )  # fmt: skip

    events = [event(k) for k in (0, 1, 2, 3, 5)]
    decode = combined.combined_decoder(wire.AGG_TRADE_DECODER)
    key = (TRADES.encode() + b'"', decode, TRADES)
    frames = [(1, agg(k)) for k in range(6)]
    frames[4] = (1, agg(4).replace(b'"p":"0.05"', b'"p":5'))
    symbol, step = "".join(["BNB/", "BTC"]), 1
    watched = (symbol, step, key, *events, *(f for _, f in frames))

    def once(_: int) -> None:
        _trade_build.run(events, 0, symbol, [None, 0], step)  # stops at the NaN
        _trade_build.run(events, 4, symbol, [None, 4], step)  # stops at the gap
        _trade_build.run(events, 0, symbol, None, step)
        _stream_run.payloads(combined.REFUSED, frames, 0, 6, key)  # stops at the refused

    return _leak_check("run references", watched, calls // 4, once)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    args = parser.parse_args()
    return (
        sanitized(args.seeds) | leaks(args.calls) | trade_leaks(args.calls) | run_leaks(args.calls)
    )


if __name__ == "__main__":
    sys.exit(main())
