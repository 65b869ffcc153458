"""Private wire structs and parsers with Binance's documented payloads."""

import json
from decimal import Decimal

import msgspec
import pytest

from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance.markets import parse_market
from ccxtpro_sync._exchanges.binance.private_parsers import (
    apply_account_update_balances,
    apply_balance_update,
    apply_outbound_account_position,
    order_status,
    parse_account_position,
    parse_account_status,
    parse_account_update_position,
    parse_execution_report,
    parse_futures_balances,
    parse_futures_order_update,
    parse_my_trade,
    parse_order_result,
)
from ccxtpro_sync._exchanges.binance.private_wire import (
    AccountBalanceEntry,
    AccountPositionEntry,
    AccountStatus,
    ExecutionReport,
    ListenKeyExpired,
    OrderResult,
    TradeResult,
    decode_event,
)


def spot_market(number=float):
    raw = {
        "symbol": "ETHBTC",
        "status": "TRADING",
        "baseAsset": "ETH",
        "quoteAsset": "BTC",
        "filters": [
            {"filterType": "PRICE_FILTER", "tickSize": "0.00000100"},
            {"filterType": "LOT_SIZE", "stepSize": "0.00010000"},
        ],
    }
    return parse_market(raw, "spot", number)


def usdm_market(number=float):
    raw = {
        "symbol": "BTCUSDT",
        "status": "TRADING",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "marginAsset": "USDT",
        "contractType": "PERPETUAL",
        "filters": [
            {"filterType": "PRICE_FILTER", "tickSize": "0.10"},
            {"filterType": "LOT_SIZE", "stepSize": "0.001"},
        ],
    }
    return parse_market(raw, "usdm", number)


def coinm_market(number=float):
    raw = {
        "symbol": "BTCUSD_PERP",
        "contractStatus": "TRADING",
        "baseAsset": "BTC",
        "quoteAsset": "USD",
        "marginAsset": "BTC",
        "contractType": "PERPETUAL",
        "contractSize": 100,
        "filters": [{"filterType": "PRICE_FILTER", "tickSize": "0.1"}],
    }
    return parse_market(raw, "coinm", number)


EXECUTION_NEW = {
    "e": "executionReport", "E": 1499405658658, "s": "ETHBTC", "c": "mUvoqJxFIILMdfAW5iGSOW",
    "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "1.00000000", "p": "0.10264410",
    "P": "0.00000000", "F": "0.00000000", "g": -1, "C": "", "x": "NEW", "X": "NEW", "r": "NONE",
    "i": 4293153, "l": "0.00000000", "z": "0.00000000", "L": "0.00000000", "n": "0", "N": None,
    "T": 1499405658657, "t": -1, "v": 3, "I": 8641984, "w": True, "m": False, "M": False,
    "O": 1499405658657, "Z": "0.00000000", "Y": "0.00000000", "Q": "0.00000000",
    "W": 1499405658657, "V": "NONE",
}  # fmt: skip


def execution(**changes):
    event = dict(EXECUTION_NEW)
    event.update(changes)
    return decode_event(json.dumps(event).encode())


def test_status_mapping():
    assert order_status("NEW") == "open"
    assert order_status("PARTIALLY_FILLED") == "open"
    assert order_status("FILLED") == "closed"
    assert order_status("CANCELED") == "canceled"
    assert order_status("EXPIRED") == "expired"
    assert order_status("EXPIRED_IN_MATCH") == "expired"
    assert order_status("REJECTED") == "rejected"
    assert order_status("SOMETHING") is None and order_status(None) is None


def test_execution_report_new():
    event = execution()
    assert isinstance(event, ExecutionReport)
    order = parse_execution_report(event, spot_market(), float)
    assert order.id == "4293153" and order.clientOrderId == "mUvoqJxFIILMdfAW5iGSOW"
    assert order.symbol == "ETH/BTC" and order.side == "buy" and order.type == "limit"
    assert order.status == "open" and order.amount == 1.0 and order.filled == 0.0
    assert order.remaining == 1.0 and order.average is None and order.price == 0.1026441
    assert order.fee is None and order.trades == [] and order.triggerPrice is None
    assert order.timestamp == 1499405658657 and order.lastTradeTimestamp is None
    assert msgspec.to_builtins(order.info)["c"] == "mUvoqJxFIILMdfAW5iGSOW"


