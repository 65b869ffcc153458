"""Per-stage timestamps of ``ours`` in the latency benchmark (``--trace``).

Where the time between the server's send and the callback goes, per message:

* ``wire``: send → the reader has the frame (``recv`` returned, the GIL taken back, the
  frame cut; the clock the reader hands the protocol). The bare loop has only this.
* ``parse``: → the hub has the update (``Hub.deliver_many`` entered: decode, parse, cache).
* ``queue``: → the doorbell is rung (the dispatcher's lock, the pending store), or, when
  the dispatcher was not parked, → ``put_many`` returned without a ring.
* ``ring``: → the reader runs again after the ring (the ``eventfd`` write, then the GIL
  back: long when the woken dispatcher took it first). Not on the message's own path
  to the callback, but on the next message's.
* ``wake``: ring → the dispatcher returns from its park (the scheduler's wake-up,
  then the GIL).
* ``run``: → the callback (take the update, look up the callbacks). For a message the
  dispatcher found queued without parking (``busy``), ``run`` is queue → callback.

The stamps go into arrays made before the measured window, indexed by the trade's
aggregate id (consecutive): no table grows while the stream runs, and none is a
container the garbage collector walks.

Each message also notes the CPU the reader parsed it on and the CPU its callback ran
on (``sched_getcpu``): the figures are split by "same CPU" and "other CPU" hand-overs,
and per thread (reader, dispatcher) the voluntary and involuntary context switches
per message over the measured window are read from ``/proc``.

Benchmark code only: it wraps the connection's ``_receive_run``, the hub's ``deliver_many``
and the dispatcher's doorbell of one client through their attributes (nothing in the
library changes), which adds a few µs of Python per stage; compare traced runs with
traced runs. Times are µs of ``CLOCK_MONOTONIC`` (the send stamp's clock).
"""

from __future__ import annotations

import ctypes
import threading
import time
from array import array
from collections.abc import Iterable
from typing import Any

from _common import percentile, sent_us

#: Stages in path order, then the message's total (send → callback).
STAGES = ("wire", "parse", "queue", "ring", "wake", "run", "total")
#: Stages on the path to the callback, whose sum is ``total`` (``ring`` is not).
ON_PATH = ("wire", "parse", "queue", "wake", "run")


try:
    _getcpu = ctypes.CDLL(None, use_errno=True).sched_getcpu
    _getcpu.restype = ctypes.c_int
    _getcpu.argtypes = []
except (OSError, AttributeError):  # not glibc/Linux: every CPU reads as -1
    _getcpu = None


def _cpu() -> int:
    return int(_getcpu()) if _getcpu is not None else -1


def _switches(native_id: int) -> tuple[int, int]:
    """(voluntary, involuntary) context switches of one thread of this process."""
    voluntary = involuntary = 0
    try:
        with open(f"/proc/self/task/{native_id}/status") as status:
            for line in status:
                if line.startswith("voluntary_ctxt_switches"):
                    voluntary = int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches"):
                    involuntary = int(line.split()[1])
    except OSError:
        pass
    return voluntary, involuntary


def _slice_ns(native_id: int) -> int:
    """A thread's scheduler slice, ns (``se.slice`` in ``/proc``; 0 where not shown)."""
    try:
        with open(f"/proc/self/task/{native_id}/sched") as sched:
            for line in sched:
                if line.startswith("se.slice"):
                    return int(line.split(":")[1])
    except (OSError, ValueError):
        pass
    return 0


def _now_us() -> int:
    return time.monotonic_ns() // 1000


def _frame_id(frame: bytes) -> int:
    """The aggregate id ``a`` of a combined aggTrade frame (consecutive per stream)."""
    start = frame.index(b'"a":') + 4
    return int(frame[start : frame.index(b",", start)])


#: Per-message tables, by aggregate id modulo the capacity (0: not seen).
_TABLES = (
    "sent",
    "frame",
    "hub",
    "rung",
    "back",
    "awake",
    "done",
    "reader_cpu",
    "callback_cpu",
    "server_cpu",
)


