"""The Deribit client's public streams against the local Deribit exchange (real sockets)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ccxtpro_sync import BadSymbol, DeribitClient, InvalidArgument, deribit, signals
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture

PERP = "BTC/USD:BTC"
ETH = "ETH/USD:ETH"


ex = exchange_fixture(seed=3, auto_publish=False)


@pytest.fixture
def client(ex: LocalDeribit) -> Iterator[DeribitClient]:
    c = deribit({"environment": "local", "local": ex})
    try:
        yield c
    finally:
        c.close()


class Pump:
    """Ticks the exchange on a thread until stopped, so watch_* calls get data."""

    def __init__(self, ex: LocalDeribit) -> None:
        self.ex = ex
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.02):
            self.ex.tick()

    def __enter__(self) -> Pump:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


def test_markets_from_get_instruments(client: DeribitClient) -> None:
    markets = client.load_markets()
    assert PERP in markets and "BTC/USDC:USDC" in markets
    assert markets[PERP].id == "BTC-PERPETUAL" and markets[PERP].swap
    assert any(m.option for m in markets.values()) and any(m.future for m in markets.values())
    with pytest.raises(BadSymbol):
        client.watch_ticker("NOPE/USD:BTC", timeout=1)
    assert client.connections() == []  # nothing was sent for the bad symbol


def test_ticker_tickers_bids_asks(ex: LocalDeribit, client: DeribitClient) -> None:
    with Pump(ex):
        ticker = client.watch_ticker(PERP, timeout=5)
        assert ticker.symbol == PERP and ticker.bid is not None and ticker.bid < ticker.ask
        # CCXT's watch_tickers: after the next update, the tickers of the symbols asked
        # (every one that has had a ticker), not only the one that woke the call.
        tickers = client.watch_tickers([PERP, ETH], timeout=5)
        assert PERP in tickers and set(tickers) <= {PERP, ETH}  # PERP's was seen above
        for _ in range(50):
            if len(tickers) == 2:
                break
            tickers = client.watch_tickers([PERP, ETH], timeout=5)
        assert list(tickers) == [PERP, ETH]
        assert all(t.symbol == s and t.bid < t.ask for s, t in tickers.items())
        again = client.watch_tickers([PERP, ETH], timeout=5)
        assert list(again) == [PERP, ETH]  # newest kept: never older than before
        assert all(again[s].timestamp >= tickers[s].timestamp for s in again)
        quotes = client.watch_bids_asks([ETH, PERP], timeout=5)
        for _ in range(50):
            if len(quotes) == 2:
                break
            quotes = client.watch_bids_asks([ETH, PERP], timeout=5)
        assert list(quotes) == [ETH, PERP]
        assert all(q.symbol == s and q.bid < q.ask for s, q in quotes.items())
        assert client.watch_bids_asks(ETH, timeout=5)[ETH].bid is not None
    assert sorted(client.connections()[0].subscriptions) == [
        "quote.BTC-PERPETUAL",
        "quote.ETH-PERPETUAL",
        "ticker.BTC-PERPETUAL.100ms",
        "ticker.ETH-PERPETUAL.100ms",
    ]
    client.un_watch_tickers([PERP, ETH])
    client.un_watch_bids_asks([ETH, PERP])
    ex.wait_until(
        lambda s: all(not c.subscriptions for c in s.connections) or None, 5, "unsubscribed"
    )


def test_trades_and_ohlcv(ex: LocalDeribit, client: DeribitClient) -> None:
    got: list[Any] = []
    done = threading.Event()

    def on_trades(trades: list[Any]) -> None:
        got.extend(trades)
        done.set()

    sub = client.on_trades(PERP, handler=on_trades)
    client.wait_ready(5)
    ex.wait_until(lambda s: any(c.subscriptions for c in s.connections) or None, 5, "subscribed")
    public = ex.trade("BTC-PERPETUAL", "buy", 50)
    assert done.wait(5)
    assert [t.id for t in got] == [str(t["trade_id"]) for t in public]
    assert all(t.symbol == PERP and t.side == "buy" for t in got)
    sub.cancel()
    with Pump(ex):
        candles = client.watch_ohlcv(PERP, "1m", timeout=10)
        assert candles and len(candles[0]) == 6
        trades = client.watch_trades_for_symbols([PERP, ETH], timeout=10)
        assert trades and {t.symbol for t in trades} <= {PERP, ETH}
    stream = client.stream_trades(PERP, timeout=5)
    # The trades channel itself (the call above may have answered from the cache
    # without holding it, so the chart channel alone says nothing).
    ex.wait_until(
        lambda s: (
            any("trades.BTC-PERPETUAL.100ms" in c.subscriptions for c in s.connections) or None
        ),
        5,
        "trades subscribed",
    )
    public = ex.trade("BTC-PERPETUAL", "sell", 30)
    seen: list[Any] = []
    for batch in stream:
        seen.extend(t.id for t in batch)
        if str(public[-1]["trade_id"]) in seen:
            break
    assert str(public[0]["trade_id"]) in seen
    stream.close()


def test_order_book_equals_true_book_through_gaps(ex: LocalDeribit, client: DeribitClient) -> None:
    """1,000 changes of BTC-PERPETUAL with a chain gap injected every 200: after every
    change the local book equals the exchange's true book at the same change id, no
    book shown is crossed or older than the previous one, and only the broken
    instrument is resubscribed."""
    cond = threading.Condition()
    latest: dict[str, Any] = {}
    problems: list[str] = []

    def on_book(book: Any) -> None:
        with cond:
            previous = latest.get(book.symbol)
            if previous is not None and book.nonce <= previous.nonce:
                problems.append(f"stale {book.nonce} after {previous.nonce}")
            if book.bids and book.asks and book.bids[0][0] >= book.asks[0][0]:
                problems.append(f"crossed at {book.nonce}")
            latest[book.symbol] = book
            cond.notify_all()

    resyncs: list[dict[str, Any]] = []

    def on_resync(_sender: Any, **payload: Any) -> None:
        resyncs.append(payload)

    signals.order_book_resync.connect(on_resync, sender=client)
    sub = client.on_order_book([PERP, ETH], handler=on_book)
    client.wait_ready(5)

    def wait_synced(symbol: str, instrument: str) -> None:
        true = ex.book(instrument)
        with cond:
            ok = cond.wait_for(
                lambda: symbol in latest and latest[symbol].nonce == true.change_id, 10
            )
        assert ok, f"{symbol} never reached change_id {true.change_id}"
        book = latest[symbol]
        assert [list(level) for level in book.bids] == true.bids
        assert [list(level) for level in book.asks] == true.asks

    ex.tick()
    wait_synced(PERP, "BTC-PERPETUAL")
    changes = 0
    gaps = 0
    hidden = False  # the last change was applied without being published
    while changes < 1000:
        if changes and changes % 200 == 0 and not hidden:
            ex.faults.book_gap("BTC-PERPETUAL")
            gaps += 1
        before = ex.book("BTC-PERPETUAL").change_id
        ex.tick()
        if ex.book("BTC-PERPETUAL").change_id == before:
            continue
        changes += 1
        # A hidden change cannot be seen until the next one shows the broken chain.
        hidden = gaps > 0 and changes % 200 == 1 and not hidden
        if not hidden:
            wait_synced(PERP, "BTC-PERPETUAL")
    wait_synced(ETH, "ETH-PERPETUAL")
    assert problems == []
    books = client.connection_info()["books"]
    assert gaps == 4
    assert books["book.BTC-PERPETUAL.100ms"]["resyncs"] == gaps
    assert books["book.ETH-PERPETUAL.100ms"]["resyncs"] == 0
    assert [(r["symbol"], r["count"]) for r in resyncs] == [(PERP, n) for n in range(1, gaps + 1)]
    assert all(r["reason"].startswith("gap") for r in resyncs)
    signals.order_book_resync.disconnect(on_resync)
    sub.cancel()


def test_ccxt_positional_since_and_limit(ex: LocalDeribit, client: DeribitClient) -> None:
    """CCXT's argument order: ``watch_trades(symbol, since, limit)``,
    ``watch_ohlcv(symbol, timeframe, since, limit)``,
    ``watch_order_book_for_symbols(symbols, limit)``; bad values fail before any frame."""
    with pytest.raises(InvalidArgument):
        client.watch_trades(PERP, None, 0, timeout=1)
    with pytest.raises(InvalidArgument):
        client.watch_order_book_for_symbols([PERP], "5", timeout=1)  # type: ignore[arg-type]
    assert client.connections() == []
    got: list[list[Any]] = []
    watcher = threading.Thread(target=lambda: got.append(client.watch_trades(PERP, None, 2)))
    watcher.start()
    ex.wait_until(
        lambda s: (
            any("trades.BTC-PERPETUAL.100ms" in c.subscriptions for c in s.connections) or None
        ),
        5,
        "trades subscribed",
    )
    public = ex.trade("BTC-PERPETUAL", "buy", 3000)  # sweeps several levels: one batch
    watcher.join(10)
    assert len(public) >= 3
    assert [t.id for t in got[0]] == [str(t["trade_id"]) for t in public[-2:]]
    with Pump(ex):
        candles = client.watch_ohlcv(PERP, "1m", None, 1, timeout=10)
        assert len(candles) == 1
        future = client.watch_ohlcv(PERP, "1m", candles[0].timestamp + 3_600_000, timeout=10)
        assert future == []  # nothing at or after ``since``
        book = client.watch_order_book_for_symbols([PERP, ETH], 3, timeout=10)
        assert len(book.bids) == len(book.asks) == 3
