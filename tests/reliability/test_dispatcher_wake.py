"""The dispatcher's park and wake-up: no update is left queued while it sleeps.

At a steady rate every frame is its own burst, so the dispatcher parks after nearly
every update and a reader wakes it for the next. These tests drive that hand-over
from real threads, in the orders that could lose a wake-up: a put while the last
update's callback runs, a deferred put woken later, several readers at once, a
callback that delivers, and ``close()`` while parked. The doorbell the dispatcher
parks on (a pipe; an eventfd on request) is tested both ways, and its descriptors
must be gone once the dispatcher has ended.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ccxtpro_sync._core.events import Delivery, Policy
from ccxtpro_sync._core.router import Router
from ccxtpro_sync._sync.dispatcher import Dispatcher
from ccxtpro_sync._sync.doorbell import Doorbell

from .support import wait_for

#: Updates handed over one at a time, each waiting for its callback: a wake-up lost
#: once in a thousand hand-overs would show.
LOCKSTEP = 2_000
TIMEOUT = 10.0


def make(callbacks: dict[str, Callable[[Any], object]]) -> Dispatcher:
    router: Router[object] = Router()
    for message_hash, callback in callbacks.items():
        router.add_callback(message_hash, callback)
    return Dispatcher(router.callbacks, name="ccxtpro_sync-test-dispatcher")


def trade(n: int, message_hash: str = "trades:BTC/USDT") -> Delivery:
    return Delivery(message_hash, [n], Policy.APPEND)


@pytest.mark.parametrize("deferred", [False, True], ids=["woken-by-put", "woken-by-wake"])
def test_a_steady_stream_handed_over_one_by_one_loses_no_wake_up(deferred: bool) -> None:
    seen: list[int] = []
    arrived = threading.Semaphore(0)

    def on_trades(batch: list[int]) -> None:
        seen.extend(batch)
        arrived.release()

    dispatcher = make({"trades:BTC/USDT": on_trades})
    try:
        for n in range(LOCKSTEP):
            dispatcher.put_many([trade(n)], wake=not deferred)
            if deferred:
                dispatcher.wake()
            assert arrived.acquire(timeout=TIMEOUT), f"update {n} was queued but never handed over"
        assert seen == list(range(LOCKSTEP))
    finally:
        dispatcher.close()
    assert dispatcher.thread is not None and not dispatcher.thread.is_alive()


@pytest.mark.parametrize("deferred", [False, True], ids=["woken-by-put", "woken-by-wake"])
def test_an_update_queued_while_the_last_callback_runs_is_handed_over(deferred: bool) -> None:
    # The dispatcher took the only queued update and runs its callback: it will park
    # next. An update queued now must wake it, whichever way the reader wakes it.
    running = threading.Event()
    release = threading.Event()
    seen: list[int] = []
    done = threading.Event()

    def on_trades(batch: list[int]) -> None:
        seen.extend(batch)
        if batch == [0]:
            running.set()
            release.wait(TIMEOUT)
        if len(seen) == 2:
            done.set()

    dispatcher = make({"trades:BTC/USDT": on_trades})
    try:
        dispatcher.put_many([trade(0)])
        assert running.wait(TIMEOUT)
        dispatcher.put_many([trade(1)], wake=not deferred)
        if deferred:
            dispatcher.wake()
        release.set()
        assert done.wait(TIMEOUT), f"the second update was never handed over: {seen}"
        assert seen == [0, 1]
    finally:
        dispatcher.close()


@pytest.fixture
def eager_switching() -> Iterator[None]:
    """Switch threads every few bytecodes, so the readers' and the dispatcher's
    steps interleave in many more orders than with the default 5 ms interval."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("eager_switching")
