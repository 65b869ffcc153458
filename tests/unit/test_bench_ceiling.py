"""The benchmark's decode-ceiling reader (``benchmarks/_ceiling.py``) reads what was sent.

The throughput benchmark divides the library's rate by this reader's; a reader that
skipped or misframed messages would make every ratio wrong. Frames go through a real
socket pair, split at awkward places, with control frames and 16-bit and 64-bit
lengths among them.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _ceiling import CeilingReader

AGG = (
    b'{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1,"s":"BTCUSDT","a":%d,'
    b'"p":"65000.01000000","q":"0.00100000","f":%d,"l":%d,"T":1,"m":true,"M":true%s}}'
)


def frame(payload: bytes, opcode: int = 0x1, force_64: bool = False) -> bytes:
    n = len(payload)
    if force_64:
        return struct.pack("!BBQ", 0x80 | opcode, 127, n) + payload
    if n < 126:
        return struct.pack("!BB", 0x80 | opcode, n) + payload
    return struct.pack("!BBH", 0x80 | opcode, 126, n) + payload


def trade(i: int, pad: int = 0) -> bytes:
    # a padding field the struct ignores makes some frames need a 16-bit length
    extra = b',"x":"%s"' % (b"z" * pad) if pad else b""
    return AGG % (i, i, i, extra)


def stream_bytes(count: int) -> bytes:
    out = []
    for i in range(count):
        out.append(frame(trade(i, pad=200 if i % 3 == 0 else 0), force_64=i % 11 == 5))
        if i % 7 == 0:
            out.append(frame(b"ping", 0x9))
    return b"".join(out)


@pytest.mark.parametrize("split", [3, 127, 4096])
def test_every_message_is_decoded_once_across_split_reads(split: int) -> None:
    data = stream_bytes(50) + stream_bytes(0)
    ours, theirs = socket.socketpair()
    ours.settimeout(10)

    def send() -> None:
        for k in range(0, len(data), split):
            theirs.sendall(data[k : k + split])

    sender = threading.Thread(target=send)
    sender.start()
    reader = CeilingReader(ours, b"", "trades")
    try:
        assert reader.run(20) == 19  # the marker of the 20th message
        assert reader.run(30) == 49  # frames read past the first run were kept
    finally:
        sender.join(10)
        reader.close()
        theirs.close()


def test_bytes_after_the_handshake_are_not_lost() -> None:
    data = stream_bytes(3)
    ours, theirs = socket.socketpair()
    ours.settimeout(10)
    theirs.sendall(data[10:])
    reader = CeilingReader(ours, data[:10], "trades")
    try:
        assert reader.run(3) == 2
    finally:
        reader.close()
        theirs.close()


def test_a_closed_connection_is_an_error_not_a_hang() -> None:
    ours, theirs = socket.socketpair()
    ours.settimeout(10)
    theirs.sendall(stream_bytes(2))
    theirs.close()
    reader = CeilingReader(ours, b"", "trades")
    try:
        with pytest.raises(ConnectionError):
            reader.run(5)
    finally:
        reader.close()
