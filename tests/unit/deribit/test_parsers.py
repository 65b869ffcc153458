"""Parsers on the documented payloads (protocol reference §6, §7, §9)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from ccxtpro_sync._exceptions import BadSymbol, ProtocolError
from ccxtpro_sync._exchanges.deribit.markets import parse_markets
from ccxtpro_sync._exchanges.deribit.parsers import (
    parse_balance,
    parse_cancelled,
    parse_chart_data,
    parse_ohlcv,
    parse_order,
    parse_order_result,
    parse_orders,
    parse_positions,
    parse_quote,
    parse_ticker,
    parse_trades,
    parse_trades_page,
    parse_user_changes,
)
from ccxtpro_sync._exchanges.deribit.rpc import Notification, Response, decode_frame
from ccxtpro_sync._structures import OHLCV

from ._fixtures import ETH_PERP, LINEAR_PERP, load, markets, perpetual, raw

# The documented market order fill (reference §7), as one result.
MARKET_FILL: dict[str, Any] = {
    "order": {
        "order_id": "ETH-349249",
        "instrument_name": "ETH-PERPETUAL",
        "direction": "buy",
        "amount": 40,
        "price": "market_price",
        "order_state": "filled",
        "order_type": "market",
        "filled_amount": 40,
        "average_price": 143.81,
        "commission": 0.000139,
        "label": "market0000234",
        "time_in_force": "good_til_cancelled",
        "post_only": False,
        "reduce_only": False,
        "creation_timestamp": 1590486335742,
        "last_update_timestamp": 1590486335742,
    },
    "trades": [
        {
            "trade_seq": 14151,
            "trade_id": "ETH-37435",
            "timestamp": 1590486335742,
            "tick_direction": 0,
            "state": "filled",
            "price": 143.81,
            "order_id": "ETH-349249",
            "order_type": "market",
            "matching_id": None,
            "liquidity": "T",
            "label": "market0000234",
            "instrument_name": "ETH-PERPETUAL",
            "index_price": 143.73,
            "fee_currency": "ETH",
            "fee": 0.000139,
            "direction": "buy",
            "amount": 40,
        }
    ],
}


def _data(name: str) -> Any:
    frame = decode_frame(raw(name))
    assert isinstance(frame, Notification)
    return frame.data


def test_ticker() -> None:
    index = markets()
    ticker = parse_ticker(_data("ticker.json"), index.by_id("BTC_USDC-PERPETUAL"))
    assert ticker.symbol == "BTC/USDC:USDC"
    assert ticker.timestamp == 1790133840887
    assert ticker.datetime == "2026-09-23T03:24:00.887Z"
    assert (ticker.bid, ticker.bidVolume, ticker.ask, ticker.askVolume) == (
        86775.9,
        0.0645,
        86778.0,
        0.3001,
    )
    assert ticker.last == ticker.close == 86773.6
    assert ticker.markPrice == 86778.14 and ticker.indexPrice == 86744.11
    assert ticker["info"]["open_interest"] == 459.3409


def test_ticker_stats_and_decimal_mode() -> None:
    data = dict(_data("ticker.json"))
    data["stats"] = {"high": 88000.5, "low": 85000, "price_change": -1.25, "volume": 12.5}
    ticker = parse_ticker(data, markets().by_id("BTC_USDC-PERPETUAL"), Decimal)
    assert ticker.high == Decimal("88000.5") and ticker.low == Decimal(85000)
    assert ticker.percentage == Decimal("-1.25") and ticker.baseVolume == Decimal("12.5")
    assert ticker.last == Decimal("86773.6")


def test_quote_is_a_bid_ask_ticker() -> None:
    quote = parse_quote(load("quote_data.json"), markets().by_id("BTC-PERPETUAL"))
    assert quote.symbol == "BTC/USD:BTC" and quote.timestamp == 1550658624149
    assert (quote.bid, quote.bidVolume, quote.ask, quote.askVolume) == (3914.97, 40, 3996.61, 50)
    assert quote.last is None


def test_public_trades() -> None:
    [trade] = parse_trades(_data("trades.json"), markets())
    assert trade.id == "403691824" and trade.symbol == "BTC/USD:BTC"
    assert trade.side == "sell" and trade.price == 92294.5 and trade.amount == 10.0
    assert trade.timestamp == 1765531356452
    assert trade.cost == pytest.approx(10.0 / 92294.5)  # inverse: USD amount / price
    assert trade.fee is None and trade.takerOrMaker is None


def test_candles() -> None:
    candle = parse_ohlcv(_data("chart_trades.json"))
    assert candle == OHLCV(1655403420000, 20951, 20951, 20951, 20951, 0)
    assert list(candle) == [1655403420000, 20951.0, 20951.0, 20951.0, 20951.0, 0.0]
    history = parse_chart_data(load("tradingview_chart_data_result.json"))
    assert history == [
        OHLCV(1583916960000, 7834, 7839.5, 7834, 7839.5, 3.668),
        OHLCV(1583917020000, 7839, 7839, 7833.5, 7833.5, 22.68),
    ]
    assert parse_chart_data({"status": "no_data"}) == []
    broken = load("tradingview_chart_data_result.json")
    broken["close"] = [1.0]
    with pytest.raises(ProtocolError):
        parse_chart_data(broken)


def test_open_limit_order_result() -> None:
    frame = decode_frame(raw("buy_limit_result.json"))
    assert isinstance(frame, Response)
    order, trades = parse_order_result(frame.result, markets())
    assert trades == []
    assert order.id == "USDC-104819327443" and order.clientOrderId == "O-1"
    assert order.symbol == "ETH/USDC:USDC" and order.side == "buy" and order.type == "limit"
    assert order.status == "open" and order.timeInForce == "GTC" and order.postOnly is True
    assert order.price == 2973.55 and order.amount == 0.001
    assert order.filled == 0.0 and order.remaining == 0.001 and order.average is None
    assert order.timestamp == 1767978363493


def test_filled_market_order_with_its_trade() -> None:
    order, [trade] = parse_order_result(MARKET_FILL, markets())
    assert order.status == "closed" and order.price is None  # "market_price"
    assert order.filled == 40 and order.remaining == 0 and order.average == 143.81
    assert order.clientOrderId == "market0000234"
    assert order.fee is not None and order.fee.cost == 0.000139 and order.fee.currency == "ETH"
    assert order.trades == [trade]
    assert trade.id == "ETH-37435" and trade.order == "ETH-349249"
    assert trade.takerOrMaker == "taker" and trade.type == "market"
    assert trade.fee is not None and trade.fee.currency == "ETH" and trade.fee.cost == 0.000139


@pytest.mark.parametrize(
    ("state", "order_type", "status", "unified"),
    [
        ("untriggered", "stop_limit", "open", "limit"),
        ("cancelled", "take_market", "canceled", "market"),
        ("rejected", "limit", "rejected", "limit"),
    ],
)
def test_order_states_and_types(state: str, order_type: str, status: str, unified: str) -> None:
    data = copy.deepcopy(MARKET_FILL["order"])
    data.update(order_state=state, order_type=order_type, price=150.5, trigger_price=149.0)
    order = parse_order(data, markets().by_id("ETH-PERPETUAL"))
    assert order.status == status and order.type == unified
    assert order.triggerPrice == order.stopPrice == 149.0


def test_user_orders_raw_object_and_array() -> None:
    index = markets()
    single = parse_orders(MARKET_FILL["order"], index)
    many = parse_orders([MARKET_FILL["order"], MARKET_FILL["order"]], index)
    assert [o.id for o in single] == ["ETH-349249"]
    assert len(many) == 2


def test_detailed_cancel_all_flat_or_grouped() -> None:
    index = markets()
    order = MARKET_FILL["order"]
    assert [o.id for o in parse_cancelled([order, order], index)] == ["ETH-349249"] * 2
    grouped = [
        {"currency": "ETH", "type": "limit", "instrument_name": "ETH-PERPETUAL", "result": [order]},
        {"currency": "ETH", "type": "trigger", "instrument_name": "ETH-PERPETUAL", "result": []},
    ]
    assert [o.id for o in parse_cancelled(grouped, index)] == ["ETH-349249"]
    assert parse_cancelled([], index) == []
    for count in (4, True, None):
        with pytest.raises(ProtocolError, match="instead of the cancelled orders"):
            parse_cancelled(count, index)


def test_balance_from_portfolio() -> None:
    portfolio = {
        "currency": "BTC",
        "balance": 1.5,
        "equity": 1.52,
        "available_funds": 1.2,
        "maintenance_margin": 0.1,
    }
    balances = parse_balance(portfolio)
    assert balances["BTC"].free == 1.2 and balances["BTC"].used == 0.1
    assert balances["BTC"].total == 1.52
    both = parse_balance([portfolio, dict(portfolio, currency="ETH", equity=3.0)])
    assert both.total == {"BTC": 1.52, "ETH": 3.0}


def test_positions() -> None:
    index = parse_markets([perpetual(), LINEAR_PERP, ETH_PERP])
    long, short = parse_positions(
        [
            {
                "instrument_name": "BTC-PERPETUAL",
                "direction": "buy",
                "size": 200,
                "average_price": 90000,
                "mark_price": 90100,
                "floating_profit_loss": 0.00001,
                "estimated_liquidation_price": 45000,
                "leverage": 10,
            },
            {"instrument_name": "BTC_USDC-PERPETUAL", "direction": "sell", "size": -0.5},
        ],
        index,
    )
    assert long.symbol == "BTC/USD:BTC" and long.side == "long"
    assert long.contracts == 20  # 200 USD / 10 USD contracts
    assert long.entryPrice == 90000 and long.liquidationPrice == 45000
    assert short.side == "short" and short.contracts == pytest.approx(500)


def test_user_changes() -> None:
    orders, trades, positions = parse_user_changes(
        {
            "instrument_name": "ETH-PERPETUAL",
            "orders": [MARKET_FILL["order"]],
            "trades": MARKET_FILL["trades"],
            "positions": [{"instrument_name": "ETH-PERPETUAL", "direction": "zero", "size": 0}],
        },
        markets(),
    )
    assert [o.id for o in orders] == ["ETH-349249"]
    assert [t.id for t in trades] == ["ETH-37435"]
    assert positions[0].side is None and positions[0].contracts == 0


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "NaN", "Infinity", True, [1]])
def test_non_finite_numbers_fail_the_payload(bad: object) -> None:
    index = markets()
    data = dict(_data("ticker.json"), best_bid_price=bad)
    with pytest.raises(ProtocolError):
        parse_ticker(data, index.by_id("BTC_USDC-PERPETUAL"), index.number)
    with pytest.raises(ProtocolError):
        parse_ticker(data, index.by_id("BTC_USDC-PERPETUAL"), Decimal)
    trades = [dict(_data("trades.json")[0], price=bad)]
    with pytest.raises(ProtocolError):
        parse_trades(trades, index)


def test_missing_fields_and_unknown_instruments() -> None:
    index = markets()
    with pytest.raises(ProtocolError):
        parse_trades([{"instrument_name": "BTC-PERPETUAL"}], index)
    with pytest.raises(ProtocolError):
        parse_order(dict(MARKET_FILL["order"], order_state="odd"), index.by_id("ETH-PERPETUAL"))
    with pytest.raises(BadSymbol):
        parse_trades([dict(_data("trades.json")[0], instrument_name="DOGE-PERPETUAL")], index)


def test_trades_page() -> None:
    page = {"trades": _data("trades.json"), "has_more": True}
    trades, has_more = parse_trades_page(page, markets())
    assert has_more is True and [t.id for t in trades] == ["403691824"]
    assert parse_trades_page({"trades": [], "has_more": False}, markets()) == ([], False)
    with pytest.raises(ProtocolError):
        parse_trades_page({"trades": None, "has_more": False}, markets())
