"""Binance wire decoding and wire → unified parsing, on the documented payloads
(``/work/shared/binance_protocol_reference.md`` §4)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance import parsers as p
from ccxtpro_sync._exchanges.binance import wire as w
from ccxtpro_sync._exchanges.binance.markets import parse_market
from ccxtpro_sync._structures import OHLCV, FundingRate, Liquidation, Market, Ticker, Trade

# --------------------------------------------------------------------------- payloads (§4)

SPOT_TRADE = (
    '{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100",'
    '"T":1672515782136,"m":true,"M":true}'
)
SPOT_AGG_TRADE = (
    '{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100",'
    '"f":100,"l":105,"T":1672515782136,"m":true,"M":true}'
)
# UM field list e,E,s,a,p,q,nq,f,l,T,m plus st (values in the documented style).
UM_AGG_TRADE = (
    '{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100",'
    '"nq":"95","f":100,"l":105,"T":123456785,"m":false,"st":1}'
)
CM_AGG_TRADE = (
    '{"e":"aggTrade","E":1591261134288,"a":424951,"s":"BTCUSD_PERP","p":"50000.0","q":"2",'
    '"f":91,"l":91,"T":1591261134199,"m":false,"ps":"BTCUSD","st":2}'
)
SPOT_KLINE = (
    '{"e":"kline","E":1672515782136,"s":"BNBBTC",'
    '"k":{"t":1672515780000,"T":1672515839999,"s":"BNBBTC","i":"1m","f":100,"L":200,'
    '"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,'
    '"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}'
)
SPOT_MINI_TICKER = (
    '{"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010",'
    '"h":"0.0025","l":"0.0010","v":"10000","q":"18"}'
)
SPOT_TICKER = (
    '{"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00","w":"0.0018",'
    '"x":"0.0009","c":"0.0025","Q":"10","b":"0.0024","B":"10","a":"0.0026","A":"100",'
    '"o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,'
    '"F":0,"L":18150,"n":18151}'
)
UM_TICKER = (
    '{"e":"24hrTicker","E":123456789,"s":"BTCUSDT","p":"0.0015","P":"250.00","w":"0.0018",'
    '"c":"0.0025","Q":"10","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18",'
    '"O":0,"C":86400000,"F":0,"L":18150,"n":18151}'
)
SPOT_BOOK_TICKER = (
    '{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000",'
    '"a":"25.36520000","A":"40.66000000"}'
)
UM_BOOK_TICKER = (
    '{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT",'
    '"b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}'
)
SPOT_PARTIAL_DEPTH = '{"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"]]}'
SPOT_DEPTH_UPDATE = (
    '{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,'
    '"b":[["0.0024","10"]],"a":[["0.0026","100"]]}'
)
UM_DEPTH_UPDATE = (
    '{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,"pu":149,'
    '"b":[["0.0024","10"]],"a":[["0.0026","100"]]}'
)
CM_DEPTH_UPDATE = (
    '{"e":"depthUpdate","E":1591270260907,"T":1591270260891,"s":"BTCUSD_200626",'
    '"ps":"BTCUSD","U":17285681,"u":17285702,"pu":17285675,'
    '"b":[["9517.6","10"]],"a":[["9518.5","45"]]}'
)
SPOT_REST_DEPTH = (
    '{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],'
    '"asks":[["4.00000200","12.00000000"]]}'
)
UM_REST_DEPTH = (
    '{"lastUpdateId":1027024,"E":1589436922972,"T":1589436922959,'
    '"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}'
)
UM_MARK_PRICE = (
    '{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000",'
    '"i":"11784.62659091","P":"11784.25641265","r":"0.00038167","ap":"11794.15000000",'
    '"T":1562306400000,"st":1}'
)
CM_DELIVERY_MARK_PRICE = (
    '{"e":"markPriceUpdate","E":1596095725000,"s":"BTCUSD_201225","p":"10934.62615417",'
    '"P":"10962.17178236","i":"10933.62615417","r":"","T":0}'
)
UM_FORCE_ORDER = (
    '{"e":"forceOrder","E":1568014460893,'
    '"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910",'
    '"X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}'
)

# --------------------------------------------------------------------------- markets


def _filters(tick: str, step: str) -> list[dict[str, Any]]:
    return [
        {"filterType": "PRICE_FILTER", "minPrice": "0", "maxPrice": "0", "tickSize": tick},
        {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "1000", "stepSize": step},
    ]


def _spot(market_id: str, base: str, quote: str, number: Any = float) -> Market:
    raw = {"symbol": market_id, "status": "TRADING", "baseAsset": base, "quoteAsset": quote}
    return parse_market(raw | {"filters": _filters("0.0001", "0.01")}, "spot", number)


def _um(number: Any = float) -> Market:
    raw = {
        "symbol": "BTCUSDT",
        "pair": "BTCUSDT",
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "status": "TRADING",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "marginAsset": "USDT",
        "filters": _filters("0.10", "0.001"),
    }
    return parse_market(raw, "usdm", number)


def _cm(market_id: str = "BTCUSD_PERP", number: Any = float) -> Market:
    perpetual = market_id.endswith("_PERP")
    raw = {
        "symbol": market_id,
        "pair": "BTCUSD",
        "contractType": "PERPETUAL" if perpetual else "CURRENT_QUARTER",
        "deliveryDate": 4133404800000 if perpetual else 1608883200000,
        "contractStatus": "TRADING",
        "contractSize": 100,
        "baseAsset": "BTC",
        "quoteAsset": "USD",
        "marginAsset": "BTC",
        "filters": _filters("0.1", "1"),
    }
    return parse_market(raw, "coinm", number)


BNBBTC = _spot("BNBBTC", "BNB", "BTC")
BNBUSDT = _spot("BNBUSDT", "BNB", "USDT")
BTCUSDT_PERP = _um()
BTCUSD_PERP = _cm()


def _decode(kind: w.StreamKind, payload: str) -> Any:
    return w.decode_data(kind, payload.encode())


# --------------------------------------------------------------------------- trades


def test_spot_trade() -> None:
    event = _decode("trade", SPOT_TRADE)
    assert isinstance(event, w.TradeEvent)
    trade = p.parse_trade(event, BNBBTC, float)
    assert isinstance(trade, Trade)
    assert trade.id == "12345"
    assert trade.symbol == "BNB/BTC"
    assert trade.timestamp == 1672515782136
    assert trade.datetime == "2022-12-31T19:43:02.136Z"
    assert trade.side == "sell"  # buyer is maker → the taker sold
    assert trade.takerOrMaker is None
    assert trade.price == 0.001
    assert trade.amount == 100.0
    assert trade.cost == pytest.approx(0.1)
    assert trade.order is None and trade.fee is None and trade.fees == []
    assert trade.info is event


def test_spot_agg_trade() -> None:
    event = _decode("aggTrade", SPOT_AGG_TRADE)
    trade = p.parse_agg_trade(event, BNBBTC, float)
    assert trade.id == "12345"
    assert (event.first_trade_id, event.last_trade_id, event.ignore) == (100, 105, True)
    assert trade.side == "sell"
    assert trade.cost == pytest.approx(0.1)
    assert trade["price"] == 0.001  # CCXT-style access


def test_um_agg_trade_has_futures_fields() -> None:
    event = _decode("aggTrade", UM_AGG_TRADE)
    assert event.normal_quantity == "95"
    assert event.stream_type == 1
    assert event.ignore is None
    trade = p.parse_agg_trade(event, BTCUSDT_PERP, float)
    assert trade.symbol == "BTC/USDT:USDT"
    assert trade.side == "buy"
    assert trade.amount == 100.0  # q, not nq
    assert trade.cost == pytest.approx(0.1)


def test_cm_agg_trade_inverse_cost() -> None:
    event = _decode("aggTrade", CM_AGG_TRADE)
    assert event.pair == "BTCUSD" and event.stream_type == 2
    trade = p.parse_agg_trade(event, BTCUSD_PERP, float)
    assert trade.symbol == "BTC/USD:BTC"
    # 2 contracts x 100 USD / 50000 USD per BTC = 0.004 BTC
    assert trade.cost == pytest.approx(0.004)


def test_decimal_mode_is_exact() -> None:
    event = _decode("aggTrade", SPOT_AGG_TRADE)
    trade = p.parse_agg_trade(event, _spot("BNBBTC", "BNB", "BTC", Decimal), Decimal)
    assert trade.price == Decimal("0.001")
    assert trade.cost == Decimal("0.1")
    assert isinstance(trade.amount, Decimal)
    inverse = p.parse_agg_trade(_decode("aggTrade", CM_AGG_TRADE), _cm(number=Decimal), Decimal)
    assert inverse.cost == Decimal("0.004")


def test_decimal_structures_encode_as_json_numbers() -> None:
    trade = p.parse_agg_trade(
        _decode("aggTrade", SPOT_AGG_TRADE), _spot("BNBBTC", "BNB", "BTC", Decimal), Decimal
    )
    encoded = msgspec.json.Encoder(decimal_format="number").encode(trade)
    assert json.loads(encoded)["price"] == 0.001


@given(
    price=st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000000"), places=8),
    qty=st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=8),
    buyer_is_maker=st.booleans(),
)
def test_agg_trade_cost_property(price: Decimal, qty: Decimal, buyer_is_maker: bool) -> None:
    payload = json.dumps(
        {
            "e": "aggTrade",
            "E": 1,
            "s": "BNBBTC",
            "a": 1,
            "p": str(price),
            "q": str(qty),
            "f": 1,
            "l": 1,
            "T": 1,
            "m": buyer_is_maker,
        }
    )
    event = _decode("aggTrade", payload)
    exact = p.parse_agg_trade(event, _spot("BNBBTC", "BNB", "BTC", Decimal), Decimal)
    assert exact.cost == price * qty
    assert exact.side == ("sell" if buyer_is_maker else "buy")
    fast = p.parse_agg_trade(event, BNBBTC, float)
    assert fast.cost == pytest.approx(float(price * qty), rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- tickers


def test_spot_ticker() -> None:
    event = _decode("ticker", SPOT_TICKER)
    ticker = p.parse_ticker(event, BNBBTC, float)
    assert isinstance(ticker, Ticker)
    assert ticker.symbol == "BNB/BTC"
    assert ticker.timestamp == 86400000  # statistics close time C, as CCXT
    assert ticker.datetime == "1970-01-02T00:00:00.000Z"
    assert (ticker.bid, ticker.bidVolume, ticker.ask, ticker.askVolume) == (0.0024, 10, 0.0026, 100)
    assert ticker.previousClose == 0.0009
    assert ticker.last == ticker.close == 0.0025
    assert ticker.open == 0.001
    assert (ticker.high, ticker.low) == (0.0025, 0.001)
    assert ticker.change == 0.0015
    assert ticker.percentage == 250.0
    assert ticker.vwap == 0.0018
    assert ticker.average == pytest.approx(0.00175)
    assert (ticker.baseVolume, ticker.quoteVolume) == (10000, 18)
    assert ticker.markPrice is None


def test_um_ticker_has_no_book_fields() -> None:
    ticker = p.parse_ticker(_decode("ticker", UM_TICKER), BTCUSDT_PERP, float)
    assert ticker.symbol == "BTC/USDT:USDT"
    assert ticker.bid is ticker.ask is ticker.previousClose is None
    assert ticker.last == 0.0025


def test_cm_ticker_volumes() -> None:
    payload = json.loads(UM_TICKER) | {"s": "BTCUSD_PERP", "ps": "BTCUSD", "v": "300", "q": "0.6"}
    ticker = p.parse_ticker(_decode("ticker", json.dumps(payload)), BTCUSD_PERP, float)
    assert ticker.baseVolume == 0.6  # q: base asset
    assert ticker.quoteVolume == 30000  # v contracts x 100 USD


def test_mini_ticker_derives_fields() -> None:
    ticker = p.parse_mini_ticker(_decode("miniTicker", SPOT_MINI_TICKER), BNBBTC, float)
    assert ticker.timestamp == 1672515782136
    assert ticker.change == pytest.approx(0.0015)
    assert ticker.percentage == pytest.approx(150.0)
    assert ticker.average == pytest.approx(0.00175)
    assert ticker.vwap == pytest.approx(0.0018)
    assert ticker.bid is None and ticker.previousClose is None


def test_mini_ticker_array_and_decimal() -> None:
    events = _decode("miniTicker_arr", f"[{SPOT_MINI_TICKER},{SPOT_MINI_TICKER}]")
    assert len(events) == 2
    market = _spot("BNBBTC", "BNB", "BTC", Decimal)
    ticker = p.parse_mini_ticker(events[0], market, Decimal)
    assert ticker.change == Decimal("0.0015")
    assert ticker.percentage == Decimal("150")
    assert ticker.vwap == Decimal("0.0018")


def test_mini_ticker_zero_open_and_volume() -> None:
    payload = json.loads(SPOT_MINI_TICKER) | {"o": "0", "v": "0"}
    ticker = p.parse_mini_ticker(_decode("miniTicker", json.dumps(payload)), BNBBTC, float)
    assert ticker.percentage is None and ticker.vwap is None


def test_spot_book_ticker() -> None:
    event = _decode("bookTicker", SPOT_BOOK_TICKER)
    assert event.event_type is None and event.update_id == 400900217
    ticker = p.parse_book_ticker(event, BNBUSDT, float)
    assert ticker.symbol == "BNB/USDT"
    assert ticker.timestamp is None and ticker.datetime is None
    assert (ticker.bid, ticker.bidVolume, ticker.ask, ticker.askVolume) == (
        25.3519,
        31.21,
        25.3652,
        40.66,
    )
    assert ticker.last is None and ticker.baseVolume is None


def test_um_book_ticker() -> None:
    event = _decode("bookTicker", UM_BOOK_TICKER)
    assert event.transaction_time == 1568014460891
    ticker = p.parse_book_ticker(event, BNBUSDT, float)
    assert ticker.timestamp == 1568014460893


# --------------------------------------------------------------------------- klines


def test_kline() -> None:
    event = _decode("kline", SPOT_KLINE)
    assert event.kline.interval == "1m" and event.kline.closed is False
    candle = p.parse_kline(event, BNBBTC, float)
    assert isinstance(candle, OHLCV)
    assert candle == OHLCV(1672515780000, 0.001, 0.0025, 0.0015, 0.002, 1000.0)
    expected = [1672515780000, 0.001, 0.0025, 0.0015, 0.002, 1000.0]
    assert list(candle) == expected
    assert candle[4] == 0.002 and len(candle) == 6
    assert json.loads(msgspec.json.encode(candle)) == expected


def test_kline_inverse_volume_is_base_asset() -> None:
    candle = p.parse_kline(_decode("kline", SPOT_KLINE), BTCUSD_PERP, float)
    assert candle.volume == 1.0  # q, not v (contracts)


# --------------------------------------------------------------------------- depth


def test_spot_depth_update() -> None:
    event = _decode("depthUpdate", SPOT_DEPTH_UPDATE)
    assert (event.first_update_id, event.final_update_id) == (157, 160)
    assert event.prev_final_update_id is None and event.transaction_time is None
    bids, asks = p.parse_depth_update_levels(event, float)
    assert bids == [(0.0024, 10.0)] and asks == [(0.0026, 100.0)]


def test_um_and_cm_depth_update() -> None:
    um = _decode("depthUpdate", UM_DEPTH_UPDATE)
    assert (um.transaction_time, um.prev_final_update_id) == (123456788, 149)
    cm = _decode("depthUpdate", CM_DEPTH_UPDATE)
    assert cm.pair == "BTCUSD" and cm.prev_final_update_id == 17285675
    bids, _ = p.parse_depth_update_levels(cm, Decimal)
    assert bids == [(Decimal("9517.6"), Decimal("10"))]


def test_partial_depth_shapes() -> None:
    _, spot_kind = w.classify_stream("bnbbtc@depth5@100ms", "spot")
    spot = _decode(spot_kind, SPOT_PARTIAL_DEPTH)
    assert isinstance(spot, w.DepthSnapshot) and spot.last_update_id == 160
    _, um_kind = w.classify_stream("btcusdt@depth5@100ms", "usdm")
    um = _decode(um_kind, UM_DEPTH_UPDATE)
    assert isinstance(um, w.DepthUpdateEvent)


def test_rest_depth_snapshots() -> None:
    spot = w.decode(w.DEPTH_SNAPSHOT_DECODER, SPOT_REST_DEPTH)
    book = p.parse_depth_snapshot(spot, BNBBTC, float)
    assert book.nonce == 1027024 and book.timestamp is None
    assert book.bids == [(4.0, 431.0)] and book.asks == [(4.000002, 12.0)]
    um = w.decode(w.DEPTH_SNAPSHOT_DECODER, UM_REST_DEPTH)
    book = p.parse_depth_snapshot(um, BTCUSDT_PERP, Decimal)
    assert book.timestamp == 1589436922959 and book.datetime == "2020-05-14T06:15:22.959Z"
    assert book.bids == [(Decimal("4.00000000"), Decimal("431.00000000"))]


# --------------------------------------------------------------------------- futures


def test_mark_price_to_funding_rate() -> None:
    event = _decode("markPrice", UM_MARK_PRICE)
    assert event.mark_price_average == "11794.15000000" and event.stream_type == 1
    rate = p.parse_mark_price(event, BTCUSDT_PERP, float)
    assert isinstance(rate, FundingRate)
    assert rate.symbol == "BTC/USDT:USDT"
    assert rate.timestamp == 1562305380000
    assert rate.markPrice == 11794.15
    assert rate.indexPrice == 11784.62659091
    assert rate.estimatedSettlePrice == 11784.25641265
    assert rate.fundingRate == 0.00038167
    assert rate.fundingTimestamp == 1562306400000
    assert rate.fundingDatetime == "2019-07-05T06:00:00.000Z"
    assert rate.nextFundingTimestamp is None and rate.interestRate is None


def test_cm_delivery_mark_price_has_no_funding() -> None:
    market = _cm("BTCUSD_201225")
    assert market.symbol == "BTC/USD:BTC-201225"
    rate = p.parse_mark_price(_decode("markPrice", CM_DELIVERY_MARK_PRICE), market, Decimal)
    assert rate.fundingRate is None
    assert rate.fundingTimestamp is None and rate.fundingDatetime is None
    assert rate.markPrice == Decimal("10934.62615417")


def test_mark_price_ticker_and_array() -> None:
    events = _decode("markPrice_arr", f"[{UM_MARK_PRICE}]")
    ticker = p.parse_mark_price_ticker(events[0], BTCUSDT_PERP, float)
    assert ticker.markPrice == 11794.15 and ticker.indexPrice == 11784.62659091
    assert ticker.last is None and ticker.timestamp == 1562305380000


def test_force_order_linear() -> None:
    event = _decode("forceOrder", UM_FORCE_ORDER)
    assert event.order.status == "FILLED"
    liq = p.parse_force_order(event, BTCUSDT_PERP, float)
    assert isinstance(liq, Liquidation)
    assert liq.symbol == "BTC/USDT:USDT"
    assert liq.side == "sell"
    assert liq.timestamp == 1568014460893
    assert (liq.price, liq.contracts, liq.contractSize) == (9910.0, 0.014, 1.0)
    assert liq.baseValue == pytest.approx(0.014)
    assert liq.quoteValue == pytest.approx(138.74)


def test_force_order_inverse() -> None:
    payload = json.loads(UM_FORCE_ORDER)
    payload["o"] |= {"s": "BTCUSD_PERP", "S": "BUY", "z": "3", "ap": "50000"}
    liq = p.parse_force_order(
        _decode("forceOrder", json.dumps(payload)), _cm(number=Decimal), Decimal
    )
    assert liq.side == "buy"
    assert liq.quoteValue == Decimal("300")  # 3 contracts x 100 USD
    assert liq.baseValue == Decimal("0.006")


# --------------------------------------------------------------------------- robustness

ALL_PAYLOADS: list[tuple[w.StreamKind, str]] = [
    ("trade", SPOT_TRADE),
    ("aggTrade", SPOT_AGG_TRADE),
    ("aggTrade", UM_AGG_TRADE),
    ("aggTrade", CM_AGG_TRADE),
    ("kline", SPOT_KLINE),
    ("miniTicker", SPOT_MINI_TICKER),
    ("ticker", SPOT_TICKER),
    ("ticker", UM_TICKER),
    ("bookTicker", SPOT_BOOK_TICKER),
    ("bookTicker", UM_BOOK_TICKER),
    ("partialDepth", SPOT_PARTIAL_DEPTH),
    ("partialDepth", SPOT_REST_DEPTH),
    ("partialDepth", UM_REST_DEPTH),
    ("depthUpdate", SPOT_DEPTH_UPDATE),
    ("depthUpdate", UM_DEPTH_UPDATE),
    ("depthUpdate", CM_DEPTH_UPDATE),
    ("markPrice", UM_MARK_PRICE),
    ("markPrice", CM_DELIVERY_MARK_PRICE),
    ("forceOrder", UM_FORCE_ORDER),
]


@pytest.mark.parametrize(("kind", "payload"), ALL_PAYLOADS)
def test_info_round_trips_to_binance_keys(kind: w.StreamKind, payload: str) -> None:
    event = _decode(kind, payload)
    assert json.loads(msgspec.json.encode(event)) == json.loads(payload)


@pytest.mark.parametrize(("kind", "payload"), ALL_PAYLOADS)
def test_unknown_fields_are_ignored(kind: w.StreamKind, payload: str) -> None:
    extra = json.loads(payload)
    extra["zz"] = {"new": [1, 2, 3]}
    extra["Xx"] = "future field"
    for nested in ("k", "o"):  # kline / liquidation objects
        if isinstance(extra.get(nested), dict):
            extra[nested]["new"] = "0"
    assert _decode(kind, json.dumps(extra)) == _decode(kind, payload)


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("aggTrade", '{"e":"aggTrade","E":"not an int"}'),
        ("aggTrade", SPOT_AGG_TRADE.replace('"p":"0.001"', '"p":0.001')),  # price not a string
        ("trade", SPOT_TRADE.replace('"t":12345,', "")),  # required key missing
        ("depthUpdate", SPOT_DEPTH_UPDATE.replace('"b":[["0.0024","10"]]', '"b":[["0.0024"]]')),
        ("ticker", "{not json"),
        ("kline", "[]"),
        ("markPrice_arr", UM_MARK_PRICE),  # object where an array is expected
    ],
)
def test_malformed_payload_raises_protocol_error(kind: w.StreamKind, payload: str) -> None:
    with pytest.raises(ProtocolError, match="malformed Binance"):
        _decode(kind, payload)


def test_protocol_error_names_path_and_payload() -> None:
    with pytest.raises(ProtocolError) as info:
        w.decode(w.AGG_TRADE_DECODER, b'{"e":"aggTrade","E":"x"}')
    message = str(info.value)
    assert "$.E" in message and "AggTradeEvent" in message and '"E":"x"' in message
    assert isinstance(info.value.__cause__, msgspec.ValidationError)


def test_combined_envelope_is_decoded_lazily() -> None:
    frame = f'{{"stream":"bnbbtc@aggTrade","data":{SPOT_AGG_TRADE}}}'.encode()
    envelope = w.decode_envelope(frame)
    assert envelope.stream == "bnbbtc@aggTrade"
    assert isinstance(envelope.data, msgspec.Raw)
    market_id, kind = w.classify_stream(envelope.stream, "spot")
    assert market_id == "bnbbtc" and kind == "aggTrade"
    event = w.decode_data(kind, envelope.data)
    assert event == _decode("aggTrade", SPOT_AGG_TRADE)


def test_envelope_errors() -> None:
    with pytest.raises(ProtocolError, match="envelope"):
        w.decode_envelope(b'{"result":null,"id":1}')
    envelope = w.decode_envelope(b'{"stream":"bnbbtc@trade","data":{"e":"trade"}}')
    with pytest.raises(ProtocolError):
        w.decode_data("trade", envelope.data)


@pytest.mark.parametrize(
    ("stream", "product", "expected"),
    [
        ("btcusdt@trade", "spot", ("btcusdt", "trade")),
        ("btcusdt@aggTrade", "usdm", ("btcusdt", "aggTrade")),
        ("btcusdt@ticker", "spot", ("btcusdt", "ticker")),
        ("btcusdt@miniTicker", "spot", ("btcusdt", "miniTicker")),
        ("btcusdt@bookTicker", "usdm", ("btcusdt", "bookTicker")),
        ("btcusdt@kline_1m", "spot", ("btcusdt", "kline")),
        ("btcusdt@kline_1d@+08:00", "spot", ("btcusdt", "kline")),
        ("btcusdt@depth", "spot", ("btcusdt", "depthUpdate")),
        ("btcusdt@depth@100ms", "usdm", ("btcusdt", "depthUpdate")),
        ("btcusdt@depth20", "spot", ("btcusdt", "partialDepth")),
        ("btcusdt@depth10@100ms", "spot", ("btcusdt", "partialDepth")),
        ("btcusdt@depth5@500ms", "usdm", ("btcusdt", "depthUpdate")),
        ("btcusd_perp@depth20", "coinm", ("btcusd_perp", "depthUpdate")),
        ("btcusdt@markPrice", "usdm", ("btcusdt", "markPrice")),
        ("btcusdt@markPrice@1s", "usdm", ("btcusdt", "markPrice")),
        ("btcusdt@forceOrder", "usdm", ("btcusdt", "forceOrder")),
        ("!markPrice@arr@1s", "usdm", (None, "markPrice_arr")),
        ("!miniTicker@arr", "spot", (None, "miniTicker_arr")),
        ("!ticker@arr", "usdm", (None, "ticker_arr")),
        ("!bookTicker", "usdm", (None, "bookTicker")),
        ("!forceOrder@arr", "usdm", (None, "forceOrder")),
    ],
)
def test_classify_stream(stream: str, product: w.Product, expected: tuple[str | None, str]) -> None:
    assert w.classify_stream(stream, product) == expected


@pytest.mark.parametrize("stream", ["btcusdt@avgPrice", "!contractInfo", "nonsense", "x@depth7"])
def test_classify_unknown_stream(stream: str) -> None:
    with pytest.raises(ProtocolError, match="no decoder"):
        w.classify_stream(stream, "spot")


def test_every_kind_has_a_decoder() -> None:
    from typing import get_args

    assert set(w.DECODERS) == set(get_args(w.StreamKind))


# --------------------------------------------------------------------------- float fast path


def test_float_depth_decoders_match_python_float() -> None:
    fast = w.decode(w.DEPTH_UPDATE_FLOAT_DECODER, UM_DEPTH_UPDATE)
    slow = _decode("depthUpdate", UM_DEPTH_UPDATE)
    assert fast.bids == p.parse_levels(slow.bids, float)
    assert fast.prev_final_update_id == 149
    snap = w.decode(w.DEPTH_SNAPSHOT_FLOAT_DECODER, UM_REST_DEPTH)
    assert snap.asks == [(4.000002, 12.0)] and snap.last_update_id == 1027024
    with pytest.raises(ProtocolError):
        w.decode(w.DEPTH_UPDATE_FLOAT_DECODER, SPOT_DEPTH_UPDATE.replace('"10"', '"ten"'))


@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=0, max_value=10**9, places=8),
            st.decimals(min_value=0, max_value=10**6, places=8),
        ),
        max_size=5,
    )
)
def test_float_depth_decoder_rounds_like_float(levels: list[tuple[Decimal, Decimal]]) -> None:
    payload = json.loads(SPOT_DEPTH_UPDATE)
    payload["b"] = [[str(price), str(qty)] for price, qty in levels]
    fast = w.decode(w.DEPTH_UPDATE_FLOAT_DECODER, json.dumps(payload))
    assert fast.bids == [(float(str(price)), float(str(qty))) for price, qty in levels]
