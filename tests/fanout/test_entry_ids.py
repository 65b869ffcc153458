"""Entry ids derived from exchange data (sans-I/O): the same update gets the same id in
every collector, distinct updates get strictly growing ids."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance import wire
from ccxtpro_sync._exchanges.binance.market_data import MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_market
from ccxtpro_sync._structures import OHLCV, Ticker, Trade
from ccxtpro_sync.fanout import codec
from ccxtpro_sync.fanout.entry_ids import candle_entry_id, ticker_entry_id, trade_entry_id


def _redis_order(entry_id: str) -> tuple[int, int]:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def _ticker_event(event_time: int, last_trade_id: int) -> wire.TickerEvent:
    payload = {
        "e": "24hrTicker", "E": event_time, "s": "BTCUSDT", "p": "1", "P": "0.1", "w": "10",
        "c": "10", "Q": "1", "o": "9", "h": "11", "l": "8", "v": "5", "q": "50",
        "O": event_time - 86_400_000, "C": event_time, "F": 0, "L": last_trade_id, "n": 3,
    }  # fmt: skip
    return msgspec.json.decode(msgspec.json.encode(payload), type=wire.TickerEvent)


def test_trade_id_is_the_trade_id() -> None:
    assert trade_entry_id(Trade(symbol="BTC/USDT", id="12345")) == "12345-1"
    assert trade_entry_id(Trade(symbol="BTC/USDT", id="abc")) == "*"


def test_ticker_id_from_event_time_and_last_trade_id() -> None:
    ticker = Ticker(symbol="BTC/USDT", info=_ticker_event(1_700_000_000_123, 41))
    assert ticker_entry_id(ticker) == "1700000000123-42"
    # the consumer's decoded copy (info as a mapping) names the same entry
    plain = Ticker(symbol="BTC/USDT", info={"E": 1_700_000_000_123, "L": 41})
    assert ticker_entry_id(plain) == "1700000000123-42"
    # no trade yet (L = -1): sequence 0, still a valid, explicit id
    assert ticker_entry_id(Ticker(symbol="X", info={"E": 5, "L": -1})) == "5-0"


def test_tickers_in_one_millisecond_are_ordered_by_last_trade_id() -> None:
    ids = [
        ticker_entry_id(Ticker(symbol="X", info=_ticker_event(e, t)))
        for e, t in [(1000, 7), (1000, 9), (1001, 9), (2000, 30)]
    ]
    assert [_redis_order(i) for i in ids] == sorted({_redis_order(i) for i in ids})


def test_ticker_without_event_time_lets_redis_choose() -> None:
    assert ticker_entry_id(Ticker(symbol="X")) == "*"
    assert ticker_entry_id(Ticker(symbol="X", info={"L": 3})) == "*"
    assert ticker_entry_id(Ticker(symbol="X", info={"E": True, "L": 3})) == "*"


def test_candle_updates_are_ordered_by_open_time_then_volume() -> None:
    updates = [
        OHLCV(60_000, 10.0, 10.0, 10.0, 10.0, 0.0),
        OHLCV(60_000, 10.0, 11.0, 10.0, 11.0, 0.001),
        OHLCV(60_000, 10.0, 11.0, 9.0, 9.0, 0.5),
        OHLCV(60_000, 10.0, 12.0, 9.0, 12.0, 3.25e12),  # huge volumes still fit
        OHLCV(120_000, 12.0, 12.0, 12.0, 12.0, 0.0),
        OHLCV(120_000, 12.0, 12.0, 12.0, 12.0, 1e-8),
    ]
    keys = [_redis_order(candle_entry_id(c)) for c in updates]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(seq < 2**64 for _, seq in keys)
    assert candle_entry_id(updates[1]).startswith("60000-")


def test_same_candle_update_gets_the_same_id_in_any_number_mode() -> None:
    as_float = OHLCV(60_000, 1.0, 2.0, 0.5, 1.5, 12.345)
    as_decimal = OHLCV(
        60_000, Decimal("1"), Decimal("2"), Decimal("0.5"), Decimal("1.5"), Decimal("12.345")
    )
    assert candle_entry_id(as_float) == candle_entry_id(as_decimal)
    assert candle_entry_id(OHLCV(60_000, 1.0, 1.0, 1.0, 1.0, -0.0)) == "60000-0"


@pytest.mark.parametrize("volume", [None, float("nan"), float("inf"), -1.0])
def test_candle_without_usable_volume_lets_redis_choose(volume: float | None) -> None:
    assert candle_entry_id(OHLCV(60_000, 1.0, 1.0, 1.0, 1.0, volume)) == "*"


def _streamed_ticker(event_time: int, last_trade_id: int) -> Ticker:
    """A float client's streamed ticker: its info is the payload, undecoded."""
    raw = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
           "filters": []}  # fmt: skip
    markets = Markets([parse_market(raw, "spot", float)], "spot", number=float)
    payload = msgspec.json.encode(_ticker_event(event_time, last_trade_id))
    (delivery,) = MarketData(markets).route("btcusdt@ticker", msgspec.Raw(payload), 0.0)
    ticker: Ticker = delivery.value
    return ticker


def test_a_streamed_ticker_names_its_entry_and_crosses_the_fanout_with_its_info() -> None:
    ticker = _streamed_ticker(1_700_000_000_123, 41)
    assert ticker_entry_id(ticker) == "1700000000123-42"
    copy = codec.decode_ticker(codec.encode(ticker))  # what a consumer decodes
    assert copy.info == msgspec.to_builtins(ticker.info) and copy.info["c"] == "10"
    assert ticker_entry_id(copy) == "1700000000123-42"
    assert copy.to_dict() == ticker.to_dict()


def test_a_ticker_whose_payload_only_the_lax_decode_takes_still_crosses_the_fanout() -> None:
    # A number sent as a JSON number: the ticker's values are right, and its strict info
    # decode (``ticker.info``) refuses it; the collector's id and encoding must not read
    # it that way, or the ticker is lost to every consumer (the callback raises).
    payload: dict[str, Any] = msgspec.to_builtins(_ticker_event(1_700_000_000_123, 41))
    payload["c"] = 10.5
    raw = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
           "filters": []}  # fmt: skip
    markets = Markets([parse_market(raw, "spot", float)], "spot", number=float)
    (delivery,) = MarketData(markets).route(
        "btcusdt@ticker", msgspec.Raw(msgspec.json.encode(payload)), 0.0
    )
    ticker: Ticker = delivery.value
    assert ticker.last == 10.5
    with pytest.raises(ProtocolError):
        ticker.info  # noqa: B018
    assert ticker_entry_id(ticker) == "1700000000123-42"
    copy = codec.decode_ticker(codec.encode(ticker))
    assert copy.info == payload and copy.last == 10.5
    assert ticker_entry_id(copy) == "1700000000123-42"