def test_execution_report_trade_gives_order_and_trade_in_decimal():
    event = execution(
        x="TRADE", X="PARTIALLY_FILLED", l="0.4", z="0.4", L="0.1", t=77, n="0.0004",
        N="ETH", Z="0.04", Y="0.04", m=True, T=1499405658700,
    )  # fmt: skip
    order = parse_execution_report(event, spot_market(Decimal), Decimal)
    assert order.status == "open" and order.filled == Decimal("0.4")
    assert order.remaining == Decimal("0.6") and order.cost == Decimal("0.04")
    assert order.average == Decimal("0.1") and order.lastTradeTimestamp == 1499405658700
    assert order.fee.cost == Decimal("0.0004") and order.fee.currency == "ETH"
    [trade] = order.trades
    assert trade.id == "77" and trade.order == "4293153" and trade.takerOrMaker == "maker"
    assert trade.price == Decimal("0.1") and trade.amount == Decimal("0.4")
    assert trade.cost == Decimal("0.04") and trade.side == "buy"


def test_execution_report_cancel_uses_original_client_id_and_limit_maker():
    event = execution(x="CANCELED", X="CANCELED", C="original-id", c="cancel-id", o="LIMIT_MAKER")
    order = parse_execution_report(event, spot_market(), float)
    assert order.clientOrderId == "original-id" and order.status == "canceled"
    assert order.type == "limit" and order.postOnly is True
    expired = parse_execution_report(execution(x="EXPIRED", X="EXPIRED"), spot_market(), float)
    assert expired.status == "expired"


ORDER_TRADE_UPDATE = {
    "e": "ORDER_TRADE_UPDATE", "E": 1568879465651, "T": 1568879465650,
    "o": {"s": "BTCUSDT", "c": "TEST", "S": "SELL", "o": "TRAILING_STOP_MARKET", "f": "GTC",
          "q": "0.001", "p": "0", "ap": "0", "sp": "7103.04", "x": "NEW", "X": "NEW",
          "i": 8886774, "l": "0", "z": "0", "L": "0", "N": "USDT", "n": "0",
          "T": 1568879465650, "t": 0, "b": "0", "a": "9.91", "m": False, "R": False,
          "wt": "CONTRACT_PRICE", "ot": "TRAILING_STOP_MARKET", "ps": "LONG", "cp": False,
          "AP": "7476.89", "cr": "5.0", "pP": False, "si": 0, "ss": 0, "rp": "0",
          "V": "EXPIRE_TAKER", "pm": "OPPONENT", "gtd": 0, "NEWFIELD": 1},
}  # fmt: skip


def futures_update(**changes):
    event = json.loads(json.dumps(ORDER_TRADE_UPDATE))
    event["o"].update(changes)
    return decode_event(json.dumps(event).encode())


def test_order_trade_update_new_and_fill():
    order = parse_futures_order_update(futures_update(), usdm_market(), float)
    assert order.symbol == "BTC/USDT:USDT" and order.side == "sell"
    assert order.type == "trailing_stop_market" and order.status == "open"
    assert order.triggerPrice == 7103.04 and order.price is None and order.average is None
    assert order.reduceOnly is False and order.trades == []
    filled = futures_update(
        x="TRADE", X="FILLED", l="0.001", z="0.001", L="7100", ap="7100", t=5, n="0.002", m=False
    )
    order = parse_futures_order_update(filled, usdm_market(), float)
    assert order.status == "closed" and order.remaining == 0 and order.average == 7100
    assert order.cost == pytest.approx(7.1)
    assert order.trades[0].takerOrMaker == "taker" and order.fee.currency == "USDT"


def test_coinm_cost_is_base_value():
    event = futures_update(s="BTCUSD_PERP", x="TRADE", X="FILLED", q="2", l="2", z="2", L="50000",
                           ap="50000", N="BTC", n="0.00001")  # fmt: skip
    order = parse_futures_order_update(event, coinm_market(), float)
    assert order.cost == pytest.approx(2 * 100 / 50000)
    assert order.trades[0].cost == pytest.approx(2 * 100 / 50000)


