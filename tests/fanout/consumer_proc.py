"""A consumer process for the fan-out tests: ``python -m tests.fanout.consumer_proc
URL PREFIX SYMBOL TRADES BOOKS``. Reads from the earliest entry until it has seen
``TRADES`` trades and ``BOOKS`` books, then prints one JSON line and exits."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from typing import Any

from ccxtpro_sync.fanout import fanout_signals, remote


def book_digest(book: Any) -> str:
    levels = json.dumps([[list(x) for x in book.bids], [list(x) for x in book.asks]])
    return hashlib.sha256(levels.encode()).hexdigest()


def main() -> int:
    url, prefix, symbol, want_trades, want_books = sys.argv[1:6]
    trades: list[int] = []
    books: dict[int, str] = {}
    gaps: list[Any] = []
    done = threading.Condition()

    def on_trades(batch: list[Any]) -> None:
        with done:
            trades.extend(int(t.id) for t in batch)
            done.notify_all()

    def on_book(book: Any) -> None:
        with done:
            books[int(book.nonce)] = book_digest(book)
            done.notify_all()

    def on_gap(sender: Any, **payload: Any) -> None:
        gaps.append({k: str(v) for k, v in payload.items()})

    fanout_signals.fanout_gap.connect(on_gap)
    with remote(url, prefix=prefix, start="earliest") as client:
        client.on_trades(symbol, handler=on_trades)
        client.on_order_book(symbol, handler=on_book)
        with done:
            ok = done.wait_for(
                lambda: len(trades) >= int(want_trades) and len(books) >= int(want_books), 60
            )
    print(json.dumps({"ok": ok, "trades": trades, "books": books, "gaps": gaps}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
