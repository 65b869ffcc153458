"""Channel names for each unified stream, and channel → message hash."""

from __future__ import annotations

import pytest

from ccxtpro_sync._exceptions import BadRequest, BadSymbol, InvalidArgument, ProtocolError
from ccxtpro_sync._exchanges.binance import market_data, user_data
from ccxtpro_sync._exchanges.deribit.channels import (
    Channel,
    book_channel,
    chart_channel,
    message_hash,
    parse_channel,
    quote_channel,
    rejected_channels,
    subscribe_requests,
    ticker_channel,
    trades_channel,
    user_changes_channel,
    user_orders_channel,
    user_portfolio_channel,
    user_trades_channel,
)

from ._fixtures import load, markets


def test_public_channel_names() -> None:
    assert ticker_channel("BTC-PERPETUAL") == "ticker.BTC-PERPETUAL.100ms"
    assert ticker_channel("BTC-PERPETUAL", "raw") == "ticker.BTC-PERPETUAL.raw"
    assert quote_channel("BTC-PERPETUAL") == "quote.BTC-PERPETUAL"
    assert trades_channel("BTC-PERPETUAL", "agg2") == "trades.BTC-PERPETUAL.agg2"
    assert chart_channel("BTC_USDC-PERPETUAL", "1m") == "chart.trades.BTC_USDC-PERPETUAL.1"
    assert chart_channel("BTC-PERPETUAL", "1d") == "chart.trades.BTC-PERPETUAL.1D"
    assert chart_channel("BTC-PERPETUAL", "1h") == "chart.trades.BTC-PERPETUAL.60"
    assert book_channel("ETH-PERPETUAL") == "book.ETH-PERPETUAL.100ms"


def test_user_channel_names() -> None:
    assert user_orders_channel() == load("private_subscribe_request.json")["params"]["channels"][0]
    assert user_trades_channel("BTC-PERPETUAL") == "user.trades.BTC-PERPETUAL.raw"
    assert user_changes_channel(kind="future", currency="BTC", interval="100ms") == (
        "user.changes.future.BTC.100ms"
    )
    assert user_portfolio_channel("btc") == "user.portfolio.BTC"


def test_bad_arguments() -> None:
    with pytest.raises(BadRequest):
        chart_channel("BTC-PERPETUAL", "4h")  # Deribit has no 4h resolution
    with pytest.raises(InvalidArgument):
        book_channel("BTC-PERPETUAL", "50ms")
    with pytest.raises(InvalidArgument):
        user_orders_channel(kind="perpetual")
    with pytest.raises(InvalidArgument):
        ticker_channel("BTC PERPETUAL")


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("ticker.BTC_USDC-PERPETUAL.100ms", Channel("ticker", "BTC_USDC-PERPETUAL", "100ms")),
        ("quote.BTC-PERPETUAL", Channel("bidask", "BTC-PERPETUAL")),
        ("trades.BTC-PERPETUAL.100ms", Channel("trades", "BTC-PERPETUAL", "100ms")),
        # instrument names may contain dots
        (
            "trades.XRP_USDC-10APR26-1.35-P.raw",
            Channel("trades", "XRP_USDC-10APR26-1.35-P", "raw"),
        ),
        (
            "chart.trades.BTC_USDC-PERPETUAL.1",
            Channel("ohlcv", "BTC_USDC-PERPETUAL", timeframe="1m"),
        ),
        ("book.ETH-PERPETUAL.100ms", Channel("orderbook", "ETH-PERPETUAL", "100ms")),
        (
            "book.XRP_USDC-10APR26-1.35-P.100ms",
            Channel("orderbook", "XRP_USDC-10APR26-1.35-P", "100ms"),
        ),
        (
            "book.BTC_USDC-PERPETUAL.none.20.100ms",
            Channel("orderbook_window", "BTC_USDC-PERPETUAL", "100ms"),
        ),
        ("user.orders.any.any.raw", Channel("orders", None, "raw", kind="any", currency="any")),
        ("user.trades.BTC-PERPETUAL.raw", Channel("myTrades", "BTC-PERPETUAL", "raw")),
        (
            "user.changes.future.BTC.100ms",
            Channel("positions", None, "100ms", kind="future", currency="BTC"),
        ),
        ("user.portfolio.btc", Channel("balance", currency="BTC")),
    ],
)
def test_parse_channel(name: str, parsed: Channel) -> None:
    assert parse_channel(name) == parsed