def test_order_results_ack_result_full():
    ack = msgspec.convert(
        {"symbol": "BTCUSDT", "orderId": 12569099453, "orderListId": -1,
         "clientOrderId": "4d96324ff9d44481926157ec08158a40", "transactTime": 1660801715639},
        OrderResult,
    )  # fmt: skip
    order = parse_order_result(ack, spot_market(), float)
    assert order.id == "12569099453" and order.status is None and order.amount is None
    assert order.timestamp == 1660801715639
    full = msgspec.convert(
        {"symbol": "ETHBTC", "orderId": 1, "clientOrderId": "x", "transactTime": 5,
         "price": "0", "origQty": "0.02", "executedQty": "0.02", "cummulativeQuoteQty": "0.004",
         "status": "FILLED", "timeInForce": "GTC", "type": "MARKET", "side": "BUY",
         "fills": [
             {"price": "0.1", "qty": "0.01", "commission": "0.1", "commissionAsset": "BNB",
              "tradeId": 1},
             {"price": "0.3", "qty": "0.01", "commission": "0.2", "commissionAsset": "BNB",
              "tradeId": 2},
         ]},
        OrderResult,
    )  # fmt: skip
    order = parse_order_result(full, spot_market(), float)
    assert order.status == "closed" and order.type == "market" and order.price is None
    assert order.average == pytest.approx(0.2) and order.cost == 0.004
    assert [t.id for t in order.trades] == ["1", "2"]
    assert order.fee.currency == "BNB" and order.fee.cost == pytest.approx(0.3)
    cancel = msgspec.convert(
        {"symbol": "ETHBTC", "orderId": 1, "origClientOrderId": "orig", "clientOrderId": "new",
         "status": "CANCELED", "origQty": "1", "executedQty": "0"},
        OrderResult,
    )  # fmt: skip
    canceled = parse_order_result(cancel, spot_market(), float)
    assert canceled.clientOrderId == "orig" and canceled.status == "canceled"


def test_futures_order_result():
    raw = {"orderId": 325078477, "symbol": "BTCUSDT", "status": "NEW", "clientOrderId": "c",
           "price": "43187.00", "avgPrice": "0.00", "origQty": "0.100", "executedQty": "0.000",
           "cumQty": "0.000", "cumQuote": "0.00000", "timeInForce": "GTX", "type": "LIMIT",
           "reduceOnly": False, "side": "BUY", "positionSide": "BOTH", "stopPrice": "0.00",
           "origType": "LIMIT", "updateTime": 1702342405837}  # fmt: skip
    order = parse_order_result(msgspec.convert(raw, OrderResult), usdm_market(), float)
    assert order.status == "open" and order.timeInForce == "PO" and order.postOnly
    assert order.average is None and order.cost == 0 and order.lastUpdateTimestamp == 1702342405837


def test_my_trades_spot_and_futures():
    spot = msgspec.convert(
        {"symbol": "ETHBTC", "id": 28457, "orderId": 100234, "orderListId": -1,
         "price": "4.00000100", "qty": "12.00000000", "quoteQty": "48.000012",
         "commission": "10.10000000", "commissionAsset": "BNB", "time": 1499865549590,
         "isBuyer": True, "isMaker": False, "isBestMatch": True},
        TradeResult,
    )  # fmt: skip
    trade = parse_my_trade(spot, spot_market(), float)
    assert trade.side == "buy" and trade.takerOrMaker == "taker" and trade.cost == 48.000012
    assert trade.fee.cost == 10.1 and trade.order == "100234"
    fut = msgspec.convert(
        {"buyer": False, "commission": "-0.07819010", "commissionAsset": "USDT", "id": 698759,
         "maker": False, "orderId": 25851813, "price": "7819.01", "qty": "0.002",
         "quoteQty": "15.63802", "realizedPnl": "-0.91539999", "side": "SELL",
         "positionSide": "SHORT", "symbol": "BTCUSDT", "time": 1569514978020},
        TradeResult,
    )  # fmt: skip
    trade = parse_my_trade(fut, usdm_market(), float)
    assert trade.side == "sell" and trade.cost == pytest.approx(15.63802)


