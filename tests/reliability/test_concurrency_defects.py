"""Concurrency defects found by reading the code (issue 12), each shown by a test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import RequestTimeout
from ccxtpro_sync._core.events import Delivery, Policy
from ccxtpro_sync._sync.base_client import BaseClient
from ccxtpro_sync.simulator import LocalExchange


@pytest.fixture
def client() -> Iterator[BaseClient]:
    base = BaseClient(name="concurrency", timeout=5.0)
    yield base
    base.close()


def test_hub_wait_unregisters_the_waiter_whatever_ends_the_wait(client: BaseClient) -> None:
    hub = client.hub
    future = hub.waiter(["ticker:A"])
    # A timeout too large for the underlying lock raises OverflowError inside the wait.
    with pytest.raises(OverflowError):
        hub.wait(future, 1e300, "ticker A")
    assert hub.stats()["waiters"] == 0
    assert not hub.is_wanted("ticker:A")


def test_hub_wait_forgets_a_multi_hash_waiter_resolved_through_one_hash(
    client: BaseClient,
) -> None:
    hub = client.hub
    future = hub.waiter(["ticker:A", "ticker:B"])
    hub.deliver(Delivery("ticker:A", 1))
    assert hub.wait(future, 1.0, "ticker A or B") == 1
    assert hub.stats()["waiters"] == 0


def test_latest_stream_over_two_hashes_keeps_each_hashs_update(client: BaseClient) -> None:
    stream = client._open_stream(
        ["ticker:A", "ticker:B"],
        Policy.LATEST,
        lambda: None,
        lambda: None,
        "tickers A, B",
        timeout=2.0,
    )
    drained = threading.Event()
    marker = client.hub.add_callback("marker", lambda _: drained.set())
    try:
        # The dispatcher runs callbacks in arrival order: once the marker's callback
        # ran, both tickers sit in the stream before the consumer takes any.
        client.hub.deliver_many(
            [Delivery("ticker:A", "a1"), Delivery("ticker:B", "b1"), Delivery("marker", 0)]
        )
        assert drained.wait(5.0)
        assert {next(stream), next(stream)} == {"a1", "b1"}
    finally:
        client.hub.remove_callback(marker)
        stream.close()


def test_latest_stream_still_coalesces_one_hash(client: BaseClient) -> None:
    stream = client._open_stream(
        ["ticker:A"], Policy.LATEST, lambda: None, lambda: None, "ticker A", timeout=0.2
    )
    drained = threading.Event()
    marker = client.hub.add_callback("marker", lambda _: drained.set())
    try:
        client.hub.deliver_many(
            [Delivery("ticker:A", 1), Delivery("ticker:A", 2), Delivery("marker", 0)]
        )
        assert drained.wait(5.0)
        assert next(stream) == 2
        with pytest.raises(TimeoutError):
            next(stream)
    finally:
        client.hub.remove_callback(marker)
        stream.close()


def test_timed_out_ws_api_requests_leave_no_parser_or_send_time(exchange: LocalExchange) -> None:
    account = exchange.create_test_account("hmac")

    async def silent(conn: Any) -> None:  # a WS API that reads every request, answers none
        async for _ in conn:
            pass

    exchange.register_ws_api("spot", silent)
    config = {"environment": "local", "local": exchange, "credentials": account.credentials}
    with ccxtpro_sync.binance(config) as client:
        client.load_markets()
        conn = client._private.ws_api_connection().start()
        conn.wait_ready(10.0)  # HMAC without user data: ready with no reply needed
        for _ in range(20):
            with pytest.raises(RequestTimeout):
                client.fetch_balance_ws(timeout=0.01)
        assert conn.info()["in_flight_requests"] == 0
        assert conn.query(lambda p: p._parsers == {} and p._sent_at == {})


def test_timed_out_stream_queries_are_forgotten(exchange: LocalExchange) -> None:
    with ccxtpro_sync.binance({"environment": "local", "local": exchange}) as client:
        client.watch_ticker("BTC/USDT")
        (conn,) = client._all_connections()
        assert conn.request("LIST_SUBSCRIPTIONS", timeout=5.0) == ["btcusdt@ticker"]
        assert exchange.faults.half_open() == 1
        for _ in range(5):
            with pytest.raises(RequestTimeout):
                conn.request("LIST_SUBSCRIPTIONS", timeout=0.05)
        assert conn.query(lambda p: p._queries) == set()
        exchange.faults.release()


class _Guarded:
    """A protocol seen through a proxy that notes every access made without the
    connection's lock held (the reader and every caller must hold it)."""

    def __init__(self, protocol: Any, lock: Any, violations: list[str]) -> None:
        object.__setattr__(self, "_protocol", protocol)
        object.__setattr__(self, "_lock", lock)
        object.__setattr__(self, "_violations", violations)

    def __getattr__(self, name: str) -> Any:
        if not self._lock.locked():
            self._violations.append(f"{name} on {threading.current_thread().name}")
        return getattr(self._protocol, name)


def test_protocol_state_is_only_read_under_the_connections_lock(exchange: LocalExchange) -> None:
    account = exchange.create_test_account("hmac")
    config = {"environment": "local", "local": exchange, "credentials": account.credentials}
    violations: list[str] = []
    with ccxtpro_sync.binance(config) as client:
        client.fetch_balance_ws()
        ws_api = client._private.ws_api
        # The test swaps the protocol for its proxy (only a test reaches into it).
        ws_api._protocol = _Guarded(ws_api._protocol, ws_api._lock, violations)
        client.watch_ticker("BTC/USDT")
        (market,) = client._all_connections()
        market._protocol = _Guarded(market._protocol, market._lock, violations)

        assert client.rate_limits  # the WS API reports them with every answer
        client.fetch_balance_ws()  # reads whether Binance asked us to hold off
        client.un_watch_ticker("BTC/USDT")  # reads which streams are still wanted
        assert market.info()["subscriptions"] == []
    assert violations == []
