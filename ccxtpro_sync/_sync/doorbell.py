"""Wake a parked thread without holding the GIL while it wakes.

A thread woken while its waker still holds the GIL (a ``threading.Lock`` or
``Condition`` wake-up) runs at once on a busy machine -- the scheduler favours a
thread that slept -- only to find the GIL taken and sleep again until the waker
blocks: two more context switches per hand-over, and on a loaded machine a wait in
the run queue each time. ``os.eventfd_write`` (a pipe write where there is no
eventfd) releases the GIL around the system call, so the woken thread finds it free
and runs straight away. Measured on the reader -> dispatcher hand-over at a steady
10k msg/s: see docs/benchmarks.md ("The reader -> dispatcher hand-over").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial


class Doorbell:
    """One waiter parks in :meth:`wait`; :meth:`ring` wakes it (or makes its next
    ``wait`` return at once). Rings before a wait add up to one wake-up.

    The owner decides who may ring (here: whoever turns the dispatcher's idle flag
    off, under its lock), and closes the bell only when no ring can follow."""

    __slots__ = ("_closed", "_read", "_write", "ring", "wait")

    def __init__(self, *, eventfd: bool | None = None) -> None:
        """``eventfd``: use an eventfd (default: where the platform has one) or a pipe."""
        if eventfd is None:
            eventfd = hasattr(os, "eventfd")
        if eventfd:  # Linux: one descriptor, a counter, no buffer
            self._read = self._write = os.eventfd(0, os.EFD_CLOEXEC)
            ring: Callable[[], object] = partial(os.eventfd_write, self._write, 1)
            wait: Callable[[], object] = partial(os.eventfd_read, self._read)
        else:
            self._read, self._write = os.pipe()  # not inherited by children (PEP 446)
            ring = partial(os.write, self._write, b"\x00")
            wait = partial(os.read, self._read, 512)
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
        os.close(self._read)
        if self._write != self._read:
            os.close(self._write)
