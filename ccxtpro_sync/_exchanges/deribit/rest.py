"""Deribit's public REST calls (``public/get_instruments``), cut short by ``close()``.

``urllib.request.urlopen`` bounds each socket operation, not the call, and no other
thread can end it: a ``close()`` during the markets load left the caller blocked
until the timeout (a connect that never answers: the whole of it). Here each call's
socket comes from a :class:`~ccxtpro_sync._sync.dial.Dial` registered before its TCP
connect, ``close()`` and the call's deadline shut it at any point, and the answer
body is capped.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from urllib.parse import urlsplit

from ..._exceptions import ClientClosed, ExchangeNotAvailable, ProtocolError, RequestTimeout
from ..._sync.dial import Dial, DialCut

__all__ = ["MAX_BODY", "DeribitRest"]

#: Largest answer read (bytes); ``get_instruments`` of every currency is far below.
MAX_BODY = 32 * 1024 * 1024


class _Call:
    """One call's sockets: its dial, then a duplicate of the connected socket (TLS
    detaches the original before its handshake)."""

    def __init__(self) -> None:
        self.dial = Dial()
        self.expired = False
        self._lock = threading.Lock()
        self._raw: socket.socket | None = None
        self._cut = False

    def connect(
        self,
        address: tuple[str, int],
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        sock = self.dial.connect(address, timeout, source_address)
        with self._lock:
            if not self._cut:
                self._raw = sock.dup()
                return sock
        sock.close()
        raise DialCut("deribit REST call cut while connecting")

    def cut(self, expired: bool = False) -> None:
        self.expired = self.expired or expired
        self.dial.cut()
        with self._lock:
            self._cut = True
            raw = self._raw
        if raw is not None:
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_RDWR)

    def release(self) -> None:
        self.dial.release()
        with self._lock:
            self._cut = True
            raw, self._raw = self._raw, None
        if raw is not None:
            raw.close()


class DeribitRest:
    """``GET`` calls to one Deribit REST base URL; ``close()`` ends those in flight."""

    def __init__(self, base: str, *, max_body: int = MAX_BODY) -> None:
        parts = urlsplit(base)
        self._secure = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._secure else 80)
        self._prefix = parts.path.rstrip("/")
        self._max_body = max_body
        self._lock = threading.Lock()
        self._calls: set[_Call] = set()
        self._closed = False

    def get(self, target: str, timeout: float, what: str) -> tuple[int, bytes]:
        """``(status, body)`` of ``GET`` base + ``target`` within ``timeout`` seconds.
        ``ClientClosed`` once closed, ``RequestTimeout`` past the deadline,
        ``ExchangeNotAvailable`` when the transport fails, ``ProtocolError`` for an
        answer above the cap."""
        call = _Call()
        with self._lock:
            if self._closed:
                raise ClientClosed(f"{what}: REST client closed")
            self._calls.add(call)
        timer = threading.Timer(max(0.0, timeout), call.cut, (True,))
        timer.daemon = True
        conn = self._connection(call, timeout)
        try:
            timer.start()
            conn.request("GET", self._prefix + target)
            response = conn.getresponse()
            body = response.read(self._max_body + 1)
            # A read of a bounded size ends quietly when the socket is shut: look why.
            if self._closed:
                raise ClientClosed(f"{what}: aborted by close()")
            if call.expired:
                raise RequestTimeout(f"{what} timed out after {timeout}s")
            if len(body) > self._max_body:
                raise ProtocolError(f"{what}: answer larger than {self._max_body} bytes")
            if response.length:  # fewer bytes than the Content-Length announced
                raise ExchangeNotAvailable(f"{what}: the answer was cut short")
            return response.status, body
        except (OSError, HTTPException) as error:
            if self._closed:
                raise ClientClosed(f"{what}: aborted by close()") from error
            if call.expired or isinstance(error, TimeoutError):
                raise RequestTimeout(f"{what} timed out after {timeout}s") from error
            raise ExchangeNotAvailable(f"{what} failed: {error!r}") from error
        finally:
            timer.cancel()
            with self._lock:
                self._calls.discard(call)
            call.release()
            conn.close()

    def _connection(self, call: _Call, timeout: float) -> HTTPConnection:
        conn: HTTPConnection
        if self._secure:
            context = ssl.create_default_context()
            conn = HTTPSConnection(self._host, self._port, timeout=timeout, context=context)
        else:
            conn = HTTPConnection(self._host, self._port, timeout=timeout)
        # http.client's own hook: the socket exists (and can be cut) before its connect.
        conn._create_connection = call.connect  # type: ignore[attr-defined]
        return conn

    def close(self) -> None:
        """End every call in flight (they raise ``ClientClosed``); later calls too."""
        with self._lock:
            self._closed = True
            calls = list(self._calls)
        for call in calls:
            call.cut()
