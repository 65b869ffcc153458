"""``close()`` at awkward moments: prompt, no deadlock, nothing left behind."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import ClientClosed
from ccxtpro_sync._sync.connection import State
from ccxtpro_sync.simulator import LocalExchange
from ccxtpro_sync.simulator.rest import Route

from .support import (
    library_threads,
    make_client,
    run_in_thread,
    signal_logs,
    wait_for,
    wait_wire_matches,
)

#: close() must return within this, whatever it interrupts. Every wait it interrupts
#: (backoff, handshake, REST call, Retry-After) lasts at least three times longer, so
#: a close() that waits for it still fails, and a loaded machine has seconds to spare.
PROMPT = 10.0
#: Connect and REST timeout for the tests where close() interrupts a handshake or a
#: REST call (well above PROMPT: waiting for the timeout must not pass).
SHORT_TIMEOUT = 30.0


def client_threads(client: Any) -> list[threading.Thread]:
    return [t for t in library_threads() if client.name in t.name]


def timed_close(client: Any) -> float:
    started = time.monotonic()
    client.close()
    return time.monotonic() - started


def test_close_during_reconnect_backoff(exchange: LocalExchange) -> None:
    client = make_client(ccxtpro_sync.binance, exchange)
    with signal_logs(client) as logs:
        client.on_ticker("BTC/USDT", lambda t: None)
        wait_wire_matches(exchange, [client])
        exchange.faults.refuse_handshakes(count=100, status=418, retry_after=60)
        exchange.faults.drop()
        assert logs["reconnect_scheduled"].wait_for(1, timeout=5)[0].payload["delay"] >= 60
        assert timed_close(client) < PROMPT
    assert not [t for t in client_threads(client) if t.is_alive()]
    exchange.wait_for_connections(0, timeout=5)


def test_close_during_a_delayed_handshake(exchange: LocalExchange) -> None:
    exchange.faults.delay_handshakes(60.0)
    # The exchange tells when it holds the handshake: the client has sent its upgrade
    # request by then, so close() really interrupts a handshake in progress.
    held = threading.Event()
    take_delay = exchange.faults.take_handshake_delay

    def take_and_tell() -> float:
        delay = take_delay()
        if delay:
            held.set()
        return delay

    exchange.faults.take_handshake_delay = take_and_tell  # type: ignore[method-assign]
    client = make_client(ccxtpro_sync.binance, exchange, timeout=SHORT_TIMEOUT)
    thread, errors = run_in_thread(lambda: client.watch_ticker("BTC/USDT", timeout=60))
    assert held.wait(10), "the handshake never reached the exchange"
    [conn] = client._all_connections()
    assert conn.state is State.CONNECTING
    elapsed = timed_close(client)
    thread.join(5)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed)
    assert elapsed < PROMPT, f"close() took {elapsed:.1f}s during a handshake"
    alive = [t.name for t in client_threads(client) if t.is_alive()]
    assert not alive, f"still running after close(): {alive}"


def test_close_during_an_in_flight_snapshot_fetch() -> None:
    with LocalExchange(seed=1, auto_publish=False, speed=10.0, tick_interval=0.01) as ex:
        entered, release = threading.Event(), threading.Event()
        key = ("GET", "/api/v3/depth")
        real = ex.rest.routes[key]

        def slow_depth(request: Any) -> Any:
            entered.set()
            release.wait(60)
            return real.handler(request)

        ex.rest.routes[key] = Route(slow_depth, real.weight, real.pool)
        client = make_client(ccxtpro_sync.binance, ex, timeout=SHORT_TIMEOUT)
        try:
            thread, errors = run_in_thread(lambda: client.watch_order_book("BTC/USDT", timeout=60))
            ex.wait_for_subscription("btcusdt@depth@100ms")
            ex.tick(1)  # the first diff asks for a snapshot
            assert entered.wait(5)
            elapsed = timed_close(client)
            thread.join(5)
            assert len(errors) == 1 and isinstance(errors[0], ClientClosed)
            assert elapsed < PROMPT, f"close() took {elapsed:.1f}s during a snapshot fetch"
            alive = [t.name for t in client_threads(client) if t.is_alive()]
            assert not alive, f"still running after close(): {alive}"
        finally:
            release.set()
            client.close()


def test_close_during_snapshot_retry_after() -> None:
    with LocalExchange(seed=1, auto_publish=False, speed=10.0, tick_interval=0.01) as ex:
        client = make_client(ccxtpro_sync.binance, ex)
        client.load_markets()  # exchangeInfo first: the refusals are for the snapshots
        ex.faults.refuse_rest(count=10, status=429, retry_after=60)
        client.on_order_book("BTC/USDT", lambda b: None)
        ex.wait_for_subscription("btcusdt@depth@100ms")
        ex.tick(1)
        ex.wait_until(lambda s: s.rest_refused >= 1, 5, "a refused snapshot")
        assert timed_close(client) < PROMPT
        assert not [t for t in client_threads(client) if t.is_alive()]


def test_close_from_inside_a_callback_does_not_deadlock(exchange: LocalExchange) -> None:
    client = make_client(ccxtpro_sync.binance, exchange)
    returned = threading.Event()
    outcome: list[BaseException] = []

    def close_now(ticker: Any) -> None:
        try:
            client.close()
        except BaseException as error:
            outcome.append(error)
        returned.set()

    client.on_bids_asks("BTC/USDT", close_now)
    assert returned.wait(10), "close() from a callback never returned"
    assert not outcome
    assert client.closed
    with pytest.raises(ClientClosed):
        client.watch_ticker("BTC/USDT", timeout=1)
    exchange.wait_for_connections(0, timeout=5)


def test_concurrent_close_from_many_threads(exchange: LocalExchange) -> None:
    client = make_client(ccxtpro_sync.binance, exchange, options={"maxStreamsPerConnection": 2})
    for symbol in ("BTC/USDT", "ETH/USDT", "BNB/USDT"):
        client.on_ticker(symbol, lambda t: None)
        client.on_trades(symbol, lambda t: None)
    wait_wire_matches(exchange, [client])
    watcher, errors = run_in_thread(lambda: client.watch_ohlcv("BTC/USDT", "1M", timeout=30))
    start = threading.Barrier(8)
    still_running: list[list[str]] = []
    failures: list[BaseException] = []

    def closer() -> None:
        start.wait(5)
        try:
            client.close()
        except BaseException as error:
            failures.append(error)
        # when any close() returns, the client is fully closed
        still_running.append([t.name for t in client_threads(client) if t.is_alive()])

    closers = [threading.Thread(target=closer) for _ in range(8)]
    for thread in closers:
        thread.start()
    for thread in closers:
        thread.join(10)
    watcher.join(5)
    assert not failures
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed)
    assert still_running == [[]] * 8, still_running
    exchange.wait_for_connections(0, timeout=5)


def test_close_as_a_connect_begins_cuts_the_handshake_short(
    exchange: LocalExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    """close() can look for the handshake to cut just before its socket exists; it must
    still cut it as soon as the socket is made, not wait for the connect timeout."""
    import websocket

    exchange.faults.delay_handshakes(60.0)
    entered, go = threading.Event(), threading.Event()
    real_connect = websocket.WebSocket.connect

    def paused_connect(self: Any, url: str, **options: Any) -> Any:
        # Hold the reader at the start of the connect (no socket yet) until close()
        # has begun: the interleaving a loaded machine produces now and then.
        entered.set()
        assert go.wait(10)
        return real_connect(self, url, **options)

    monkeypatch.setattr(websocket.WebSocket, "connect", paused_connect)
    client = make_client(ccxtpro_sync.binance, exchange, timeout=SHORT_TIMEOUT)
    thread, errors = run_in_thread(lambda: client.watch_ticker("BTC/USDT", timeout=60))
    assert entered.wait(10)
    [conn] = client._all_connections()
    closer, close_errors = run_in_thread(lambda: timed_close(client))
    wait_for(conn._closing.is_set, 5, "close() to begin")
    started = time.monotonic()
    go.set()
    closer.join(SHORT_TIMEOUT + 10)
    elapsed = time.monotonic() - started
    thread.join(5)
    assert not close_errors
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed)
    assert elapsed < PROMPT, f"close() waited {elapsed:.1f}s for a handshake it should cut"
    alive = [t.name for t in client_threads(client) if t.is_alive()]
    assert not alive, f"still running after close(): {alive}"
