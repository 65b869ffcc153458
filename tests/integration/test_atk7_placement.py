"""Attacks on ``threadAffinity``: hostile values must fail typed and fast, and a
placed callback that creates a client or calls REST must not leak its pin into the
library's other threads. Real clients against the local exchange."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import InvalidArgument, WebSocketClient
from ccxtpro_sync._sync.placement import SUPPORTED, thread_placement
from ccxtpro_sync.simulator import LocalDeribit, LocalExchange

from .test_thread_placement import config

pytestmark = pytest.mark.skipif(
    not SUPPORTED or len(os.sched_getaffinity(0)) < 2,
    reason="needs sched_setaffinity and at least two CPUs to tell a pin from none",
)


def allowed() -> frozenset[int]:
    return frozenset(os.sched_getaffinity(0))


def timer_tracer() -> tuple[list[frozenset[int]], threading.Event, Any]:
    """A ``threading.settrace`` function recording where each timer thread started
    while it is installed runs once it waits for its deadline."""
    seen: list[frozenset[int]] = []
    timed = threading.Event()

    def tracer(frame: FrameType, event: str, _arg: Any) -> Any:
        # Set on every thread started while it is installed: watch only timer threads.
        if not isinstance(threading.current_thread(), threading.Timer):
            sys.settrace(None)
            return None
        if event == "call" and frame.f_code.co_name == "wait":
            seen.append(frozenset(os.sched_getaffinity(0)))
            timed.set()
            sys.settrace(None)
        return None

    return seen, timed, tracer


def test_atk7_an_endless_iterable_is_refused_after_a_bounded_read() -> None:
    consumed = 0

    def endless() -> Iterator[int]:
        nonlocal consumed
        while True:  # a careless generator: the same CPU forever
            consumed += 1
            if consumed > 100_000:
                raise AssertionError("threadAffinity read an endless iterable on and on")
            yield 0

    with pytest.raises(InvalidArgument, match=r"threadAffinity.*CPU"):
        thread_placement(endless())
    assert consumed <= 5_000


def test_atk7_a_huge_range_is_refused_typed() -> None:
    # list() of it would ask for terabytes (a MemoryError), and a smaller one is slow
    with pytest.raises(InvalidArgument, match=r"threadAffinity.*CPU"):
        thread_placement(range(1 << 40))


def test_atk7_an_iterable_that_raises_is_a_typed_error() -> None:
    class Broken:
        def __iter__(self) -> Iterator[int]:
            raise RuntimeError("cannot iterate")

    with pytest.raises(InvalidArgument, match=r"threadAffinity.*CPU") as raised:
        thread_placement(Broken())
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_atk7_a_client_created_in_a_placed_callback_keeps_the_process_home(
    exchange: LocalExchange,
) -> None:
    """A callback of a client pinned to one CPU creates a second client placed on
    another: that CPU is allowed (the process may run there), and the second client's
    other threads go home to the process's CPUs, not to the first client's pin."""
    pin, other = max(allowed()), min(allowed())
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def make_client(_trades: Any) -> None:
        if done.is_set():
            return
        try:
            second = ccxtpro_sync.binance(config(exchange, threadAffinity=other))
            outcome["home"] = second.hub.dispatcher.placement.home  # type: ignore[union-attr]
            second.close()
        except Exception as error:  # reported to the test thread, which asserts on it
            outcome["error"] = error
        done.set()

    with ccxtpro_sync.binance(config(exchange, threadAffinity=pin)) as client:
        client.on_trades("BTC/USDT", make_client)
        assert done.wait(10)
    assert outcome == {"home": allowed()}


def test_atk7_a_rest_call_from_a_placed_callback_times_it_at_home(
    exchange: LocalExchange,
) -> None:
    """REST from a callback (on the pinned dispatcher): the request's deadline timer
    thread is a library thread and runs on the process's CPUs, not the pin."""
    pin = max(allowed())
    seen, timed, tracer = timer_tracer()

    fetched = threading.Event()
    answered = threading.Event()
    answers: list[Any] = []

    def fetch_once(_trades: Any) -> None:
        if fetched.is_set():
            return
        fetched.set()
        answers.append(client.fetch_time())
        answered.set()

    with ccxtpro_sync.binance(config(exchange, threadAffinity=pin)) as client:
        client.load_markets()
        threading.settrace(tracer)
        try:
            client.on_trades("BTC/USDT", fetch_once)
            assert timed.wait(10)
            assert answered.wait(10)
        finally:
            threading.settrace(None)  # type: ignore[arg-type]
    assert answers and isinstance(answers[0], int)
    assert seen[0] == allowed()


def test_atk7_a_timer_started_in_a_placed_callback_runs_at_home() -> None:
    """``WebSocketClient.every`` called from a callback (on the pinned dispatcher):
    the timer thread is the library's and runs at home, like its other threads."""
    pin = max(allowed())
    exchange = LocalDeribit(seed=9, tick_interval=0.05).start()
    seen: list[frozenset[int]] = []
    ticked = threading.Event()
    armed = threading.Event()

    def tick(_client: WebSocketClient) -> None:
        if not ticked.is_set():
            seen.append(frozenset(os.sched_getaffinity(0)))
            ticked.set()

    def arm(_message: Any) -> None:
        if not armed.is_set():
            armed.set()
            client.every(0.01, tick)

    try:
        with WebSocketClient(
            exchange.url, heartbeat="disabled", timeout=10, buffer=0, thread_affinity=pin
        ) as client:
            client.on_message(arm)
            channels = {"channels": ["ticker.BTC-PERPETUAL.100ms"]}
            subscribe = {"jsonrpc": "2.0", "method": "public/subscribe", "params": channels}
            client.request(subscribe)
            assert ticked.wait(10)
    finally:
        exchange.close()
    assert seen == [allowed()]


def test_atk7_a_deribit_rest_call_from_a_placed_callback_times_it_at_home() -> None:
    """Deribit's REST (a markets reload) from a callback on the pinned dispatcher: its
    deadline timer thread runs on the process's CPUs, not the pin."""
    pin = max(allowed())
    seen, timed, tracer = timer_tracer()
    exchange = LocalDeribit(seed=9, tick_interval=0.05).start()
    reloaded = threading.Event()

    def reload_once(_ticker: Any) -> None:
        if not reloaded.is_set():
            client.load_markets(reload=True)
            reloaded.set()

    try:
        config = {"environment": "local", "local": exchange, "threadAffinity": pin}
        with ccxtpro_sync.deribit(config) as client:
            client.load_markets()
            threading.settrace(tracer)
            try:
                client.on_ticker("BTC/USD:BTC", reload_once)
                assert timed.wait(10)
                assert reloaded.wait(10)
            finally:
                threading.settrace(None)  # type: ignore[arg-type]
    finally:
        exchange.close()
    assert seen[0] == allowed()
