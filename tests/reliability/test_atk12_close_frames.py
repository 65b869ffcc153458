"""A hostile server's close frame: the client answers as RFC 6455 says and keeps the
server's words out of its log lines.

The client used to echo any code it was sent: 1005 and 1006 (which must never appear on
the wire), codes outside the ranges a close frame may carry, and, for a one-byte payload
or a code that ``send_close`` refuses, 1000 or no close frame at all. An invalid close
is answered with 1002 (protocol error). The reason, the server's text, went into the
log line and the ``ConnectionClosed`` verbatim, newlines included.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any

import pytest

from ccxtpro_sync import signals
from ccxtpro_sync._core.plain import PlainProtocol
from ccxtpro_sync._sync.connection import Connection

from .test_hostile_transport import RawServer, frame_header, read_request, upgrade_response


def read_client_frame(sock: socket.socket) -> tuple[int, bytes]:
    """One masked client frame: (opcode, unmasked payload)."""

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise OSError("client left")
            data += chunk
        return data

    first, second = exactly(2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", exactly(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", exactly(8))[0]
    mask = exactly(4)
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(exactly(length)))
    return first & 0x0F, payload


class CloseOnce:
    """Upgrades, sends one close frame, records the client's answer."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.answers: list[bytes] = []
        self.answered = threading.Event()

    def __call__(self, sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(upgrade_response(read_request(sock)))
        sock.sendall(frame_header(len(self.payload), 0x8, fin=True) + self.payload)
        sock.settimeout(10)
        try:
            while True:
                opcode, payload = read_client_frame(sock)
                if opcode == 0x8:
                    self.answers.append(payload)
                    return
        except OSError:
            return  # closed without a close frame: no answer recorded
        finally:
            self.answered.set()


def code(value: int, reason: bytes = b"") -> bytes:
    return value.to_bytes(2, "big") + reason


@pytest.mark.parametrize(
    ("sent", "answer"),
    [
        (code(1000, b"bye"), 1000),
        (code(4000, b"app"), 4000),
        (code(1001), 1001),
        (b"", 1000),  # no code at all: a normal close
        (code(1005), 1002),  # "no status" must never be on the wire
        (code(1006), 1002),  # "abnormal closure": the same
        (code(1015), 1002),
        (code(999), 1002),  # below the defined range
        (code(1004), 1002),  # reserved
        (code(2999), 1002),  # reserved for extensions
        (code(5000), 1002),  # above the range
        (code(65535), 1002),  # websocket-client refused to send it: no answer went out
        (b"\x03", 1002),  # a payload of one byte cannot hold a code
        (code(1000, b"\xff\xfe"), 1007),  # a reason that is not UTF-8
    ],
)
def test_the_answer_to_a_close_frame(sent: bytes, answer: int) -> None:
    server_side = CloseOnce(sent)
    server = RawServer(server_side)
    conn = Connection(PlainProtocol(server.url), name="closing", reconnect=False)
    try:
        conn.start()
        assert server_side.answered.wait(20), "the server never heard back"
        assert len(server_side.answers) == 1, "no close frame came back"
        assert int.from_bytes(server_side.answers[0][:2], "big") == answer
    finally:
        conn.close()
        server.close()


def test_a_close_reason_cannot_forge_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    forged = b"bye\nCRITICAL ccxtpro_sync: all orders cancelled\r\x1b[2J"
    server_side = CloseOnce(code(1000, forged))
    server = RawServer(server_side)
    closed: list[dict[str, Any]] = []
    seen = threading.Event()

    def on_closed(sender: Any, **payload: Any) -> None:
        closed.append(payload)
        seen.set()

    signals.connection_closed.connect(on_closed)
    conn = Connection(PlainProtocol(server.url), name="forging", reconnect=False)
    try:
        conn.start()
        assert seen.wait(20)
    finally:
        signals.connection_closed.disconnect(on_closed)
        conn.close()
        server.close()
    for record in caplog.records:
        text = record.getMessage()
        assert "\n" not in text and "\r" not in text and "\x1b" not in text, text
    reason = closed[0]["reason"]
    assert "\n" not in reason and "\x1b" not in reason
    assert "all orders cancelled" in reason  # kept, made harmless
