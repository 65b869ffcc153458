"""A tiny raw websocket server for burst tests: pre-built frames, one ``sendall``.

It speaks just enough of the market-stream protocol for one client connection:
the upgrade handshake, a reply to every ``SUBSCRIBE``/``UNSUBSCRIBE`` request, and
:meth:`RawStreamServer.blast`, which writes bytes built beforehand in a single
``sendall`` -- as fast as the socket (and the client's reading) allows.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
from typing import Any

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked server-to-client frame."""
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", 0x80 | opcode, n) + payload
    if n < 65_536:
        return struct.pack("!BBH", 0x80 | opcode, 126, n) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, n) + payload


def agg_trade_frames(symbol_id: str, first_id: int, count: int) -> bytes:
    """``count`` combined-stream aggTrade frames with consecutive ids, concatenated."""
    stream = f"{symbol_id.lower()}@aggTrade"
    head = b'{"stream":"' + stream.encode() + b'","data":'
    parts = []
    for trade_id in range(first_id, first_id + count):
        ms = 1_700_000_000_000 + trade_id
        data = (
            f'{{"e":"aggTrade","E":{ms},"s":"{symbol_id}","a":{trade_id},"p":"50000.00",'
            f'"q":"0.001","f":{trade_id},"l":{trade_id},"T":{ms},"m":false,"M":true}}'
        )
        parts.append(ws_frame(head + data.encode() + b"}"))
    return b"".join(parts)


class RawStreamServer:
    """Accepts one websocket client at a time on 127.0.0.1; see the module docstring."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._subscribed = threading.Condition(self._lock)
        self._sock: socket.socket | None = None
        self.subscriptions: list[str] = []
        self.requests: list[dict[str, Any]] = []
        #: Payloads of the client's pongs (answers to pings the server sent).
        self.pongs: list[bytes] = []
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="raw-ws-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def wait_subscribed(self, stream: str, timeout: float) -> None:
        with self._subscribed:
            if not self._subscribed.wait_for(lambda: stream in self.subscriptions, timeout):
                raise AssertionError(f"the client never subscribed to {stream}")

    def wait_pong(self, payload: bytes, timeout: float) -> None:
        with self._subscribed:
            if not self._subscribed.wait_for(lambda: payload in self.pongs, timeout):
                raise AssertionError(f"the client never answered the ping {payload!r}")

    def blast(self, data: bytes) -> None:
        """Write pre-built frames with one ``sendall`` (returns when all are written)."""
        with self._lock:
            sock = self._sock
        assert sock is not None, "no client connected"
        with self._lock:
            sock.sendall(data)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept()
        self._listener.close()
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._thread.join(5)

    # -- server side --------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with contextlib.suppress(OSError, ValueError):
                self._serve(sock)

    def _serve(self, sock: socket.socket) -> None:
        reader = sock.makefile("rb")
        headers: dict[str, str] = {}
        request_line = reader.readline().decode()
        while (line := reader.readline().decode().strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        path = request_line.split(" ")[1]
        key = headers["sec-websocket-key"].encode()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        with self._lock:
            self._sock = sock
            if "streams=" in path:
                self.subscriptions += path.split("streams=", 1)[1].split("/")
                self._subscribed.notify_all()
        while True:
            opcode, payload = _read_frame(reader)
            if opcode == 0x8:
                return
            if opcode == 0x9:
                with self._lock:
                    sock.sendall(ws_frame(payload, 0xA))
                continue
            if opcode == 0xA:
                with self._lock:
                    self.pongs.append(payload)
                    self._subscribed.notify_all()
                continue
            if opcode != 0x1:
                continue
            message = json.loads(payload)
            reply = ws_frame(json.dumps({"result": None, "id": message["id"]}).encode())
            with self._lock:
                self.requests.append(message)
                sock.sendall(reply)
                if message.get("method") == "SUBSCRIBE":
                    self.subscriptions += message.get("params", [])
                elif message.get("method") == "UNSUBSCRIBE":
                    for stream in message.get("params", []):
                        self.subscriptions.remove(stream)
                self._subscribed.notify_all()


def _read_frame(reader: Any) -> tuple[int, bytes]:
    head = reader.read(2)
    if len(head) < 2:
        raise ValueError("client gone")
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", reader.read(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", reader.read(8))
    mask = reader.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = reader.read(length)
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))
