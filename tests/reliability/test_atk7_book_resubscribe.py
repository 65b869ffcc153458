"""An order book unsubscribed and subscribed again while its connection stays up
(another stream keeps it open) must come back: a new book, synced from a new
snapshot, delivered again. Frames still arriving after the release used to remake
the book (bound to a handler that kept the old one, or waiting for a snapshot that
was dropped as unsubscribed), and the book never came back. Real client against the
local exchange."""

from __future__ import annotations

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import BookNonces


def test_atk7_a_book_resubscribed_on_a_live_connection_is_delivered_again() -> None:
    books = BookNonces()
    config = {"environment": "local", "timeout": 10}
    with (
        LocalExchange(seed=5, speed=10.0, tick_interval=0.01) as exchange,
        ccxtpro_sync.binance({**config, "local": exchange}) as client,
    ):
        client.load_markets()
        client.on_trades("BTC/USDT", lambda _trades: None)  # keeps the connection open
        for _ in range(2):
            sub = client.on_order_book("BTC/USDT", books)
            start = books.count()
            assert books.wait_count(start + 5, 10), "the book is not delivered (again)"
            sub.cancel()
        assert books.nonces == sorted(books.nonces)
