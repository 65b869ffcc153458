"""A run of one stream's trades built in one call (``_trade_build.run`` and
``trade_stream.trade_run_handler``): the same trades, cursor and cache as the
per-trade handler one payload at a time, stopping exactly where that handler must
see a trade alone (a gap, a number the builder refuses, a field of another type)."""

from __future__ import annotations

import gc
import random
import sys
from typing import Any

import pytest

from ccxtpro_sync._core.cache import ArrayCache
from ccxtpro_sync._core.events import Delivery, Policy
from ccxtpro_sync._core.trade_gap import GapFiller
from ccxtpro_sync._exchanges.binance import trade_stream
from ccxtpro_sync._exchanges.binance import wire as w
from ccxtpro_sync._numbers import finite_float
from ccxtpro_sync._structures import Trade
from tests.fuzz import trade_inputs

from .support import compiled_missing
from .test_binance_parsers import BNBBTC, BTCUSDT_PERP

SYMBOL = BNBBTC.symbol


@pytest.fixture(autouse=True)
def _compiled() -> None:
    if trade_stream.build_run is None:
        compiled_missing("compiled trade run", "ccxtpro_sync._trade_build")


def _agg(trade_id: Any, price: str = "0.001", ts: int = 1_700_000_000_000) -> w.AggTradeEvent:
    return w.AggTradeEvent(
        event_type="aggTrade", event_time=1, symbol="BNBBTC", agg_trade_id=trade_id,
        price=price, quantity="3", first_trade_id=1, last_trade_id=1, trade_time=ts,
        buyer_is_maker=False,
    )  # fmt: skip


def _id(event: Any) -> Any:
    return event.agg_trade_id if type(event) is w.AggTradeEvent else event.trade_id


def _reference(events: list[Any], start: int, cursor: list[Any] | None, step: int) -> list[Any]:
    """``run`` as the per-trade handler's steps: ``trade()``, then the cursor's test."""
    build = trade_stream.build_trade
    assert build is not None
    out = []
    for event in events[start:]:
        if type(event) not in (w.AggTradeEvent, w.TradeEvent) or type(_id(event)) is not int:
            break
        if cursor is not None and _id(event) != cursor[1]:
            break
        trade = build(event, SYMBOL, True)
        if trade is None:
            break
        out.append(trade)
        if cursor is not None:
            cursor[0], cursor[1] = _id(event), _id(event) + step
    return out


def _bits(trades: list[Any]) -> list[Any]:
    return [trade_inputs._fields(t) for t in trades]


@pytest.mark.parametrize("seed", range(200))
def test_run_is_the_per_trade_steps_on_hostile_events(seed: int) -> None:
    rng = random.Random(seed)
    events: list[Any] = []
    next_id = rng.randint(0, 1000)
    for _ in range(rng.randint(0, 40)):
        roll = rng.random()
        if roll < 0.7:
            events.append(_agg(next_id, f"{rng.randint(1, 10**6) / 1000}"))
            next_id += 1
        elif roll < 0.8:
            next_id += rng.randint(2, 5)  # a gap
            events.append(_agg(next_id))
            next_id += 1
        else:
            events.append(trade_inputs.event(rng))
    start = rng.randint(0, len(events))
    step = rng.choice([1, 1, 2])
    for with_cursor in (False, True):
        first = _id(events[start]) if start < len(events) else 0
        expected_cursor = [None, first if rng.random() < 0.8 else None] if with_cursor else None
        cursor = list(expected_cursor) if expected_cursor is not None else None
        expected = _reference(events, start, expected_cursor, step)
        assert trade_stream.build_run is not None
        got = trade_stream.build_run(events, start, SYMBOL, cursor, step)
        assert _bits(got) == _bits(expected)
        assert cursor == expected_cursor


