"""429 and 418 from the exchange: on websocket handshakes and on REST depth snapshots."""

from __future__ import annotations

import time

import pytest

import ccxtpro_sync
from ccxtpro_sync import IPBanned, RateLimitExceeded
from ccxtpro_sync.simulator import LocalExchange

from .support import BookWatcher, converge_books, make_client, signal_logs, wait_wire_matches

RETRY_AFTER = 1


@pytest.mark.parametrize(("status", "error_type"), [(429, RateLimitExceeded), (418, IPBanned)])
def test_refused_reconnects_honour_retry_after_then_recover(
    exchange: LocalExchange, status: int, error_type: type[Exception]
) -> None:
    client = make_client(ccxtpro_sync.binance, exchange)
    with client, signal_logs(client) as logs:
        sub = client.on_trades("BTC/USDT", lambda batch: None)
        wait_wire_matches(exchange, [client])
        exchange.faults.refuse_handshakes(count=2, status=status, retry_after=RETRY_AFTER)
        assert exchange.faults.drop() == 1
        scheduled = logs["reconnect_scheduled"].wait_for(2, timeout=5)
        started = logs["connection_started"].wait_for(2, timeout=10)
        wait_wire_matches(exchange, [client])
        for event in scheduled:
            assert isinstance(event.payload["error"], error_type)
            assert event.payload["error"].retry_after == RETRY_AFTER
            assert event.payload["delay"] >= RETRY_AFTER
        # the waits really happened: each retry came at least Retry-After after the refusal
        assert scheduled[1].at - scheduled[0].at >= RETRY_AFTER * 0.95
        assert started[-1].at - scheduled[1].at >= RETRY_AFTER * 0.95
        assert exchange.stats().handshakes_refused == 2
        assert client.watch_trades("BTC/USDT", timeout=5)
        sub.cancel()


def test_rest_429_on_snapshots_resyncs_only_the_affected_book() -> None:
    symbols = [("BTC/USDT", "BTCUSDT"), ("ETH/USDT", "ETHUSDT"), ("BNB/USDT", "BNBUSDT")]
    with LocalExchange(seed=2, auto_publish=False, speed=10.0, tick_interval=0.01) as ex:
        client = make_client(ccxtpro_sync.binance, ex)
        books = BookWatcher()
        with client, signal_logs(client) as logs:
            sub = client.on_order_book([s for s, _ in symbols], books)
            wait_wire_matches(ex, [client])
            converge_books(ex, "spot", books, symbols)
            rest_before = ex.stats().rest_requests

            ex.faults.refuse_rest(count=2, status=429, retry_after=RETRY_AFTER)
            assert ex.faults.depth_gap("spot", "BTCUSDT") == 1
            refused_at = time.monotonic()
            ex.tick(2)  # the lost diff, then the one that reveals the gap
            logs["order_book_resync"].wait_for(1, timeout=5)
            # while BTC waits out Retry-After, the other books keep following the exchange
            converge_books(ex, "spot", books, symbols[1:])
            assert not books.reached("BTC/USDT", ex.book("spot", "BTCUSDT").last_update_id)
            converge_books(ex, "spot", books, symbols, timeout=10)
            synced_after = time.monotonic() - refused_at

            stats = ex.stats()
            assert stats.rest_refused == 2
            assert stats.rest_requests - rest_before == 3  # two refused, one served: BTC only
            assert synced_after >= 2 * RETRY_AFTER * 0.95
            assert [p["symbol"] for p in logs["order_book_resync"].payloads] == ["BTC/USDT"]
            assert not books.violations
            del sub  # closing the client releases it
