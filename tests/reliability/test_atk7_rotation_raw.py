"""Attacks on rotation with the raw log on: the log a client records across a
make-before-break rotation (both connections carry the overlap) must replay to the
same books and trades the client delivered live. Local exchange, real sockets."""

from __future__ import annotations

import json
import threading
from typing import Any

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .lagging import lag_the_old_reader, run_the_replacement_ahead
from .support import make_client, wait_for, wait_wire_matches, wire_connections

SYMBOLS = ["BTC/USDT", "ETH/USDT"]


def logged_up_to(client: Any, frames: list[Any], target: dict[str, int]) -> bool:
    """The raw log holds each symbol's diff up to ``target`` (raw goes out apart from
    the books, so the last live book's frame may still be on its way)."""
    symbols = {client.market(s).lowercaseId: s for s in SYMBOLS}
    done = set()
    for frame in list(frames):
        stream, _, kind = frame.channel.partition("@")
        if kind.startswith("depth") and json.loads(frame.data)["u"] >= target[symbols[stream]]:
            done.add(symbols[stream])
    return done == set(SYMBOLS)


def all_moved(
    ex: LocalExchange, lock: threading.Lock, books: dict[str, list[int]], count: int
) -> bool:
    """One tick on, then: every symbol has had ``count`` live books."""
    ex.tick(1)
    with lock:
        return all(len(books[s]) >= count for s in SYMBOLS)


def wait_logged_up_to(
    ex: LocalExchange, client: Any, frames: list[Any], target: dict[str, int]
) -> None:
    def up_to_target() -> bool:
        ex.tick(1)
        return logged_up_to(client, frames, target)

    wait_for(up_to_target, 10, "the raw log up to the last live book")


def test_atk7_a_raw_log_across_a_rotation_replays_the_live_books_and_trades() -> None:
    frames: list[Any] = []
    live_books: dict[str, list[int]] = {s: [] for s in SYMBOLS}
    live_trades: dict[str, list[int]] = {s: [] for s in SYMBOLS}
    lock = threading.Lock()

    def on_book(book: Any) -> None:
        with lock:
            live_books[book.symbol].append(book.nonce)

    def on_trades(trades: list[Any]) -> None:
        with lock:
            for trade in trades:
                live_trades[trade.symbol].append(int(trade.id))

    with LocalExchange(seed=9, speed=10.0, auto_publish=False, rest_weight=1_000_000) as ex:
        client = make_client(ccxtpro_sync.binance, ex)
        with client:
            client.on_raw(frames.extend)
            client.load_markets()
            client.on_trades(SYMBOLS, handler=on_trades)
            client.on_order_book(SYMBOLS, handler=on_book)
            wait_wire_matches(ex, [client])

            def books_moved(count: int) -> bool:
                return all_moved(ex, lock, live_books, count)

            wait_for(lambda: books_moved(3), 10, "books before the rotation")
            for _ in range(3):
                (old,) = wire_connections(client)
                client.rotate(old.name, timeout=30)
                with lock:
                    seen = min(len(v) for v in live_books.values())
                wait_for(lambda seen=seen: books_moved(seen + 3), 10, "books after it")
            with lock:
                target = {s: live_books[s][-1] for s in SYMBOLS}

            wait_logged_up_to(ex, client, frames, target)
            replayed = client.replay(list(frames))
    for symbol in SYMBOLS:
        nonces = [d.value.nonce for d in replayed if d.message_hash == f"orderbook:{symbol}"]
        assert nonces, symbol
        assert nonces == sorted(nonces), symbol
        assert nonces[-1] >= target[symbol], f"{symbol}: the replayed book stopped"
        ids = [int(t.id) for d in replayed if d.message_hash == f"trades:{symbol}" for t in d.value]
        assert len(ids) == len(set(ids)), f"{symbol}: a trade replayed twice"
        assert ids == sorted(ids), f"{symbol}: trades replayed out of order"
        # every live trade up to the last one the log holds
        upto = {t for t in live_trades[symbol] if t <= ids[-1]}
        assert upto <= set(ids), f"{symbol}: a live trade not replayed"


def test_atk7_a_raw_log_across_a_lagging_rotation_replays_the_live_books() -> None:
    """The old reader lags behind the replacement during the overlap (held at a gate
    while the replacement reads several ticks ahead), the raw log on: the replacement's
    frames reach the log before the old reader's backlog. A replay of that log must
    still follow the books to the end, and replay each trade once, in order."""
    frames: list[Any] = []
    lock = threading.Lock()
    live_books: dict[str, list[int]] = {s: [] for s in SYMBOLS}

    def on_book(book: Any) -> None:
        with lock:
            live_books[book.symbol].append(book.nonce)

    with LocalExchange(seed=9, speed=10.0, auto_publish=False, rest_weight=1_000_000) as ex:
        client = make_client(ccxtpro_sync.binance, ex)
        gate, lagging = threading.Event(), threading.Event()
        with client:
            client.on_raw(frames.extend)
            client.load_markets()
            client.on_trades(SYMBOLS, handler=lambda _trades: None)
            client.on_order_book(SYMBOLS, handler=on_book)
            wait_wire_matches(ex, [client])

            def books_moved(count: int) -> bool:
                return all_moved(ex, lock, live_books, count)

            wait_for(lambda: books_moved(3), 10, "books before the rotation")
            (old,) = wire_connections(client)
            lag_the_old_reader(client, old, gate, lagging)
            run_the_replacement_ahead(client, ex, gate, lagging)
            client.rotate(old.name, timeout=30)
            assert client._delivered.gaps == 0
            with lock:
                seen = min(len(v) for v in live_books.values())
            wait_for(lambda: books_moved(seen + 3), 10, "books after the rotation")
            with lock:
                target = {s: live_books[s][-1] for s in SYMBOLS}

            wait_logged_up_to(ex, client, frames, target)
            replayed = client.replay(list(frames))
    for symbol in SYMBOLS:
        nonces = [d.value.nonce for d in replayed if d.message_hash == f"orderbook:{symbol}"]
        assert nonces == sorted(nonces), symbol
        assert nonces and nonces[-1] >= target[symbol], f"{symbol}: the replayed book stopped"
        trades = [
            int(t.id) for d in replayed if d.message_hash == f"trades:{symbol}" for t in d.value
        ]
        assert len(trades) == len(set(trades)), f"{symbol}: a trade replayed twice"
        assert trades == sorted(trades), f"{symbol}: trades replayed out of order"
        assert trades == list(range(trades[0], trades[0] + len(trades))), f"{symbol}: trade lost"
