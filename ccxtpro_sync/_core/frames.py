"""Websocket frames from server to client, parsed from plain bytes (RFC 6455 §5).

The reader feeds whatever the socket returned and gets back complete messages.
websocket-client parses each frame with several small reads and objects; this
parser works on one buffer per socket read, which is what keeps the reader's
cost per message low. It only does the receiving side of a client: server
frames are never masked, extensions are not negotiated, and continuation frames
are joined into one message (control frames may arrive between fragments).
"""

from __future__ import annotations

from typing import Final

OP_CONTINUATION: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA

#: Refuse absurd lengths rather than buffering them (Binance frames are kilobytes).
MAX_MESSAGE: Final = 64 * 1024 * 1024


class FrameError(Exception):
    """The byte stream is not valid websocket framing; the connection must be dropped."""


class FrameParser:
    """Incremental parser: ``feed(data)`` returns the ``(opcode, payload)`` messages completed.

    Data messages come back as ``(OP_TEXT | OP_BINARY, payload)`` once all their
    fragments are in; control frames as ``(OP_PING | OP_PONG | OP_CLOSE, payload)``.
    """

    __slots__ = ("_buffer", "_fragment_op", "_fragments")

    def __init__(self) -> None:
        self._buffer = b""
        self._fragments: list[bytes] = []
        self._fragment_op = 0

    def pending(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buffer = self._buffer + data if self._buffer else data
        size = len(buffer)
        messages: list[tuple[int, bytes]] = []
        pos = 0
        while size - pos >= 2:
            first = buffer[pos]
            second = buffer[pos + 1]
            if second & 0x80:
                raise FrameError("a server frame must not be masked")
            if first & 0x70:
                raise FrameError("reserved bits set without a negotiated extension")
            length = second & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                head = 10
                if length > MAX_MESSAGE:
                    raise FrameError(f"frame of {length} bytes is over the limit")
            end = pos + head + length
            if end > size:
                break
            payload = buffer[pos + head : end]
            pos = end
            opcode = first & 0x0F
            final = first & 0x80
            if opcode >= OP_CLOSE:  # control frames: never fragmented, at most 125 bytes
                if not final or length > 125:
                    raise FrameError("malformed control frame")
                messages.append((opcode, payload))
            elif opcode == OP_CONTINUATION:
                if not self._fragment_op:
                    raise FrameError("continuation frame without a message to continue")
                self._fragments.append(payload)
                if final:
                    messages.append((self._fragment_op, b"".join(self._fragments)))
                    self._fragments = []
                    self._fragment_op = 0
            elif opcode in (OP_TEXT, OP_BINARY):
                if self._fragment_op:
                    raise FrameError("new message before the previous one was finished")
                if final:
                    messages.append((opcode, payload))
                else:
                    self._fragment_op = opcode
                    self._fragments = [payload]
            else:
                raise FrameError(f"unknown opcode {opcode:#x}")
        self._buffer = buffer[pos:] if pos < size else b""
        return messages
