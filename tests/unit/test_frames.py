"""The websocket frame parser, with frames built by websocket-client's own encoder."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websocket import ABNF

from ccxtpro_sync._core.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    FrameError,
    FrameParser,
)


def frame(payload: bytes, opcode: int = ABNF.OPCODE_TEXT, fin: int = 1) -> bytes:
    """A server frame (unmasked), encoded by the reference implementation."""
    abnf = ABNF(fin, 0, 0, 0, opcode, 0, payload)
    return abnf.format()


def test_small_medium_and_large_lengths():
    payloads = [b"x" * 5, b"y" * 300, b"z" * 70_000]
    data = b"".join(frame(p) for p in payloads)
    assert FrameParser().feed(data) == [(OP_TEXT, p) for p in payloads]


@given(st.lists(st.binary(max_size=2000), min_size=1, max_size=8), st.data())
def test_any_split_of_the_byte_stream_gives_the_same_messages(payloads, data):
    stream = b"".join(frame(p, ABNF.OPCODE_BINARY) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    parser = FrameParser()
    got = []
    last = 0
    for cut in [*cuts, len(stream)]:
        got += parser.feed(stream[last:cut])
        last = cut
    assert got == [(OP_BINARY, p) for p in payloads]
    assert parser.pending() == 0


def test_fragments_are_joined_and_control_frames_may_interleave():
    data = (
        frame(b"hel", ABNF.OPCODE_TEXT, fin=0)
        + frame(b"ping!", ABNF.OPCODE_PING)
        + frame(b"lo ", ABNF.OPCODE_CONT, fin=0)
        + frame(b"world", ABNF.OPCODE_CONT, fin=1)
    )
    assert FrameParser().feed(data) == [(OP_PING, b"ping!"), (OP_TEXT, b"hello world")]


def test_close_frame_payload_is_returned():
    [(opcode, payload)] = FrameParser().feed(frame(b"\x03\xe8bye", ABNF.OPCODE_CLOSE))
    assert opcode == OP_CLOSE and payload == b"\x03\xe8bye"


@pytest.mark.parametrize(
    "data",
    [
        ABNF(1, 0, 0, 0, ABNF.OPCODE_TEXT, 1, b"masked").format(),  # servers never mask
        bytes([0x81 | 0x40, 1]) + b"x",  # RSV1 without an extension
        frame(b"x", ABNF.OPCODE_CONT),  # continuation of nothing
        bytes([0x83, 1]) + b"x",  # reserved opcode
        bytes([0x09, 1]) + b"x",  # fragmented ping
        frame(b"a", ABNF.OPCODE_TEXT, fin=0) + frame(b"b", ABNF.OPCODE_TEXT),  # interleaved
    ],
)
def test_broken_framing_is_an_error(data):
    with pytest.raises(FrameError):
        FrameParser().feed(data)
