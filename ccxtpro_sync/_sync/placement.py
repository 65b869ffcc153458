"""Where the library's threads run: the opt-in ``threadAffinity`` placement.

At a steady stream every message is handed from a reader to the dispatcher; when
the dispatcher is woken on another CPU than the reader's the hand-over costs a
cross-CPU wake-up (on a virtual machine an interrupt through the hypervisor), which
is what makes the latency tail (docs/threading.md, "Latency and CPU placement").
A client given ``threadAffinity`` runs its readers and its dispatcher on those CPUs
only, without pinning the rest of the process.

Linux semantics decide the rest: a thread inherits the affinity of the thread that
starts it, and a forked child that of the thread that forked. So every library
thread is started through :func:`start_thread`: one started from a pinned thread
(the snapshot fetcher, the backfill, the worker, a rotator or a handshake watchdog,
when a reader starts them) first goes back to the CPUs the client's creator had,
and a child forked from a pinned thread does the same (``os.fork`` only: a
``subprocess`` child runs no Python before ``exec``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import operator
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .._exceptions import InvalidArgument, NotSupported
from .slice import is_short, restore

_log = logging.getLogger("ccxtpro_sync")

#: This platform can place a thread (Linux; not macOS or Windows).
SUPPORTED = hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")

#: In a pinned library thread: the CPUs to go back to (its client's creator's).
_local = threading.local()

#: The most CPU ids a ``threadAffinity`` value may name (Linux's CPU_SETSIZE is 1024):
#: an endless or huge iterable is refused after this many, never read to its end.
MOST_CPU_IDS = 4096


@dataclass(frozen=True, slots=True)
class Placement:
    """The CPUs a client's readers and dispatcher run on, and the CPUs of the thread
    that created the client (where its other threads, and a fork, go back to)."""

    cpus: frozenset[int]
    home: frozenset[int]


#: The ``threadAffinity`` default: no thread is placed, and the dispatcher wakes on
#: the CPU of the reader that rings it (``follow.py``).
FOLLOW = "follow"


def asks_to_follow(value: Any) -> bool:
    """``value`` is the ``threadAffinity`` setting ``"follow"``."""
    return isinstance(value, str) and value == FOLLOW


def thread_placement(value: Any, what: str = "threadAffinity") -> Placement | None:
    """Validate a ``threadAffinity`` setting: ``"follow"`` (the default: nothing is
    placed, the dispatcher follows the reader that rings it; see ``follow.py``),
    ``None`` (the scheduler places every thread), one CPU id, or a non-empty
    collection of CPU ids, each one the calling thread may run on. None unless CPUs
    are named; ``InvalidArgument`` for anything else; ``NotSupported`` for CPU ids on
    a platform without ``sched_setaffinity``."""
    if value is None or asks_to_follow(value):
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, Iterable))
        or isinstance(value, (str, bytes, bytearray))
    ):
        raise InvalidArgument(
            f"{what} must be {FOLLOW!r}, None, a CPU id (int) or a collection of CPU ids, "
            f"not {value!r}"
        )
    try:
        given = [value] if isinstance(value, int) else [*itertools.islice(value, MOST_CPU_IDS + 1)]
    except Exception as error:  # a broken iterable is a bad setting, not a crash
        raise InvalidArgument(f"{what}: cannot read CPU ids from {value!r}: {error}") from error
    if len(given) > MOST_CPU_IDS:
        raise InvalidArgument(f"{what} names more than {MOST_CPU_IDS} CPU ids")
    if not given:
        raise InvalidArgument(f"{what} names no CPU; leave it out (None) to not place threads")
    cpus: list[int] = []
    for cpu in given:
        try:  # any integer type (numpy's too), never a bool or a float
            number = -1 if isinstance(cpu, bool) else operator.index(cpu)
        except TypeError:
            number = -1
        if number < 0:
            raise InvalidArgument(f"{what}: CPU ids are ints >= 0, not {cpu!r}")
        cpus.append(number)
    if not SUPPORTED:
        raise NotSupported(f"{what}: this platform cannot place threads on CPUs (Linux only)")
    home = home_cpus()
    outside = sorted(set(cpus) - home)
    if outside:
        raise InvalidArgument(
            f"{what}: CPU {outside[0]} is not one this process may run on (allowed: {sorted(home)})"
        )
    return Placement(frozenset(cpus), home)


def home_cpus() -> frozenset[int]:
    """The CPUs a client created now calls home: the calling thread's, or, called from
    a placed or following library thread (a callback), those of that thread's client's
    creator, not the pin."""
    home: frozenset[int] | None = getattr(_local, "home", None)
    return home or frozenset(os.sched_getaffinity(0))


def mark_home(home: frozenset[int]) -> None:
    """In a library thread whose affinity the library changes (a placed one, or the
    dispatcher that follows its readers): threads it starts and a child it forks go
    back to ``home`` instead of inheriting what it has then."""
    _local.home = home


def start_thread(
    target: Callable[..., object],
    name: str,
    *,
    args: tuple[Any, ...] = (),
    placement: Placement | None = None,
) -> threading.Thread:
    """Start a daemon library thread running ``target(*args)``. With ``placement``
    it runs on ``placement.cpus``; without, started from a pinned library thread, it
    goes back to the CPUs of the client's creator instead of inheriting the pin."""
    home: frozenset[int] | None = getattr(_local, "home", None)
    short = is_short()  # started by a reader or the dispatcher: not on the message path
    if placement is None and home is None and not short:  # the usual case: nothing to do
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    else:
        thread = threading.Thread(
            target=_placed, args=(placement, home, short, target, args), name=name, daemon=True
        )
    thread.start()
    return thread


