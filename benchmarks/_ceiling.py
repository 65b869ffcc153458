"""The decode ceiling: the least work a Python client must do per market message.

A plain socket (the HTTP upgrade written by hand), one ``recv_into`` per burst into a
256 KiB buffer, the websocket frames walked in place, and exactly one ``msgspec``
decode per message, straight from the frame's bytes into a typed struct of the
combined envelope (``{"stream":…,"data":{…}}``). Prices and quantities become floats
in the same decode (``strict=False`` reads Binance's quoted numbers). Nothing else:
no routing, no caches, no book, no second thread. No client that produces typed
values from the same bytes can be faster in pure Python; the throughput benchmark
reports the library as a fraction of it.
"""

from __future__ import annotations

import base64
import os
import socket
import urllib.parse
from collections.abc import Callable
from typing import Any

import msgspec

READ_SIZE = 1 << 18


class AggTrade(msgspec.Struct, rename={"event_time": "E", "symbol": "s", "id": "a"}):
    event_time: int
    symbol: str
    id: int
    p: float
    q: float
    f: int
    l: int  # noqa: E741 (Binance's field name)
    T: int
    m: bool


class Ticker(msgspec.Struct, rename={"event_time": "E", "symbol": "s", "count": "n"}):
    event_time: int
    symbol: str
    c: float
    b: float
    B: float
    a: float
    A: float
    o: float
    h: float
    l: float  # noqa: E741 (Binance's field name)
    v: float
    q: float
    count: int


class DepthDiff(msgspec.Struct, rename={"event_time": "E", "symbol": "s"}):
    event_time: int
    symbol: str
    U: int
    u: int
    b: list[tuple[float, float]]
    a: list[tuple[float, float]]


class TradeMessage(msgspec.Struct):
    stream: str
    data: AggTrade


class TickerMessage(msgspec.Struct):
    stream: str
    data: Ticker


class DepthMessage(msgspec.Struct):
    stream: str
    data: DepthDiff


#: Per workload: the decoder and how to read the run's marker from a decoded message.
DECODERS: dict[str, tuple[msgspec.json.Decoder[Any], Callable[[Any], int]]] = {
    "trades": (msgspec.json.Decoder(TradeMessage, strict=False), lambda m: m.data.id),
    "ticker": (msgspec.json.Decoder(TickerMessage, strict=False), lambda m: m.data.count),
    "depth": (msgspec.json.Decoder(DepthMessage, strict=False), lambda m: m.data.u),
}


def connect(url: str, timeout: float = 10.0) -> tuple[socket.socket, bytes]:
    """Open ``ws://host:port/path`` by hand; returns the socket and any bytes that
    followed the ``101`` response in the same read."""
    parts = urllib.parse.urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        head += chunk
    status, _, rest = head.partition(b"\r\n\r\n")
    if not status.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(status.split(b"\r\n", 1)[0].decode("latin-1"))
    return sock, rest


class CeilingReader:
    """Walks the frames of one connection and decodes each text frame once.

    ``run(count)`` reads until ``count`` data messages have been decoded and returns
    the last one's marker (so the caller can check the run). Control frames are
    skipped; a partial frame at the end of a read waits for the next one; frames
    read past ``count`` stay buffered for the next run.
    """

    def __init__(self, sock: socket.socket, leftover: bytes, workload: str) -> None:
        self.sock = sock
        self.decode, self.marker = DECODERS[workload]
        self.buffer = bytearray(leftover)

    def run(self, count: int) -> int:
        decode = self.decode.decode
        last: Any = None
        recv_into = self.sock.recv_into
        chunk = bytearray(READ_SIZE)
        buffer = self.buffer
        seen = 0
        while seen < count:
            view = memoryview(buffer)
            pos, end = 0, len(buffer)
            while end - pos >= 2:
                opcode, length = buffer[pos] & 0x0F, buffer[pos + 1] & 0x7F
                start = pos + 2
                if length == 126:
                    if end - start < 2:
                        break
                    length = int.from_bytes(buffer[start : start + 2], "big")
                    start += 2
                elif length == 127:
                    if end - start < 8:
                        break
                    length = int.from_bytes(buffer[start : start + 8], "big")
                    start += 8
                if end - start < length:
                    break
                pos = start + length
                if opcode == 0x1:
                    last = decode(view[start:pos])
                    seen += 1
                    if seen >= count:
                        break
            view.release()
            del buffer[:pos]
            if seen >= count:
                break
            got = recv_into(chunk)
            if not got:
                raise ConnectionError("closed by the server")
            buffer += memoryview(chunk)[:got]
        return self.marker(last) if last is not None else -1

    def close(self) -> None:
        self.sock.close()
