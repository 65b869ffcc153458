"""Argument rules of the public API, against the local exchange: one on_* order (symbols,
then handler, also as ``handler=``), validated timeouts and symbols, typed credential
errors, and ``with`` on a closed client."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import (
    ArgumentsRequired,
    BadRequest,
    ClientClosed,
    Credentials,
    InvalidArgument,
    Ticker,
    Trade,
)
from ccxtpro_sync._arguments import MAX_TIMEOUT, check_timeout
from ccxtpro_sync.simulator import LocalExchange

SPOT, USDM = "BTC/USDT", "BTC/USDT:USDT"
BAD_TIMEOUTS = [math.inf, -math.inf, math.nan, 1e12, MAX_TIMEOUT * 2, -1, 0, "5", True, b"5"]


def make(kind: type, exchange: LocalExchange, **config: Any) -> Any:
    return kind({"environment": "local", "local": exchange, "timeout": 10, **config})


@pytest.fixture
def spot(exchange: LocalExchange) -> Iterator[ccxtpro_sync.binance]:
    with make(ccxtpro_sync.binance, exchange) as client:
        yield client


# -- on_*: symbols first, then the handler --------------------------------------------------


def test_handler_by_keyword_delivers(spot: Any) -> None:
    got: list[Trade] = []
    tick = threading.Event()
    ticker_seen: list[Ticker] = []

    def on_trades(trades: list[Trade]) -> None:
        got.extend(trades)
        tick.set()

    def on_ticker(ticker: Ticker) -> None:
        ticker_seen.append(ticker)

    with (
        spot.on_trades(SPOT, handler=on_trades),
        spot.on_ticker(symbol=SPOT, handler=on_ticker),
    ):
        assert tick.wait(10)
    assert got and all(t.symbol == SPOT for t in got)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, cb: c.on_trades(cb, SPOT),
        lambda c, cb: c.on_ticker(cb, SPOT),
        lambda c, cb: c.on_tickers(cb, [SPOT]),
        lambda c, cb: c.on_order_book(cb, SPOT),
        lambda c, cb: c.on_bids_asks(cb, SPOT),
        lambda c, cb: c.on_ohlcv(cb, "1m", SPOT),
        lambda c, cb: c.on_ohlcv(SPOT, cb, "1m"),
        lambda c, cb: c.on_trades([SPOT, cb], cb),
    ],
)
def test_swapped_arguments_say_so(spot: Any, call: Any) -> None:
    with pytest.raises(InvalidArgument, match=r"symbol.*first and the handler last") as info:
        call(spot, print)
    assert isinstance(info.value, TypeError) and isinstance(info.value, BadRequest)
    assert spot.connections() == []


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.on_trades(SPOT, "ETH/USDT"),
        lambda c: c.on_ticker(SPOT, SPOT),
        lambda c: c.on_order_book(SPOT, handler="x"),
    ],
)
def test_a_str_handler_says_so(spot: Any, call: Any) -> None:
    with pytest.raises(InvalidArgument, match="handler must be callable, got the str"):
        call(spot)
    assert spot.connections() == []


def test_private_on_star_take_symbol_first(exchange: LocalExchange) -> None:
    account = exchange.create_test_account("ed25519")
    with make(ccxtpro_sync.binance, exchange, credentials=account.credentials) as client:
        # The old order (handler first) now names the mistake instead of subscribing.
        with pytest.raises(InvalidArgument, match=r"symbol must be a str.*got a callable"):
            client.on_orders(print)
        with pytest.raises(InvalidArgument, match=r"symbol must be a str.*got a callable"):
            client.on_my_trades(print, SPOT)
        with pytest.raises(InvalidArgument, match="handler is required"):
            client.on_orders(SPOT)
        with pytest.raises(InvalidArgument, match="handler must be callable"):
            client.on_balance("BTC")
        assert client.connections() == []
        with client.on_orders(SPOT, print) as a, client.on_orders(handler=print) as b:
            assert a.active and b.active
        with client.on_my_trades(symbol=SPOT, handler=print) as c:
            assert c.active


# -- timeouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_TIMEOUTS, ids=repr)
def test_bad_timeouts_are_typed_and_name_the_argument(spot: Any, bad: Any) -> None:
    with pytest.raises(InvalidArgument, match=r"^timeout must be"):
        spot.watch_ticker(SPOT, timeout=bad)
    with pytest.raises(InvalidArgument, match=r"^timeout must be"):
        spot.stream_trades(SPOT, timeout=bad)
    with pytest.raises(InvalidArgument, match=r"^timeout must be"):
        spot.close(timeout=bad)
    assert spot.connections() == [] and not spot.closed  # nothing subscribed, still usable


@pytest.mark.parametrize("bad", BAD_TIMEOUTS, ids=repr)
def test_bad_default_timeout_is_refused_at_construction(exchange: LocalExchange, bad: Any) -> None:
    with pytest.raises(InvalidArgument, match=r"^timeout must be"):
        make(ccxtpro_sync.binance, exchange, timeout=bad)


def test_valid_timeouts(spot: Any) -> None:
    assert check_timeout(1) == 1.0 and check_timeout(MAX_TIMEOUT) == MAX_TIMEOUT
    assert spot.watch_ticker(SPOT, timeout=10).symbol == SPOT
    assert spot.watch_ticker(SPOT, timeout=None).symbol == SPOT  # None: the client default


# -- symbols, credentials, lifecycle ------------------------------------------------------------


@pytest.mark.parametrize("bad", [b"BTC/USDT", 42], ids=repr)
def test_symbols_must_be_str(spot: Any, bad: Any) -> None:
    with pytest.raises(InvalidArgument, match="symbol must be a str"):
        spot.market(bad)
    with pytest.raises(InvalidArgument, match="symbol"):
        spot.watch_ticker(bad, timeout=1)
    assert spot.connections() == []


def test_a_missing_symbol_is_arguments_required(spot: Any) -> None:
    with pytest.raises(ArgumentsRequired, match="missing symbol"):
        spot.watch_ticker(None, timeout=1)
    with pytest.raises(ArgumentsRequired, match="missing symbol"):
        spot.amount_to_precision(None, 1)
    assert spot.connections() == []


def test_a_list_with_bytes_names_the_position(spot: Any) -> None:
    with pytest.raises(InvalidArgument, match=r"symbols\[1\] must be a str.*bytes"):
        spot.watch_trades_for_symbols([SPOT, b"ETH/USDT"], timeout=1)
    with pytest.raises(InvalidArgument, match=r"symbols must be a str.*bytes"):
        spot.watch_bids_asks(b"BTC/USDT", timeout=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": 123},
        {"private_key": 1.5},
        {"private_key_path": 3},
        {"secret": "s", "private_key_password": 5},
    ],
    ids=repr,
)
def test_credentials_types_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument) as info:
        Credentials("k", **kwargs)
    name = next(k for k in kwargs if k != "secret" or len(kwargs) == 1)
    assert str(info.value).startswith(name)
    assert "123" not in str(info.value)  # values are never quoted (they may be secrets)


def test_with_on_a_closed_client_raises_client_closed(exchange: LocalExchange) -> None:
    client = make(ccxtpro_sync.binanceusdm, exchange)
    with client:
        pass
    assert client.closed
    with pytest.raises(ClientClosed), client:
        pytest.fail("the block must not run")


def test_recorder_timeouts_are_validated(tmp_path: Any) -> None:
    from ccxtpro_sync.persistence import Recorder

    url = f"sqlite:///{tmp_path / 'args.sqlite'}"
    recorder = Recorder(None, url, exchange="test", markets=False, raw=False, streams=())
    for bad in (-1, math.inf, "5"):
        with pytest.raises(InvalidArgument, match=r"^timeout must be"):
            recorder.flush(bad)
        with pytest.raises(InvalidArgument, match=r"^timeout must be"):
            recorder.close(timeout=bad)
    assert recorder.flush(10) and recorder.flush(None)
    assert recorder.close(timeout=10).error is None


# -- order ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["abc", "", "1.5", None, 1.9, True, -3, b"12"], ids=repr)
def test_bad_order_ids_are_typed_and_nothing_is_cancelled(
    exchange: LocalExchange, bad: Any
) -> None:
    """An order id that is not Binance's numeric orderId is an ``InvalidArgument`` before
    anything is sent (it was a bare ``ValueError``/``TypeError`` from ``int()``, and
    ``1.9`` named order 1); the open order stays open."""
    account = exchange.create_test_account("ed25519")
    with make(ccxtpro_sync.binance, exchange, credentials=account.credentials) as client:
        price = client.price_to_precision(SPOT, client.watch_ticker(SPOT).last * 0.8)
        placed = client.create_order(SPOT, "limit", "buy", 0.01, price)
        for call in (
            client.cancel_order,
            client.fetch_order,
            client.cancel_order_ws,
            client.fetch_order_ws,
        ):
            with pytest.raises(InvalidArgument, match="numeric order id"):
                call(bad, SPOT)
        with pytest.raises(InvalidArgument, match="numeric order id"):
            client.edit_order_ws(bad, SPOT, "limit", "buy", 0.005)
        assert client.fetch_order(int(placed.id), SPOT).status == "open"  # an int id is fine
    assert [o["status"] for o in exchange.orders(account.account, "spot")] == ["NEW"]


def test_rest_order_queries_check_since_limit_and_timeout(exchange: LocalExchange) -> None:
    """``fetch_open_orders``/``fetch_my_trades``/``fetch_order`` refuse a bad ``since``,
    ``limit`` or ``timeout`` like the market-data ``fetch_*`` do (``since="x"`` was a
    ``TypeError`` from a comparison; ``limit=0`` and ``timeout="5"`` were ignored)."""
    account = exchange.create_test_account("ed25519")
    with make(ccxtpro_sync.binance, exchange, credentials=account.credentials) as client:
        for call in (client.fetch_open_orders, client.fetch_my_trades):
            with pytest.raises(BadRequest, match="since"):
                call(SPOT, since="yesterday")
            with pytest.raises(BadRequest, match="limit"):
                call(SPOT, limit=0)
            with pytest.raises(InvalidArgument, match="timeout"):
                call(SPOT, timeout="5")
        with pytest.raises(InvalidArgument, match="timeout"):
            client.fetch_order("1", SPOT, timeout=-1)
        assert client.fetch_open_orders(SPOT, since=0, limit=5, timeout=5) == []
        assert client.fetch_my_trades(SPOT, since=0, limit=5, timeout=5) == []


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda c: c.watch_order_book(SPOT, "x"), "limit"),
        (lambda c: c.watch_order_book(SPOT, -1), "limit"),
        (lambda c: c.watch_order_book(SPOT, 0), "limit"),
        (lambda c: c.watch_order_book_for_symbols([SPOT], limit=2.5), "limit"),
        (lambda c: c.watch_trades(SPOT, since="x"), "since"),
        (lambda c: c.watch_trades(SPOT, limit=-1), "limit"),
        (lambda c: c.watch_trades_for_symbols([SPOT], since=-5), "since"),
        (lambda c: c.watch_ohlcv(SPOT, "1m", limit=0), "limit"),
        (lambda c: c.watch_ohlcv_for_symbols([[SPOT, "1m"]], since=True), "since"),
    ],
)
def test_watch_since_and_limit_are_checked(spot: Any, call: Any, says: str) -> None:
    """A bad ``since``/``limit`` is an ``InvalidArgument`` naming it (it was a
    ``TypeError`` from a comparison deep in a cache, or silently an empty list or an
    uncut book for ``-1``/``0``)."""
    with pytest.raises(InvalidArgument, match=says):
        call(spot)


@pytest.mark.parametrize("bad", ["x", [1], 5], ids=repr)
def test_order_params_must_be_a_mapping(exchange: LocalExchange, bad: Any) -> None:
    """``params`` that is not a dict is an ``InvalidArgument`` before sending (a str
    was a bare ``ValueError`` from ``dict()``), and nothing reaches the exchange."""
    account = exchange.create_test_account("ed25519")
    with make(ccxtpro_sync.binance, exchange, credentials=account.credentials) as client:
        price = client.price_to_precision(SPOT, client.watch_ticker(SPOT).last * 0.8)
        for place in (client.create_order, client.create_order_ws):
            with pytest.raises(InvalidArgument, match="params must be a dict"):
                place(SPOT, "limit", "buy", 0.01, price, bad)
        for ref in (client.fetch_order, client.cancel_order, client.fetch_order_ws):
            with pytest.raises(InvalidArgument, match="params must be a dict"):
                ref("1", SPOT, bad)
        with pytest.raises(InvalidArgument, match="params must be a dict"):
            client.fetch_trades(SPOT, params=bad)
    assert exchange.orders(account.account, "spot") == []
