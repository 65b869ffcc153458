"""A local port whose connects are refused, held for the whole test.

A port found free and closed again can be taken by the next bind(0) anywhere on the
machine: another test of the suite's parallel workers (pytest-xdist) could then be
listening on it. A socket bound and never listening is refused (RST) on connect, and
keeps the port its own (no bind(0) chooses it, no explicit bind succeeds) until closed.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def refused_port() -> Iterator[int]:
    """A 127.0.0.1 port nothing listens on, until the block ends."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])