class StageTrace:
    """Timestamps per message at each hand-over, in arrays made before the measured
    window and indexed by the trade's aggregate id: a dict keyed per message would
    resize while the stream runs, and a list of that size costs the young garbage
    collection that walks it milliseconds: pauses of the trace's own."""

    def __init__(self, capacity: int) -> None:
        #: At least the messages of one window (ids are taken modulo it).
        self.capacity = capacity
        self.sent: array[int] = array("q")  # the send stamp (``f``)
        self.frame: array[int] = array("q")  # reader has the frame
        self.hub: array[int] = array("q")  # Hub.deliver_many entered
        self.rung: array[int] = array("q")  # doorbell rung for it (0: not parked)
        self.back: array[int] = array("q")  # the reader runs again after queueing it
        self.awake: array[int] = array("q")  # the dispatcher woke for it
        self.done: array[int] = array("q")  # its callback
        self.reader_cpu: array[int] = array("q")  # the CPU the reader parsed it on, + 1
        self.callback_cpu: array[int] = array("q")  # the CPU its callback ran on, + 1
        self.server_cpu: array[int] = array("q")  # the CPU the server wrote it from, + 1
        self.clear()
        self._ring_at = 0
        self._awake_at = 0
        #: Thread ids (native) of the reader and the dispatcher, seen by the hooks.
        self.threads: dict[str, int] = {}
        self._switches_at: dict[str, tuple[int, int]] = {}
        self.switches: dict[str, tuple[int, int]] = {}
        #: Each thread's scheduler slice (ns) at the end of the window.
        self.slices: dict[str, int] = {}

    def clear(self) -> None:
        """Forget every message (call before the measured window, not in it)."""
        for name in _TABLES:  # arrays: no container for the garbage collector to walk
            setattr(self, name, array("q", bytes(8 * self.capacity)))

    def note_server(self, stats: dict[str, Any]) -> None:
        """Take the server's CPU per frame from a paced run's result (``cpus=True``)."""
        first, capacity, table = stats.get("first", 0), self.capacity, self.server_cpu
        for k, cpu in enumerate(stats.get("cpus", ())):
            table[(first + k) % capacity] = cpu + 1

    def _seen(self) -> list[int]:
        """Slots of the messages whose callback ran and whose every stamp is there."""
        frame, hub, back = self.frame, self.hub, self.back
        return [i for i, done in enumerate(self.done) if done and frame[i] and hub[i] and back[i]]

    def open(self) -> None:
        """Start counting the threads' context switches (the measured window)."""
        self._switches_at = {name: _switches(tid) for name, tid in self.threads.items()}

    def close(self) -> None:
        self.slices = {name: _slice_ns(tid) for name, tid in self.threads.items()}
        self.switches = {
            name: (now[0] - self._switches_at[name][0], now[1] - self._switches_at[name][1])
            for name, tid in self.threads.items()
            if name in self._switches_at
            for now in (_switches(tid),)
        }

    # -- hooks ---------------------------------------------------------------------
    def install_dispatcher(self, dispatcher_module: Any) -> None:
        """Make the dispatcher's doorbell (created with its thread) a traced one:
        call before the first update is queued."""
        base = dispatcher_module.Doorbell
        trace = self

        class TracedDoorbell(base):  # type: ignore[misc,valid-type]
            def __init__(self, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                ring, wait = self.ring, self.wait

                def traced_ring() -> object:
                    trace._ring_at = _now_us()
                    return ring()

                def traced_wait() -> object:
                    result = wait()
                    trace._awake_at = _now_us()
                    return result

                self.ring, self.wait = traced_ring, traced_wait

        dispatcher_module.Doorbell = TracedDoorbell

    def install_hub(self, hub: Any) -> None:
        """Wrap ``hub.deliver_many``: call before the reader starts (it binds it once)."""
        deliver_many = hub.deliver_many
        trace = self

        def traced(deliveries: Iterable[Any], *args: Any, **kwargs: Any) -> float:
            deliveries = list(deliveries)
            entered = _now_us()
            capacity = trace.capacity
            slots = [int(t.id) % capacity for d in deliveries for t in d.value]
            hub = trace.hub
            for slot in slots:
                hub[slot] = entered
            trace._ring_at = 0
            waited: float = deliver_many(deliveries, *args, **kwargs)
            back_at = _now_us()
            rung_at = trace._ring_at
            back, rung = trace.back, trace.rung
            for slot in slots:
                back[slot] = back_at
                rung[slot] = rung_at
            return waited

        hub.deliver_many = traced

    def _frame(self, data: bytes, now: float) -> None:
        """Stamp one data frame: the reader has it (``now``, the reader's clock)."""
        if b'"a":' in data:
            slot = _frame_id(data) % self.capacity
            self.frame[slot] = int(now * 1e6)
            self.reader_cpu[slot] = _cpu() + 1
            if "reader" not in self.threads:
                self.threads["reader"] = threading.get_native_id()

    def install_connection(self, connection: Any) -> None:
        """Wrap the connection's ``_receive_run`` (looked up on the connection for every
        run of frames, so wrapping it after the reader started works; the protocol's
        own ``receive_run``, when it has one, is bound by the read loop once)."""
        receive_run = connection._receive_run
        trace = self

        def traced(messages: list[tuple[int, bytes]], index: int, now: float, *args: Any) -> Any:
            for opcode, data in messages[index:]:
                if opcode > 2:  # a control frame ends the run
                    break
                trace._frame(data, now)
            return receive_run(messages, index, now, *args)

        connection._receive_run = traced

    def callback(self, trades: list[Any], now: int) -> None:
        """Call first thing in the callback, with its clock."""
        woke = self._awake_at
        self._awake_at = 0  # only the first update taken after a wake-up woke for it
        cpu = _cpu() + 1
        if "dispatcher" not in self.threads:
            self.threads["dispatcher"] = threading.get_native_id()
        capacity = self.capacity
        sent, done, cpus, awake = self.sent, self.done, self.callback_cpu, self.awake
        for trade in trades:
            slot = int(trade.id) % capacity
            sent[slot] = sent_us(trade)
            done[slot] = now
            cpus[slot] = cpu
            awake[slot] = woke

    # -- figures ---------------------------------------------------------------------
    def _split(self, slot: int) -> dict[str, int]:
        """One message's µs per stage (``wake`` and ``ring`` only when it was rung for)."""
        sent, frame, hub = self.sent[slot], self.frame[slot], self.hub[slot]
        back, done = self.back[slot], self.done[slot]
        out = {"wire": frame - sent, "parse": hub - frame, "total": done - sent}
        rung, awake = self.rung[slot], self.awake[slot]
        if rung and awake:
            out |= {"queue": rung - hub, "ring": back - rung, "wake": awake - rung}
            out["run"] = done - awake
        else:
            out |= {"queue": back - hub, "run": done - back}
        return out

    def stages(self) -> dict[str, list[int]]:
        """Per stage, the µs of every message that has it."""
        out: dict[str, list[int]] = {name: [] for name in STAGES}
        for slot in self._seen():
            for name, value in self._split(slot).items():
                out[name].append(value)
        return out

    def summary(self, tail_q: float = 99.0) -> dict[str, Any]:
        """p50/p99 per stage, the share of messages whose dispatcher was parked, and
        where the slowest ``100 - tail_q`` % of messages spent their time (mean µs per
        stage over those messages)."""
        per = self.stages()
        out: dict[str, Any] = {}
        for name, values in per.items():
            ordered = sorted(values)
            out[name] = {
                "p50": float(percentile(ordered, 50)),
                "p99": float(percentile(ordered, 99)),
                "n": len(values),
            }
        totals = sorted(per["total"])
        out["parked"] = len(per["wake"]) / max(1, len(totals))
        # Send -> callback split by where the hand-over went: the callback on the CPU
        # the reader parsed the message on, or on the other one.
        same: list[int] = []
        other: list[int] = []
        for slot in self._seen():
            reader, dispatcher = self.reader_cpu[slot], self.callback_cpu[slot]
            if reader > 0 and dispatcher > 0:
                (same if reader == dispatcher else other).append(self.done[slot] - self.sent[slot])
        for name, values in (("same_cpu", same), ("other_cpu", other)):
            ordered = sorted(values)
            out[name] = {
                "share": len(values) / max(1, len(same) + len(other)),
                "p50": float(percentile(ordered, 50)),
                "p99": float(percentile(ordered, 99)),
            }
        # ... and by whether the local server wrote the frame from the CPU the reader
        # then parsed it on (three threads on one CPU: a benchmark's, not a user's, case).
        shared: list[int] = []
        apart: list[int] = []
        for slot in self._seen():
            reader, server = self.reader_cpu[slot], self.server_cpu[slot]
            if reader > 0 and server > 0:
                (shared if reader == server else apart).append(self.done[slot] - self.sent[slot])
        for name, values in (("server_shared", shared), ("server_apart", apart)):
            ordered = sorted(values)
            out[name] = {
                "share": len(values) / max(1, len(shared) + len(apart)),
                "p50": float(percentile(ordered, 50)),
                "p99": float(percentile(ordered, 99)),
            }
        count = max(1, len(totals))
        for name, (voluntary, involuntary) in self.switches.items():
            out[f"{name}_csw"] = voluntary / count
            out[f"{name}_preempted"] = involuntary / count
        for name, ns in self.slices.items():
            out[f"{name}_slice_us"] = ns / 1000
        out["tail"] = self._tail(percentile(totals, tail_q) if totals else 0)
        return out

    def _tail(self, threshold: float) -> dict[str, float]:
        """Mean µs per stage over the messages at or above ``threshold`` in total."""
        sums = dict.fromkeys(ON_PATH, 0.0)
        count = 0
        for slot in self._seen():
            split = self._split(slot)
            if split["total"] < threshold:
                continue
            count += 1
            for name in ON_PATH:
                sums[name] += split.get(name, 0)
        return {name: total / max(1, count) for name, total in sums.items()} | {
            "count": float(count)
        }
