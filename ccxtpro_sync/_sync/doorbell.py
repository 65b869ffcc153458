"""Wake a parked thread without holding the GIL while it wakes.

A thread woken while its waker still holds the GIL (a ``threading.Lock`` or
``Condition`` wake-up) runs at once on a busy machine -- the scheduler favours a
thread that slept -- only to find the GIL taken and sleep again until the waker
blocks: two more context switches per hand-over, and on a loaded machine a wait in
the run queue each time. ``os.write`` to a pipe releases the GIL around the system
call, so the woken thread finds it free and runs straight away.

A pipe rather than an eventfd (which releases the GIL as well): Linux wakes a pipe's
reader with the hint that the writer is about to sleep (a "sync" wake-up), an
eventfd's without it. With the hint, a machine whose other CPUs are busy queues the
woken dispatcher on the reader's CPU, which is free as soon as the reader blocks in
``recv`` -- what pinning both threads to one CPU gives -- instead of behind other
work on another CPU. Measured on the reader -> dispatcher hand-over at a steady 10k
msg/s: see docs/benchmarks.md ("The reader -> dispatcher hand-over" and "Where the
tail goes").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import partial


class Doorbell:
    """One waiter parks in :meth:`wait`; :meth:`ring` wakes it (or makes its next
    ``wait`` return at once). Rings before a wait add up to one wake-up.

    The owner decides who may ring (here: whoever turns the dispatcher's idle flag
    off, under its lock), and closes the bell only when no ring can follow."""

    __slots__ = ("_closed", "_read", "_write", "ring", "wait")

    def __init__(self, *, eventfd: bool = False) -> None:
        """``eventfd``: an eventfd (Linux only) instead of the default pipe."""
        ring: Callable[[], object]
        wait: Callable[[], object]
        try:
            if eventfd:  # one descriptor, a counter, no buffer; no sync wake-up hint
                self._read = self._write = os.eventfd(0, os.EFD_CLOEXEC)
                ring = partial(os.eventfd_write, self._write, 1)
                wait = partial(os.eventfd_read, self._read)
            else:
                # Not inherited by children (PEP 446). At most one unread byte per park
                # (only whoever turns the idle flag off rings), so a write never blocks.
                self._read, self._write = os.pipe()
                ring = partial(os.write, self._write, b"\x00")
                # Small enough for Python's own allocator: 512 bytes went to malloc,
                # about 2,000 instructions more per wake-up (cachegrind).
                wait = partial(os.read, self._read, 64)
        except OSError:
            # No descriptor to be had (the process is at its limit): a bell without one.
            # It wakes with the GIL held (the slower hand-over) but never fails; raising
            # here would fail the reader that starts the dispatcher, frame after frame.
            self._read = self._write = -1
            ring, wait = _semaphore_bell()
        #: Wake the waiter; the GIL is released during the system call. (Partials of
        #: the ``os`` functions: no Python frame on the hot path.)
        self.ring = ring
        #: Block, GIL released, until rung; consumes every ring so far.
        self.wait = wait
        self._closed = False

    def close(self) -> None:
        """Release the descriptors. Idempotent; no ring or wait may follow."""
        if self._closed:
            return
        self._closed = True
        if self._read < 0:  # the bell without a descriptor
            return
        os.close(self._read)
        if self._write != self._read:
            os.close(self._write)


def _semaphore_bell() -> tuple[Callable[[], object], Callable[[], object]]:
    """``ring`` and ``wait`` of a bell made of a semaphore: rings before a wait add up
    to one wake-up, as with a descriptor."""
    rung = threading.Semaphore(0)

    def wait() -> None:
        rung.acquire()
        while rung.acquire(blocking=False):  # consume every ring so far
            pass

    return rung.release, wait
