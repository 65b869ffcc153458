"""The float fast paths of the hot parsers give what the per-field path gives.

With the client's checked converter (``finite_float``) trades and tickers are parsed
with builtin ``float`` and one finiteness check per message; the generic path calls
the converter per field. Both must build the same structure from a good payload and
refuse the same bad ones with ``ProtocolError``.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance import parsers as p
from ccxtpro_sync._exchanges.binance import wire as w
from ccxtpro_sync._exchanges.binance.market_data import MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_market
from ccxtpro_sync._numbers import finite_float
from ccxtpro_sync._structures import Market

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
