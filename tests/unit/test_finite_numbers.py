"""NaN and infinities never enter a book, a cache or a unified structure.

``float()`` and ``Decimal()`` both accept "NaN" and "Infinity"; Binance never sends
them, so a payload that does is broken or hostile: the whole message is refused with
``ProtocolError`` (the stream protocol reports it as a protocol error and goes on).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from ccxtpro_sync._core.events import Inbound
from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance.market_data import MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_market
from ccxtpro_sync._exchanges.binance.private_wire import decode_event
from ccxtpro_sync._exchanges.binance.stream_protocol import BinanceStreamProtocol
from ccxtpro_sync._exchanges.binance.user_data import UserDataState
from ccxtpro_sync._numbers import finite_decimal, finite_float

NON_FINITE = ["NaN", "nan", "inf", "-inf", "Infinity", "-Infinity"]
NUMBERS = [float, Decimal]
SYMBOL = "BTC/USDT"


def markets(number: Any) -> Markets:
    raw = {
        "symbol": "BTCUSDT",
        "status": "TRADING",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "filters": [],
    }
    return Markets([parse_market(raw, "spot", number)], "spot", number=number)


def raw(payload: dict[str, Any]) -> msgspec.Raw:
    return msgspec.Raw(json.dumps(payload).encode())


def depth(U: int, u: int, bids: list[list[str]], asks: list[list[str]]) -> msgspec.Raw:
    return raw({"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": U, "u": u, "b": bids, "a": asks})


def synced_book(number: Any) -> MarketData:
    """A BTC/USDT book synced on a snapshot: best bid 100, best ask 101."""
    data = MarketData(markets(number))
    data.route("btcusdt@depth@100ms", depth(10, 11, [["99", "1"]], []), 0.0)
    snapshot = {"lastUpdateId": 10, "bids": [["100", "2"]], "asks": [["101", "3"]]}
    data.apply_snapshot(SYMBOL, json.dumps(snapshot).encode(), 1000)
    assert data.books[SYMBOL].synced
    return data


@pytest.mark.parametrize("text", [*NON_FINITE, "1e400"])
def test_the_float_converter_refuses_non_finite_values(text: str) -> None:
    with pytest.raises(ProtocolError, match="finite"):
        finite_float(text)


@pytest.mark.parametrize("text", [*NON_FINITE, "sNaN", "not a number"])
def test_the_decimal_converter_refuses_them_with_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError):
        finite_decimal(text)


def test_finite_values_pass_unchanged() -> None:
    assert finite_float("16602.01") == 16602.01
    assert finite_decimal("0.00000100") == Decimal("0.00000100")


@pytest.mark.parametrize("number", NUMBERS)
@pytest.mark.parametrize("bad", ["inf", "NaN", "Infinity"])
def test_a_non_finite_bid_never_enters_the_book(number: Any, bad: str) -> None:
    data = synced_book(number)
    book = data.books[SYMBOL].book
    with pytest.raises(ProtocolError):
        data.route("btcusdt@depth@100ms", depth(12, 12, [[bad, "1"]], []), 0.0)
    view = data.books[SYMBOL].view()
    assert [list(map(float, level)) for level in view.bids] == [[100.0, 2.0], [99.0, 1.0]]
    assert [list(map(float, level)) for level in view.asks] == [[101.0, 3.0]]
    assert not book.is_crossed()
    # The next valid diff still applies (the refused one left nothing half-done).
    data.route("btcusdt@depth@100ms", depth(12, 12, [["100", "5"]], []), 0.0)
    assert float(data.books[SYMBOL].view().bids[0][1]) == 5.0


@pytest.mark.parametrize("number", NUMBERS)
def test_a_non_finite_quantity_in_a_buffered_diff_is_refused_on_arrival(number: Any) -> None:
    data = MarketData(markets(number))
    with pytest.raises(ProtocolError):
        data.route("btcusdt@depth@100ms", depth(11, 11, [["100", "NaN"]], []), 0.0)
    assert data.books[SYMBOL].buffered == 0


@pytest.mark.parametrize("number", NUMBERS)
def test_a_rest_snapshot_with_a_non_finite_level_is_refused(number: Any) -> None:
    data = MarketData(markets(number))
    data.route("btcusdt@depth@100ms", depth(11, 11, [["99", "1"]], []), 0.0)
    snapshot = {"lastUpdateId": 10, "bids": [["100", "2"]], "asks": [["Infinity", "3"]]}
    with pytest.raises(ProtocolError):
        data.apply_snapshot(SYMBOL, json.dumps(snapshot).encode(), 1000)
    assert not data.books[SYMBOL].synced


@pytest.mark.parametrize("number", NUMBERS)
def test_a_trade_with_a_non_finite_price_is_not_cached(number: Any) -> None:
    data = MarketData(markets(number))
    trade = {"e": "aggTrade", "E": 1, "s": "BTCUSDT", "a": 1, "p": "NaN", "q": "1",
             "f": 1, "l": 1, "T": 1, "m": True, "M": True}  # fmt: skip
    with pytest.raises(ProtocolError):
        data.route("btcusdt@aggTrade", raw(trade), 0.0)
    assert len(data.trades.get(SYMBOL) or []) == 0


@pytest.mark.parametrize("number", NUMBERS)
def test_a_ticker_with_a_non_finite_field_is_not_kept(number: Any) -> None:
    data = MarketData(markets(number))
    ticker = {"e": "bookTicker", "u": 1, "s": "BTCUSDT", "b": "100", "B": "1",
              "a": "inf", "A": "1"}  # fmt: skip
    with pytest.raises(ProtocolError):
        data.route("btcusdt@bookTicker", raw(ticker), 0.0)
    assert SYMBOL not in data.bids_asks


@pytest.mark.parametrize("number", NUMBERS)
def test_a_private_order_event_with_a_non_finite_price_is_refused(number: Any) -> None:
    state = UserDataState(markets(number))
    event = {
        "e": "executionReport", "E": 1, "s": "BTCUSDT", "c": "abc", "S": "BUY", "o": "LIMIT",
        "f": "GTC", "q": "1", "p": "NaN", "P": "0", "F": "0", "g": -1, "C": "", "x": "NEW",
        "X": "NEW", "r": "NONE", "i": 1, "l": "0", "z": "0", "L": "0", "n": "0", "N": None,
        "T": 1, "t": -1, "v": 3, "I": 1, "w": True, "m": False, "M": False, "O": 1, "Z": "0",
        "Y": "0", "Q": "0", "W": 1, "V": "NONE",
    }  # fmt: skip
    with pytest.raises(ProtocolError):
        state.handle(decode_event(json.dumps(event).encode()))
    assert state.orders == {}


def test_the_stream_protocol_reports_the_refused_message_and_goes_on() -> None:
    data = MarketData(markets(float))
    protocol = BinanceStreamProtocol("ws://127.0.0.1:1", data)
    trade = {"e": "aggTrade", "E": 1, "s": "BTCUSDT", "a": 1, "p": "{}", "q": "1",
             "f": 1, "l": 1, "T": 1, "m": True, "M": True}  # fmt: skip

    def frame(price: str) -> bytes:
        payload = {**trade, "p": price}
        return json.dumps({"stream": "btcusdt@aggTrade", "data": payload}).encode()

    refused = protocol.receive(frame("Infinity"), 0.0)
    assert isinstance(refused, Inbound)
    assert [type(e) for e in refused.errors] == [ProtocolError] and not refused.deliveries
    accepted = protocol.receive(frame("16602.01"), 0.0)
    deliveries = accepted if isinstance(accepted, list) else accepted.deliveries
    [delivery] = deliveries
    [trade_out] = delivery.value
    assert trade_out.price == 16602.01
