"""The dispatcher follows the reader: the ``threadAffinity="follow"`` default.

At a steady stream every message is handed from a reader to the dispatcher. Woken on
the reader's CPU the dispatcher runs as soon as the reader blocks in ``recv``; woken on
another, idle, CPU (which the scheduler prefers on a quiet machine) the hand-over
costs that CPU's wake-up (on a virtual machine an interrupt through the hypervisor),
and the GIL then passes between two CPUs: a longer tail and about twice the CPU per
message (docs/benchmarks.md, "Latest figures: the dispatcher follows the reader").

So a reader that rings a parked dispatcher first restricts it to the CPU the reader
runs on, when that differs from the one it was restricted to last: at a steady rate
the reader stays put and this costs one ``sched_getcpu`` per ring, no system call.
Nothing else is placed: the readers stay free, so a reader the scheduler moves away
from a busy CPU takes the dispatcher with it at its next ring.

A restricted thread cannot leave its CPU when other work takes it. The reader stamps
each ring; a dispatcher that finds, once awake, that it waited longer than ``LATE``
for its CPU, or a reader that finds a rung dispatcher still not awake after that long,
puts it back on its home CPUs (the client's creator's; one still queued on the busy
CPU is first sent to the other home CPUs) and stops following for a cool-down,
doubled each time following fails again soon after resuming. A system that
refuses an affinity (a cpuset changed under the process) turns following off for
good, with one warning.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
import weakref
from collections.abc import Callable
from time import monotonic
from typing import Any

from .. import _compiled
from .placement import SUPPORTED, asks_to_follow, home_cpus

_log = logging.getLogger("ccxtpro_sync")

#: A rung dispatcher not awake after this long (s) is behind other work on its CPU.
LATE = 0.002
#: Following stays off this long (s) after a late wake-up ...
COOL_DOWN = 1.0
#: ... doubled, up to this, each time it fails again within ``RETRY_WINDOW`` of resuming.
MAX_COOL_DOWN = 64.0
RETRY_WINDOW = 10.0


def _cpu_function() -> Callable[[], int] | None:
    """``sched_getcpu``: the compiled one, else glibc's through ctypes, else None."""
    if not sys.platform.startswith("linux"):
        return None
    compiled = _compiled.load("_cpu", "cpu")
    if compiled is not None:
        function: Callable[[], int] = compiled.cpu
        return function
    try:
        call = ctypes.CDLL(None, use_errno=True).sched_getcpu
    except (OSError, AttributeError):
        return None
    call.restype = ctypes.c_int
    call.argtypes = []
    ctypes_function: Callable[[], int] = call
    return ctypes_function if ctypes_function() >= 0 else None


#: The CPU the calling thread runs on (None: this platform cannot say).
current_cpu = _cpu_function()

#: Following works here: threads can be placed and a thread can tell its CPU.
AVAILABLE = SUPPORTED and current_cpu is not None

#: Every live follower: a forked child must not touch its parent's threads.
_followers: weakref.WeakSet[Follower] = weakref.WeakSet()


def follow_home(value: Any) -> frozenset[int] | None:
    """For a validated ``threadAffinity`` value: the CPUs a following dispatcher goes
    back to (the client's creator's) when it asks to follow and this platform can;
    None otherwise (also with one CPU to run on: there is nothing to choose)."""
    if not asks_to_follow(value) or not AVAILABLE:
        return None
    home = home_cpus()
    return home if len(home) > 1 else None