def test_run_refuses_bad_arguments() -> None:
    run = trade_stream.build_run
    assert run is not None
    with pytest.raises(TypeError):
        run((_agg(1),), 0, SYMBOL, None, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        run([_agg(1)], 0, SYMBOL, [1], 1)  # a cursor is [last, next]
    with pytest.raises(TypeError):
        run([_agg(1)], 0, SYMBOL, (None, 1), 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        run([_agg(1)], -1, SYMBOL, None, 1)
    assert run([_agg(1)], 5, SYMBOL, None, 1) == []


def test_run_holds_no_stray_references() -> None:
    run = trade_stream.build_run
    assert run is not None
    events = [_agg(k) for k in range(100)]
    cursor: list[Any] = [None, 0]
    before = [sys.getrefcount(e) for e in events]
    for _ in range(3):
        trades = run(events, 0, SYMBOL, [None, 0], 1)
        del trades
    trades = run(events, 0, SYMBOL, cursor, 1)
    assert cursor == [99, 100]
    del trades
    gc.collect()
    assert [sys.getrefcount(e) for e in events] == before


def _handlers(market: Any, gaps: GapFiller[Trade] | None) -> tuple[Any, Any, ArrayCache[Trade]]:
    cache: ArrayCache[Trade] = ArrayCache(1000)

    def on_gap(trade: Trade) -> list[Delivery]:
        return [Delivery("gap", [trade], Policy.APPEND)]

    one = trade_stream.trade_handler(
        True, market, number=finite_float, cache=cache, key="k", gaps=gaps, on_gap=on_gap
    )
    run = trade_stream.trade_run_handler(
        market, number=finite_float, cache=cache, key="k", gaps=gaps
    )
    return one, run, cache


def test_the_run_handler_gives_what_the_per_trade_handler_gives() -> None:
    rng = random.Random(7)
    for _ in range(50):
        events = []
        next_id = 1
        for _ in range(rng.randint(1, 60)):
            if rng.random() < 0.05:
                next_id += 3
            price = rng.choice(["0.5", "1.25", "NaN", "1e400"] if rng.random() < 0.1 else ["2"])
            events.append(_agg(next_id, price))
            next_id += 1
        outcomes = []
        for runs in (False, True):
            gaps: GapFiller[Trade] = GapFiller(key=lambda t: int(t.id))
            gaps.cursor[:] = [0, 1]
            one, run, cache = _handlers(BNBBTC, gaps)
            delivered: list[Any] = []
            done = 0
            while done < len(events):
                if runs:
                    stop, deliveries = run(events, done)
                    assert stop >= done and len(deliveries) == (stop > done)
                    delivered += [(d.message_hash, t.id) for d in deliveries for t in d.value]
                    done = stop
                    if done == len(events):
                        break
                try:
                    deliveries = one(events[done])
                except Exception as error:
                    deliveries = [Delivery("error", [type(error).__name__], Policy.APPEND)]
                delivered += [
                    (d.message_hash, t if isinstance(t, str) else t.id)
                    for d in deliveries
                    for t in d.value
                ]
                done += 1
            outcomes.append((delivered, _bits(list(cache)), list(gaps.cursor), len(cache)))
        assert outcomes[0] == outcomes[1]


def test_no_run_handler_where_the_per_trade_handler_must_do_it_all() -> None:
    cache: ArrayCache[Trade] = ArrayCache(10)
    kwargs: dict[str, Any] = {"cache": cache, "key": "k", "gaps": None}
    assert trade_stream.trade_run_handler(BNBBTC, number=finite_float, **kwargs) is not None
    assert trade_stream.trade_run_handler(BTCUSDT_PERP, number=finite_float, **kwargs) is None
    from decimal import Decimal

    assert trade_stream.trade_run_handler(BNBBTC, number=Decimal, **kwargs) is None


def test_a_run_counts_per_symbol_in_a_cache_of_several_symbols() -> None:
    cache: ArrayCache[Trade] = ArrayCache(100)
    reference: ArrayCache[Trade] = ArrayCache(100)
    other = Trade(id="x", timestamp=1, datetime=None, symbol="ETH/BTC", side="buy",
                  price=1.0, amount=1.0, cost=1.0, info=None)  # fmt: skip
    cache.append(other)
    reference.append(other)
    run = trade_stream.trade_run_handler(
        BNBBTC, number=finite_float, cache=cache, key="k", gaps=None
    )
    assert run is not None
    events = [_agg(k) for k in range(5)]
    stop, [delivery] = run(events, 0)
    assert stop == 5
    for trade in delivery.value:
        reference.append(trade)
    assert cache._total == reference._total and cache._seq == reference._seq
    assert cache.get_limit(SYMBOL, 1000) == reference.get_limit(SYMBOL, 1000)
