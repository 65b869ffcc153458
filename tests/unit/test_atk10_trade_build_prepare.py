"""The compiled trade builder's import-time check (``_trade_build.prepare``): a type it
refuses leaves the module exactly as it was (no half-read layout that the next
``trade()`` would write a Trade with), and a ``Trade`` it refuses makes the library
fall back to the Python path instead of failing to import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ccxtpro_sync._exchanges.binance import trade_stream
from ccxtpro_sync._structures import Trade

from .test_trade_build import _compiled

ROOT = Path(__file__).resolve().parents[2]

# In a child: a struct whose field names sort differently from Trade's (so its slots
# sit at other offsets) passes the field checks of prepare() and is then refused for
# its event types; the next trade() must still build Trade as the constructor does.
_REFUSED_THEN_BUILD = """
from typing import Any
import msgspec
from ccxtpro_sync import _trade_build
from ccxtpro_sync._exchanges.binance import parsers, trade_stream, wire
from ccxtpro_sync._numbers import finite_float
from ccxtpro_sync._structures import Trade
from tests.unit.test_binance_parsers import BNBBTC
assert trade_stream.build_trade is _trade_build.trade
names = ["_a_order" if n == "order" else n for n in Trade.__struct_fields__]
Shifted = msgspec.defstruct("Shifted", [(n, Any, None) for n in names], kw_only=True, gc=False)
nones = tuple(n for n in names if n not in trade_stream._BUILT and n != "fees")
try:
    _trade_build.prepare(Shifted, None, None, nones, ("fees",))
except TypeError:
    pass
else:
    raise SystemExit("prepare() took a type that is not an event type")
event = wire.AggTradeEvent(
    event_type="aggTrade", event_time=1, symbol="BNBBTC", agg_trade_id=7, price="1.5",
    quantity="2", first_trade_id=1, last_trade_id=1, trade_time=0, buyer_is_maker=True,
)
built = _trade_build.trade(event, "BNB/BTC", True)
want = parsers.public_trade(7, event, BNBBTC, finite_float)
print(msgspec.structs.asdict(built) == msgspec.structs.asdict(want))
"""


def test_a_refused_prepare_leaves_the_builder_as_it_was() -> None:
    _compiled()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(trade_stream._PURE_PYTHON_ENV, None)
    out = subprocess.run(
        [sys.executable, "-c", _REFUSED_THEN_BUILD], env=env, cwd=ROOT, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def _copy_of_trade(**config: Any) -> Any:
    fields = [
        (f.name, Any, msgspec.field(default_factory=list) if f.name == "fees" else None)
        for f in msgspec.structs.fields(Trade)
    ]
    return msgspec.defstruct("Trade", fields, kw_only=True, **config)


class _PostInit(msgspec.Struct, kw_only=True, gc=False):
    id: Any = None
    order: Any = None
    timestamp: Any = None
    datetime: Any = None
    symbol: Any = None
    type: Any = None
    side: Any = None
    takerOrMaker: Any = None
    price: Any = None
    amount: Any = None
    cost: Any = None
    fee: Any = None
    fees: list[Any] = msgspec.field(default_factory=list)
    info: Any = None

    def __post_init__(self) -> None:
        self.cost = "checked"


@pytest.mark.parametrize("kind", ["gc", "post_init"])
def test_a_trade_the_builder_refuses_falls_back_to_python(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Trade tracked by the GC or with a __post_init__ (which msgspec's constructor
    runs): the C builder is not used, and the one already prepared keeps building the
    real Trade."""
    module = _compiled()
    other = _copy_of_trade(gc=True) if kind == "gc" else _PostInit
    monkeypatch.setattr(trade_stream, "Trade", other)
    assert trade_stream._compiled_build() is None
    monkeypatch.undo()
    event = msgspec.json.decode(
        b'{"e":"aggTrade","E":1,"s":"BNBBTC","a":5,"p":"2.5","q":"4","f":1,"l":1,"T":0,"m":false}',
        type=trade_stream.AggTradeEvent,
    )
    built = module.trade(event, "BNB/BTC", True)
    assert type(built) is Trade
    assert (built.id, built.price, built.amount, built.cost, built.side) == (
        "5", 2.5, 4.0, 10.0, "buy"
    )  # fmt: skip


def test_a_field_named_twice_is_refused_and_changes_nothing() -> None:
    """Field names that add up to Trade's count but name one twice (so another is never
    set, its slot left empty): refused, and the builder keeps the layout it had."""
    module = _compiled()
    nones = tuple(
        f.name
        for f in msgspec.structs.fields(Trade)
        if f.name not in trade_stream._BUILT and f.default is None
    )
    twice = (*nones[:-1], nones[0])
    with pytest.raises(TypeError):
        module.prepare(Trade, trade_stream.TradeEvent, trade_stream.AggTradeEvent, twice, ("fees",))
    event = msgspec.json.decode(
        b'{"e":"trade","E":1,"s":"BNBBTC","t":9,"p":"3","q":"2","T":0,"m":true}',
        type=trade_stream.TradeEvent,
    )
    built = module.trade(event, "BNB/BTC", True)
    assert msgspec.structs.asdict(built)[nones[-1]] is None
    assert built.cost == 6.0 and built.side == "sell"
