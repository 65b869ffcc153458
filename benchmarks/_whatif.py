"""What-if patches for the hot-path decomposition (``profile_hotpath.py``).

They change nothing on disk: they patch the running benchmark process only, to
measure how much a suggested library change could gain before anyone makes it.

* :class:`BufferedWebSocket`: websocket-client reads every frame with two or three
  ``socket.recv`` calls (header, extended length, payload), each a syscall that
  releases and re-takes the GIL. This subclass serves those reads from one
  256 KiB ``recv`` buffer, so a burst costs one syscall per buffer, not per frame.
* :func:`reader_only`: hands every delivery to a function on the reader thread
  instead of the dispatcher, which isolates the cost of the dispatcher hop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import websocket

READ_SIZE = 1 << 18
_ORIGINAL = websocket.WebSocket


class BufferedWebSocket(_ORIGINAL):  # type: ignore[misc]
    """``WebSocket`` whose frame reads come from one large ``recv`` buffer."""

    _rbuf = b""
    _rpos = 0

    def _recv(self, bufsize: int) -> bytes:
        buf, pos = self._rbuf, self._rpos
        if pos >= len(buf):
            buf, pos = super()._recv(READ_SIZE), 0
            if not buf:
                return buf
        chunk = buf[pos : pos + bufsize]
        self._rbuf, self._rpos = buf, pos + len(chunk)
        return chunk


def buffered_sockets() -> None:
    """Make every ``websocket.WebSocket(...)`` created from now on a buffered one."""
    websocket.WebSocket = BufferedWebSocket


def reader_only(client: Any, consume: Callable[[Any], object]) -> None:
    """Call ``consume(value)`` on the reader thread instead of going through the hub."""

    from types import SimpleNamespace

    from ccxtpro_sync._core.events import Deferred

    def deliver(delivery: Any, source: str = "", **_telemetry: Any) -> None:
        value = delivery.value
        if type(value) is Deferred:
            # A book view is copied only when a consumer takes one, at most once per
            # dispatcher batch; copying here per message would charge the reader for
            # work the real path skips. Read the nonce the view would carry instead.
            cells = value._build.__closure__ or ()
            nonce = next(c.cell_contents for c in cells if isinstance(c.cell_contents, int))
            value = SimpleNamespace(nonce=nonce)
        consume(value)

    client.hub.deliver = deliver
