"""The compiled trade builder attacked: seeded hostile events (``tests/fuzz/
trade_inputs``) give the Python path's Trade bit for bit, or the Python path decides;
a built Trade behaves as one made by the constructor in every way msgspec, copy,
pickle and the GC see it; and it is freed cleanly under the debug allocator. The long
sanitizer run is ``tests/fuzz/sanitize_extensions.py`` (by hand)."""

from __future__ import annotations

import copy
import gc
import os
import pickle
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from ccxtpro_sync._exchanges.binance import parsers
from ccxtpro_sync._exchanges.binance import wire as w
from ccxtpro_sync._numbers import finite_float
from ccxtpro_sync._structures import Trade
from tests.fuzz import trade_inputs

from .test_binance_parsers import BNBBTC, BTCUSD_PERP, BTCUSDT_PERP
from .test_trade_build import _compiled

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("market", [BNBBTC, BTCUSDT_PERP, BTCUSD_PERP], ids=lambda m: m.id)
def test_seeded_hostile_events_match_the_python_path(market: object) -> None:
    build = _compiled().trade
    mismatches = [
        m for seed in range(6000) for m in trade_inputs.compare_trade(build, seed, market)
    ]
    assert mismatches == []


def test_a_built_trade_is_the_constructors_in_every_view() -> None:
    build = _compiled().trade
    event = w.AggTradeEvent(
        event_type="aggTrade", event_time=1, symbol="BNBBTC", agg_trade_id=2**62,
        price="65000.5", quantity="0.25", first_trade_id=1, last_trade_id=1,
        trade_time=1_700_000_000_123, buyer_is_maker=False,
    )  # fmt: skip
    built = build(event, BNBBTC.symbol, True)
    want = parsers.public_trade(2**62, event, BNBBTC, finite_float)
    assert type(built) is Trade and built == want and repr(built) == repr(want)
    assert sys.getsizeof(built) == sys.getsizeof(want)
    assert gc.get_referents(built) == gc.get_referents(want)
    assert msgspec.structs.astuple(built) == msgspec.structs.astuple(want)
    assert msgspec.msgpack.encode(built) == msgspec.msgpack.encode(want)
    assert copy.deepcopy(built) == want and copy.copy(built) == want
    assert pickle.loads(pickle.dumps(built)) == want
    assert built["side"] == "buy" and built.to_dict() == want.to_dict()
    for view in (hash, lambda t: t.__dict__):  # as the constructor's: neither
        with pytest.raises((TypeError, AttributeError)):
            view(want)
        with pytest.raises((TypeError, AttributeError)):
            view(built)
    built.fees.append("x")
    assert want.fees == [] and build(event, "X/Y", True).fees == []


_DEBUG_CHILD = """
import gc
from ccxtpro_sync._exchanges.binance import trade_stream, wire
assert trade_stream.build_trade is not None
events = [
    wire.AggTradeEvent(
        event_type="aggTrade", event_time=1, symbol="BNBBTC", agg_trade_id=i, price=p,
        quantity="0.5", first_trade_id=1, last_trade_id=1, trade_time=i * 997,
        buyer_is_maker=bool(i & 1),
    )
    for i, p in enumerate(["1.5", "nan", "1e-320", "7", "-0"] * 2000)
]
trades = [trade_stream.build_trade(e, "BNB/BTC", i % 3 == 0) for i, e in enumerate(events)]
kept = [t for t in trades if t is not None]
assert len(kept) == 8000, len(kept)
del trades, events
gc.collect()
del kept[::2]
gc.collect()
print(sum(t.amount for t in kept))
"""


def test_built_trades_are_freed_cleanly_under_the_debug_allocator() -> None:
    """PYTHONMALLOC=debug checks every block freed (its guard bytes, a double free):
    thousands of Trades built, refused and freed, with a collection between."""
    _compiled()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONMALLOC": "debug"}
    env.pop("CCXTPRO_SYNC_PURE_PYTHON", None)
    out = subprocess.run(
        [sys.executable, "-X", "dev", "-c", _DEBUG_CHILD], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2000.0"
