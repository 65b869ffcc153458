"""Attacks on rotation under scripted faults of the local exchange: the replacement,
or the old connection, dropped during the overlap while the old reader lags. Books
never go back nor cross, trades are delivered once each, in order, none lost, and
delivery goes on after it. Real sockets against the local exchange."""

from __future__ import annotations

import contextlib
import itertools
import threading
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .lagging import lag_the_old_reader, run_the_replacement_ahead
from .support import make_client, wait_for, wait_wire_matches, wire_connections

SYMBOLS = ["BTC/USDT", "ETH/USDT"]


class Seen:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.books: dict[str, list[Any]] = {s: [] for s in SYMBOLS}
        self.trades: dict[str, list[int]] = {s: [] for s in SYMBOLS}

    def book(self, book: Any) -> None:
        with self.lock:
            self.books[book.symbol].append(book)

    def trade(self, trades: list[Any]) -> None:
        with self.lock:
            for trade in trades:
                self.trades[trade.symbol].append(int(trade.id))

    def least_books(self) -> int:
        with self.lock:
            return min(len(b) for b in self.books.values())


@pytest.mark.parametrize("victim", ["replacement", "old"])
def test_atk7_a_connection_dropped_during_a_lagging_overlap(victim: str) -> None:
    seen = Seen()
    with LocalExchange(seed=9, speed=10.0, auto_publish=False, rest_weight=1_000_000) as ex:
        client = make_client(ccxtpro_sync.binance, ex)
        gate, lagging = threading.Event(), threading.Event()
        dropped: list[int] = []

        def drop() -> None:
            ids = [info.id for info in ex.connections()]
            target = max(ids) if victim == "replacement" else min(ids)
            dropped.append(ex.faults.drop(lambda info: info.id == target))

        with client:
            client.load_markets()
            client.on_trades(SYMBOLS, handler=seen.trade)
            client.on_order_book(SYMBOLS, handler=seen.book)
            wait_wire_matches(ex, [client])
            wait_for(lambda: ex.tick(1) or seen.least_books() >= 3, 10, "books before")
            (old,) = wire_connections(client)
            lag_the_old_reader(client, old, gate, lagging)
            run_the_replacement_ahead(client, ex, gate, lagging, then=drop)
            # A rotation may fail with its replacement: the streams must live on anyway.
            with contextlib.suppress(ccxtpro_sync.BaseError):
                client.rotate(old.name, timeout=30)
            assert dropped == [1]
            at = seen.least_books()
            wait_for(lambda: ex.tick(1) or seen.least_books() >= at + 10, 20, "books after")
            with seen.lock:
                books = {s: list(b) for s, b in seen.books.items()}
                trades = {s: list(t) for s, t in seen.trades.items()}
    for symbol in SYMBOLS:
        nonces = [b.nonce for b in books[symbol]]
        back = [(a, b) for a, b in itertools.pairwise(nonces) if b < a]
        assert not back, f"{symbol}: a book went back {back[:3]}"
        crossed = [
            b.nonce for b in books[symbol] if b.bids and b.asks and b.bids[0][0] >= b.asks[0][0]
        ]
        assert not crossed, f"{symbol}: crossed books {crossed[:3]}"
        ids = trades[symbol]
        assert ids, symbol
        wrong = [(a, b) for a, b in itertools.pairwise(ids) if b <= a]
        assert not wrong, f"{symbol}: trades repeated or reordered {wrong[:3]}"
        assert ids == list(range(ids[0], ids[0] + len(ids))), f"{symbol}: a trade lost"


def test_atk7_a_stream_unsubscribed_and_resubscribed_during_a_lagging_overlap() -> None:
    """While the old reader lags in the overlap, BTC/USDT's trades and book are
    unsubscribed and subscribed again (from another thread): nothing raises in a
    reader or callback, and after it both streams deliver on, trades once each and in
    order, books never going back."""
    seen = Seen()
    errors: list[Any] = []

    def on_error(_sender: Any, **payload: Any) -> None:
        errors.append(payload)

    with LocalExchange(seed=9, speed=10.0, auto_publish=False, rest_weight=1_000_000) as ex:
        client = make_client(ccxtpro_sync.binance, ex)
        gate, lagging = threading.Event(), threading.Event()
        subs: dict[str, Any] = {}
        churned = threading.Event()

        def churn() -> None:
            subs["trades"].cancel()
            subs["book"].cancel()
            subs["trades"] = client.on_trades("BTC/USDT", handler=seen.trade)
            subs["book"] = client.on_order_book("BTC/USDT", handler=seen.book)
            churned.set()

        def churn_from_another_thread() -> None:
            worker = threading.Thread(target=churn, name="atk7-churn")
            worker.start()
            worker.join(10)

        ccxtpro_sync.signals.callback_error.connect(on_error, weak=False)
        try:
            with client:
                client.load_markets()
                client.on_trades("ETH/USDT", handler=seen.trade)
                client.on_order_book("ETH/USDT", handler=seen.book)
                subs["trades"] = client.on_trades("BTC/USDT", handler=seen.trade)
                subs["book"] = client.on_order_book("BTC/USDT", handler=seen.book)
                wait_wire_matches(ex, [client])
                wait_for(lambda: ex.tick(1) or seen.least_books() >= 3, 10, "books before")
                (old,) = wire_connections(client)
                lag_the_old_reader(client, old, gate, lagging)
                run_the_replacement_ahead(client, ex, gate, lagging, then=churn_from_another_thread)
                with contextlib.suppress(ccxtpro_sync.BaseError):
                    client.rotate(old.name, timeout=30)
                assert churned.is_set(), "unsubscribing during the overlap did not return"
                with seen.lock:
                    at = {s: (len(seen.books[s]), len(seen.trades[s])) for s in SYMBOLS}

                def moved() -> bool:
                    ex.tick(1)
                    with seen.lock:
                        return all(
                            len(seen.books[s]) >= at[s][0] + 5
                            and len(seen.trades[s]) >= at[s][1] + 5
                            for s in SYMBOLS
                        )

                wait_for(moved, 20, "both symbols deliver after the churn")
                with seen.lock:
                    books = {s: list(b) for s, b in seen.books.items()}
                    trades = {s: list(t) for s, t in seen.trades.items()}
        finally:
            ccxtpro_sync.signals.callback_error.disconnect(on_error)
    assert errors == []
    for symbol in SYMBOLS:
        nonces = [b.nonce for b in books[symbol]]
        back = [(a, b) for a, b in itertools.pairwise(nonces) if b < a]
        assert not back, f"{symbol}: a book went back {back[:3]}"
        ids = trades[symbol]
        wrong = [(a, b) for a, b in itertools.pairwise(ids) if b <= a]
        assert not wrong, f"{symbol}: trades repeated or reordered {wrong[:3]}"
