"""Binance market data, every stream on spot, USD-M and COIN-M, against the local exchange."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import BadRequest, BadSymbol, ClientClosed, NotSupported, RequestTimeout, signals
from ccxtpro_sync.simulator import LocalExchange

SPOT, USDM, COINM = "BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"
#: Generator steps in the order-book test; each publishes one diff event.
STEPS = 2000


def make(kind: type, exchange: LocalExchange, **config: Any) -> Any:
    return kind({"environment": "local", "local": exchange, "timeout": 10, **config})


@pytest.fixture
def spot(exchange: LocalExchange) -> Iterator[ccxtpro_sync.binance]:
    with make(ccxtpro_sync.binance, exchange) as client:
        yield client


@pytest.fixture
def usdm(exchange: LocalExchange) -> Iterator[ccxtpro_sync.binanceusdm]:
    with make(ccxtpro_sync.binanceusdm, exchange) as client:
        yield client


@pytest.fixture
def coinm(exchange: LocalExchange) -> Iterator[ccxtpro_sync.binancecoinm]:
    with make(ccxtpro_sync.binancecoinm, exchange) as client:
        yield client


# -- markets -------------------------------------------------------------------------------


def test_markets_load_with_unified_symbols(spot: Any, usdm: Any, coinm: Any) -> None:
    assert SPOT in spot.load_markets()
    assert USDM in usdm.load_markets() and coinm.market(COINM).inverse
    btc = spot.market(SPOT)
    assert btc.id == "BTCUSDT" and btc.spot and btc.precision.price > 0
    assert usdm.market(USDM).linear and usdm.market(USDM).settle == "USDT"
    assert any(m.future for m in usdm.markets.values())  # the quarterly delivery contract


def test_unknown_symbol_raises_before_anything_is_sent(exchange: LocalExchange, spot: Any) -> None:
    with pytest.raises(BadSymbol):
        spot.watch_ticker("NOPE/USDT", timeout=1)
    with pytest.raises(BadSymbol, match="binanceusdm"):
        spot.watch_ticker(USDM, timeout=1)
    assert spot.connections() == []
    assert exchange.stats().connections == ()


def test_bad_arguments_are_typed(spot: Any) -> None:
    with pytest.raises(BadRequest):
        spot.watch_ohlcv(SPOT, "7m", timeout=1)
    with pytest.raises(NotSupported):
        spot.watch_mark_price(SPOT, timeout=1)
    with pytest.raises(BadRequest):
        ccxtpro_sync.binance({"options": {"defaultType": "margin-ish"}})


# -- every stream ----------------------------------------------------------------------------


@pytest.mark.parametrize(("fixture", "symbol"), [("spot", SPOT), ("usdm", USDM), ("coinm", COINM)])
def test_every_common_stream(request: pytest.FixtureRequest, fixture: str, symbol: str) -> None:
    client = request.getfixturevalue(fixture)
    ticker = client.watch_ticker(symbol)
    assert ticker.symbol == symbol and ticker.last > 0 and ticker.datetime.endswith("Z")
    tickers = client.watch_tickers([symbol])
    assert list(tickers) == [symbol]
    bidask = client.watch_bids_asks([symbol])[symbol]
    assert bidask.bid < bidask.ask
    trades = client.watch_trades(symbol)
    assert trades and all(t.symbol == symbol and t.price > 0 and t.amount > 0 for t in trades)
    assert all(t.side in ("buy", "sell") for t in trades)
    candles = client.watch_ohlcv(symbol, "1m")
    assert candles and candles[-1].high >= candles[-1].low
    book = client.watch_order_book(symbol, limit=5)
    assert 0 < len(book.bids) <= 5 and book.bids[0][0] < book.asks[0][0]
    assert book.nonce is not None and book.symbol == symbol


@pytest.mark.parametrize(("fixture", "symbol"), [("usdm", USDM), ("coinm", COINM)])
def test_futures_streams(request: pytest.FixtureRequest, fixture: str, symbol: str) -> None:
    client = request.getfixturevalue(fixture)
    mark = client.watch_mark_price(symbol)
    assert mark.symbol == symbol and mark.markPrice > 0
    funding = client.watch_funding_rate(symbol)
    assert funding.symbol == symbol and funding.markPrice > 0
    assert funding.fundingRate is not None


def test_liquidations_arrive(exchange: LocalExchange, usdm: Any) -> None:
    payload = {
        "e": "forceOrder",
        "E": 1568014460893,
        "o": {
            "s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.014", "p": "9910",
            "ap": "9910", "X": "FILLED", "l": "0.014", "z": "0.014", "T": 1568014460893,
        },
    }  # fmt: skip
    got: list[Any] = []
    arrived = threading.Event()

    def on_liquidations(batch: list[Any]) -> None:
        got.extend(batch)
        arrived.set()

    with usdm.on_liquidations(USDM, on_liquidations):
        exchange.wait_for_subscription("btcusdt@forceOrder", timeout=10)
        exchange.publish("usdm", "btcusdt@forceOrder", payload)
        assert arrived.wait(10)
    assert got[0].symbol == USDM and got[0].price == 9910 and got[0].side == "sell"


def test_multi_symbol_variants(spot: Any) -> None:
    symbols = [SPOT, "ETH/USDT"]
    trades = spot.watch_trades_for_symbols(symbols)
    assert trades and trades[0].symbol in symbols
    book = spot.watch_order_book_for_symbols(symbols)
    assert book.symbol in symbols
    candles = spot.watch_ohlcv_for_symbols([[SPOT, "1m"], ["ETH/USDT", "5m"]])
    [(symbol, by_tf)] = candles.items()
    assert symbol in symbols and next(iter(by_tf.values()))


def test_decimal_mode(exchange: LocalExchange) -> None:
    from decimal import Decimal

    with make(ccxtpro_sync.binance, exchange, numbers="decimal") as client:
        ticker = client.watch_ticker(SPOT)
        assert isinstance(ticker.last, Decimal)
        book = client.watch_order_book(SPOT, limit=3)
        assert isinstance(book.bids[0][0], Decimal)


# -- the four faces ------------------------------------------------------------------------------


def test_on_handler_and_cancel_unsubscribes_on_the_wire(exchange: LocalExchange, spot: Any) -> None:
    seen: list[Any] = []
    got = threading.Event()

    def handler(ticker: Any) -> None:
        seen.append(ticker)
        got.set()

    subscription = spot.on_ticker(SPOT, handler)
    assert got.wait(10) and seen[0].symbol == SPOT
    subscription.cancel()
    subscription.cancel()  # idempotent
    exchange.wait_until(
        lambda s: all("btcusdt@ticker" not in c.subscriptions for c in s.connections),
        timeout=10,
        what="UNSUBSCRIBE on the wire",
    )


def test_watch_holds_until_unwatch_and_shares_with_handlers(
    exchange: LocalExchange, spot: Any
) -> None:
    spot.watch_trades(SPOT)
    subscription = spot.on_trades(SPOT, lambda batch: None)
    spot.un_watch_trades(SPOT)
    # the handler still needs the stream
    spot.watch_trades(SPOT)
    spot.un_watch_trades(SPOT)
    assert any("btcusdt@aggTrade" in c.subscriptions for c in exchange.stats().connections)
    subscription.cancel()
    exchange.wait_until(
        lambda s: all("btcusdt@aggTrade" not in c.subscriptions for c in s.connections),
        timeout=10,
        what="UNSUBSCRIBE once nothing needs the stream",
    )


def test_stream_iterator(spot: Any) -> None:
    with spot.stream_trades(SPOT) as batches:
        received = 0
        for batch in batches:
            received += len(batch)
            if received >= 3:
                break
    assert received >= 3
    with spot.stream_ticker(SPOT, timeout=10) as tickers:
        assert next(tickers).symbol == SPOT


def test_watch_timeout_is_typed(exchange: LocalExchange) -> None:
    with LocalExchange(seed=1, auto_publish=False) as quiet:
        with make(ccxtpro_sync.binance, quiet) as client:
            with pytest.raises(RequestTimeout):
                client.watch_ticker(SPOT, timeout=0.5)


def test_close_wakes_blocked_watchers_and_streams(exchange: LocalExchange) -> None:
    with LocalExchange(seed=1, auto_publish=False) as quiet:
        client = make(ccxtpro_sync.binance, quiet)
        client.load_markets()
        errors: list[BaseException] = []
        stream = client.stream_ticker(SPOT, timeout=30)

        def watch() -> None:
            try:
                client.watch_ticker(SPOT, timeout=30)
            except BaseException as error:
                errors.append(error)

        def iterate() -> None:
            try:
                next(stream)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=watch), threading.Thread(target=iterate)]
        for thread in threads:
            thread.start()
        quiet.wait_for_subscription("btcusdt@ticker", timeout=10)
        client.close()
        client.close()
        for thread in threads:
            thread.join(10)
        assert len(errors) == 2 and all(isinstance(e, ClientClosed) for e in errors)
        with pytest.raises(ClientClosed):
            client.watch_ticker(SPOT)


# -- connection planning ------------------------------------------------------------------------


def test_streams_spread_over_connections_within_the_limit(
    exchange: LocalExchange,
) -> None:
    options = {"maxStreamsPerConnection": 3}
    with make(ccxtpro_sync.binance, exchange, options=options) as client:
        symbols = client.symbols
        subs = [client.on_ticker(s, lambda t: None) for s in symbols]
        subs += [client.on_trades(s, lambda t: None) for s in symbols]
        streams = 2 * len(symbols)
        connections = client.connections()
        assert len(connections) == -(-streams // 3)
        assert all(len(info.subscriptions) <= 3 for info in connections)
        assert sum(len(info.subscriptions) for info in connections) == streams
        exchange.wait_until(
            lambda s: sum(len(c.subscriptions) for c in s.connections) == streams,
            timeout=10,
            what="every stream subscribed",
        )
        for sub in subs:
            sub.cancel()


def test_usdm_streams_use_routed_paths(exchange: LocalExchange, usdm: Any) -> None:
    usdm.watch_order_book(USDM)
    usdm.watch_ticker(USDM)
    paths = sorted(c.path.split("?")[0] for c in exchange.stats().connections)
    assert paths == ["/usdm/market/stream", "/usdm/public/stream"]


# -- order books -----------------------------------------------------------------------------------


class LatestBook:
    """Keeps the newest book from a handler; waits for a given nonce."""

    def __init__(self) -> None:
        self.book: Any = None
        self._cond = threading.Condition()

    def __call__(self, book: Any) -> None:
        with self._cond:
            self.book = book
            self._cond.notify_all()

    def at_least(self, nonce: int, timeout: float = 10.0) -> Any:
        with self._cond:
            ok = self._cond.wait_for(
                lambda: self.book is not None and self.book.nonce >= nonce, timeout
            )
            assert ok, f"book never reached {nonce} (at {self.book and self.book.nonce})"
            return self.book


def assert_same_book(local: Any, true: Any, levels: int) -> None:
    assert local.nonce == true.last_update_id
    assert [[float(p), float(q)] for p, q in true.bids[:levels]] == [
        [float(p), float(q)] for p, q in local.bids[:levels]
    ]
    assert [[float(p), float(q)] for p, q in true.asks[:levels]] == [
        [float(p), float(q)] for p, q in local.asks[:levels]
    ]


@pytest.mark.parametrize(
    ("market", "kind", "symbol", "raw"),
    [
        ("spot", ccxtpro_sync.binance, SPOT, "BTCUSDT"),
        ("usdm", ccxtpro_sync.binanceusdm, USDM, "BTCUSDT"),
        ("coinm", ccxtpro_sync.binancecoinm, COINM, "BTCUSD_PERP"),
    ],
)
def test_order_book_matches_the_exchange_through_thousands_of_diffs_and_gaps(
    market: str, kind: type, symbol: str, raw: str
) -> None:
    resyncs: list[dict[str, Any]] = []

    def on_resync(sender: Any, **payload: Any) -> None:
        resyncs.append(payload)

    signals.order_book_resync.connect(on_resync)
    with LocalExchange(seed=3, auto_publish=False, speed=10.0, tick_interval=0.01) as ex:
        with make(kind, ex) as client:
            latest = LatestBook()
            with client.on_order_book(symbol, latest):
                ex.wait_for_subscription(client._depth_stream(client.market(symbol), None))
                ex.tick(1)
                latest.at_least(ex.book(market, raw).last_update_id)
                diffs = 0
                for step in range(STEPS):
                    if step % 400 == 200:
                        # The next diff is lost; the one after reveals the gap, the
                        # client asks for a snapshot and must converge without more ticks.
                        ex.faults.depth_gap(market, raw)
                        ex.tick(1)
                    ex.tick(1)
                    true = ex.book(market, raw, depth=50)
                    local = latest.at_least(true.last_update_id)
                    assert_same_book(local, true, 50)
                    assert local.bids[0][0] < local.asks[0][0]
                    diffs += 1
    signals.order_book_resync.disconnect(on_resync)
    assert diffs == STEPS
    assert len([r for r in resyncs if r["symbol"] == symbol]) >= STEPS // 400


def test_connection_info_reports_live_figures(spot: Any) -> None:
    spot.watch_trades(SPOT)
    spot.watch_order_book(SPOT)
    [info] = [i for i in spot.connections() if "btcusdt@aggTrade" in i.subscriptions]
    assert info.state == "open" and info.connects == 1 and info.reconnects == 0
    assert info.messages > 0 and info.first_update_latency is not None
    assert info.last_message_age is not None and info.last_message_age >= 0
    assert info.cache_sizes[f"trades:{SPOT}"] >= 1
    assert info.cache_sizes[f"orderbook:{SPOT}"] > 10
    assert spot.connection_info(info.name).url == info.url
    assert spot.connection_info(info.url).name == info.name
    with pytest.raises(BadRequest):
        spot.connection_info("ws://nowhere")


def test_new_updates_returns_each_trade_exactly_once(spot: Any) -> None:
    seen: list[int] = []
    for _ in range(30):
        seen.extend(int(t.id) for t in spot.watch_trades(SPOT))
    # aggregate trade ids are consecutive: nothing lost between calls, nothing repeated
    assert seen == list(range(seen[0], seen[0] + len(seen)))


def test_trades_limit_bounds_the_cache(exchange: LocalExchange) -> None:
    with make(ccxtpro_sync.binance, exchange, tradesLimit=20, newUpdates=False) as client:
        while len(trades := client.watch_trades(SPOT)) < 20:
            pass
        assert len(trades) == 20
        assert len(client.watch_trades(SPOT, limit=5)) == 5
        info = next(i for i in client.connections() if "btcusdt@aggTrade" in i.subscriptions)
        assert info.cache_sizes[f"trades:{SPOT}"] == 20


def test_raw_frames_are_recorded_and_replay_rebuilds_the_structures(
    exchange: LocalExchange, spot: Any
) -> None:
    recorded: list[ccxtpro_sync.RawMessage] = []
    trades: list[Any] = []
    done = threading.Event()

    def on_raw(messages: list[ccxtpro_sync.RawMessage]) -> None:
        recorded.extend(messages)

    def on_trades(batch: list[Any]) -> None:
        trades.extend(batch)
        if len(trades) >= 20:
            done.set()

    with spot.on_raw(on_raw), spot.on_trades(SPOT, on_trades):
        assert done.wait(10)
    assert {m.channel for m in recorded} >= {"btcusdt@aggTrade"}
    with make(ccxtpro_sync.binance, exchange) as fresh:
        rebuilt = [
            t for d in fresh.replay(recorded) if d.message_hash == f"trades:{SPOT}" for t in d.value
        ]
    live_ids = {t.id for t in trades}
    assert live_ids <= {t.id for t in rebuilt}
    assert {t.id: t.price for t in rebuilt if t.id in live_ids} == {t.id: t.price for t in trades}


def test_replay_of_a_raw_log_rebuilds_the_order_book(exchange: LocalExchange, spot: Any) -> None:
    recorded: list[ccxtpro_sync.RawMessage] = []
    live: dict[int, Any] = {}
    with spot.on_raw(recorded.extend):
        for _ in range(20):
            book = spot.watch_order_book(SPOT)
            live[book.nonce] = book
    assert any(m.channel.startswith("depthSnapshot:") for m in recorded)
    with make(ccxtpro_sync.binance, exchange) as fresh:
        books = [d.value for d in fresh.replay(recorded) if d.message_hash == f"orderbook:{SPOT}"]
    # the raw handler may lag the last updates by a dispatcher hop; compare what both saw
    matched = [b for b in books if b.nonce in live]
    assert len(matched) >= 10
    for book in matched:
        assert (book.bids, book.asks) == (live[book.nonce].bids, live[book.nonce].asks)


def test_one_call_with_many_streams_fills_each_connection_to_the_limit(
    exchange: LocalExchange,
) -> None:
    with make(ccxtpro_sync.binance, exchange, options={"maxStreamsPerConnection": 4}) as client:
        symbols = client.symbols  # 5 spot symbols, two streams each: 10 streams
        subscription = client.on_trades(symbols, lambda batch: None)
        tickers = client.on_tickers(symbols, lambda ticker: None)
        loads = sorted(len(info.subscriptions) for info in client.connections())
        assert loads == [2, 4, 4]  # full connections first, not half-full ones
        subscription.cancel()
        tickers.cancel()
