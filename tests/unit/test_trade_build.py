"""The compiled trade builder (``_trade_build.c``) against the Python path
(``parsers.public_trade``): the same ``Trade`` for every event it takes, and None (the
Python path decides, with its result or its error) for every other."""

from __future__ import annotations

import copy
import gc
import importlib
import math
import os
import random
import sys
from types import ModuleType
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance import parsers, trade_stream
from ccxtpro_sync._exchanges.binance import wire as w
from ccxtpro_sync._numbers import finite_float
from ccxtpro_sync._structures import _MAX_MS, Market, Trade, iso8601
from tests.required import unavailable

from .support import printed_in_child
from .test_binance_parsers import BNBBTC, BTCUSD_PERP, BTCUSDT_PERP


def _compiled() -> ModuleType:
    try:
        module = importlib.import_module("ccxtpro_sync._trade_build")
    except ImportError:
        unavailable(
            "compiled trade builder",
            "ccxtpro_sync._trade_build is not built (pip install -e . compiles it with a "
            "C compiler; `python setup.py build_ext --inplace` rebuilds it)",
        )
    if trade_stream.build_trade is None and os.environ.get(trade_stream._PURE_PYTHON_ENV):
        pytest.skip("the compiled trade builder is ruled out (CCXTPRO_SYNC_PURE_PYTHON)")
    assert trade_stream.build_trade is module.trade  # prepared on import
    return module


def _agg(trade_id: Any, ts: Any, price: Any, qty: Any, maker: Any = True) -> w.AggTradeEvent:
    return w.AggTradeEvent(
        event_type="aggTrade", event_time=1, symbol="BNBBTC", agg_trade_id=trade_id,
        price=price, quantity=qty, first_trade_id=1, last_trade_id=1, trade_time=ts,
        buyer_is_maker=maker,
    )  # fmt: skip


def _trade(trade_id: Any, ts: Any, price: Any, qty: Any, maker: Any = False) -> w.TradeEvent:
    return w.TradeEvent(
        event_type="trade", event_time=1, symbol="BNBBTC", trade_id=trade_id, price=price,
        quantity=qty, trade_time=ts, buyer_is_maker=maker,
    )  # fmt: skip


def _python(event: Any, market: Market) -> Trade | str:
    """The Python path's Trade, or its error's text."""
    trade_id = event.agg_trade_id if isinstance(event, w.AggTradeEvent) else event.trade_id
    try:
        return parsers.public_trade(trade_id, event, market, finite_float)
    except ProtocolError as error:
        return f"ProtocolError: {error}"


def _same(event: Any, market: Market = BNBBTC) -> Trade | None:
    """The builder's answer for ``event``, checked against the Python path's."""
    built = _compiled().trade(event, market.symbol, not market.contract)
    want = _python(event, market)
    if built is None:
        return None
    if not market.contract:
        assert built == want
        assert msgspec.json.encode(built) == msgspec.json.encode(want)
    else:  # the handler sets a contract's cost (parsers._cost)
        assert built.cost is None
        assert isinstance(want, Trade)
        built.cost = parsers._cost(built.price, built.amount, market)
        assert built == want
    assert built.info is event
    return built


#: Numbers float() reads differently from a JSON parser, or refuses, or that overflow.
_NUMBERS = [
    "0", "-0", "0.001", "65000.12345678", "1e-8", "1E+3", "123456789.5", " 1.5 ", "1_000",
    "+7", ".5", "5.", "1e308", "1e309", "-1e400", "4.9e-324", "1e-400", "nan", "NaN", "-nan",
    "inf", "-Infinity", "", " ", "abc", "1,5", "0x10", "١٢٣", "1.5\n", "1__0", "e5",
    "99999999999999999999999999999", "0.1" * 40,
]  # fmt: skip

#: Times around every boundary the datetime text has, and out of its range.
_TIMES = [
    0, 1, 999, 1000, 59_999, 60_000, 86_399_999, 86_400_000, 951_782_400_000,
    951_868_799_999, 1_709_164_800_000, 1_709_251_199_999, 4_102_444_799_999,
    4_102_444_800_000, 13_569_465_600_000, _MAX_MS - 1, _MAX_MS, _MAX_MS + 1, 2**62,
    2**63 - 1, 2**63, 2**64, 2**100, -1, -999, -1000, -(2**63), -(2**70),
]  # fmt: skip


@pytest.mark.parametrize("market", [BNBBTC, BTCUSDT_PERP, BTCUSD_PERP], ids=lambda m: m.id)
def test_every_edge_number_gives_the_python_trade_or_none(market: Market) -> None:
    for price in _NUMBERS:
        for qty in ("2", *_NUMBERS):
            event = _agg(7, 1_700_000_000_000, price, qty)
            built = _same(event, market)
            # the builder takes every event the Python path turns into a Trade
            assert (built is not None) == isinstance(_python(event, market), Trade), (price, qty)


def test_every_edge_time_gives_iso8601s_text() -> None:
    for ts in _TIMES:
        for make in (_agg, _trade):
            built = _same(make(3, ts, "1.5", "2"))
            assert built is not None
            assert built.datetime == iso8601(ts), ts
            assert built.timestamp == ts


def test_every_day_of_the_datetime_range_in_a_sample() -> None:
    rng = random.Random(20)
    build = _compiled().trade
    for _ in range(20_000):
        ts = rng.randrange(0, _MAX_MS + 1)
        built = build(_agg(1, ts, "1", "1"), "X/Y", True)
        assert built.datetime == iso8601(ts), ts


