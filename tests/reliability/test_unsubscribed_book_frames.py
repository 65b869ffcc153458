"""Diffs already in flight when an order book is unsubscribed are dropped and counted:
they no longer remake the book (which then asked for a REST snapshot nobody wanted).
A book subscribed again starts afresh and is delivered. Real client against the local
exchange, whose pushes are delayed so that diffs sent before it read the UNSUBSCRIBE
reach the client after the book was released."""

from __future__ import annotations

from typing import Any

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import BookNonces, make_client, wait_for, wire_connections

SYMBOL = "BTC/USDT"
DEPTH = "btcusdt@depth@100ms"
TICKER = "btcusdt@ticker"


def confirmed(client: Any, stream: str) -> bool:
    return any(stream in c.query(lambda p: p.book.confirmed()) for c in wire_connections(client))


def test_diffs_in_flight_after_an_unsubscribe_do_not_remake_the_book() -> None:
    with (
        LocalExchange(seed=5, speed=10.0, tick_interval=0.01) as exchange,
        make_client(ccxtpro_sync.binance, exchange) as client,
    ):
        client.load_markets()
        client.on_trades(SYMBOL, lambda _trades: None)  # keeps the connection open
        client.watch_order_book(SYMBOL, timeout=10)
        assert confirmed(client, DEPTH)
        sent = exchange.stats().messages_sent
        exchange.faults.delay_messages(0.3)
        # Delayed pushes leave only after 0.3 s: once they do, 0.3 s of diffs wait behind.
        exchange.wait_until(lambda s: s.messages_sent >= sent + 2, 10, "delayed pushes")
        rest_before = exchange.stats().rest_requests
        with client._data_lock:
            late_before = client.data.late_frames
        client.un_watch_order_book(SYMBOL)
        # The exchange answers a request after everything it sent before it: once this
        # subscription is confirmed, every diff sent before the UNSUBSCRIBE was read.
        ticker = client.on_ticker(SYMBOL, lambda _ticker: None)
        wait_for(lambda: confirmed(client, TICKER), 10, "the ticker's SUBSCRIBE to be confirmed")
        with client._data_lock:
            assert SYMBOL not in client.data.books, "a late diff remade the book"
            late = client.data.late_frames - late_before
        assert late >= 1, "no diff was in flight: the test proved nothing"
        assert exchange.stats().rest_requests == rest_before
        exchange.faults.clear()
        ticker.cancel()

        # subscribed again, the book starts afresh from a new snapshot
        books = BookNonces()
        sub = client.on_order_book(SYMBOL, books)
        assert books.wait_count(5, 10), "the book did not come back"
        with client._data_lock:
            assert client.data.late_frames - late_before == late  # none of these was late
        sub.cancel()
        assert books.nonces == sorted(books.nonces)