class Follower:
    """Keeps one thread (a client's dispatcher) on the CPU of the reader that rings it.

    ``ring`` is called by a reader that has just turned the dispatcher's idle flag off
    (so at most once per park), before it rings; ``parked`` and ``woken`` by the
    dispatcher around its park; ``overdue`` by a reader, under the dispatcher's lock,
    while a ring is not answered. Moved only while parked: moving a running thread
    to another CPU costs a migration, and a running one needs no wake-up."""

    __slots__ = (
        "__weakref__",
        "_cool",
        "_exiled",
        "_name",
        "_resume_at",
        "_resumed",
        "cpu",
        "drops",
        "home",
        "moves",
        "parked",
        "rung_at",
        "tid",
    )

    def __init__(self, tid: int, home: frozenset[int], name: str) -> None:
        #: The thread's native id; None once following is off for good (or after a fork).
        self.tid: int | None = tid
        #: Where the thread goes back to when it stops following.
        self.home = home
        #: The CPU the thread is restricted to; -1: its home CPUs.
        self.cpu = -1
        #: Set by the thread just before it parks, cleared when it wakes.
        self.parked = False
        #: ``monotonic()`` of the last ring of a parked restricted thread not yet awake,
        #: else 0.
        self.rung_at = 0.0
        #: Following is off until this ``monotonic()`` (a cool-down), 0 while on.
        self._resume_at = 0.0
        self._resumed = 0.0
        self._cool = COOL_DOWN
        #: Sent off its followed CPU by a reader (``overdue``): home again once awake.
        self._exiled = False
        self._name = name
        #: Times the thread was moved to a reader's CPU, and put back home for being late.
        self.moves = 0
        self.drops = 0
        _followers.add(self)

    def start(self) -> None:
        """On the thread, as it starts: from its home CPUs, whatever the thread that
        started it had (a reader the application restricted, say)."""
        self._set(self.home)

    def ring(self) -> None:
        """A reader is about to ring the parked thread: restrict it to this CPU."""
        if self.tid is None:
            return
        if self._resume_at:
            if monotonic() < self._resume_at:
                return
            self._resume_at = 0.0
            self._resumed = monotonic()
        if not self.parked:  # still running its last callback: no wake-up to place
            return
        cpu = current_cpu()  # type: ignore[misc]  # not None: AVAILABLE
        if cpu != self.cpu and cpu in self.home:
            self._move(cpu)
        if self.cpu >= 0:  # how long it takes to wake there (a slow callback is not that)
            self.rung_at = monotonic()

    def woken(self) -> None:
        """The thread is back from its park (called on it)."""
        self.parked = False
        if self._exiled:
            self._exiled = False
            self._set(self.home)
        rung = self.rung_at
        if rung:
            self.rung_at = 0.0
            if monotonic() - rung > LATE:
                self._drop("woke late")

    def overdue(self) -> None:
        """A reader sees a ring not yet answered (``rung_at`` set); called under the
        dispatcher's lock, so the thread is alive (it ends only after taking it).

        Still waiting for its CPU: widening its affinity to the home CPUs would leave
        it queued there (its CPU is one of them), so it is sent to the others, and
        takes its home CPUs back itself once awake."""
        rung = self.rung_at
        cpu = self.cpu
        if rung and monotonic() - rung > LATE and cpu >= 0:
            self.rung_at = 0.0
            if self._drop("not awake", self.home - {cpu}):
                self._exiled = True

    def end(self) -> None:
        """The thread ends (called on it): its id must never be used again."""
        self.tid = None

    def _move(self, cpu: int) -> None:
        if self._set((cpu,)):
            self.cpu = cpu
            self.moves += 1

    def _drop(self, why: str, cpus: frozenset[int] | None = None) -> bool:
        """Off the followed CPU, to ``cpus`` (the home CPUs by default), and pause."""
        cpu = self.cpu
        if self.tid is None or not self._set(cpus or self.home):
            return False
        self.cpu = -1
        self.drops += 1
        now = monotonic()
        soon = self._resumed and now - self._resumed < RETRY_WINDOW
        self._cool = min(self._cool * 2, MAX_COOL_DOWN) if soon else COOL_DOWN
        self._resume_at = now + self._cool
        _log.debug(
            "%s: %s on CPU %s; moved to CPUs %s, following again in %.0f s",
            self._name,
            why,
            cpu,
            sorted(cpus or self.home),
            self._cool,
        )
        return True

    def _set(self, cpus: tuple[int, ...] | frozenset[int]) -> bool:
        tid = self.tid
        if tid is None:
            return False
        try:
            set_affinity(tid, cpus)
        except OSError as error:
            # A cpuset changed under the process, say: no following from now on.
            self.tid = None
            with contextlib.suppress(OSError):
                set_affinity(tid, self.home)
            _log.warning(
                "%s: cannot move the dispatcher to CPUs %s (%s); it no longer follows "
                "the readers' CPUs",
                self._name,
                sorted(cpus),
                error,
            )
            return False
        return True


#: ``os.sched_setaffinity``, by name so that a test can have the system refuse it.
set_affinity: Callable[[int, Any], None] = getattr(os, "sched_setaffinity", None) or (
    lambda _tid, _cpus: None
)


def _after_fork_in_child() -> None:
    # The parent's thread ids mean nothing in a child (and a reused one would be
    # another thread's): no follower of the parent acts in it.
    for follower in list(_followers):
        follower.tid = None


if AVAILABLE:
    os.register_at_fork(after_in_child=_after_fork_in_child)

__all__ = ["AVAILABLE", "Follower", "current_cpu", "follow_home"]
