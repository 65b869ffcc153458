"""A bound trades stream's handler (``binance/trade_stream.py``) gives exactly what
``parsers.public_trade`` and the cache gave, with the cheaper ``datetime``: every test
runs with the compiled builder (``_trade_build``) and with the Python path alone."""

from __future__ import annotations

import os
import random
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccxtpro_sync._core.cache import ArrayCache
from ccxtpro_sync._core.events import Delivery, Policy
from ccxtpro_sync._core.trade_gap import GapFiller
from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance import parsers, trade_stream
from ccxtpro_sync._exchanges.binance import wire as w
from ccxtpro_sync._exchanges.binance.trade_stream import trade_handler
from ccxtpro_sync._numbers import finite_float
from ccxtpro_sync._structures import _MAX_MS, Market, Trade, iso8601
from tests.required import unavailable

from .test_binance_parsers import BNBBTC, BTCUSD_PERP, BTCUSDT_PERP, _cm, _spot


@pytest.fixture(autouse=True, params=["compiled", "python"])
def builder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Handlers made in the test use the compiled builder, or none (Python only)."""
    if request.param == "compiled":
        if trade_stream.build_trade is None:
            if os.environ.get(trade_stream._PURE_PYTHON_ENV):
                pytest.skip("the compiled trade builder is ruled out (CCXTPRO_SYNC_PURE_PYTHON)")
            unavailable("compiled trade builder", "ccxtpro_sync._trade_build is not built")
    else:
        monkeypatch.setattr(trade_stream, "build_trade", None)
    return str(request.param)


def _agg(trade_id: int, ts: int, price: str = "0.001", qty: str = "100") -> w.AggTradeEvent:
    return w.AggTradeEvent(
        event_type="aggTrade", event_time=ts, symbol="BNBBTC", agg_trade_id=trade_id,
        price=price, quantity=qty, first_trade_id=trade_id, last_trade_id=trade_id,
        trade_time=ts, buyer_is_maker=bool(trade_id & 1),
    )  # fmt: skip


def _handler(
    market: Market = BNBBTC, number: Any = finite_float, *, agg: bool = True
) -> tuple[Any, ArrayCache[Trade], list[Trade]]:
    cache: ArrayCache[Trade] = ArrayCache(10_000)
    gapped: list[Trade] = []

    def on_gap(trade: Trade) -> list[Delivery]:
        gapped.append(trade)
        return []

    handle = trade_handler(
        agg, market, number=number, cache=cache, key="trades:X", gaps=None, on_gap=on_gap
    )
    return handle, cache, gapped


#: Times whose datetime is easy to get wrong: the epoch, second/minute/day/year
#: boundaries (a leap day among them), the datetime module's limit and beyond it.
_EDGES = [
    0, 1, 999, 1000, 59_999, 60_000, 86_399_999, 86_400_000,
    1_672_531_199_999, 1_672_531_200_000, 1_709_164_800_000, 1_709_251_199_999,
    951_782_400_000, 4_102_444_799_999, 4_102_444_800_000,
    _MAX_MS - 1, _MAX_MS, _MAX_MS + 1, 2**62, -1, -999, -1000, -1001,
]  # fmt: skip


def test_datetime_is_iso8601s_on_edges_in_every_order() -> None:
    rng = random.Random(20)
    times = _EDGES + [t + d for t in _EDGES for d in (-1, 1, 500)]
    for order in (times, list(reversed(times)), rng.sample(times, len(times))):
        handle, _, _ = _handler()
        for trade_id, ts in enumerate(order):
            (delivery,) = handle(_agg(trade_id, ts))
            assert delivery.value[0].datetime == iso8601(ts), ts


def test_a_negative_time_just_below_a_cached_second_is_refused_as_iso8601_does() -> None:
    handle, _, _ = _handler()
    handle(_agg(1, 0))  # caches the epoch's second
    for ts in (-1, -999, -1000):
        (delivery,) = handle(_agg(2, ts))
        assert delivery.value[0].datetime is None


@given(
    st.lists(
        st.one_of(
            st.integers(min_value=1_500_000_000_000, max_value=1_500_000_005_000),
            st.integers(min_value=-(2**63), max_value=2**63 - 1),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_datetime_is_iso8601s_for_any_time(times: list[int]) -> None:
    handle, _, _ = _handler()
    for trade_id, ts in enumerate(times):
        (delivery,) = handle(_agg(trade_id, ts))
        assert delivery.value[0].datetime == iso8601(ts)


@pytest.mark.parametrize(
    ("market", "number"),
    [
        (BNBBTC, finite_float),
        (BTCUSDT_PERP, finite_float),
        (BTCUSD_PERP, finite_float),
        (_spot("BNBBTC", "BNB", "BTC", Decimal), Decimal),
        (_cm(number=Decimal), Decimal),
    ],
)
def test_trades_are_public_trades_and_land_in_the_cache(market: Market, number: Any) -> None:
    handle, cache, _ = _handler(market, number)
    prices = ["0.001", "65000.12345678", "0", "1e-8", "123456789.5"]
    expected = []
    for trade_id, price in enumerate(prices):
        event = _agg(trade_id, 1_700_000_000_000 + 7 * trade_id, price, str(trade_id + 1))
        (delivery,) = handle(event)
        want = parsers.public_trade(trade_id, event, market, number)
        assert delivery == Delivery("trades:X", [want], Policy.APPEND)
        assert delivery.value[0].info is event
        expected.append(want)
    assert cache.to_list() == expected
    assert msgspec.json.encode(cache.to_list()) == msgspec.json.encode(expected)


def test_spot_trade_stream_uses_the_trade_id() -> None:
    event = w.TRADE_DECODER.decode(
        b'{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100",'
        b'"T":1672515782136,"m":true,"M":true}'
    )
    handle, _, _ = _handler(agg=False)
    (delivery,) = handle(event)
    assert delivery.value == [parsers.parse_trade(event, BNBBTC, finite_float)]
    assert delivery.value[0].id == "12345"


@pytest.mark.parametrize("bad", ["NaN", "inf", "-Infinity", "1e400", "", "abc", "1,5"])
def test_a_malformed_number_fails_as_the_parser_does_and_stores_nothing(bad: str) -> None:
    handle, cache, _ = _handler()
    with pytest.raises(ProtocolError) as parser_error:
        parsers.public_trade(1, _agg(1, 5, price=bad), BNBBTC, finite_float)
    with pytest.raises(ProtocolError) as handler_error:
        handle(_agg(1, 5, price=bad))
    assert str(handler_error.value) == str(parser_error.value)
    with pytest.raises(ProtocolError):
        handle(_agg(1, 5, qty=bad))
    assert len(cache) == 0


def test_a_trade_after_a_gap_goes_to_the_gap_handler_not_the_cache() -> None:
    cache: ArrayCache[Trade] = ArrayCache(100)
    gaps: GapFiller[Trade] = GapFiller(lambda t: int(t.id or 0))
    gapped: list[Trade] = []

    def on_gap(trade: Trade) -> list[Delivery]:
        gapped.append(trade)
        step = gaps.live(trade)
        for item in step.deliver:
            cache.append(item)
        return [Delivery("trades:X", step.deliver, Policy.APPEND)]

    handle = trade_handler(
        True, BNBBTC, number=finite_float, cache=cache, key="trades:X", gaps=gaps, on_gap=on_gap
    )
    handle(_agg(10, 1))  # the first trade: through the filler, which starts there
    handle(_agg(11, 2))  # follows: the hot path
    handle(_agg(14, 3))  # skips 12 and 13: a gap is opened and 14 held
    assert [t.id for t in gapped] == ["10", "14"]
    assert [t.id for t in cache.to_list()] == ["10", "11"]
    assert gaps.holding
