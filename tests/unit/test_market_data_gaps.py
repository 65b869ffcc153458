"""MarketData's trade and candle gap hooks, driven with plain payload bytes."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from ccxtpro_sync._core.events import Inbound
from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance.market_data import GapWanted, MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_market
from ccxtpro_sync._structures import OHLCV, Trade

SYMBOL = "BTC/USDT"
TRADES = "btcusdt@aggTrade"
KLINES = "btcusdt@kline_1m"
MINUTE = 60_000


def markets() -> Markets:
    raw = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC",
           "quoteAsset": "USDT", "filters": []}  # fmt: skip
    return Markets([parse_market(raw, "spot", float)], "spot", number=float)


def agg(trade_id: int) -> msgspec.Raw:
    data = {"e": "aggTrade", "E": 1, "s": "BTCUSDT", "a": trade_id, "p": "100", "q": "1",
            "f": trade_id, "l": trade_id, "T": trade_id, "m": False}  # fmt: skip
    return msgspec.Raw(json.dumps(data).encode())


def kline(open_time: int, close: str, closed: bool) -> msgspec.Raw:
    k = {"t": open_time, "T": open_time + MINUTE - 1, "s": "BTCUSDT", "i": "1m", "f": 1,
         "L": 2, "o": "1", "c": close, "h": "9", "l": "1", "v": "1", "n": 1, "x": closed,
         "q": "1", "V": "1", "Q": "1", "B": "0"}  # fmt: skip
    return msgspec.Raw(json.dumps({"e": "kline", "E": 1, "s": "BTCUSDT", "k": k}).encode())


def rest_trade(trade_id: int) -> Trade:
    return Trade(id=str(trade_id), symbol=SYMBOL, timestamp=trade_id)


def tasks_of(routed: Any) -> list[Any]:
    return routed.tasks if isinstance(routed, Inbound) else []


def delivered_ids(routed: Any) -> list[int]:
    deliveries = routed.deliveries if isinstance(routed, Inbound) else routed
    return [int(t.id) for d in deliveries for t in d.value]


def test_a_trade_gap_is_asked_for_and_the_backfill_goes_out_before_the_held_trades() -> None:
    data = MarketData(markets(), fill_gaps=True)
    assert delivered_ids(data.route(TRADES, agg(1), 0)) == [1]
    gap = data.route(TRADES, agg(4), 0)  # held: 2 and 3 are missing
    assert delivered_ids(gap) == []
    assert data.route(TRADES, agg(5), 0) == []
    # The request travels by value with the frame that revealed the gap.
    [task] = tasks_of(gap)
    assert isinstance(task, GapWanted)
    symbol, timeframe, request = task.symbol, task.timeframe, task.request
    assert (symbol, timeframe, request.first, request.last) == (SYMBOL, None, 2, 3)
    assert data.tasks == []
    page = [rest_trade(i) for i in (2, 3, 4)]
    deliveries, follow = data.backfilled(SYMBOL, None, request.token, page, True)
    assert delivered_ids(deliveries) == [2, 3] and follow is None
    [(name, payload)] = data.take_notices()
    assert name == "trades_backfilled"
    assert payload == {"symbol": SYMBOL, "timeframe": None, "count": 2, "first": 2, "last": 3}
    released, closed, again = data.drain_gap(SYMBOL, None)
    assert delivered_ids(released) == [4, 5] and not closed and again is None
    assert data.drain_gap(SYMBOL, None)[1]  # nothing more held: the hold closes
    assert delivered_ids(data.route(TRADES, agg(5), 0)) == []  # a duplicate
    assert delivered_ids(data.route(TRADES, agg(6), 0)) == [6]
    assert [int(t.id) for t in data.trades[SYMBOL]] == [1, 2, 3, 4, 5, 6]


def test_with_backfill_off_a_gap_is_reported_and_trades_flow_on() -> None:
    data = MarketData(markets(), fill_gaps=True, backfill=False)
    data.route(TRADES, agg(1), 0)
    routed = data.route(TRADES, agg(4), 0)
    assert delivered_ids(routed) == [4]
    assert tasks_of(routed) == []
    assert isinstance(routed, Inbound)  # the notice travels with the frame
    [(name, payload)] = routed.notices
    assert name == "trades_gap"
    assert payload == {"symbol": SYMBOL, "timeframe": None, "first": 2, "last": 3}


def test_after_a_lost_connection_the_unseen_candle_closes_are_fetched() -> None:
    data = MarketData(markets(), fill_gaps=True)
    data.route(KLINES, kline(0, "2", False), 0)
    data.reset([KLINES])  # the connection went away while candle 0 was open
    gap = data.route(KLINES, kline(2 * MINUTE, "5", False), 0)
    assert delivered_ids(gap) == []
    [task] = tasks_of(gap)
    assert isinstance(task, GapWanted)
    timeframe, request = task.timeframe, task.request
    assert (timeframe, request.first, request.last) == ("1m", 0, MINUTE)
    page = [OHLCV(0, 1.0, 9.0, 1.0, 3.0, 1.0), OHLCV(MINUTE, 1.0, 9.0, 1.0, 4.0, 1.0)]
    deliveries, _ = data.backfilled(SYMBOL, "1m", request.token, page, True)
    assert [c for d in deliveries for c in d.value] == page
    released, _, _ = data.drain_gap(SYMBOL, "1m")
    assert [c.timestamp for d in released for c in d.value] == [2 * MINUTE]
    cached = list(data.ohlcvs[(SYMBOL, "1m")])
    assert [c.timestamp for c in cached] == [0, MINUTE, 2 * MINUTE]
    assert cached[0].close == 3.0  # the final close, not the one seen before the drop


def test_a_candle_whose_close_never_arrived_is_fetched_even_without_a_reset() -> None:
    # A rotation: the old connection is cut (or overtaken by the new one, which
    # subscribed after candle 0 closed) before it sends candle 0's close; no reset.
    data = MarketData(markets(), fill_gaps=True)
    data.route(KLINES, kline(0, "2", False), 0)
    gap = data.route(KLINES, kline(MINUTE, "5", False), 0)
    assert delivered_ids(gap) == []
    [task] = tasks_of(gap)
    assert (task.timeframe, task.request.first, task.request.last) == ("1m", 0, 0)
    late = data.route(KLINES, kline(0, "3", True), 0)  # the old connection's close, late
    assert not tasks_of(late)
    page = [OHLCV(0, 1.0, 9.0, 1.0, 3.0, 1.0)]
    deliveries, follow = data.backfilled(SYMBOL, "1m", task.request.token, page, True)
    assert follow is None and [c for d in deliveries for c in d.value] == page
    released: list[OHLCV] = []
    while True:
        out, closed, again = data.drain_gap(SYMBOL, "1m")
        assert again is None
        released += [c for d in out for c in d.value]
        if closed:
            break
    assert [c.timestamp for c in released] == [MINUTE]  # the late close: already had
    cached = list(data.ohlcvs[(SYMBOL, "1m")])
    assert [(c.timestamp, c.close) for c in cached] == [(0, 3.0), (MINUTE, 5.0)]


def test_a_candle_seen_closed_is_not_fetched_again() -> None:
    data = MarketData(markets(), fill_gaps=True)
    data.route(KLINES, kline(0, "2", False), 0)
    data.route(KLINES, kline(0, "3", True), 0)
    step = data.route(KLINES, kline(MINUTE, "5", False), 0)
    assert not tasks_of(step)
    cached = list(data.ohlcvs[(SYMBOL, "1m")])
    assert [(c.timestamp, c.close) for c in cached] == [(0, 3.0), (MINUTE, 5.0)]


def test_a_replay_delivers_what_the_log_holds() -> None:
    data = MarketData(markets())  # no fill_gaps: replay
    data.route(TRADES, agg(1), 0)
    assert delivered_ids(data.route(TRADES, agg(4), 0)) == [4]


def raw_trade(trade_id: int) -> msgspec.Raw:
    data = {"e": "trade", "E": 1, "s": "BTCUSDT", "t": trade_id, "p": "100", "q": "1",
            "T": trade_id, "m": False, "M": True}  # fmt: skip
    return msgspec.Raw(json.dumps(data).encode())


def test_a_second_trades_kind_on_one_symbol_is_refused_not_dropped_as_repeats() -> None:
    """Trade ids and aggregate ids are two sequences; the symbol's one gap counter
    follows the first kind bound. The other kind's trades were dropped in silence (their
    ids are below the counter's); binding it is now a ProtocolError, a loud refusal."""
    data = MarketData(markets(), fill_gaps=True)
    assert delivered_ids(data.route("btcusdt@trade", raw_trade(1001), 0)) == [1001]
    with pytest.raises(ProtocolError, match="already follows btcusdt@trade"):
        data.route(TRADES, agg(1), 0)
    assert delivered_ids(data.route("btcusdt@trade", raw_trade(1002), 0)) == [1002]
