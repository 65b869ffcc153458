"""Sequence gaps on many order books at once: each resyncs alone, none is shown crossed."""

from __future__ import annotations

import pytest

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import BookWatcher, converge_books, make_client, signal_logs, wait_wire_matches

SPOT = [
    ("BTC/USDT", "BTCUSDT"),
    ("ETH/USDT", "ETHUSDT"),
    ("BNB/USDT", "BNBUSDT"),
    ("SOL/USDT", "SOLUSDT"),
    ("ETH/BTC", "ETHBTC"),
]
USDM = [
    ("BTC/USDT:USDT", "BTCUSDT"),
    ("ETH/USDT:USDT", "ETHUSDT"),
    ("BTC/USDT:USDT-261225", "BTCUSDT_261225"),
    ("SOL/USDT:USDT", "SOLUSDT"),
]


@pytest.mark.parametrize(
    ("kind", "market", "books"),
    [(ccxtpro_sync.binance, "spot", SPOT), (ccxtpro_sync.binanceusdm, "usdm", USDM)],
)
def test_gaps_on_many_symbols_resync_each_and_spare_the_rest(
    kind: type, market: str, books: list[tuple[str, str]]
) -> None:
    with LocalExchange(
        seed=9, auto_publish=False, speed=10.0, tick_interval=0.01, rest_weight=1_000_000
    ) as ex:
        client = make_client(kind, ex)
        watcher = BookWatcher()
        with client, signal_logs(client) as logs:
            client.on_order_book([s for s, _ in books], watcher)
            wait_wire_matches(ex, [client])
            converge_books(ex, market, watcher, books)
            resyncs: dict[str, int] = {}
            for round_ in range(4):
                # a different majority of the symbols loses a diff each round
                gapped = [books[(round_ + i) % len(books)] for i in range(len(books) - 1)]
                spared = [b for b in books if b not in gapped]
                rest_before = ex.stats().rest_requests
                spared_updates = {s: watcher.updates(s) for s, _ in spared}
                seen = len(logs["order_book_resync"])
                for _, raw in gapped:
                    assert ex.faults.depth_gap(market, raw) == 1
                ex.tick(2)  # the lost diff, then the one that shows the gap
                new = logs["order_book_resync"].wait_for(seen + len(gapped), timeout=5)[seen:]
                assert sorted(p.payload["symbol"] for p in new) == sorted(s for s, _ in gapped)
                converge_books(ex, market, watcher, books)
                for symbol, _ in gapped:
                    resyncs[symbol] = resyncs.get(symbol, 0) + 1
                # the spared books kept updating and were never refetched
                for symbol, _ in spared:
                    assert watcher.updates(symbol) > spared_updates[symbol]
                assert ex.stats().rest_requests - rest_before == len(gapped)
            assert len(logs["order_book_resync"]) == sum(resyncs.values())
            assert not watcher.violations, watcher.violations
            assert not logs["connection_closed"].events
