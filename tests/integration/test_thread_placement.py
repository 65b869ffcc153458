"""``threadAffinity``: a client's readers and dispatcher run on the CPUs asked, on
reconnect and rotation too; other threads and forks do not inherit the pin; bad
values fail at construction. Real clients against the local exchanges."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import (
    InvalidArgument,
    NotSupported,
    WebSocketClient,
    default_reconnect_policy,
    signals,
)
from ccxtpro_sync._sync import placement
from ccxtpro_sync._sync.placement import SUPPORTED, start_thread, thread_placement
from ccxtpro_sync.simulator import LocalDeribit, LocalExchange
from tests.forking import report_from_a_callback_fork

pytestmark = pytest.mark.skipif(
    not SUPPORTED or len(os.sched_getaffinity(0)) < 2,
    reason="needs sched_setaffinity and at least two CPUs to tell a pin from none",
)


def allowed() -> frozenset[int]:
    return frozenset(os.sched_getaffinity(0))


@pytest.fixture
def cpu() -> int:
    """A CPU other than the lowest allowed, so a pin differs from the inherited mask."""
    return max(allowed())


def config(exchange: LocalExchange, **extra: Any) -> dict[str, Any]:
    return {
        "environment": "local",
        "local": exchange,
        "timeout": 10,
        "pingInterval": 0.25,
        "readTimeout": 10.0,
        "reconnect": default_reconnect_policy(initial=0.05, maximum=0.5),
        **extra,
    }


def affinity(thread: threading.Thread) -> frozenset[int]:
    assert thread.native_id is not None
    return frozenset(os.sched_getaffinity(thread.native_id))


def readers(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]


class Calls:
    """Where each callback ran: the thread and its affinity, read in the callback."""

    def __init__(self) -> None:
        self.seen: list[frozenset[int]] = []
        self._cond = threading.Condition()

    def __call__(self, _value: Any) -> None:
        with self._cond:
            self.seen.append(frozenset(os.sched_getaffinity(0)))
            self._cond.notify_all()

    def wait_more(self, count: int = 3) -> list[frozenset[int]]:
        with self._cond:
            start = len(self.seen)
            assert self._cond.wait_for(lambda: len(self.seen) >= start + count, 10)
            return self.seen[start:]


def test_readers_and_dispatcher_run_on_the_cpus_asked(exchange: LocalExchange, cpu: int) -> None:
    before = allowed()
    calls = Calls()
    with ccxtpro_sync.binance(config(exchange, threadAffinity=cpu)) as client:
        sub = client.on_trades("BTC/USDT", calls)
        assert set(calls.wait_more()) == {frozenset({cpu})}  # the dispatcher
        [reader] = readers("ccxtpro_sync-reader-binance-spot-stream")
        assert affinity(reader) == {cpu}
        assert client.hub.dispatcher.thread is not None
        assert affinity(client.hub.dispatcher.thread) == {cpu}
        # the caller's own thread, and so the process, is left where it was
        assert allowed() == before
        sub.cancel()


def test_a_set_of_cpus_and_none(exchange: LocalExchange) -> None:
    cpus = allowed()
    some = sorted(cpus)[-2:]
    calls = Calls()
    with ccxtpro_sync.binance(config(exchange, threadAffinity=some)) as client:
        client.on_trades("BTC/USDT", calls)
        assert set(calls.wait_more()) == {frozenset(some)}
        assert client.hub.dispatcher.stats()["follow_moves"] == 0  # CPUs named: no following
    plain = Calls()
    with ccxtpro_sync.binance(config(exchange, threadAffinity=None)) as client:  # nothing placed
        client.on_trades("BTC/USDT", plain)
        assert set(plain.wait_more()) == {cpus}
        [reader] = readers("ccxtpro_sync-reader-binance-spot-stream")
        assert affinity(reader) == cpus
        assert client.hub.dispatcher.stats()["follow_moves"] == 0


def test_the_pin_survives_a_reconnect_and_a_rotation(exchange: LocalExchange, cpu: int) -> None:
    calls = Calls()
    started = threading.Semaphore(0)

    def on_started(_sender: Any, **_payload: Any) -> None:
        started.release()

    signals.connection_started.connect(on_started, weak=False)
    try:
        with ccxtpro_sync.binance(config(exchange, threadAffinity=cpu)) as client:
            client.on_trades("BTC/USDT", calls)
            calls.wait_more()
            assert started.acquire(timeout=10)  # the first connect
            [first] = client.connections()
            assert exchange.faults.drop() >= 1
            assert started.acquire(timeout=10)  # connected again
            assert set(calls.wait_more()) == {frozenset({cpu})}
            [reader] = readers("ccxtpro_sync-reader-binance-spot-stream")
            assert affinity(reader) == {cpu}
            # a rotation starts a new connection, and so a new reader thread
            client.rotate(first.name, timeout=10)
            [second] = client.connections()
            assert second.name != first.name
            [reader] = readers(f"ccxtpro_sync-reader-{second.name}")
            assert affinity(reader) == {cpu}
            assert set(calls.wait_more()) == {frozenset({cpu})}
    finally:
        signals.connection_started.disconnect(on_started)


def test_deribit_and_adapters_take_the_option(cpu: int) -> None:
    exchange = LocalDeribit(seed=9, tick_interval=0.05).start()
    calls = Calls()
    try:
        config = {"environment": "local", "local": exchange, "threadAffinity": [cpu]}
        with ccxtpro_sync.deribit(config) as client:
            client.on_ticker("BTC/USD:BTC", calls)
            assert set(calls.wait_more()) == {frozenset({cpu})}
            [reader] = readers("ccxtpro_sync-reader-deribit")
            assert affinity(reader) == {cpu}
    finally:
        exchange.close()


def test_the_plain_websocket_client_takes_the_option(cpu: int) -> None:
    exchange = LocalDeribit(seed=9, tick_interval=0.05).start()
    calls = Calls()
    try:
        with WebSocketClient(
            exchange.url, heartbeat="disabled", timeout=10, buffer=0, thread_affinity=cpu
        ) as client:
            client.on_message(calls)
            channels = {"channels": ["ticker.BTC-PERPETUAL.100ms"]}
            subscribe = {"jsonrpc": "2.0", "method": "public/subscribe", "params": channels}
            assert client.request(subscribe) == channels["channels"]
            assert client.connection.thread is not None
            assert affinity(client.connection.thread) == {cpu}
            assert set(calls.wait_more()) == {frozenset({cpu})}  # the notifications
        with pytest.raises(InvalidArgument, match=r"threadAffinity.*CPU"):
            WebSocketClient(exchange.url, thread_affinity=-1)
    finally:
        exchange.close()


@pytest.mark.parametrize(
    "value", ["1", b"1", 1.0, True, -1, [], [0, "x"], [0, -2], {"cpu": 0}, 1 << 20, [1 << 20]]
)
def test_bad_values_fail_typed_at_construction(exchange: LocalExchange, value: Any) -> None:
    with pytest.raises(InvalidArgument, match=r"threadAffinity.*CPU"):
        ccxtpro_sync.binance(config(exchange, threadAffinity=value))
    with pytest.raises(InvalidArgument, match=r"threadAffinity.*CPU"):
        ccxtpro_sync.deribit({"environment": "local", "urls": {"ws": "ws://x", "rest": "http://x"},
                              "threadAffinity": value})  # fmt: skip


def test_threads_started_from_a_pinned_thread_go_home(cpu: int) -> None:
    """A library thread a pinned reader starts (the snapshot fetcher, the backfill,
    the worker...) runs where the client's creator ran, not on the pin."""
    placement = thread_placement(cpu)
    assert placement is not None
    seen: dict[str, frozenset[int]] = {}
    done = threading.Event()

    def child() -> None:
        seen["child"] = frozenset(os.sched_getaffinity(0))
        done.set()

    def pinned() -> None:
        seen["pinned"] = frozenset(os.sched_getaffinity(0))
        start_thread(child, "ccxtpro_sync-test-child").join(10)

    start_thread(pinned, "ccxtpro_sync-test-pinned", placement=placement).join(10)
    assert done.is_set()
    assert seen == {"pinned": {cpu}, "child": allowed()}


def test_a_fork_from_a_callback_is_not_pinned(exchange: LocalExchange, cpu: int) -> None:
    """A callback (on the pinned dispatcher) that forks: the child runs where the
    client's creator ran."""
    # the child reports its CPUs
    report = report_from_a_callback_fork(
        config(exchange, threadAffinity=cpu),
        lambda: ",".join(map(str, sorted(os.sched_getaffinity(0)))),
    )
    assert {int(c) for c in report.split(",")} == allowed()


@pytest.fixture(autouse=True)
def _same_affinity_after() -> Iterator[None]:
    """The test thread's own placement is never changed by the library."""
    before = allowed()
    yield
    assert allowed() == before


def test_a_platform_without_affinity_says_so_at_construction(
    exchange: LocalExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the platform check is replaced: no other platform can run on this machine.
    monkeypatch.setattr(placement, "SUPPORTED", False)
    with pytest.raises(NotSupported, match="threadAffinity"):
        ccxtpro_sync.binance(config(exchange, threadAffinity=0))
    ccxtpro_sync.binance(config(exchange)).close()  # without the option: nothing to say
