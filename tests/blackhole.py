"""A local address whose TCP connects hang: a listener that never accepts, queue full.

With backlog 0 Linux queues one connection; once it is queued, every further SYN is
dropped (the accept queue is full), so a connect retransmits its SYN until its own
timeout, as against an address that never answers. No root, no firewall rule.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: A ``close()`` behind a hanging connect must return within this many seconds; every
#: connect timeout of the tests is three times longer, so waiting for it fails.
PROMPT = 10.0
CONNECT_TIMEOUT = 30.0
#: /proc/net/tcp state of a socket whose SYN is unanswered.
_SYN_SENT = "02"


@contextmanager
def black_hole() -> Iterator[tuple[str, int]]:
    """A (host, port) whose connects hang until the caller gives up or cuts them."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        filler.connect(address)  # queued, never accepted: the queue is now full
        yield address[0], address[1]
    finally:
        filler.close()
        listener.close()


def connects_hanging(port: int) -> int:
    """How many sockets of this process's network namespace wait on a SYN to ``port``."""
    hanging = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            remote, state = fields[2], fields[3]
            if state == _SYN_SENT and int(remote.split(":")[1], 16) == port:
                hanging += 1
    return hanging


def wait_hanging(port: int, timeout: float) -> None:
    """Wait until a connect to ``port`` is under way (its SYN unanswered)."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if connects_hanging(port):
            return
        pause.wait(0.01)
    raise AssertionError(f"no connect to port {port} began within {timeout}s")


def close_promptly(client: Any, port: int, thread: threading.Thread) -> None:
    """Once a connect to ``port`` hangs, close ``client``: it returns within PROMPT,
    ``thread`` (blocked on that connect) wakes, and no connecting socket is left."""
    wait_hanging(port, timeout=PROMPT)
    started = time.monotonic()
    client.close()
    took = time.monotonic() - started
    thread.join(PROMPT)
    assert not thread.is_alive(), "the blocked call did not wake"
    assert took < PROMPT, f"close() took {took:.1f}s behind a hanging connect"
    assert connects_hanging(port) == 0, "a connecting socket was left behind"
