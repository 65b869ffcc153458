"""REST market-data answers → unified structures, from plain bytes (no sockets).

Payloads follow Binance's documented REST examples; the results must match what the
stream parsers give for the same market (same ids, same derived fields).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance import parsers as stream
from ccxtpro_sync._exchanges.binance import rest_parsers as rp
from ccxtpro_sync._exchanges.binance import wire as w

from .test_binance_parsers import BNBBTC, BTCUSD_PERP, BTCUSDT_PERP, SPOT_AGG_TRADE, _cm

SPOT_TICKER = (
    b'{"symbol":"BNBBTC","priceChange":"-94.99999800","priceChangePercent":"-95.960",'
    b'"weightedAvgPrice":"0.29628482","prevClosePrice":"0.10002000","lastPrice":"4.00000200",'
    b'"lastQty":"200.00000000","bidPrice":"4.00000000","bidQty":"100.00000000",'
    b'"askPrice":"4.00000200","askQty":"100.00000000","openPrice":"99.00000000",'
    b'"highPrice":"100.00000000","lowPrice":"0.10000000","volume":"8913.30000000",'
    b'"quoteVolume":"15.30000000","openTime":1499783499040,"closeTime":1499869899040,'
    b'"firstId":28385,"lastId":28460,"count":76}'
)
CM_TICKER = (
    b'{"symbol":"BTCUSD_PERP","pair":"BTCUSD","priceChange":"100.0","priceChangePercent":"0.2",'
    b'"weightedAvgPrice":"50000.0","lastPrice":"50100.0","lastQty":"1","openPrice":"50000.0",'
    b'"highPrice":"50200.0","lowPrice":"49900.0","volume":"1000","baseVolume":"2.0",'
    b'"openTime":1591181820000,"closeTime":1591268262442,"firstId":1,"lastId":10,"count":10}'
)
SPOT_AGG_ROW = (
    b'{"a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}'
)
SPOT_TRADE_ROW = (
    b'{"id":28457,"price":"4.00000100","qty":"12.00000000","quoteQty":"48.000012",'
    b'"time":1499865549590,"isBuyerMaker":true,"isBestMatch":true}'
)
KLINE_ROW = (
    b'[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",'
    b'1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]'
)
UM_ACCOUNT = (
    b'{"totalWalletBalance":"103.12345678","assets":[{"asset":"USDT","walletBalance":"23.72469206",'
    b'"unrealizedProfit":"0.00000000","marginBalance":"23.72469206","availableBalance":"23.72469206",'
    b'"maxWithdrawAmount":"23.72469206","updateTime":1625474304765},{"asset":"BUSD",'
    b'"walletBalance":"103.12345678","availableBalance":"100.12345678","updateTime":0}],'
    b'"positions":[]}'
)


def test_spot_ticker() -> None:
    ticker = rp.parse_rest_ticker(rp.decode(SPOT_TICKER, rp.RestTicker, "t"), BNBBTC, float)
    assert (ticker.symbol, ticker.timestamp, ticker.last, ticker.open) == (
        "BNB/BTC",
        1499869899040,
        4.000002,
        99.0,
    )
    assert (ticker.bid, ticker.ask, ticker.previousClose) == (4.0, 4.000002, 0.10002)
    assert (ticker.baseVolume, ticker.quoteVolume, ticker.percentage) == (8913.3, 15.3, -95.96)
    assert ticker.datetime == "2017-07-12T14:31:39.040Z" and ticker.info.count == 76


def test_coinm_ticker_volumes_are_in_the_base_asset() -> None:
    market = _cm(number=Decimal)
    ticker = rp.parse_rest_ticker(rp.decode(CM_TICKER, rp.RestTicker, "t"), market, Decimal)
    assert ticker.baseVolume == Decimal("2.0")  # baseVolume, not contracts
    assert ticker.quoteVolume == Decimal(1000) * market.contractSize  # contracts x size in USD
    assert ticker.bid is None and ticker.previousClose is None


def test_agg_trade_row_equals_the_stream_trade() -> None:
    rest = rp.parse_rest_agg_trade(rp.decode(SPOT_AGG_ROW, rp.RestAggTrade, "a"), BNBBTC, float)
    streamed = stream.parse_agg_trade(
        w.decode_data("aggTrade", SPOT_AGG_TRADE.encode()), BNBBTC, float
    )
    fields = ("id", "timestamp", "datetime", "symbol", "side", "price", "amount", "cost")
    assert [getattr(rest, f) for f in fields] == [getattr(streamed, f) for f in fields]


def test_trade_row() -> None:
    trade = rp.parse_rest_trade(rp.decode(SPOT_TRADE_ROW, rp.RestTrade, "t"), BNBBTC, Decimal)
    assert (trade.id, trade.side, trade.price, trade.amount) == (
        "28457",
        "sell",
        Decimal("4.00000100"),
        Decimal("12.00000000"),
    )
    assert trade.cost == Decimal("4.00000100") * 12


def test_kline_row_volume_is_base_currency() -> None:
    row = rp.decode(KLINE_ROW, rp.KlineRow, "k")
    spot = rp.parse_rest_kline(row, BNBBTC, float)
    assert tuple(spot) == (1499040000000, 0.0163479, 0.8, 0.015758, 0.015771, 148976.11427815)
    inverse = rp.parse_rest_kline(row, BTCUSD_PERP, float)
    assert inverse.volume == 2434.19055334  # COIN-M: index 7, the base-asset volume


def test_futures_account_balances() -> None:
    account = rp.decode(UM_ACCOUNT, rp.RestFuturesAccount, "account")
    balances = rp.parse_rest_futures_balance(account, Decimal)
    usdt, busd = balances.balances["USDT"], balances.balances["BUSD"]
    assert (usdt.total, usdt.free, usdt.used) == (Decimal("23.72469206"),) * 2 + (Decimal(0),)
    assert (busd.total, busd.free, busd.used) == (
        Decimal("103.12345678"),
        Decimal("100.12345678"),
        Decimal(3),
    )
    assert balances.timestamp == 1625474304765


def test_order_book_from_rest_depth() -> None:
    body = (
        b'{"lastUpdateId":1027024,"E":1589436922972,"T":1589436922959,'
        b'"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}'
    )
    book = rp.parse_rest_order_book(rp.decode(body, w.DepthSnapshot, "d"), BTCUSDT_PERP, float)
    assert (book.nonce, book.bids, book.asks, book.timestamp) == (
        1027024,
        [(4.0, 431.0)],
        [(4.000002, 12.0)],
        1589436922959,
    )


@pytest.mark.parametrize("body", [b"[1,2", b'{"symbol":"X"}', b"<html>"])
def test_unexpected_shapes_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(ProtocolError, match="ticker"):
        rp.decode(body, rp.RestTicker, "ticker")
