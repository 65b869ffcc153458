"""The float fast paths of the hot parsers give what the per-field path gives.

With the client's checked converter (``finite_float``) trades and tickers are parsed
with builtin ``float`` and one finiteness check per message; the generic path calls
the converter per field. Both must build the same structure from a good payload and
refuse the same bad ones with ``ProtocolError``.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import msgspec
import pytest

from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance import parsers as p
from ccxtpro_sync._exchanges.binance import wire as w
from ccxtpro_sync._exchanges.binance.market_data import MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_market
from ccxtpro_sync._numbers import finite_float
from ccxtpro_sync._structures import Market, Ticker, to_jsonable

AGG = {"e": "aggTrade", "E": 1672515782136, "s": "BTCUSDT", "a": 12345, "p": "16612.01",
       "q": "0.0012", "f": 100, "l": 105, "T": 1672515782136, "m": True, "M": True}  # fmt: skip
TRADE = {"e": "trade", "E": 1672515782136, "s": "BTCUSDT", "t": 777, "p": "16612.01",
         "q": "0.5", "T": 1672515782136, "m": False, "M": True}  # fmt: skip
TICKER = {"e": "24hrTicker", "E": 1672515782136, "s": "BTCUSDT", "p": "-93.49", "P": "-0.560",
          "w": "16627.4", "x": "16695.76", "c": "16602.26", "Q": "0.0067", "b": "16602.25",
          "B": "0.0569", "a": "16602.26", "A": "0.2922", "o": "16695.75", "h": "16773.18",
          "l": "16497.77", "v": "159435.48", "q": "2651010617.38", "O": 0, "C": 86400000,
          "F": 1, "L": 2, "n": 2}  # fmt: skip
TICKER_NUMBERS = ["p", "P", "w", "x", "c", "b", "B", "a", "A", "o", "h", "l", "v", "q"]
BAD = ["NaN", "inf", "-Infinity", "1e400", "not a number"]


def _market(kind: str) -> Market:
    raw: dict[str, Any] = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC",
                           "quoteAsset": "USDT", "filters": []}  # fmt: skip
    if kind == "spot":
        return parse_market(raw, "spot", float)
    raw |= {"pair": "BTCUSDT", "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
            "marginAsset": "USDT"}  # fmt: skip
    return parse_market(raw, "usdm", float)


def _parse(kind: w.StreamKind, payload: dict[str, Any], market: Market, number: Any) -> Any:
    event = w.decode_data(kind, json.dumps(payload).encode())
    parse = {"aggTrade": p.parse_agg_trade, "trade": p.parse_trade, "ticker": p.parse_ticker}
    return parse[kind](event, market, number)


CASES: list[tuple[w.StreamKind, dict[str, Any]]] = [
    ("aggTrade", AGG),
    ("trade", TRADE),
    ("ticker", TICKER),
    # USD-M tickers carry no bid/ask/previous close: the absent values stay None.
    ("ticker", {k: v for k, v in TICKER.items() if k not in ("x", "b", "B", "a", "A")}),
]


@pytest.mark.parametrize("market_kind", ["spot", "usdm"])
@pytest.mark.parametrize(("kind", "payload"), CASES)
def test_the_fast_path_builds_what_the_per_field_path_builds(
    kind: w.StreamKind, payload: dict[str, Any], market_kind: str
) -> None:
    market = _market(market_kind)
    fast = _parse(kind, payload, market, finite_float)
    slow = _parse(kind, payload, market, float)  # not the checked converter: per field
    assert fast.to_dict() == slow.to_dict()
    assert type(fast.last if kind == "ticker" else fast.price) is float


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("field", ["p", "q"])
@pytest.mark.parametrize("kind", ["aggTrade", "trade"])
def test_a_trade_with_a_bad_number_in_either_field_is_refused(
    kind: w.StreamKind, field: str, bad: str
) -> None:
    payload = (AGG if kind == "aggTrade" else TRADE) | {field: bad}
    with pytest.raises(ProtocolError):
        _parse(kind, payload, _market("spot"), finite_float)


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("field", TICKER_NUMBERS)
def test_a_ticker_with_a_bad_number_in_any_field_is_refused(field: str, bad: str) -> None:
    with pytest.raises(ProtocolError, match="finite"):
        _parse("ticker", TICKER | {field: bad}, _market("spot"), finite_float)


# -- @ticker through MarketData: the numbers decoded in C (ticker_floats) ------------------


def _route_ticker(payload: dict[str, Any], market_kind: str = "spot") -> Any:
    market = _market(market_kind)
    data = MarketData(Markets([market], market_kind, number=float))
    stream = "btcusdt@ticker"
    (delivery,) = data.route(stream, msgspec.Raw(json.dumps(payload).encode()), 0.0)
    return delivery.value


@pytest.mark.parametrize("market_kind", ["spot", "usdm"])
@pytest.mark.parametrize("payload", [c[1] for c in CASES if c[0] == "ticker"])
def test_a_streamed_ticker_is_what_the_per_field_parser_makes(
    payload: dict[str, Any], market_kind: str
) -> None:
    got = _route_ticker(payload, market_kind)
    want = _parse("ticker", payload, _market(market_kind), float)
    assert got.to_dict() == want.to_dict()
    assert got["info"]["c"] == payload["c"]  # info keeps Binance's strings


def test_an_empty_optional_number_is_none_as_on_the_per_field_path() -> None:
    ticker = _route_ticker(TICKER | {"b": "", "x": ""})
    assert ticker.bid is None and ticker.previousClose is None and ticker.ask == 16602.26


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("field", TICKER_NUMBERS)
def test_a_streamed_ticker_with_a_bad_number_is_refused(field: str, bad: str) -> None:
    with pytest.raises(ProtocolError, match="finite"):
        _route_ticker(TICKER | {field: bad})


def test_a_coinm_streamed_ticker_is_what_the_per_field_parser_makes() -> None:
    raw: dict[str, Any] = {"symbol": "BTCUSD_PERP", "status": "TRADING", "baseAsset": "BTC",
                           "quoteAsset": "USD", "filters": [], "pair": "BTCUSD",
                           "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
                           "marginAsset": "BTC", "contractSize": 100}  # fmt: skip
    market = parse_market(raw, "coinm", float)
    data = MarketData(Markets([market], "coinm", number=float))
    payload = {k: v for k, v in TICKER.items() if k not in ("x", "b", "B", "a", "A")}
    payload |= {"s": "BTCUSD_PERP", "ps": "BTCUSD"}
    (delivery,) = data.route("btcusd_perp@ticker", msgspec.Raw(json.dumps(payload).encode()), 0.0)
    want = _parse("ticker", payload, market, float)
    assert delivery.value.to_dict() == want.to_dict()
    assert delivery.value.baseVolume == 2651010617.38  # COIN-M: q is the base asset
    assert delivery.value.quoteVolume == 159435.48 * 100  # v contracts times their size


# -- one decode: info is the payload, decoded when read --------------------------------------


def test_a_streamed_ticker_keeps_its_payload_and_gives_it_back_however_info_is_read() -> None:
    payload = TICKER | {"unlisted": "kept"}  # a key Binance may add one day
    ticker = _route_ticker(payload)
    body = json.dumps(payload).encode()
    assert ticker.info == msgspec.json.decode(body, type=w.TickerEvent)  # the wire struct
    assert ticker.info.last_price == "16602.26" and ticker.info.event_time == payload["E"]
    assert ticker["info"]["c"] == "16602.26" and ticker["info"]["E"] == payload["E"]
    assert ticker.to_dict()["info"] == payload  # the payload's JSON object, every key
    assert json.loads(json.dumps(ticker, default=to_jsonable))["info"] == payload
    assert json.loads(msgspec.json.encode(ticker))["info"] == payload
    assert "info=TickerEvent(event_type='24hrTicker'" in repr(ticker)
    assert pickle.loads(pickle.dumps(ticker)) == ticker  # the payload travels as it came
    assert ticker == _route_ticker(payload)  # equal payloads, equal tickers


@pytest.mark.parametrize("field", ["x", "b", "B", "a", "A"])
def test_a_streamed_ticker_with_a_null_string_for_an_optional_number_is_refused(
    field: str,
) -> None:
    # The lax decode would read "null" as None, a silently missing value; the checked
    # path refuses it as the per-field parser does.
    with pytest.raises(ProtocolError, match="finite"):
        _route_ticker(TICKER | {field: "null"})
    with pytest.raises(ProtocolError, match="finite"):
        _parse("ticker", TICKER | {field: "null"}, _market("spot"), finite_float)


@pytest.mark.parametrize("field", ["x", "b", "B", "a", "A"])
def test_a_json_null_optional_number_is_none_as_on_the_per_field_path(field: str) -> None:
    ticker = _route_ticker(TICKER | {field: None})
    want = _parse("ticker", TICKER | {field: None}, _market("spot"), finite_float)
    assert ticker.to_dict() == want.to_dict()


@pytest.mark.parametrize("missing", ["e", "E", "s", "Q", "O", "C", "F", "L", "n", "c"])
def test_a_streamed_ticker_missing_a_required_key_is_refused(missing: str) -> None:
    with pytest.raises(ProtocolError, match="malformed Binance"):
        _route_ticker({k: v for k, v in TICKER.items() if k != missing})


def test_a_form_only_the_lax_decode_takes_fails_when_its_info_is_read() -> None:
    # Binance never quotes an integer; the value is taken, the strict wire struct is
    # what info reads, so reading it says what was wrong instead of guessing.
    ticker = _route_ticker(TICKER | {"E": str(TICKER["E"])})
    assert ticker.timestamp == TICKER["C"] and ticker.last == 16602.26
    with pytest.raises(ProtocolError, match=r"malformed Binance ticker.*\$\.E"):
        _ = ticker.info


def test_ticker_fields_keep_the_order_the_positional_builders_use() -> None:
    assert Ticker.__struct_fields__ == (
        "symbol", "timestamp", "datetime", "high", "low", "bid", "bidVolume", "ask",
        "askVolume", "vwap", "open", "close", "last", "previousClose", "change",
        "percentage", "average", "baseVolume", "quoteVolume", "markPrice", "indexPrice",
        "info",
    )  # fmt: skip


def test_info_by_key_is_the_whole_payload_as_in_to_dict() -> None:
    payload = TICKER | {"unlisted": "kept"}  # a key the wire struct does not know
    ticker = _route_ticker(payload)
    assert ticker["info"] == payload == ticker.to_dict()["info"] == ticker.get("info")
    assert dict(ticker.items())["info"] == payload