@pytest.mark.parametrize(
    "name", ["deribit_price_index.btc_usd", "ticker.BTC-PERPETUAL", "book.X.50ms", "user.x.y"]
)
def test_unknown_channels(name: str) -> None:
    with pytest.raises(ProtocolError):
        parse_channel(name)


def test_message_hashes_follow_the_binance_convention() -> None:
    index = markets()
    for name, expected in [
        ("ticker.BTC_USDC-PERPETUAL.100ms", "ticker:BTC/USDC:USDC"),
        ("quote.BTC-PERPETUAL", "bidask:BTC/USD:BTC"),
        ("trades.BTC-PERPETUAL.100ms", "trades:BTC/USD:BTC"),
        ("chart.trades.BTC_USDC-PERPETUAL.1", "ohlcv:BTC/USDC:USDC:1m"),
        ("book.ETH-PERPETUAL.100ms", "orderbook:ETH/USD:ETH"),
        ("book.BTC_USDC-PERPETUAL.none.20.100ms", "orderbook:BTC/USDC:USDC"),
        ("book.BTC-27JUN25-70000-C.raw", "orderbook:BTC/USD:BTC-250627-70000-C"),
        ("user.orders.any.any.raw", "orders"),
        ("user.orders.BTC-PERPETUAL.raw", "orders:BTC/USD:BTC"),
        ("user.trades.any.any.raw", "myTrades"),
        ("user.portfolio.BTC", "balance"),
        ("user.changes.any.any.raw", "positions"),
    ]:
        assert message_hash(parse_channel(name), index) == expected, name
    with pytest.raises(BadSymbol):
        message_hash(parse_channel("ticker.DOGE-PERPETUAL.100ms"), index)


def test_round_trip_for_every_market() -> None:
    index = markets()
    for market in index.values():
        for name, stream in [
            (ticker_channel(market.id), "ticker"),
            (trades_channel(market.id), "trades"),
            (book_channel(market.id, "raw"), "orderbook"),
            (quote_channel(market.id), "bidask"),
        ]:
            assert message_hash(parse_channel(name), index) == f"{stream}:{market.symbol}"


def test_hashes_are_the_ones_the_binance_client_uses() -> None:
    index = markets()
    market = index.by_id("BTC-PERPETUAL")
    pairs = [
        (ticker_channel(market.id), market_data.ticker_hash(market.symbol)),
        (quote_channel(market.id), market_data.bidask_hash(market.symbol)),
        (trades_channel(market.id), market_data.trades_hash(market.symbol)),
        (chart_channel(market.id, "5m"), market_data.ohlcv_hash(market.symbol, "5m")),
        (book_channel(market.id), market_data.orderbook_hash(market.symbol)),
        (user_orders_channel(), user_data.ORDERS),
        (user_orders_channel(market.id), user_data.symbol_hash(user_data.ORDERS, market.symbol)),
        (user_trades_channel(), user_data.MY_TRADES),
        (user_changes_channel(), user_data.POSITIONS),
        (user_portfolio_channel("BTC"), user_data.BALANCE),
    ]
    for name, expected in pairs:
        assert message_hash(parse_channel(name), index) == expected, name


def test_subscribe_requests_batch_and_match_the_documented_ones() -> None:
    documented = load("subscribe_request.json")
    assert subscribe_requests(documented["params"]["channels"], private=False) == [
        (documented["method"], documented["params"])
    ]
    private = load("private_subscribe_request.json")
    [(method, params)] = subscribe_requests(private["params"]["channels"], private=True)
    assert method == private["method"] and params["channels"] == private["params"]["channels"]
    many = [ticker_channel(f"I{i}") for i in range(1201)] + [ticker_channel("I0")]
    batches = subscribe_requests(many, private=False)
    assert [len(p["channels"]) for _, p in batches] == [500, 500, 201]  # duplicate dropped
    with pytest.raises(InvalidArgument):
        subscribe_requests([user_orders_channel()], private=False)


def test_rejected_channels_are_the_ones_left_out_of_the_reply() -> None:
    requested = [book_channel("ETH-PERPETUAL"), "book.ETH-PERPETUAL.50ms"]
    ack = load("rpc_result_subscribe.json")["result"]
    assert rejected_channels(requested, ack) == ["book.ETH-PERPETUAL.50ms"]
    assert rejected_channels(requested, []) == requested
    with pytest.raises(ProtocolError):
        rejected_channels(requested, "ok")
