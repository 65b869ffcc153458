"""REST market data and balances on the streaming client, against the local exchange.

Every ``fetch_*`` runs over real sockets on all three products; the weight budget
is the one order-book snapshots use, so a 429's ``Retry-After`` stops both.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import (
    AuthenticationError,
    BadRequest,
    BadSymbol,
    OrderBook,
    RateLimitExceeded,
    RequestTimeout,
    Ticker,
    Trade,
)
from ccxtpro_sync.simulator import LocalExchange

SYMBOLS = {"spot": "BTC/USDT", "usdm": "BTC/USDT:USDT", "coinm": "BTC/USD:BTC"}
KINDS = {"spot": ccxtpro_sync.binance, "usdm": ccxtpro_sync.binanceusdm,
         "coinm": ccxtpro_sync.binancecoinm}  # fmt: skip
MARKETS = list(SYMBOLS)


def client_for(exchange: LocalExchange, market: str, **config: Any) -> Any:
    return KINDS[market]({"environment": "local", "local": exchange, "timeout": 10, **config})


@pytest.fixture
def quiet() -> Iterator[LocalExchange]:
    """A manually ticked exchange: nothing trades between two calls of a test."""
    with LocalExchange(seed=7, auto_publish=False) as ex:
        ex.tick(200)
        yield ex


def requests_sent(ex: LocalExchange) -> int:
    return int(ex.stats().rest_requests)


@pytest.mark.parametrize("market", MARKETS)
def test_fetch_time_status_ticker_tickers(quiet: LocalExchange, market: str) -> None:
    symbol = SYMBOLS[market]
    with client_for(quiet, market) as client:
        server_time = client.fetch_time()
        assert isinstance(server_time, int) and server_time > 1_600_000_000_000
        status = client.fetch_status()
        assert status["status"] == "ok" and set(status) >= {"updated", "eta", "url", "info"}

        ticker = client.fetch_ticker(symbol)
        assert isinstance(ticker, Ticker) and ticker.symbol == symbol
        assert ticker.low <= ticker.last <= ticker.high
        assert ticker.baseVolume > 0 and ticker.quoteVolume > 0
        assert ticker.datetime is not None and ticker["last"] == ticker.last
        # the last trade the tape holds is the ticker's last price (no tick in between)
        assert client.fetch_trades(symbol, limit=1)[-1].price == ticker.last
        if market == "spot":
            assert ticker.bid is not None and ticker.ask is not None and ticker.bid < ticker.ask

        everything = client.fetch_tickers()
        assert symbol in everything and set(everything) <= set(client.symbols)
        assert everything[symbol].last == ticker.last
        assert list(client.fetch_tickers([symbol])) == [symbol]

        quotes = client.fetch_bids_asks([symbol])[symbol]
        assert quotes.bid is not None and quotes.ask is not None and quotes.bid < quotes.ask


@pytest.mark.parametrize("market", MARKETS)
def test_fetch_order_book(quiet: LocalExchange, market: str) -> None:
    symbol = SYMBOLS[market]
    with client_for(quiet, market) as client:
        book = client.fetch_order_book(symbol, 5 if market != "spot" else 7)
        assert isinstance(book, OrderBook) and book.symbol == symbol
        assert 0 < len(book.bids) <= 7 and 0 < len(book.asks) <= 7
        assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
        assert [p for p, _ in book.asks] == sorted(p for p, _ in book.asks)
        assert book.bids[0][0] < book.asks[0][0]
        true_book = quiet.engine.book(market, client.market(symbol).id, 1)  # type: ignore[arg-type]
        assert book.bids[0][0] == float(true_book.bids[0][0])
        assert book.nonce == true_book.last_update_id
        if market != "spot":
            with pytest.raises(BadRequest, match="limit"):
                client.fetch_order_book(symbol, 7)  # futures serve only 5, 10, 20, ...


@pytest.mark.parametrize("market", MARKETS)
def test_fetch_trades_since_limit(quiet: LocalExchange, market: str) -> None:
    symbol = SYMBOLS[market]
    with client_for(quiet, market) as client:
        trades = client.fetch_trades(symbol, limit=50)
        assert 0 < len(trades) <= 50 and all(isinstance(t, Trade) for t in trades)
        ids = [int(t.id) for t in trades]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert all(t.symbol == symbol and t.side in ("buy", "sell") for t in trades)
        since = trades[len(trades) // 2].timestamp
        later = client.fetch_trades(symbol, since=since, limit=5)
        assert later and all(t.timestamp >= since for t in later) and len(later) <= 5
        assert int(later[0].id) == min(int(t.id) for t in trades if t.timestamp >= since)


@pytest.mark.parametrize("market", MARKETS)
def test_fetch_ohlcv_since_limit(quiet: LocalExchange, market: str) -> None:
    symbol = SYMBOLS[market]
    with client_for(quiet, market) as client:
        candles = client.fetch_ohlcv(symbol, "1m")
        assert candles and all(c.timestamp % 60_000 == 0 for c in candles)
        assert [c.timestamp for c in candles] == sorted(c.timestamp for c in candles)
        last = candles[-1]
        assert last.low <= last.open <= last.high and last.low <= last.close <= last.high
        assert last.volume > 0  # 200 ticks traded in this minute (or the one before)
        from_since = client.fetch_ohlcv(symbol, "1m", since=last.timestamp, limit=1)
        assert len(from_since) == 1 and from_since[0].timestamp == last.timestamp
        with pytest.raises(BadRequest, match="timeframe"):
            client.fetch_ohlcv(symbol, "7m")


@pytest.mark.parametrize("market", MARKETS)
def test_fetch_balance_matches_the_ws_api(quiet: LocalExchange, market: str) -> None:
    account = quiet.create_test_account("ed25519")
    with client_for(quiet, market, credentials=account.credentials) as client:
        rest = client.fetch_balance()
        assert rest.balances, "a funded test account has balances"
        ws = client.fetch_balance_ws()
        assert {a: (b.free, b.used, b.total) for a, b in rest.balances.items()} == {
            a: (b.free, b.used, b.total) for a, b in ws.balances.items()
        }
        assert all(b.total == b.free + b.used for b in rest.balances.values())


def test_fetch_balance_needs_credentials(quiet: LocalExchange) -> None:
    with client_for(quiet, "usdm") as client:
        client.load_markets()
        sent = requests_sent(quiet)
        with pytest.raises(AuthenticationError, match="credentials"):
            client.fetch_balance()
        assert requests_sent(quiet) == sent


@pytest.mark.parametrize("market", MARKETS)
def test_rest_trades_equal_streamed_trades(exchange: LocalExchange, market: str) -> None:
    symbol = SYMBOLS[market]
    streamed: list[Trade] = []
    cond = threading.Condition()

    def collect(batch: list[Trade]) -> None:
        with cond:
            streamed.extend(batch)
            cond.notify_all()

    with client_for(exchange, market) as client:
        sub = client.on_trades(symbol, handler=collect)
        with cond:
            assert cond.wait_for(lambda: len(streamed) >= 20, 15), streamed
        sub.cancel()
        with cond:
            seen = list(streamed)
        first = min(int(t.id) for t in seen)
        fetched = {
            t.id: t for t in client.fetch_trades(symbol, limit=1000, params={"fromId": first})
        }
        for trade in seen:
            twin = fetched.get(trade.id)
            assert twin is not None, f"streamed trade {trade.id} missing from REST"
            assert (twin.price, twin.amount, twin.side, twin.timestamp, twin.cost) == (
                trade.price,
                trade.amount,
                trade.side,
                trade.timestamp,
                trade.cost,
            )


def test_bad_symbol_and_arguments_fail_before_sending(quiet: LocalExchange) -> None:
    with client_for(quiet, "spot") as client:
        client.load_markets()
        sent = requests_sent(quiet)
        with pytest.raises(BadSymbol):
            client.fetch_ticker("NOPE/USDT")
        with pytest.raises(BadSymbol):
            client.fetch_trades("BTC/USDT:USDT")  # a futures symbol on the spot client
        with pytest.raises(BadRequest, match="symbol"):
            client.fetch_order_book(b"BTC/USDT")
        for timeout in (-1, 0, math.inf, math.nan, 1e12, "5", True):
            with pytest.raises(BadRequest, match="timeout"):
                client.fetch_ticker("BTC/USDT", timeout=timeout)
        for limit in (0, -5, 2.5, "10"):
            with pytest.raises(BadRequest, match="limit"):
                client.fetch_trades("BTC/USDT", limit=limit)
        with pytest.raises(BadRequest, match="since"):
            client.fetch_ohlcv("BTC/USDT", since=-1)
        assert requests_sent(quiet) == sent


def test_exchange_errors_are_typed(quiet: LocalExchange) -> None:
    with client_for(quiet, "spot") as client:
        with pytest.raises(BadRequest) as caught:
            client.fetch_trades("BTC/USDT", params={"fromId": 1, "startTime": 1})
        assert caught.value.code == -1128  # type: ignore[attr-defined]


def test_a_429_on_fetch_stops_fetches_and_snapshots_without_sending(quiet: LocalExchange) -> None:
    with client_for(quiet, "spot") as client:
        client.load_markets()
        quiet.faults.refuse_rest(count=1, status=429, retry_after=60)
        with pytest.raises(RateLimitExceeded) as first:
            client.fetch_ticker("BTC/USDT")
        assert first.value.retry_after == 60
        sent = requests_sent(quiet)
        with pytest.raises(RateLimitExceeded) as second:
            client.fetch_order_book("BTC/USDT")
        assert second.value.retry_after is not None and 0 < second.value.retry_after <= 60
        assert requests_sent(quiet) == sent, "a paused client must not send"
        # the snapshot fetcher shares the pause: the scheduler holds every snapshot
        scheduler = client._fetcher._scheduler
        assert scheduler.paused_until > time.monotonic() + 30


def test_a_throttled_snapshot_stops_fetches(quiet: LocalExchange) -> None:
    with client_for(quiet, "spot") as client:
        client.load_markets()
        done = threading.Event()
        original = client._fetcher._scheduler.failed

        def failed(symbol: str, now: float, **how: Any) -> None:
            original(symbol, now, **how)
            done.set()

        client._fetcher._scheduler.failed = failed
        quiet.faults.refuse_rest(count=1, status=429, retry_after=60)
        client._fetcher.request("BTC/USDT", 100)  # as a book needing a snapshot would
        assert done.wait(10), "the snapshot was never refused"
        sent = requests_sent(quiet)
        with pytest.raises(RateLimitExceeded):
            client.fetch_time()
        assert requests_sent(quiet) == sent


def test_fetch_times_out_with_a_typed_error() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the TCP handshake, never answers
    port = silent.getsockname()[1]
    try:
        base = f"127.0.0.1:{port}"
        urls = {"rest": f"http://{base}", "ws": f"ws://{base}", "ws_api": f"ws://{base}"}
        client = ccxtpro_sync.binance({"environment": "local", "urls": urls})
        with client, pytest.raises(RequestTimeout):
            client.fetch_time(timeout=0.2)
    finally:
        silent.close()


def test_fetch_after_close_raises_client_closed(quiet: LocalExchange) -> None:
    client = client_for(quiet, "spot")
    client.close()
    with pytest.raises(ccxtpro_sync.ClientClosed):
        client.fetch_time()


def test_rest_candles_equal_streamed_closed_candles(exchange: LocalExchange) -> None:
    candles: dict[int, Any] = {}
    cond = threading.Condition()

    def collect(batch: list[Any]) -> None:
        with cond:
            for candle in batch:
                candles[candle.timestamp] = candle
            cond.notify_all()

    with client_for(exchange, "spot") as client:
        sub = client.on_ohlcv("BTC/USDT", "1s", handler=collect)
        with cond:  # three 1-second bars seen: the first two are closed and final
            assert cond.wait_for(lambda: len(candles) >= 3, 15), candles
            closed = sorted(candles.items())[:-1]
        sub.cancel()
        fetched = client.fetch_ohlcv("BTC/USDT", "1s", since=closed[0][0], limit=len(closed))
        assert [tuple(c) for c in fetched] == [tuple(c) for _, c in closed]


def test_close_aborts_a_fetch_in_flight() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    base = f"127.0.0.1:{silent.getsockname()[1]}"
    urls = {"rest": f"http://{base}", "ws": f"ws://{base}", "ws_api": f"ws://{base}"}
    client = ccxtpro_sync.binance({"environment": "local", "urls": urls})
    outcome: list[BaseException] = []

    def fetch() -> None:
        try:
            client.fetch_time(timeout=60)
        except BaseException as error:  # the test inspects whatever it was
            outcome.append(error)

    worker = threading.Thread(target=fetch)
    worker.start()
    try:
        silent.settimeout(10)
        conn, _ = silent.accept()  # the request is on the wire, waiting for an answer
        client.close()
        worker.join(10)
        assert not worker.is_alive() and len(outcome) == 1
        assert isinstance(outcome[0], ccxtpro_sync.ClientClosed)
        conn.close()
    finally:
        silent.close()
        client.close()


def test_fetch_trades_with_the_trade_stream_uses_trade_ids(quiet: LocalExchange) -> None:
    options = {"tradesStream": "trade"}
    with client_for(quiet, "spot", options=options) as client:
        trades = client.fetch_trades("BTC/USDT", limit=5)
        tape = quiet.engine.generators["spot"].states["BTCUSDT"].trade_history
        assert [int(t.id) for t in trades] == [t.id for t in list(tape)[-5:]]
        with pytest.raises(BadRequest, match="since"):
            client.fetch_trades("BTC/USDT", since=1)