def test_ids_of_any_size_and_both_sides() -> None:
    for trade_id in (0, 1, 9, 10, 2**31, 2**63 - 1, 2**63, 2**64 - 1, 2**200, -5):
        for maker in (True, False):
            for make in (_agg, _trade):
                built = _same(make(trade_id, 1_700_000_000_000, "1", "2", maker))
                assert built is not None
                assert built.id == str(trade_id)
                assert built.side == ("sell" if maker else "buy")


def test_built_trades_own_their_references_and_nothing_leaks() -> None:
    """Built as msgspec builds a struct: untracked by the GC (``gc=False``), every
    field a reference it owns (released with it), copied and encoded like any other."""
    build = _compiled().trade
    event = _agg(2**70, 1_700_000_000_000, "65000.5", "0.25")
    symbol = "".join(["BNB/", "BTC"])  # a str of its own, to count its references
    before = sys.getrefcount(event), sys.getrefcount(symbol), sys.getrefcount(None)
    trades = [build(event, symbol, True) for _ in range(100)]
    assert sys.getrefcount(event) == before[0] + 100
    assert sys.getrefcount(symbol) == before[1] + 100
    built = trades[0]
    want = parsers.public_trade(2**70, event, BNBBTC, finite_float)
    assert gc.is_tracked(built) is gc.is_tracked(want) is False
    assert copy.copy(built) == built and msgspec.structs.replace(built, id="1").id == "1"
    assert msgspec.json.decode(msgspec.json.encode(built)) == msgspec.to_builtins(want)
    del trades, built, want
    gc.collect()
    assert (sys.getrefcount(event), sys.getrefcount(symbol)) == before[:2]


def test_each_trade_has_its_own_fees_list() -> None:
    build = _compiled().trade
    first, second = (build(_agg(i, 0, "1", "1"), "X/Y", True) for i in (1, 2))
    assert first.fees == [] and second.fees == []
    assert first.fees is not second.fees


@pytest.mark.parametrize(
    "event",
    [
        _agg(1, 0, 1.5, "1"),  # a number where the wire has text
        _agg(1, 0, "1", b"1"),
        _agg("1", 0, "1", "1"),  # an id of another type
        _agg(True, 0, "1", "1"),
        _agg(1, 0.5, "1", "1"),  # a time of another type
        _agg(1, True, "1", "1"),
        _agg(1, 0, "1", "1", maker=1),  # a side flag that is not a bool
        _agg(1, 0, "1", "1", maker=None),
        _trade(1, 0, 2, "1"),
    ],
)
def test_fields_of_unexpected_types_take_the_python_path(event: Any) -> None:
    assert _compiled().trade(event, "BNB/BTC", True) is None


def test_other_types_take_the_python_path() -> None:
    build = _compiled().trade

    class Sub(w.AggTradeEvent, frozen=True):
        pass

    sub = Sub(**msgspec.structs.asdict(_agg(1, 0, "1", "1")))
    assert build(sub, "BNB/BTC", True) is None
    assert build({"a": 1, "p": "1", "q": "1", "T": 0, "m": True}, "BNB/BTC", True) is None
    assert build(None, "BNB/BTC", True) is None
    with pytest.raises(TypeError):
        build(_agg(1, 0, "1", "1"), "BNB/BTC")


@given(
    st.one_of(st.integers(), st.integers(min_value=0, max_value=10**12)),
    st.one_of(st.integers(), st.integers(min_value=0, max_value=_MAX_MS + 10)),
    st.one_of(st.text(max_size=12), st.floats().map(repr), st.decimals().map(str)),
    st.one_of(st.text(max_size=12), st.floats().map(repr), st.integers().map(str)),
    st.booleans(),
    st.booleans(),
)
def test_random_events_give_the_python_trade_or_none(
    trade_id: int, ts: int, price: str, qty: str, maker: bool, agg: bool
) -> None:
    event = (_agg if agg else _trade)(trade_id, ts, price, qty, maker)
    built = _same(event)
    if built is None:  # only for what the Python path refuses
        assert isinstance(_python(event, BNBBTC), str)


def test_decoded_wire_events_are_taken() -> None:
    raw = (
        b'{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100",'
        b'"f":100,"l":105,"T":1672515782136,"m":true,"M":true}'
    )
    built = _same(w.AGG_TRADE_DECODER.decode(raw))
    assert built is not None and built.id == "12345"


def _selected_in_child(value: str | None) -> str:
    code = (
        "from ccxtpro_sync._exchanges.binance import trade_stream;"
        "print(trade_stream.build_trade is not None)"
    )
    return printed_in_child(value, code)


def test_the_compiled_builder_is_built_and_selected_unless_ruled_out() -> None:
    _compiled()  # skips locally, fails under CI, when it was not built
    assert trade_stream.build_trade is not None
    assert _selected_in_child(None) == "True"
    assert _selected_in_child("0") == "True"
    assert _selected_in_child("1") == "False"


def test_plain_decimals_read_exactly_as_float_reads_them() -> None:
    """The builder reads plain decimals itself (a fast path where the result is exact)
    and anything else with float(): random digit strings of every length, with the
    point anywhere, at the limits of that path (2**53, 22 decimals) and past them."""
    rng = random.Random(53)
    build = _compiled().trade
    texts = ["9007199254740992", "9007199254740993", "0.9007199254740993", "1" + "0" * 22]
    texts += ["0." + "0" * 21 + "1", "0." + "0" * 22 + "1", "0" * 30 + "1.5", "1" * 41]
    for _ in range(30_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
        point = rng.randint(0, len(digits))
        texts.append(digits[:point] + ("." if rng.random() < 0.8 else "") + digits[point:])
    for text in texts:
        built = build(_agg(1, 0, text, "1"), "X/Y", True)
        want = float(text)
        assert built.price == want and math.copysign(1, built.price) == math.copysign(1, want)
        assert built.price.hex() == want.hex(), text