def test_spot_balances_snapshot_and_events():
    account = msgspec.convert(
        {"balances": [{"asset": "BTC", "free": "1.3447112", "locked": "0.08600000"},
                      {"asset": "ETH", "free": "10", "locked": "0"}],
         "updateTime": 1660801833000, "accountType": "SPOT"},
        AccountStatus,
    )  # fmt: skip
    balances = parse_account_status(account, Decimal)
    assert balances["BTC"].total == Decimal("1.4307112") and balances["BTC"].used == Decimal(
        "0.086"
    )
    position = decode_event(
        b'{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,'
        b'"B":[{"a":"ETH","f":"9","l":"1"}]}'
    )
    after = apply_outbound_account_position(balances, position, Decimal)
    assert after["ETH"].free == Decimal("9") and after["ETH"].total == Decimal("10")
    assert after["BTC"] == balances["BTC"] and balances["ETH"].free == Decimal("10")
    deposit = decode_event(
        b'{"e":"balanceUpdate","E":1573200697110,"a":"BTC","d":"100.00000000","T":1573200697068}'
    )
    after2 = apply_balance_update(after, deposit, Decimal)
    assert after2["BTC"].free == Decimal("101.3447112") and after2.timestamp == 1573200697110
    # an asset the snapshot did not list had a zero balance
    new_asset = apply_balance_update(after, msgspec.convert(
        {"e": "balanceUpdate", "E": 1, "a": "XRP", "d": "5"}, type(deposit)), Decimal)  # fmt: skip
    assert new_asset["XRP"].free == Decimal("5")


def test_futures_balances_and_account_update():
    entries = msgspec.convert(
        [{"accountAlias": "SgsR", "asset": "USDT", "balance": "122607.35137903",
          "crossWalletBalance": "23.72469206", "crossUnPnl": "0.00000000",
          "availableBalance": "23.72469206", "maxWithdrawAmount": "23.72469206",
          "marginAvailable": True, "updateTime": 1617939110373}],
        list[AccountBalanceEntry],
    )  # fmt: skip
    balances = parse_futures_balances(entries, float)
    assert balances["USDT"].free == 23.72469206 and balances["USDT"].total == 122607.35137903
    update = decode_event(
        json.dumps(
            {"e": "ACCOUNT_UPDATE", "E": 1564745798939, "T": 1564745798938,
             "a": {"m": "ORDER",
                   "B": [{"a": "USDT", "wb": "122624.12345678", "cw": "100.12345678",
                          "bc": "50.12345678"}],
                   "P": [{"s": "BTCUSDT", "pa": "-0.5", "ep": "30000", "bep": "0", "cr": "200",
                          "up": "1.5", "mt": "isolated", "iw": "10", "ps": "BOTH"}]}}
        ).encode()
    )  # fmt: skip
    after = apply_account_update_balances(balances, update, float)
    assert after["USDT"].total == 122624.12345678 and after["USDT"].free is None
    position = parse_account_update_position(
        update.data.positions[0], usdm_market(), float, update.event_time
    )
    assert position.side == "short" and position.contracts == 0.5
    assert position.marginMode == "isolated" and position.entryPrice == 30000
    assert position.unrealizedPnl == 1.5 and position.hedged is False


def test_account_position_v2():
    entry = msgspec.convert(
        {"symbol": "BTCUSDT", "positionSide": "LONG", "positionAmt": "1.000",
         "entryPrice": "0.00000", "breakEvenPrice": "0.0", "markPrice": "6679.50671178",
         "unRealizedProfit": "0.00000000", "liquidationPrice": "0", "isolatedMargin": "0.00000000",
         "notional": "0", "marginAsset": "USDT", "isolatedWallet": "0", "initialMargin": "0",
         "maintMargin": "0", "updateTime": 0},
        AccountPositionEntry,
    )  # fmt: skip
    position = parse_account_position(entry, usdm_market(), float)
    assert position.side == "long" and position.hedged and position.liquidationPrice is None
    assert position.markPrice == 6679.50671178 and position.marginMode is None


def test_listen_key_expired_accepts_int_or_string_time_and_unknown_events_tolerated():
    for raw in (
        b'{"e":"listenKeyExpired","E":"1736996475556","listenKey":"WsCMN0a4KHUPTQ"}',
        b'{"e":"listenKeyExpired","E":1736996475556}',
    ):
        event = decode_event(raw)
        assert isinstance(event, ListenKeyExpired) and event.event_time_ms == 1736996475556
    lite = decode_event(b'{"e":"TRADE_LITE","E":1,"s":"BTCUSDT"}')
    assert lite == {"e": "TRADE_LITE", "E": 1, "s": "BTCUSDT"}
    with pytest.raises(ProtocolError):
        decode_event(b'{"e":"executionReport","E":1}')
    assert decode_event(b'{"e":"eventStreamTerminated","E":1728973001334}').event_time == (
        1728973001334
    )
