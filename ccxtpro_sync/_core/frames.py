"""Websocket frames from server to client, parsed from plain bytes (RFC 6455 §5).

The reader feeds whatever the socket returned and gets back complete messages.
websocket-client parses each frame with several small reads and objects; this
parser works on one buffer per socket read, which is what keeps the reader's
cost per message low. It only does the receiving side of a client: server
frames are never masked, extensions are not negotiated, and continuation frames
are joined into one message (control frames may arrive between fragments).

Bounded whatever the server sends: a message (all its fragments together) may
be at most ``max_message`` bytes, checked as soon as a frame header announces
its length, so an oversized message is refused before its payload is buffered;
and the cost is linear in the bytes received (the reads of a partial frame are
kept as they came and joined once, when the frame is complete).
"""

from __future__ import annotations

from typing import Final

OP_CONTINUATION: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA

#: Default bound on one message, all fragments together. Binance's largest messages
#: are all-market arrays (``!ticker@arr``, ``ticker.24hr`` without a symbol: about
#: 2 MB for ~3,000 symbols) and depth snapshots (5,000 levels a side over the WS
#: API: ~10,000 ``["price","qty"]`` pairs of ~32 bytes, about 0.3 MB); 8 MiB leaves
#: room for growth while keeping a hostile server from growing the client further.
DEFAULT_MAX_MESSAGE: Final = 8 * 1024 * 1024


class FrameError(Exception):
    """The byte stream is not valid websocket framing; the connection must be dropped."""


class MessageTooLarge(FrameError):
    """A message (all its fragments together) is over the parser's ``max_message``."""


class FrameParser:
    """Incremental parser: ``feed(data)`` returns the ``(opcode, payload)`` messages completed.

    Data messages come back as ``(OP_TEXT | OP_BINARY, payload)`` once all their
    fragments are in; control frames as ``(OP_PING | OP_PONG | OP_CLOSE, payload)``.
    After a ``FrameError`` the parser is unusable (the connection is dropped).
    """

    __slots__ = (
        "_chunks",
        "_fragment_op",
        "_fragment_size",
        "_fragments",
        "_held",
        "_want",
        "max_message",
    )

    def __init__(self, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        if max_message < 125:
            raise ValueError("max_message must be at least 125 bytes")
        self.max_message = max_message
        #: Reads holding an incomplete frame, joined once that frame is all in.
        self._chunks: list[bytes] = []
        self._held = 0
        #: Bytes the incomplete frame needs (header and payload) before parsing again.
        self._want = 0
        self._fragments: list[bytes] = []
        self._fragment_size = 0
        self._fragment_op = 0

    def pending(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return self._held

    def buffered(self) -> int:
        """Bytes held: the incomplete frame plus the fragments of an unfinished message."""
        return self._held + self._fragment_size

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        if self._chunks:
            # A frame is incomplete: keep the read, and join only once the frame is all
            # in (each byte is copied a bounded number of times, whatever the frame size).
            self._chunks.append(data)
            self._held += len(data)
            if self._held < self._want:
                return []
            data = b"".join(self._chunks)
            self._chunks = []
            self._held = 0
        messages, pos = self._parse(data)
        if pos < len(data):
            tail = data[pos:]
            self._chunks.append(tail)
            self._held = len(tail)
        return messages

    def _parse(self, buffer: bytes) -> tuple[list[tuple[int, bytes]], int]:
        """Complete frames from ``buffer``; returns them and where the rest begins
        (setting ``_want`` to what the incomplete rest needs)."""
        size = len(buffer)
        limit = self.max_message
        messages: list[tuple[int, bytes]] = []
        pos = 0
        self._want = 2
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
                    self._want = 4
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    self._want = 10
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                head = 10
            opcode = first & 0x0F
            final = first & 0x80
            if opcode >= OP_CLOSE:  # control frames: never fragmented, at most 125 bytes
                if not final or length > 125 or opcode > OP_PONG:
                    raise FrameError(f"malformed control frame (opcode {opcode:#x})")
            elif self._fragment_size + length > limit:
                # Refused on the header: the payload is never buffered.
                raise MessageTooLarge(
                    f"message of at least {self._fragment_size + length} bytes is over "
                    f"the limit of {limit}"
                )
            end = pos + head + length
            if end > size:
                self._want = head + length
                break
            payload = buffer[pos + head : end]
            pos = end
            if opcode >= OP_CLOSE:
                messages.append((opcode, payload))
            elif opcode == OP_CONTINUATION:
                if not self._fragment_op:
                    raise FrameError("continuation frame without a message to continue")
                self._fragments.append(payload)
                self._fragment_size += length
                if final:
                    messages.append((self._fragment_op, b"".join(self._fragments)))
                    self._fragments = []
                    self._fragment_size = 0
                    self._fragment_op = 0
            elif opcode in (OP_TEXT, OP_BINARY):
                if self._fragment_op:
                    raise FrameError("new message before the previous one was finished")
                if final:
                    messages.append((opcode, payload))
                else:
                    self._fragment_op = opcode
                    self._fragments = [payload]
                    self._fragment_size = length
            else:
                raise FrameError(f"unknown opcode {opcode:#x}")
        return messages, pos
