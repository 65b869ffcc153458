"""The short scheduler slice: a client's readers and its dispatcher ask Linux (6.12+)
for a short slice (the dispatcher the shortest, 0.1 ms; the readers 0.5 ms), so that
their wake-ups preempt longer-sliced work; threads they start, and the caller's own
thread, keep the default. Real clients against the
local exchanges; the slice is read back from ``/proc`` (``se.slice``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import InvalidArgument, WebSocketClient
from ccxtpro_sync._sync import slice as sched_slice
from ccxtpro_sync._sync.placement import Timer, start_thread
from ccxtpro_sync.simulator import LocalDeribit, LocalExchange
from tests.forking import report_from_a_callback_fork

from .test_thread_placement import config


def slice_of(native_id: int | None) -> int | None:
    """A thread's slice in ns, from ``/proc`` (None where the kernel shows none)."""
    assert native_id is not None
    try:
        with open(f"/proc/self/task/{native_id}/sched") as sched:
            for line in sched:
                if line.startswith("se.slice"):
                    return int(line.split(":")[1])
    except OSError:
        return None
    return None


def _kernel_takes_a_slice() -> bool:
    """Whether this kernel keeps a fair thread's asked-for slice (6.12+)."""
    seen: list[int | None] = []

    def probe() -> None:
        sched_slice.set_slice(sched_slice.SHORT_SLICE_NS)
        seen.append(slice_of(threading.get_native_id()))

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(10)
    return seen == [sched_slice.SHORT_SLICE_NS]


pytestmark = pytest.mark.skipif(
    not _kernel_takes_a_slice(), reason="this kernel does not keep a thread's own slice"
)

SHORT = sched_slice.SHORT_SLICE_NS  # the dispatcher's
READER = sched_slice.READER_SLICE_NS


class Calls:
    """The slice of the thread each callback ran on, read in the callback."""

    def __init__(self) -> None:
        self.seen: list[int | None] = []
        self._cond = threading.Condition()

    def __call__(self, _value: Any) -> None:
        with self._cond:
            self.seen.append(slice_of(threading.get_native_id()))
            self._cond.notify_all()

    def wait_more(self, count: int = 3) -> list[int | None]:
        with self._cond:
            start = len(self.seen)
            assert self._cond.wait_for(lambda: len(self.seen) >= start + count, 10)
            return self.seen[start:]


def reader(prefix: str) -> threading.Thread:
    [thread] = [t for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]
    return thread


def test_readers_and_the_dispatcher_take_the_short_slice(exchange: LocalExchange) -> None:
    own = slice_of(threading.get_native_id())
    calls = Calls()
    with ccxtpro_sync.binance(config(exchange)) as client:
        client.on_trades("BTC/USDT", calls)
        assert set(calls.wait_more()) == {SHORT}  # the dispatcher
        assert slice_of(reader("ccxtpro_sync-reader-binance-spot-stream").native_id) == READER
        assert client.hub.dispatcher.thread is not None
        assert slice_of(client.hub.dispatcher.thread.native_id) == SHORT
    assert slice_of(threading.get_native_id()) == own  # the caller's thread is left alone
    assert own not in (SHORT, READER)


def test_a_reconnected_reader_keeps_it(exchange: LocalExchange) -> None:
    calls = Calls()
    with ccxtpro_sync.binance(config(exchange)) as client:
        client.on_trades("BTC/USDT", calls)
        calls.wait_more()
        assert exchange.faults.drop() >= 1
        calls.wait_more(6)  # flowing again after the reconnect
        assert slice_of(reader("ccxtpro_sync-reader-binance-spot-stream").native_id) == READER


