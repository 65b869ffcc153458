"""Short scheduler slices for the threads on a message's path (Linux 6.12+).

Linux's fair scheduler (EEVDF) lets a thread ask for a shorter time slice than the
default (1.4 ms on a 2-CPU machine): ``sched_setattr`` with the policy and nice value
kept and ``sched_runtime`` set, no privilege needed. A woken thread whose slice is
shorter than the running one's ends the running one's protected stretch and, with
its earlier deadline, is usually picked at once (when its lag makes it eligible),
instead of waiting out what the running thread has left of its slice. The reader and
the dispatcher run a few tens of µs per message and then sleep: they never use a
slice up, and on a busy machine what makes their latency tail is how long each
wake-up waits behind other work on its CPU.

The dispatcher asks for the shortest slice (0.1 ms), the readers for a longer one
(0.5 ms): the dispatcher a reader rings then still preempts that reader at once, as
with equal default slices, and runs the callback while the reader finishes the ring.
With the same short slice for both it waited for the reader to block in ``recv``,
and the hand-over took more CPU (docs/benchmarks.md, "Latest figures: latency").

Older kernels ignore ``sched_runtime`` for fair threads, and a platform without the
system call is left alone: the request is best effort and never raises. The client
option ``threadSlice=False`` leaves the kernel's default.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import sys
import threading
from typing import Any

from .._exceptions import InvalidArgument

_log = logging.getLogger("ccxtpro_sync")

#: The dispatcher's slice, ns: the kernel's shortest (0.1 ms).
SHORT_SLICE_NS = 100_000
#: The reader's: shorter than the default, longer than the dispatcher's, so that the
#: dispatcher it wakes still preempts it at once (on its CPU) as with default slices.
READER_SLICE_NS = 500_000

#: ``sched_setattr`` / ``sched_getattr`` per machine (Linux's syscall tables).
_SYSCALLS = {"x86_64": (314, 315), "aarch64": (274, 275)}

#: The fair policies (``SCHED_OTHER``, ``SCHED_BATCH``); others (real-time, idle,
#: deadline) are the user's choice and left alone.
_FAIR = (0, 3)

#: ``SCHED_FLAG_RESET_ON_FORK``.
_RESET_ON_FORK = 0x01


class _Attr(ctypes.Structure):
    """``struct sched_attr`` (first version plus the utilisation clamps)."""

    _fields_ = [
        ("size", ctypes.c_uint32),
        ("policy", ctypes.c_uint32),
        ("flags", ctypes.c_uint64),
        ("nice", ctypes.c_int32),
        ("priority", ctypes.c_uint32),
        ("runtime", ctypes.c_uint64),
        ("deadline", ctypes.c_uint64),
        ("period", ctypes.c_uint64),
        ("util_min", ctypes.c_uint32),
        ("util_max", ctypes.c_uint32),
    ]


def _syscall() -> tuple[ctypes._CFuncPtr, int, int] | None:  # type: ignore[name-defined]
    numbers = _SYSCALLS.get(platform.machine())
    if not sys.platform.startswith("linux") or numbers is None:
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.syscall
    except (OSError, AttributeError):
        return None
    return call, numbers[0], numbers[1]


_CALL = _syscall()

#: ``short``: this thread asked for the short slice (threads it starts must not keep it).
_local = threading.local()


def set_slice(ns: int) -> bool:
    """Ask for a slice of ``ns`` for the calling thread (0: the kernel's default),
    keeping its policy and nice value; only for a fair-policy thread. True if the
    kernel took the request (an older one takes it and ignores the slice)."""
    if _CALL is None:
        return False
    call, set_, get = _CALL
    attr = _Attr()
    if call(get, 0, ctypes.byref(attr), ctypes.sizeof(attr), 0) != 0:
        return False
    if attr.policy not in _FAIR:
        return False
    wanted = _Attr(
        size=ctypes.sizeof(_Attr),
        policy=attr.policy,
        flags=attr.flags & _RESET_ON_FORK,  # the application's; clearing it needs privilege
        nice=attr.nice,
        runtime=ns,
    )
    if call(set_, 0, ctypes.byref(wanted), 0) != 0:
        error = ctypes.get_errno()
        _log.debug("sched_setattr(slice=%d) refused: %s", ns, os.strerror(error))
        return False
    return True


def thread_slice(value: Any, what: str = "threadSlice") -> bool:
    """Validate a ``threadSlice`` setting: True (the default: readers and the dispatcher
    ask for the short slice) or False (they keep the kernel's default)."""
    if not isinstance(value, bool):
        raise InvalidArgument(f"{what} must be True or False, not {value!r}")
    return value


def shorten(ns: int = SHORT_SLICE_NS) -> bool:
    """Give the calling thread (a reader or the dispatcher) the short slice. Threads it
    starts through ``placement.start_thread`` (or ``placement.Timer``) go back to the
    default: Linux copies the slice to a new thread."""
    if not set_slice(ns):
        return False
    _local.short = True
    return True


def is_short() -> bool:
    """The calling thread asked for the short slice (see :func:`shorten`)."""
    return getattr(_local, "short", False)


def restore() -> None:
    """In a thread started by a shortened one: back to the kernel's default slice."""
    set_slice(0)


def _after_fork_in_child() -> None:
    # A child forked from a reader or the dispatcher (a callback calling os.fork) is a
    # program of its own: it starts with the kernel's default slice.
    if is_short():
        _local.short = False
        restore()


if _CALL is not None:
    os.register_at_fork(after_in_child=_after_fork_in_child)