class Timer(threading.Timer):
    """A daemon ``threading.Timer`` for library use: started from a pinned library
    thread (a REST call in a callback) it runs at home instead of on the pin."""

    def __init__(
        self, interval: float, function: Callable[..., object], args: tuple[Any, ...]
    ) -> None:
        super().__init__(interval, function, args)
        self.daemon = True
        self._home: frozenset[int] | None = getattr(_local, "home", None)
        self._short = is_short()

    def run(self) -> None:
        if self._short:
            restore()
        if self._home is not None:
            _set_affinity(self._home, self.name)
        super().run()


def _placed(
    placement: Placement | None,
    home: frozenset[int] | None,
    short: bool,
    target: Callable[..., object],
    args: tuple[Any, ...],
) -> None:
    # In the new thread, before it does anything: pid 0 is the calling thread.
    if short:  # a reader or the dispatcher shortens its own slice again itself
        restore()
    if placement is not None:
        if _set_affinity(placement.cpus, threading.current_thread().name):
            mark_home(placement.home)
    elif home is not None:
        _set_affinity(home, threading.current_thread().name)
    target(*args)


def _set_affinity(cpus: frozenset[int], name: str) -> bool:
    try:
        os.sched_setaffinity(0, cpus)
    except OSError as error:
        # The CPUs were allowed at construction; a cpuset changed since (a container's
        # limits, a CPU taken offline). The thread runs unplaced rather than not at all.
        _log.warning(
            "%s: cannot run on CPUs %s (%s); left to the scheduler", name, sorted(cpus), error
        )
        return False
    return True


def _after_fork_in_child() -> None:
    # A child forked from a pinned library thread (a callback calling os.fork) must not
    # keep the library's pin: it goes back to the CPUs of the client's creator.
    home: frozenset[int] | None = getattr(_local, "home", None)
    if home is None:
        return
    del _local.home
    with contextlib.suppress(OSError):  # nothing to report to in a fresh child
        os.sched_setaffinity(0, home)


if SUPPORTED:
    os.register_at_fork(after_in_child=_after_fork_in_child)