def test_deribit_and_the_plain_websocket_client_take_it() -> None:
    exchange = LocalDeribit(seed=9, tick_interval=0.05).start()
    try:
        calls = Calls()
        with ccxtpro_sync.deribit({"environment": "local", "local": exchange}) as client:
            client.on_ticker("BTC/USD:BTC", calls)
            assert set(calls.wait_more()) == {SHORT}
            assert slice_of(reader("ccxtpro_sync-reader-deribit").native_id) == READER
        plain = Calls()
        with WebSocketClient(exchange.url, heartbeat="disabled", timeout=10, buffer=0) as ws:
            ws.on_message(plain)
            channels = {"channels": ["ticker.BTC-PERPETUAL.100ms"]}
            subscribe = {"jsonrpc": "2.0", "method": "public/subscribe", "params": channels}
            assert ws.request(subscribe) == channels["channels"]
            assert ws.connection.thread is not None
            assert slice_of(ws.connection.thread.native_id) == READER
            assert set(plain.wait_more()) == {SHORT}
    finally:
        exchange.close()


def test_threads_a_shortened_thread_starts_get_the_default() -> None:
    """Linux copies the slice to a new thread: the snapshot fetcher, the backfill, a
    REST timeout timer... started by a reader or a callback must not keep it."""
    seen: dict[str, int | None] = {}
    done = threading.Event()

    def child(name: str) -> None:
        seen[name] = slice_of(threading.get_native_id())

    def path_thread() -> None:
        assert sched_slice.shorten()
        seen["path"] = slice_of(threading.get_native_id())
        start_thread(child, "ccxtpro_sync-test-child", args=("child",)).join(10)
        timer = Timer(0.0, child, ("timer",))
        timer.start()
        timer.join(10)
        done.set()

    before = slice_of(threading.get_native_id())
    start_thread(path_thread, "ccxtpro_sync-test-path").join(10)
    assert done.is_set()
    assert seen == {"path": SHORT, "child": before, "timer": before}


def test_the_option_off_keeps_the_default(exchange: LocalExchange) -> None:
    default = slice_of(threading.get_native_id())
    calls = Calls()
    with ccxtpro_sync.binance(config(exchange, threadSlice=False)) as client:
        client.on_trades("BTC/USDT", calls)
        assert set(calls.wait_more()) == {default}
        assert slice_of(reader("ccxtpro_sync-reader-binance-spot-stream").native_id) == default


@pytest.mark.parametrize("value", [None, 0, 1, "true", [True]])
def test_bad_values_fail_typed_at_construction(exchange: LocalExchange, value: Any) -> None:
    with pytest.raises(InvalidArgument, match=r"threadSlice must be True or False"):
        ccxtpro_sync.binance(config(exchange, threadSlice=value))
    with pytest.raises(InvalidArgument, match=r"threadSlice must be True or False"):
        ccxtpro_sync.deribit({"environment": "local", "urls": {"ws": "ws://x", "rest": "http://x"},
                              "threadSlice": value})  # fmt: skip
    with pytest.raises(InvalidArgument, match=r"thread_slice must be True or False"):
        WebSocketClient("ws://127.0.0.1:9", thread_slice=value)


def test_a_fork_from_a_callback_gets_the_default(exchange: LocalExchange) -> None:
    """A callback (on the dispatcher, short slice) that forks: the child's slice is
    the kernel's default, as the caller's is."""
    default = slice_of(threading.get_native_id())
    # the child reports its slice
    report = report_from_a_callback_fork(
        config(exchange), lambda: str(slice_of(threading.get_native_id()))
    )
    assert report == str(default)


def test_a_thread_with_reset_on_fork_keeps_it() -> None:
    """An application that set ``SCHED_FLAG_RESET_ON_FORK`` keeps it (clearing it
    would need privilege, so the request would fail)."""
    import ctypes

    seen: list[object] = []

    def probe() -> None:
        assert sched_slice._CALL is not None
        call, set_, get = sched_slice._CALL
        attr = sched_slice._Attr()
        assert call(get, 0, ctypes.byref(attr), ctypes.sizeof(attr), 0) == 0
        attr.size, attr.flags = ctypes.sizeof(attr), sched_slice._RESET_ON_FORK
        assert call(set_, 0, ctypes.byref(attr), 0) == 0
        seen.append(sched_slice.set_slice(SHORT))
        seen.append(slice_of(threading.get_native_id()))
        assert call(get, 0, ctypes.byref(attr), ctypes.sizeof(attr), 0) == 0
        seen.append(attr.flags & sched_slice._RESET_ON_FORK)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(10)
    assert seen == [True, SHORT, sched_slice._RESET_ON_FORK]
