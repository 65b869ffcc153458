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

from collections.abc import Callable
from typing import Final

from .. import _compiled

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
#: Reads shorter than this, held for an incomplete frame, are merged with the one
#: before: a server trickling a large frame a few bytes per read would otherwise
#: cost an object per read, tens of times the bytes it sent.
_SMALL_READ: Final = 512


#: ``CCXTPRO_SYNC_PURE_PYTHON`` set (not to ``0``) keeps the compiled scan out, as it
#: does the compiled order book.
_PURE_PYTHON_ENV: Final = _compiled.PURE_PYTHON_ENV

TextScan = Callable[[bytes, int, int, list[tuple[int, bytes]]], int]


def _compiled_scan() -> TextScan | None:
    """``_frame_scan.text_frames`` (C) when it was built and not ruled out, else None."""
    _frame_scan = _compiled.load("_frame_scan", "text_frames")
    if _frame_scan is None:
        return None
    scan: TextScan = _frame_scan.text_frames
    return scan


#: The run of whole text frames in C (see ``_frame_scan.c``), or None: every frame is
#: then parsed below, in Python. Both give the same messages and errors.
text_scan: TextScan | None = _compiled_scan()


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
        "_head",
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
        #: Bytes the incomplete frame needs (header and payload) before parsing again,
        #: and its header's length once known (0: the header itself is incomplete).
        self._want = 0
        self._head = 0
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
            # A frame is incomplete: keep the read as it came; copy only once the
            # frame is all in, so each byte is copied a bounded number of times.
            chunks = self._chunks
            if len(data) < _SMALL_READ and len(chunks[-1]) < _SMALL_READ:
                chunks[-1] += data  # copies under 1 KiB: bounded work per read
            else:
                chunks.append(data)
            self._held += len(data)
            if self._held < self._want:
                return []
            if self._head:
                return self._finish_frame()
            data = b"".join(self._chunks)  # a header split across reads: a few bytes
            self._chunks = []
            self._held = 0
        messages, pos = self._parse(data)
        if pos < len(data):
            tail = data[pos:]
            self._chunks.append(tail)
            self._held = len(tail)
        return messages

    def _finish_frame(self) -> list[tuple[int, bytes]]:
        """The held frame is complete: its payload is joined straight from the reads
        (one copy), then whatever followed it in the last read is parsed."""
        chunks = self._chunks
        extra = self._held - self._want
        rest = b""
        if extra:
            last = chunks[-1]
            rest = last[len(last) - extra :]
            chunks[-1] = last[: len(last) - extra]
        first = chunks[0]  # after the trim: merged small reads may make it the last too
        opcode = first[0]
        chunks[0] = first[self._head :]
        payload = b"".join(chunks)
        self._chunks = []
        self._held = 0
        self._head = 0
        messages: list[tuple[int, bytes]] = []
        self._take(opcode & 0x0F, opcode & 0x80, payload, messages)
        if rest:
            messages += self.feed(rest)
        return messages

    def _parse(self, buffer: bytes) -> tuple[list[tuple[int, bytes]], int]:
        """Complete frames from ``buffer``; returns them and where the rest begins
        (setting ``_want`` and ``_head`` for the incomplete rest)."""
        size = len(buffer)
        limit = self.max_message
        messages: list[tuple[int, bytes]] = []
        pos = 0
        self._want = 2
        self._head = 0
        scan = text_scan
        while size - pos >= 2:
            if scan is not None and not self._fragment_op:
                # The common frames in one C call; it stops (taking nothing) at any
                # other frame, which the code below checks and takes or waits for.
                pos = scan(buffer, pos, limit, messages)
                if size - pos < 2:
                    break
            first = buffer[pos]
            second = buffer[pos + 1]
            if first == 0x81 and second <= 126 and not self._fragment_op:
                # The common case first: a whole, unmasked text message of under 64 KiB
                # (every header check below passes for it). If it is not all in, the
                # general path below works out what is still wanted.
                if second < 126:
                    end = pos + 2 + second
                    if end <= size:
                        messages.append((OP_TEXT, buffer[pos + 2 : end]))
                        pos = end
                        continue
                elif size - pos >= 4:
                    length = (buffer[pos + 2] << 8) | buffer[pos + 3]
                    end = pos + 4 + length
                    if end <= size and length <= limit:
                        messages.append((OP_TEXT, buffer[pos + 4 : end]))
                        pos = end
                        continue
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
            # Everything the header tells is checked before the payload is waited for.
            if opcode >= OP_CLOSE:  # control frames: never fragmented, at most 125 bytes
                if not final or length > 125 or opcode > OP_PONG:
                    raise FrameError(f"malformed control frame (opcode {opcode:#x})")
            elif opcode > OP_BINARY:
                raise FrameError(f"unknown opcode {opcode:#x}")
            elif (opcode == OP_CONTINUATION) != bool(self._fragment_op):
                raise FrameError(
                    "new message before the previous one was finished"
                    if opcode
                    else "continuation frame without a message to continue"
                )
            elif self._fragment_size + length > limit:
                # Refused on the header: the payload is never buffered.
                raise MessageTooLarge(
                    f"message of at least {self._fragment_size + length} bytes is over "
                    f"the limit of {limit}"
                )
            end = pos + head + length
            if end > size:
                self._want = head + length
                self._head = head
                break
            payload = buffer[pos + head : end]
            pos = end
            if final and opcode:  # the common case: a whole message in one frame
                messages.append((opcode, payload))
            else:
                self._take(opcode, final, payload, messages)
        return messages, pos

    def _take(
        self, opcode: int, final: int, payload: bytes, messages: list[tuple[int, bytes]]
    ) -> None:
        """A complete frame whose header was checked: a message, or a fragment of one."""
        if final and opcode:
            messages.append((opcode, payload))
        elif opcode == OP_CONTINUATION:
            if len(self._fragments) >= max(64, self.max_message // 1024):
                # Empty or tiny fragments pass the size limit but not this one: each
                # costs an object, so their count is bounded too.
                raise MessageTooLarge(
                    f"message in more than {len(self._fragments)} fragments is refused"
                )
            self._fragments.append(payload)
            self._fragment_size += len(payload)
            if final:
                messages.append((self._fragment_op, b"".join(self._fragments)))
                self._fragments = []
                self._fragment_size = 0
                self._fragment_op = 0
        else:  # the first fragment of a text or binary message
            self._fragment_op = opcode
            self._fragments = [payload]
            self._fragment_size = len(payload)
