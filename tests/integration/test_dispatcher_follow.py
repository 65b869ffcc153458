"""``threadAffinity="follow"`` (the default): a reader that rings the parked dispatcher
restricts it to the reader's CPU first; nothing else is placed. A dispatcher late to
wake there goes back home for a cool-down; a refused affinity turns following off;
threads and forks from a following dispatcher go home; close and fork leave nothing
that names a thread. Real clients against the local exchanges, real affinities read
back with ``sched_getaffinity``; the reader's CPU is made certain by restricting the
reader thread from the test (the scheduler would otherwise choose it)."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import InvalidArgument, WebSocketClient
from ccxtpro_sync._core.events import Delivery
from ccxtpro_sync._sync import follow
from ccxtpro_sync._sync.follow import Follower
from ccxtpro_sync._sync.hub import Hub
from ccxtpro_sync._sync.placement import start_thread
from ccxtpro_sync.simulator import LocalDeribit, LocalExchange
from tests.unit.support import printed_in_child

from .test_thread_placement import config

pytestmark = pytest.mark.skipif(
    not follow.AVAILABLE or len(os.sched_getaffinity(0)) < 2,
    reason="needs sched_setaffinity, sched_getcpu and at least two CPUs",
)

WAIT = 20.0


def allowed() -> frozenset[int]:
    return frozenset(os.sched_getaffinity(0))


def affinity(native_id: int | None) -> frozenset[int]:
    assert native_id is not None
    return frozenset(os.sched_getaffinity(native_id))


@pytest.fixture(autouse=True)
def _same_affinity_after() -> Iterator[None]:
    """The test thread's own placement is never changed, by the library or the test."""
    before = allowed()
    yield
    assert allowed() == before