def test_readers_racing_to_wake_the_dispatcher_lose_nothing() -> None:
    readers, per_reader = 4, 2_000
    seen: dict[str, list[int]] = {f"trades:S{r}/USDT": [] for r in range(readers)}
    lock = threading.Lock()
    all_in = threading.Event()
    total = [0]

    def collect(message_hash: str) -> Callable[[list[int]], None]:
        def on_trades(batch: list[int]) -> None:
            seen[message_hash].extend(batch)  # one dispatcher thread: no race here
            with lock:
                total[0] += len(batch)
                if total[0] == readers * per_reader:
                    all_in.set()

        return on_trades

    dispatcher = make({h: collect(h) for h in seen})
    go = threading.Barrier(readers)

    def reader(message_hash: str) -> None:
        go.wait(TIMEOUT)
        for n in range(per_reader):
            deferred = n % 2 == 1  # both ways of waking, racing the other readers' wakes
            dispatcher.put_many([trade(n, message_hash)], wake=not deferred)
            if deferred:
                dispatcher.wake()

    threads = [
        threading.Thread(target=reader, args=(h,), name=f"test-reader-{r}")
        for r, h in enumerate(seen)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
        assert all_in.wait(TIMEOUT), f"{total[0]} of {readers * per_reader} handed over"
        # every reader's updates arrived, in its order
        assert all(batch == list(range(per_reader)) for batch in seen.values())
        assert dispatcher.stats()["queued"] == 0
    finally:
        dispatcher.close()


def test_a_callback_that_delivers_wakes_its_own_dispatcher() -> None:
    # The callback queues on the dispatcher it runs on, after the dispatcher decided
    # to park: the update must be handed over, and the dispatcher must not wait on itself.
    dispatcher: Dispatcher
    echoed = threading.Event()

    def on_trades(batch: list[int]) -> None:
        dispatcher.put_many([Delivery("echo:BTC/USDT", batch, Policy.APPEND)])

    def on_echo(batch: list[int]) -> None:
        if batch == [7]:
            echoed.set()

    dispatcher = make({"trades:BTC/USDT": on_trades, "echo:BTC/USDT": on_echo})
    try:
        dispatcher.put_many([trade(7)])
        assert echoed.wait(TIMEOUT)
    finally:
        dispatcher.close()


def test_close_wakes_a_parked_dispatcher_and_is_idempotent() -> None:
    arrived = threading.Event()
    dispatcher = make({"trades:BTC/USDT": lambda batch: arrived.set()})
    dispatcher.put_many([trade(0)])
    assert arrived.wait(TIMEOUT)
    thread = dispatcher.thread
    assert thread is not None
    dispatcher.close(timeout=TIMEOUT)  # parked (nothing queued): close must wake it
    assert not thread.is_alive()
    dispatcher.close(timeout=TIMEOUT)
    assert dispatcher.put_many([trade(1)]) == 0.0  # closed: nothing queued, nothing run
    assert dispatcher.stats()["queued"] == 0


def test_close_while_a_callback_runs_ends_the_dispatcher_after_it() -> None:
    running = threading.Event()
    release = threading.Event()
    calls: list[list[int]] = []

    def on_trades(batch: list[int]) -> None:
        calls.append(batch)
        running.set()
        release.wait(TIMEOUT)

    dispatcher = make({"trades:BTC/USDT": on_trades})
    dispatcher.put_many([trade(0)])
    assert running.wait(TIMEOUT)
    dispatcher.put_many([trade(1)])  # queued behind the running callback: discarded by close
    closer = threading.Thread(target=dispatcher.close, kwargs={"timeout": TIMEOUT})
    closer.start()
    # close() has discarded the queued update and now joins the dispatcher
    wait_for(lambda: dispatcher.stats()["queued"] == 0, TIMEOUT, "close to discard the queue")
    release.set()
    closer.join(TIMEOUT)
    thread = dispatcher.thread
    assert not closer.is_alive()
    assert thread is not None and not thread.is_alive()
    assert calls == [[0]]


def open_fds() -> set[str] | None:
    path = "/proc/self/fd"
    return set(os.listdir(path)) if os.path.isdir(path) else None


def test_the_dispatcher_releases_its_doorbell_when_it_ends() -> None:
    before = open_fds()
    arrived = threading.Event()
    dispatcher = make({"trades:BTC/USDT": lambda batch: arrived.set()})
    dispatcher.put_many([trade(0)])
    assert arrived.wait(TIMEOUT)
    dispatcher.close(timeout=TIMEOUT)
    if before is not None:
        assert open_fds() == before


def test_a_dispatcher_that_never_ran_holds_no_descriptor() -> None:
    before = open_fds()
    dispatcher = make({"trades:BTC/USDT": lambda batch: None})
    if before is not None:
        assert open_fds() == before
    dispatcher.close()


def test_a_running_dispatcher_parks_on_a_pipe() -> None:
    # A pipe's write wakes its reader with the kernel's hint that the waker is about to
    # sleep (an eventfd's write does not): on a busy machine the woken dispatcher is
    # queued on the reader's CPU, free as soon as the reader blocks in recv, instead of
    # behind other work on another CPU (docs/benchmarks.md, "Where the tail goes").
    arrived = threading.Event()
    dispatcher = make({"trades:BTC/USDT": lambda batch: arrived.set()})
    try:
        dispatcher.put_many([trade(0)])
        assert arrived.wait(TIMEOUT)
        bell = dispatcher._bell
        assert bell is not None
        assert bell._read != bell._write  # two ends: not one eventfd
        assert stat.S_ISFIFO(os.fstat(bell._read).st_mode)
        assert stat.S_ISFIFO(os.fstat(bell._write).st_mode)
    finally:
        dispatcher.close(timeout=TIMEOUT)


@pytest.mark.parametrize("eventfd", [True, False], ids=["eventfd", "pipe"])
def test_a_doorbell_wakes_its_waiter_once_per_ring_and_keeps_an_early_ring(eventfd: bool) -> None:
    if eventfd and not hasattr(os, "eventfd"):
        pytest.skip("no eventfd on this platform")
    bell = Doorbell(eventfd=eventfd)
    woke = threading.Semaphore(0)
    parked = threading.Event()

    def waiter() -> None:
        bell.wait()  # rung before this wait: returns at once
        woke.release()
        parked.set()
        bell.wait()  # blocks until the next ring
        woke.release()

    bell.ring()
    thread = threading.Thread(target=waiter, name="ccxtpro_sync-test-bell")
    thread.start()
    try:
        assert woke.acquire(timeout=TIMEOUT)
        assert parked.wait(TIMEOUT)
        assert not woke.acquire(timeout=0.05)  # parked: nothing rang
        bell.ring()
        assert woke.acquire(timeout=TIMEOUT)
    finally:
        bell.ring()  # never leave the waiter parked if an assertion failed
        thread.join(TIMEOUT)
        bell.close()
        bell.close()  # idempotent


FD_LIMIT_SCRIPT = """
import os, resource, sys, threading
from ccxtpro_sync._core.events import Delivery, Policy
from ccxtpro_sync._core.router import Router
from ccxtpro_sync._sync.dispatcher import Dispatcher

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, soft), hard))
hog = []
try:
    while True:
        hog.append(os.open(os.devnull, os.O_RDONLY))
except OSError:
    pass  # not one descriptor left, as at a busy process's limit
seen = []
arrived = threading.Semaphore(0)
router = Router()
router.add_callback("trades:X", lambda batch: (seen.extend(batch), arrived.release()))
dispatcher = Dispatcher(router.callbacks, name="ccxtpro_sync-test-dispatcher")
for n in range(50):  # handed over one by one: each a park and a wake-up
    dispatcher.put_many([Delivery("trades:X", [n], Policy.APPEND)])
    assert arrived.acquire(timeout=10), f"update {n} was never handed over"
dispatcher.close(timeout=10)
assert not dispatcher.thread.is_alive()
print("seen", len(seen), seen == list(range(50)))
"""


def test_a_dispatcher_started_with_no_descriptor_left_still_hands_over() -> None:
    # Without a descriptor for its doorbell, the dispatcher's start raised OSError into
    # the reader that delivered: a "socket error", a reconnect, and again, frame after
    # frame, while callbacks never ran. It must fall back to a bell without one.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", FD_LIMIT_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["seen", "50", "True"]


def test_close_while_a_reader_is_held_by_backpressure_ends_the_dispatcher() -> None:
    # A slow callback, a reader held by backpressure in the middle of its burst, and
    # close(): the reader's wait ends and the rest of its burst lands in the cleared
    # queue. The dispatcher must end after the callback now running -- not take those
    # updates, run them after close(), and park for good on a bell nobody rings.
    release = threading.Event()
    running = threading.Event()
    seen: list[list[int]] = []

    def on_trades(batch: list[int]) -> None:
        seen.append(batch)
        running.set()
        release.wait(TIMEOUT)

    router: Router[object] = Router()
    router.add_callback("trades:BTC/USDT", on_trades)
    dispatcher = Dispatcher(
        router.callbacks, name="ccxtpro_sync-test-dispatcher", max_items=2, max_lag=60.0
    )
    try:
        dispatcher.put_many([trade(0)])
        assert running.wait(TIMEOUT)  # the callback runs, and holds the dispatcher
        reader = threading.Thread(
            target=dispatcher.put_many,
            args=([trade(n) for n in range(1, 6)],),
            name="ccxtpro_sync-test-reader",
        )
        reader.start()
        wait_for(lambda: dispatcher.blocked, TIMEOUT, "the reader held by backpressure")
        closer = threading.Thread(
            target=dispatcher.close, kwargs={"timeout": TIMEOUT}, name="ccxtpro_sync-test-closer"
        )
        closer.start()
        reader.join(TIMEOUT)  # its wait ended with close(); the rest of its burst queued
        assert not reader.is_alive()
    finally:
        release.set()
    closer.join(TIMEOUT + 1)
    assert not closer.is_alive()
    assert dispatcher.thread is not None and not dispatcher.thread.is_alive()
    assert seen == [[0]]  # nothing ran after close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_runs_its_own_dispatcher_and_the_parents_keeps_working() -> None:
    # The parent's dispatcher is parked on its doorbell (a descriptor the child
    # inherits). The child's own dispatcher gets its own bell and hands over; the
    # parent's, after the child has come and gone, still wakes for every update.
    seen: list[int] = []
    arrived = threading.Semaphore(0)

    def on_trades(batch: list[int]) -> None:
        seen.extend(batch)
        arrived.release()

    parent = make({"trades:BTC/USDT": on_trades})
    try:
        parent.put_many([trade(0)])
        assert arrived.acquire(timeout=TIMEOUT)
        wait_for(lambda: parent._idle, TIMEOUT, "the parent's dispatcher parked")
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            status = 1
            try:
                got = threading.Semaphore(0)
                child = make({"trades:BTC/USDT": lambda batch: got.release()})
                for n in range(50):
                    child.put_many([trade(n)])
                    if not got.acquire(timeout=TIMEOUT):
                        break
                else:
                    child.close(timeout=TIMEOUT)
                    status = 0 if child.thread and not child.thread.is_alive() else 3
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        for n in range(1, 51):
            parent.put_many([trade(n)])
            assert arrived.acquire(timeout=TIMEOUT), f"update {n} was never handed over"
        assert seen == list(range(51))
    finally:
        parent.close(timeout=TIMEOUT)
    assert parent.thread is not None and not parent.thread.is_alive()
