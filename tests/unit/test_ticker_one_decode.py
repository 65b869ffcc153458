"""Mini tickers, book tickers and the all-market arrays of a float client: one lax
decode per payload (``ticker_floats``) builds what the strict decode and the per-field
parser build, refuses what they refuse, and keeps the payload as ``info``."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance import parsers as p
from ccxtpro_sync._exchanges.binance import wire as w
from ccxtpro_sync._exchanges.binance.market_data import TICKERS_HASH, MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_market
from ccxtpro_sync._numbers import finite_float
from ccxtpro_sync._structures import Market, to_jsonable

MINI = {"e": "24hrMiniTicker", "E": 1672515782136, "s": "BTCUSDT", "c": "16602.26",
        "o": "16695.75", "h": "16773.18", "l": "16497.77", "v": "159435.48",
        "q": "2651010617.38"}  # fmt: skip
SPOT_BOOK = {"u": 400900217, "s": "BTCUSDT", "b": "25.3519", "B": "31.21", "a": "25.3652",
             "A": "40.66"}  # fmt: skip
UM_BOOK = {"e": "bookTicker", "u": 400900217, "E": 1568014460893, "T": 1568014460891,
           "s": "BTCUSDT", "b": "25.3519", "B": "31.21", "a": "25.3652", "A": "40.66"}  # fmt: skip
TICKER = {"e": "24hrTicker", "E": 1672515782136, "s": "BTCUSDT", "p": "-93.49", "P": "-0.560",
          "w": "16627.4", "x": "16695.76", "c": "16602.26", "Q": "0.0067", "b": "16602.25",
          "B": "0.0569", "a": "16602.26", "A": "0.2922", "o": "16695.75", "h": "16773.18",
          "l": "16497.77", "v": "159435.48", "q": "2651010617.38", "O": 0, "C": 86400000,
          "F": 1, "L": 2, "n": 2}  # fmt: skip
BAD = ["NaN", "inf", "-Infinity", "1e400", "not a number", "null", ""]
PARSE = {"miniTicker": p.parse_mini_ticker, "bookTicker": p.parse_book_ticker,
         "ticker": p.parse_ticker}  # fmt: skip


def _market(kind: str, symbol: str = "BTCUSDT") -> Market:
    raw: dict[str, Any] = {"symbol": symbol, "status": "TRADING", "baseAsset": symbol[:3],
                           "quoteAsset": symbol[3:], "filters": []}  # fmt: skip
    if kind == "spot":
        return parse_market(raw, "spot", float)
    if kind == "usdm":
        raw |= {"pair": symbol, "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
                "marginAsset": "USDT"}  # fmt: skip
        return parse_market(raw, "usdm", float)
    raw |= {"symbol": "BTCUSD_PERP", "quoteAsset": "USD", "pair": "BTCUSD",
            "contractType": "PERPETUAL", "deliveryDate": 4133404800000, "marginAsset": "BTC",
            "contractSize": 100}  # fmt: skip
    return parse_market(raw, "coinm", float)


def _data(kind: str, *markets: Market) -> MarketData:
    return MarketData(Markets(list(markets) or [_market(kind)], kind, number=float))


def _route(data: MarketData, stream: str, payload: Any) -> Any:
    deliveries = data.route(stream, msgspec.Raw(json.dumps(payload).encode()), 0.0)
    assert isinstance(deliveries, list)
    return deliveries


def _streamed(kind: str, stream_kind: str, payload: dict[str, Any]) -> Any:
    market = _market(kind)
    stream = f"{market.id.lower()}@{stream_kind}"
    (delivery,) = _route(_data(kind, market), stream, payload)
    return delivery.value


def _per_field(stream_kind: str, payload: dict[str, Any], market: Market) -> Any:
    event = w.decode_data(stream_kind, json.dumps(payload).encode())  # type: ignore[arg-type]
    return PARSE[stream_kind](event, market, finite_float)


CASES = [
    ("spot", "miniTicker", MINI),
    ("usdm", "miniTicker", MINI),
    ("coinm", "miniTicker", MINI | {"s": "BTCUSD_PERP", "ps": "BTCUSD"}),
    ("spot", "bookTicker", SPOT_BOOK),
    ("usdm", "bookTicker", UM_BOOK),
    ("coinm", "bookTicker", UM_BOOK | {"s": "BTCUSD_PERP", "ps": "BTCUSD"}),
]


@pytest.mark.parametrize(("kind", "stream_kind", "payload"), CASES)
def test_a_streamed_ticker_is_what_the_per_field_parser_makes(
    kind: str, stream_kind: str, payload: dict[str, Any]
) -> None:
    got = _streamed(kind, stream_kind, payload)
    want = _per_field(stream_kind, payload, _market(kind))
    assert got.to_dict() == want.to_dict()
    assert got.info == want.info  # read: the wire struct, Binance's strings
    assert got["info"] == payload and got.to_dict()["info"] == payload
    assert json.loads(json.dumps(got, default=to_jsonable))["info"] == payload


def test_a_mini_ticker_with_a_zero_open_and_volume_has_no_percentage_or_vwap() -> None:
    payload = MINI | {"o": "0", "v": "0"}
    got = _streamed("spot", "miniTicker", payload)
    assert got.percentage is None and got.vwap is None
    assert got.to_dict() == _per_field("miniTicker", payload, _market("spot")).to_dict()


def test_a_book_ticker_info_reads_as_its_wire_struct() -> None:
    ticker = _streamed("spot", "bookTicker", SPOT_BOOK)
    assert ticker.info.update_id == 400900217 and ticker.timestamp is None
    assert _streamed("usdm", "bookTicker", UM_BOOK).info.event_time == 1568014460893


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize(
    ("stream_kind", "payload", "field"),
    [("miniTicker", MINI, f) for f in "cohlvq"] + [("bookTicker", SPOT_BOOK, f) for f in "bBaA"],
)
def test_a_bad_number_is_refused_as_by_the_per_field_parser(
    stream_kind: str, payload: dict[str, Any], field: str, bad: str
) -> None:
    bad_payload = payload | {field: bad}
    with pytest.raises(ProtocolError, match="finite"):
        _per_field(stream_kind, bad_payload, _market("spot"))
    with pytest.raises(ProtocolError, match="finite"):
        _streamed("spot", stream_kind, bad_payload)


@pytest.mark.parametrize("value", ["null", "soon", 1.5, None])
def test_a_bad_or_null_book_ticker_time_gets_what_the_strict_decode_gives(value: Any) -> None:
    payload = UM_BOOK | {"E": value}
    try:
        want = _per_field("bookTicker", payload, _market("usdm"))
    except ProtocolError:
        with pytest.raises(ProtocolError, match="malformed Binance"):
            _streamed("usdm", "bookTicker", payload)
    else:
        assert _streamed("usdm", "bookTicker", payload).to_dict() == want.to_dict()


# -- !ticker@arr and !miniTicker@arr ---------------------------------------------------------


def _two_markets() -> tuple[Market, Market]:
    return _market("spot"), _market("spot", "ETHUSDT")


@pytest.mark.parametrize(("stream", "item"), [("!ticker@arr", TICKER), ("!miniTicker@arr", MINI)])
def test_an_all_market_array_gives_each_known_symbol_its_ticker(
    stream: str, item: dict[str, Any]
) -> None:
    btc, eth = _two_markets()
    data = _data("spot", btc, eth)
    items = [item, item | {"s": "ETHUSDT", "c": "1200.5"}, item | {"s": "NEWUSDT"}]
    (delivery,) = _route(data, stream, items)
    assert delivery.message_hash == TICKERS_HASH
    assert list(delivery.value) == ["BTC/USDT", "ETH/USDT"]  # NEWUSDT: listed later, skipped
    single = "ticker" if stream == "!ticker@arr" else "miniTicker"
    for got, raw, market in zip(delivery.value.values(), items, (btc, eth), strict=False):
        assert got.to_dict() == _per_field(single, raw, market).to_dict()
        assert got["info"] == raw
    assert data.tickers["ETH/USDT"].last == 1200.5


@pytest.mark.parametrize(("stream", "item"), [("!ticker@arr", TICKER), ("!miniTicker@arr", MINI)])
@pytest.mark.parametrize("bad", [{"c": "NaN"}, {"c": "null"}, {"E": "soon"}, {"s": 5}])
def test_a_bad_item_fails_the_whole_array_and_stores_nothing(
    stream: str, item: dict[str, Any], bad: dict[str, Any]
) -> None:
    btc, eth = _two_markets()
    data = _data("spot", btc, eth)
    with pytest.raises(ProtocolError):
        _route(data, stream, [item, item | {"s": "ETHUSDT"} | bad])
    assert data.tickers == {}


def test_an_array_item_keeps_only_its_own_bytes() -> None:
    btc, eth = _two_markets()
    data = _data("spot", btc, eth)
    (delivery,) = _route(data, "!ticker@arr", [TICKER, TICKER | {"s": "ETHUSDT"}])
    raw = msgspec.structs.astuple(delivery.value["BTC/USDT"])[-1]
    assert isinstance(raw, msgspec.Raw) and json.loads(bytes(raw)) == TICKER


# -- @markPrice (futures): the mark-price ticker and the funding rate from one decode --------

UM_MARK = {"e": "markPriceUpdate", "E": 1562305380000, "s": "BTCUSDT", "p": "11794.15",
           "i": "11784.62659091", "P": "11784.25641265", "r": "0.00038167", "ap": "11794.15",
           "T": 1562306400000, "st": 1}  # fmt: skip
CM_DELIVERY_MARK = {"e": "markPriceUpdate", "E": 1596095725000, "s": "BTCUSD_PERP",
                    "p": "10934.62615417", "P": "10962.17178236", "i": "10933.62615417",
                    "r": "", "T": 0}  # fmt: skip
BARE_MARK = {"e": "markPriceUpdate", "E": 1562305380000, "s": "BTCUSDT", "p": "11794.15"}


def _streamed_mark(kind: str, payload: dict[str, Any]) -> tuple[Any, Any]:
    market = _market(kind)
    stream = f"{market.id.lower()}@markPrice"
    ticker, funding = (d.value for d in _route(_data(kind, market), stream, payload))
    return ticker, funding


@pytest.mark.parametrize(
    ("kind", "payload"),
    [("usdm", UM_MARK), ("coinm", CM_DELIVERY_MARK), ("usdm", BARE_MARK)],
)
def test_a_streamed_mark_price_is_what_the_per_field_parsers_make(
    kind: str, payload: dict[str, Any]
) -> None:
    ticker, funding = _streamed_mark(kind, payload)
    event = w.decode_data("markPrice", json.dumps(payload).encode())
    market = _market(kind)
    assert ticker.to_dict() == p.parse_mark_price_ticker(event, market, finite_float).to_dict()
    assert funding.to_dict() == p.parse_mark_price(event, market, finite_float).to_dict()
    assert ticker.info == funding.info == event  # read: the wire struct
    assert ticker["info"] == funding["info"] == payload


def test_a_delivery_contract_has_no_funding() -> None:
    _, funding = _streamed_mark("coinm", CM_DELIVERY_MARK)
    assert funding.fundingRate is None and funding.fundingTimestamp is None
    assert funding.markPrice == 10934.62615417


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("field", ["p", "i", "P", "r"])
def test_a_bad_mark_price_number_is_refused_as_by_the_per_field_parsers(
    field: str, bad: str
) -> None:
    payload = UM_MARK | {field: bad}
    if field != "p" and bad == "":  # "" is Binance's "not applicable" there: None
        _, funding = _streamed_mark("usdm", payload)
        assert getattr(funding, {"i": "indexPrice", "P": "estimatedSettlePrice",
                                 "r": "fundingRate"}[field]) is None  # fmt: skip
        return
    with pytest.raises(ProtocolError, match="finite"):
        _streamed_mark("usdm", payload)


def test_a_streamed_mark_price_shows_its_info_decoded() -> None:
    ticker, funding = _streamed_mark("usdm", UM_MARK)
    for value in (ticker, funding):
        assert "info=MarkPriceEvent(event_type='markPriceUpdate'" in repr(value)
        assert repr(value).startswith(f"{type(value).__name__}(symbol='BTC/USDT:USDT', timestamp=")


def test_a_ticker_whose_info_the_strict_decode_refuses_still_has_a_repr() -> None:
    # A number sent as a JSON number passes the lax decode: the ticker is delivered, and
    # printing or logging it (repr, str, f-strings) must not raise its info's error.
    payload = {**TICKER, "c": 16602.26}
    [delivery] = _route(_data("spot"), "btcusdt@ticker", payload)
    ticker = delivery.value
    with pytest.raises(ProtocolError):
        ticker.info  # noqa: B018
    shown = repr(ticker)
    assert shown == str(ticker) == f"{ticker}"
    assert shown.startswith("Ticker(symbol='BTC/USDT'") and "'c': 16602.26" in shown
    [good] = _route(_data("spot"), "btcusdt@ticker", TICKER)
    assert "info=TickerEvent(" in repr(good.value)  # a good payload shows its wire struct


@pytest.mark.parametrize(
    ("stream", "payload"),
    [
        ("btcusdt@miniTicker", {**MINI, "C": 1672515782136}),
        ("btcusdt@bookTicker", {**SPOT_BOOK, "C": 5}),
        ("btcusdt@bookTicker", {**UM_BOOK, "C": 5, "c": "1"}),
        ("btcusdt@ticker", {**TICKER, "u": 7}),
    ],
    ids=["mini+C", "spot-book+C", "um-book+C+c", "ticker+u"],
)
def test_a_key_binance_adds_to_a_payload_does_not_change_how_its_info_reads(
    stream: str, payload: dict[str, Any]
) -> None:
    # A new key that another payload type has (a mini ticker's close time "C") made
    # info read as that other type, and ticker.info raised ProtocolError.
    kind = "usdm" if payload.get("e") == "bookTicker" else "spot"
    [delivery] = _route(_data(kind), stream, payload)
    ticker = delivery.value
    name = stream.split("@")[1]
    decoder = {"miniTicker": w.MINI_TICKER_DECODER, "bookTicker": w.BOOK_TICKER_DECODER,
               "ticker": w.TICKER_DECODER}[name]  # fmt: skip
    assert ticker.info == w.decode(decoder, json.dumps(payload).encode(), name)
    assert ticker["info"] == payload