@pytest.fixture
def on_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wake-up counts as late only after a second: on a loaded machine (the suite's
    parallel workers) the real 2 ms can pass on every ring, and each late wake-up
    rightly sends the dispatcher home for a doubling cool-down, longer than ``WAIT``.
    For the tests of following itself; lateness has its own (fake clock, busy CPU)."""
    monkeypatch.setattr(follow, "LATE", 1.0)


class Seen:
    """The affinity of the thread each callback ran on, read in the callback; waits for
    a callback whose affinity passes a test."""

    def __init__(self, also: Callable[[frozenset[int]], None] | None = None) -> None:
        self.seen: list[frozenset[int]] = []
        self._cond = threading.Condition()
        self._also = also

    def __call__(self, _value: Any) -> None:
        mask = frozenset(os.sched_getaffinity(0))
        if self._also is not None:
            self._also(mask)
        with self._cond:
            self.seen.append(mask)
            self._cond.notify_all()

    def wait_for(self, wanted: Callable[[frozenset[int]], bool]) -> bool:
        with self._cond:
            start = len(self.seen)
            return self._cond.wait_for(lambda: any(map(wanted, self.seen[start:])), WAIT)


def the_reader(prefix: str) -> threading.Thread:
    [thread] = [t for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]
    return thread


def put_reader_on(reader: threading.Thread, cpu: int) -> None:
    """What the scheduler might do: keep the reader on ``cpu`` (the test's choice)."""
    assert reader.native_id is not None
    os.sched_setaffinity(reader.native_id, {cpu})


def test_the_dispatcher_follows_the_reader_from_cpu_to_cpu(
    exchange: LocalExchange, on_time: None
) -> None:
    first, second = sorted(allowed())[:2]
    seen = Seen()
    with ccxtpro_sync.binance(config(exchange)) as client:  # the default
        dispatcher = client.hub.dispatcher
        assert dispatcher.follow_home == allowed()
        client.on_trades("BTC/USDT", seen)
        reader = the_reader("ccxtpro_sync-reader-binance-spot-stream")
        for cpu in (first, second, first):
            put_reader_on(reader, cpu)
            assert seen.wait_for(lambda mask, cpu=cpu: mask == {cpu}), f"never on CPU {cpu}"
        assert dispatcher.thread is not None
        assert affinity(dispatcher.thread.native_id) in ({first}, allowed())  # or cooling
        moves = client.connections()[0].follow_moves
        assert moves >= 3
        # Nothing else was placed: the client's creator, and the reader (the test's own
        # restriction aside), keep their CPUs.
        assert allowed() == dispatcher.follow_home
    assert dispatcher._follower is not None
    assert dispatcher._follower.tid is None  # closed: its thread id is forgotten
    assert dispatcher.thread is not None and not dispatcher.thread.is_alive()


def test_deribit_and_the_websocket_client_follow_by_default(on_time: None) -> None:
    cpu = max(allowed())
    exchange = LocalDeribit(seed=9, tick_interval=0.02).start()
    try:
        seen = Seen()
        with ccxtpro_sync.deribit({"environment": "local", "local": exchange}) as client:
            client.on_ticker("BTC/USD:BTC", seen)
            put_reader_on(the_reader("ccxtpro_sync-reader-deribit"), cpu)
            assert seen.wait_for(lambda mask: mask == {cpu})
        plain = Seen()
        with WebSocketClient(exchange.url, heartbeat="disabled", timeout=10, buffer=0) as ws:
            ws.on_message(plain)
            channels = {"channels": ["ticker.BTC-PERPETUAL.100ms"]}
            subscribe = {"jsonrpc": "2.0", "method": "public/subscribe", "params": channels}
            assert ws.request(subscribe) == channels["channels"]
            assert ws.connection.thread is not None
            put_reader_on(ws.connection.thread, cpu)
            assert plain.wait_for(lambda mask: mask == {cpu})
        unfollowed = Seen()
        with WebSocketClient(
            exchange.url, heartbeat="disabled", buffer=0, thread_affinity=None
        ) as ws:
            ws.on_message(unfollowed)
            assert ws.hub.dispatcher.follow_home is None
            ws.request(subscribe)
            assert unfollowed.wait_for(lambda mask: True)
            assert ws.hub.dispatcher._follower is None
            assert set(unfollowed.seen) == {allowed()}
    finally:
        exchange.close()


@pytest.mark.parametrize("value", ["Follow", "follow ", "follower", "", "auto", b"follow"])
def test_other_strings_fail_typed_at_construction(exchange: LocalExchange, value: Any) -> None:
    with pytest.raises(InvalidArgument, match=r"threadAffinity.*'follow'"):
        ccxtpro_sync.binance(config(exchange, threadAffinity=value))
    with pytest.raises(InvalidArgument, match=r"threadAffinity"):
        ccxtpro_sync.deribit({"environment": "local", "urls": {"ws": "ws://x", "rest": "http://x"},
                              "threadAffinity": value})  # fmt: skip


def test_who_follows() -> None:
    """``"follow"``: where it can; ``None`` or named CPUs: never."""
    assert follow.follow_home("follow") == allowed()
    assert follow.follow_home(None) is None
    assert follow.follow_home(0) is None
    assert follow.follow_home([0, 1]) is None


def test_one_cpu_to_run_on_is_nothing_to_follow() -> None:
    """A process (here: a thread) with one CPU has nowhere to move the dispatcher."""
    found: list[Any] = []

    def on_one_cpu() -> None:
        os.sched_setaffinity(0, {min(allowed())})
        found.append(follow.follow_home("follow"))

    thread = threading.Thread(target=on_one_cpu)
    thread.start()
    thread.join(WAIT)
    assert found == [None]


def test_a_refused_affinity_turns_following_off_once(
    exchange: LocalExchange, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The system refuses the move (a cpuset changed under the process; no cpuset can be
    changed here without owning the machine's cgroups, so the system call is made to
    fail): one warning, no error in the reader, callbacks go on, following is off."""
    refused: list[tuple[int, Any]] = []
    real = os.sched_setaffinity
    home = allowed()

    def refuse(tid: int, cpus: Any) -> None:
        refused.append((tid, cpus))
        if set(cpus) != home:  # going home is still allowed
            raise OSError(errno.EINVAL, "Invalid argument")
        real(tid, cpus)

    monkeypatch.setattr(follow, "set_affinity", refuse)
    cpu = max(allowed())
    seen = Seen()
    with caplog.at_level(logging.WARNING, logger="ccxtpro_sync"):
        with ccxtpro_sync.binance(config(exchange)) as client:
            client.on_trades("BTC/USDT", seen)
            put_reader_on(the_reader("ccxtpro_sync-reader-binance-spot-stream"), cpu)
            assert seen.wait_for(lambda mask: True)
            follower = client.hub.dispatcher._follower
            assert follower is not None
            assert seen.wait_for(lambda mask: follower.tid is None)  # the first move refused
            count = len(refused)
            assert seen.wait_for(lambda mask: True)  # callbacks go on ...
            assert len(refused) == count  # ... and nothing is tried again
            assert client.connections()[0].follow_moves == 0
            assert client.hub.dispatcher.thread is not None
            assert affinity(client.hub.dispatcher.thread.native_id) == allowed()
    warnings = [r for r in caplog.records if "no longer follows" in r.getMessage()]
    assert len(warnings) == 1
    tries = [cpus for _, cpus in refused if set(cpus) != home]
    assert tries == [(cpu,)]  # one try, refused ...
    assert set(refused[-1][1]) == home  # ... then back home


def test_threads_started_by_a_following_dispatcher_go_home(
    exchange: LocalExchange, on_time: None
) -> None:
    """A library thread started from a callback while the dispatcher is restricted to one
    CPU (a REST call's timer, another client's threads) runs on the client's creator's
    CPUs, as from a placed dispatcher."""
    cpu = max(allowed())
    started: dict[str, frozenset[int]] = {}
    done = threading.Event()

    def child() -> None:
        started["child"] = frozenset(os.sched_getaffinity(0))
        done.set()

    def start_one(mask: frozenset[int]) -> None:
        if mask == {cpu} and not started:
            started["dispatcher"] = mask
            start_thread(child, "ccxtpro_sync-test-child")

    with ccxtpro_sync.binance(config(exchange)) as client:
        client.on_trades("BTC/USDT", Seen(start_one))
        put_reader_on(the_reader("ccxtpro_sync-reader-binance-spot-stream"), cpu)
        assert done.wait(WAIT)
    assert started == {"dispatcher": {cpu}, "child": allowed()}


def test_a_fork_from_a_following_callback(exchange: LocalExchange, on_time: None) -> None:
    """A callback forks while the dispatcher is restricted: the child runs on the client's
    creator's CPUs, and no follower in it holds a thread id of the parent."""
    cpu = max(allowed())
    read, write = os.pipe()
    children: list[int] = []

    def fork_once(mask: frozenset[int]) -> None:
        if mask != {cpu} or children:
            return
        pid = os.fork()
        if pid == 0:  # the child: report and leave at once
            try:
                report = {
                    "cpus": sorted(os.sched_getaffinity(0)),
                    "tids": [f.tid for f in follow._followers],
                }
                os.write(write, json.dumps(report).encode())
            finally:
                os._exit(0)
        children.append(pid)

    try:
        with ccxtpro_sync.binance(config(exchange)) as client:
            client.on_trades("BTC/USDT", Seen(fork_once))
            put_reader_on(the_reader("ccxtpro_sync-reader-binance-spot-stream"), cpu)
            report = json.loads(os.read(read, 4096))  # blocks until the child wrote
            follower = client.hub.dispatcher._follower
            assert follower is not None and follower.tid is not None  # the parent's goes on
        os.waitpid(children[0], 0)
    finally:
        os.close(read)
        os.close(write)
    assert set(report["cpus"]) == allowed()
    assert report["tids"] and set(report["tids"]) == {None}


def test_a_dispatcher_behind_a_busy_cpu_goes_home_for_a_cool_down(
    exchange: LocalExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The followed CPU is taken by other work: a process spinning there, with the
    client's reader kept on that CPU and its reader and dispatcher at the lowest
    priority (nice 19: a share of about 1.5 % next to the spinning process), so the
    rung dispatcher waits there far longer than ``LATE``. It is put back on its home
    CPUs, counted, and stays there for the cool-down (made long here)."""
    late = follow.LATE
    monkeypatch.setattr(follow, "LATE", 1.0)  # as on_time, until it follows
    cpu = max(allowed())
    seen = Seen()
    hog: subprocess.Popen[bytes] | None = None
    with ccxtpro_sync.binance(config(exchange)) as client:
        client.on_trades("BTC/USDT", seen)
        reader = the_reader("ccxtpro_sync-reader-binance-spot-stream")
        put_reader_on(reader, cpu)
        assert seen.wait_for(lambda mask: mask == {cpu})  # following
        dispatcher = client.hub.dispatcher.thread
        assert dispatcher is not None and dispatcher.native_id and reader.native_id
        monkeypatch.setattr(follow, "COOL_DOWN", 600.0)  # once following: see it cool down
        monkeypatch.setattr(follow, "LATE", late)  # the real one from here (on_time)
        try:
            for tid in (reader.native_id, dispatcher.native_id):
                os.setpriority(os.PRIO_PROCESS, tid, 19)
            spin = f"import os; os.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"
            hog = subprocess.Popen([sys.executable, "-c", spin])
            assert seen.wait_for(lambda mask: mask == allowed()), "never sent home"
            assert client.connections()[0].follow_drops >= 1
            moves = client.connections()[0].follow_moves
            assert seen.wait_for(lambda mask: True)
            assert affinity(dispatcher.native_id) == allowed()  # cooling down: not moved
            assert client.connections()[0].follow_moves == moves
        finally:
            if hog is not None:
                hog.kill()
                hog.wait(WAIT)


# -- the follower on its own: real threads and affinities, a fake clock ----------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Parked:
    """A thread standing in for a parked dispatcher, and a follower for it."""

    def __init__(self) -> None:
        self._release = threading.Event()
        self._ready = threading.Event()
        self.tid: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(WAIT)
        assert self.tid is not None
        self.follower = Follower(self.tid, allowed(), "test")
        self.follower.parked = True

    def _run(self) -> None:
        self.tid = threading.get_native_id()
        self._ready.set()
        self._release.wait(WAIT)

    def cpus(self) -> frozenset[int]:
        return affinity(self.tid)

    def close(self) -> None:
        self._release.set()
        self._thread.join(WAIT)


@pytest.fixture
def parked() -> Iterator[Parked]:
    thread = Parked()
    yield thread
    thread.close()


def ring_from(cpu: int, follower: Follower) -> None:
    """``follower.ring()`` from a thread running on ``cpu`` (a reader there)."""

    def ring() -> None:
        os.sched_setaffinity(0, {cpu})
        follower.ring()

    thread = threading.Thread(target=ring)
    thread.start()
    thread.join(WAIT)


def test_a_ring_moves_only_a_parked_thread_and_only_on_a_change(
    parked: Parked, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fake clock: on a loaded machine the real one can pass LATE (2 ms) between the
    # ring and woken(), and a late wake-up rightly sends the thread home.
    monkeypatch.setattr(follow, "monotonic", Clock())
    first, second = sorted(allowed())[:2]
    follower = parked.follower
    ring_from(first, follower)
    assert parked.cpus() == {first} and follower.moves == 1 and follower.rung_at
    follower.woken()  # awake at once: not late
    follower.parked = True
    ring_from(first, follower)
    assert follower.moves == 1  # the same CPU: no system call
    follower.parked = False
    ring_from(second, follower)
    assert parked.cpus() == {first} and follower.moves == 1  # running: not moved
    follower.parked = True
    ring_from(second, follower)
    assert parked.cpus() == {second} and follower.moves == 2
    assert follower.drops == 0


def test_late_wake_ups_go_home_with_a_doubling_cool_down(
    parked: Parked, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(follow, "monotonic", clock)
    cpu = max(allowed())
    follower = parked.follower
    ring_from(cpu, follower)
    assert parked.cpus() == {cpu}
    clock.now += follow.LATE * 2
    follower.woken()  # woke late: home, and a cool-down of COOL_DOWN
    assert parked.cpus() == allowed() and follower.drops == 1 and follower.cpu == -1
    follower.parked = True
    clock.now += follow.COOL_DOWN / 2
    ring_from(cpu, follower)
    assert parked.cpus() == allowed() and follower.moves == 1  # cooling down
    clock.now += follow.COOL_DOWN
    ring_from(cpu, follower)
    assert parked.cpus() == {cpu} and follower.moves == 2  # following again
    # Late again soon after resuming: the cool-down doubles ...
    clock.now += follow.LATE * 2
    follower.woken()
    assert follower.drops == 2 and parked.cpus() == allowed()
    follower.parked = True
    clock.now += follow.COOL_DOWN * 1.5
    ring_from(cpu, follower)
    assert follower.moves == 2  # still cooling: twice COOL_DOWN
    clock.now += follow.COOL_DOWN
    ring_from(cpu, follower)
    assert follower.moves == 3
    # ... and is back to COOL_DOWN after a long clean stint.
    clock.now += follow.RETRY_WINDOW * 2
    follower.overdue()  # a reader's view: rung long ago and still not awake ...
    assert follower.drops == 3 and parked.cpus() == allowed() - {cpu}  # ... sent off it
    follower.woken()
    assert parked.cpus() == allowed()  # home once awake
    follower.parked = True
    clock.now += follow.COOL_DOWN * 1.01
    ring_from(cpu, follower)
    assert follower.moves == 4


def test_an_answered_ring_is_never_overdue(parked: Parked, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(follow, "monotonic", clock)
    follower = parked.follower
    ring_from(max(allowed()), follower)
    follower.woken()
    clock.now += 60
    follower.overdue()
    assert follower.drops == 0 and parked.cpus() == {max(allowed())}


def test_a_slow_callback_is_not_a_late_wake_up(
    parked: Parked, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rung while still running its last callback (not parked), the thread has no
    wake-up to wait for: however long the callback takes, it is not sent home."""
    clock = Clock()
    monkeypatch.setattr(follow, "monotonic", clock)
    follower = parked.follower
    ring_from(max(allowed()), follower)  # parked: moved
    follower.woken()
    ring_from(min(allowed()), follower)  # running its callback: left alone, not timed
    assert follower.rung_at == 0.0
    clock.now += 60
    follower.overdue()
    follower.woken()
    assert follower.drops == 0 and parked.cpus() == {max(allowed())}


def test_an_ended_follower_never_touches_its_thread_id(parked: Parked) -> None:
    follower = parked.follower
    follower.end()
    ring_from(max(allowed()), follower)
    assert parked.cpus() == allowed() and follower.moves == 0


def test_a_hub_on_its_own_follows_its_producer(on_time: None) -> None:
    """The dispatcher's own wiring, without a client: the thread makes its follower, a
    producer on one CPU has it run the callbacks there, close() ends it."""
    cpu = max(allowed())
    hub = Hub(name="ccxtpro_sync-test")
    hub.dispatcher.follow_home = allowed()
    handled = threading.Semaphore(0)
    seen = Seen(lambda _mask: handled.release())
    hub.add_callback("x", seen)
    on_cpu: list[bool] = []
    hub.deliver(Delivery("x", -1))  # started here: it inherits this thread's CPUs
    assert handled.acquire(timeout=WAIT)

    def produce() -> None:
        os.sched_setaffinity(0, {cpu})
        for n in range(1_000):  # one at a time: each finds the dispatcher parked, or nearly
            hub.deliver(Delivery("x", n))
            assert handled.acquire(timeout=WAIT)
            if seen.seen[-1] == {cpu}:
                on_cpu.append(True)
                return

    thread = threading.Thread(target=produce)
    thread.start()
    thread.join(WAIT * 2)
    dispatcher = hub.dispatcher
    try:
        assert on_cpu == [True]
        follower = dispatcher._follower
        assert dispatcher.thread is not None and follower is not None
        assert follower.tid == dispatcher.thread.native_id and follower.moves >= 1
    finally:
        hub.close()
    assert follower.tid is None and not dispatcher.thread.is_alive()


def test_the_pure_python_path_asks_glibc() -> None:
    """Without the compiled module the CPU comes from glibc's ``sched_getcpu`` (ctypes)."""
    code = (
        "import os; from ccxtpro_sync._sync import follow; "
        "print(follow.AVAILABLE, type(follow.current_cpu).__module__, "
        "follow.current_cpu() in os.sched_getaffinity(0))"
    )
    assert printed_in_child("1", code) == "True ctypes True"
    compiled = printed_in_child(None, code)
    assert compiled.startswith("True ") and compiled.endswith(" True")


class LockProbe(logging.Handler):
    """A logging handler (user code) that needs the dispatcher's lock, as one that
    publishes through the library might: records whether it could take it."""

    def __init__(self, lock: Any) -> None:
        super().__init__(logging.DEBUG)
        self.dispatcher_lock = lock
        self.free: list[bool] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "not awake" not in record.getMessage():
            return
        took = self.dispatcher_lock.acquire(timeout=0.5)
        if took:
            self.dispatcher_lock.release()
        self.free.append(took)


def test_a_reader_finding_the_dispatcher_overdue_logs_with_no_lock_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rule 1: a reader that sends a rung, not yet awake dispatcher home (``overdue``,
    under the dispatcher's lock) logged that under the lock: a handler needing it
    deadlocks the reader. The dispatcher is held in a callback and its ring left
    unanswered on a fake clock, so the next delivery finds it overdue."""
    clock = Clock()
    monkeypatch.setattr(follow, "monotonic", clock)
    hub = Hub(name="ccxtpro_sync-test")
    hub.dispatcher.follow_home = allowed()
    inside, release = threading.Event(), threading.Event()

    def hold(_value: Any) -> None:
        inside.set()
        release.wait(WAIT)

    hub.add_callback("x", hold)
    probe = LockProbe(hub.dispatcher._lock)
    logger = logging.getLogger("ccxtpro_sync")
    logger.addHandler(probe)
    level = logger.level
    logger.setLevel(logging.DEBUG)  # (setLevel: the logger's cached levels are dropped)
    try:
        hub.deliver(Delivery("x", 1))
        assert inside.wait(WAIT)
        follower = hub.dispatcher._follower
        assert follower is not None
        follower.cpu, follower.rung_at = max(allowed()), clock.now  # a ring not answered
        clock.now += follow.LATE * 10
        hub.deliver(Delivery("x", 2), wake=False)  # a reader's burst: no ring, a look
        assert follower.drops == 1 and probe.free == [True]
    finally:
        logger.removeHandler(probe)
        logger.setLevel(level)
        release.set()
        hub.close()
