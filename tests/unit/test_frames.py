"""The websocket frame parser, with frames built by websocket-client's own encoder.

Every test runs twice: with the compiled scan of whole text frames (``_frame_scan``)
and with the parser in Python alone."""

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websocket import ABNF

from ccxtpro_sync._core import frames as frames_module
from ccxtpro_sync._core.frames import (
    DEFAULT_MAX_MESSAGE,
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameParser,
    MessageTooLarge,
)

_COMPILED_SCAN = frames_module.text_scan


@pytest.fixture(autouse=True, scope="module", params=["compiled", "python"])
def _scan(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.param == "compiled" and _COMPILED_SCAN is None:
        pytest.skip("ccxtpro_sync._frame_scan was not built")
    frames_module.text_scan = _COMPILED_SCAN if request.param == "compiled" else None
    try:
        yield
    finally:
        frames_module.text_scan = _COMPILED_SCAN


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
    # named, not shown: the masked frame's key is random, and every xdist worker must
    # collect the same test ids
    ids=[
        "masked",
        "rsv1",
        "orphan-continuation",
        "reserved-opcode",
        "fragmented-ping",
        "interleaved",
    ],
)
def test_broken_framing_is_an_error(data):
    with pytest.raises(FrameError):
        FrameParser().feed(data)


# -- bounded size, whatever the length form and however the message is fragmented -------


def raw_frame(payload: bytes, opcode: int, *, fin: bool = True, form: int = 0) -> bytes:
    """An unmasked frame whose length uses ``form``: 0 the shortest, 7, 16 or 64 bits
    (RFC 6455 asks for the shortest; a receiver must cope with any)."""
    n = len(payload)
    first = bytes([(0x80 if fin else 0) | opcode])
    if form == 0:
        form = 7 if n < 126 else 16 if n < 65536 else 64
    if form == 7:
        head = bytes([n])
    elif form == 16:
        head = bytes([126]) + n.to_bytes(2, "big")
    else:
        head = bytes([127]) + n.to_bytes(8, "big")
    return first + head + payload


def header_only(length: int, opcode: int, *, fin: bool = True, form: int = 64) -> bytes:
    return raw_frame(b"", opcode, fin=fin, form=form)[: -8 if form == 64 else -2] + (
        length.to_bytes(8 if form == 64 else 2, "big")
    )


@pytest.mark.parametrize("form", [7, 16, 64])
def test_the_limit_applies_to_the_whole_message_across_fragments(form):
    parser = FrameParser(max_message=1000)
    piece = b"x" * 100
    data = raw_frame(piece, OP_TEXT, fin=False, form=form)
    data += b"".join(raw_frame(piece, 0x0, fin=False, form=form) for _ in range(8))
    assert parser.feed(data) == []  # 900 bytes: still within the limit
    with pytest.raises(MessageTooLarge):
        parser.feed(raw_frame(piece + b"!", 0x0, fin=True, form=form))


@pytest.mark.parametrize("form", [16, 64])
def test_an_oversized_frame_is_refused_on_its_header_before_the_payload_arrives(form):
    parser = FrameParser(max_message=1000)
    with pytest.raises(MessageTooLarge):
        parser.feed(header_only(1001, OP_BINARY, form=form))


def test_a_message_exactly_at_the_limit_passes():
    parser = FrameParser(max_message=1000)
    data = raw_frame(b"a" * 600, OP_TEXT, fin=False) + raw_frame(b"b" * 400, 0x0)
    assert parser.feed(data) == [(OP_TEXT, b"a" * 600 + b"b" * 400)]
    assert parser.buffered() == 0


def test_a_control_frame_announcing_a_huge_length_is_refused_at_once():
    with pytest.raises(FrameError):
        FrameParser().feed(header_only(1 << 40, OP_PING))


def test_the_default_limit_is_a_few_mib():
    assert FrameParser().max_message == DEFAULT_MAX_MESSAGE == 8 * 1024 * 1024


# -- property: any fragmentation, any chunking, control frames in between -----------------

_lengths = st.one_of(st.integers(0, 125), st.integers(126, 400), st.just(70_000))


@st.composite
def conversations(draw):
    """Messages as a server may send them, and what the client must get back."""
    frames: list[bytes] = []
    for _ in range(draw(st.integers(1, 5))):
        opcode = draw(st.sampled_from([OP_TEXT, OP_BINARY]))
        size = draw(_lengths)
        payload = draw(st.binary(min_size=size, max_size=size)) if size < 500 else b"p" * size
        cuts = sorted(draw(st.lists(st.integers(0, size), max_size=4)))
        pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, size], strict=True)]
        for index, piece in enumerate(pieces):
            form = draw(st.sampled_from([0, 16, 64] if len(piece) < 126 else [0, 64]))
            last = index == len(pieces) - 1
            frames.append(raw_frame(piece, opcode if index == 0 else 0x0, fin=last, form=form))
            if draw(st.booleans()):  # a control frame between fragments (or after)
                control = draw(st.sampled_from([OP_PING, OP_PONG]))
                body = draw(st.binary(max_size=125))
                frames.append(raw_frame(body, control, form=draw(st.sampled_from([0, 16]))))
    # Control frames come back where they were, data messages when their last piece is in.
    return b"".join(frames), _order(frames)


def _order(frames: list[bytes]) -> list[tuple[int, bytes]]:
    # Recomputed from the frames themselves, independently of the parser under test.
    out: list[tuple[int, bytes]] = []
    pieces: list[bytes] = []
    op = 0
    for data in frames:
        opcode, fin, n = data[0] & 0x0F, data[0] & 0x80, data[1] & 0x7F
        head = 2 if n < 126 else 4 if n == 126 else 10
        payload = data[head:]
        if opcode >= OP_CLOSE:
            out.append((opcode, payload))
            continue
        op = op or opcode
        pieces.append(payload)
        if fin:
            out.append((op, b"".join(pieces)))
            pieces, op = [], 0
    return out


@settings(max_examples=150, deadline=None)
@given(conversations(), st.data())
def test_any_fragmentation_and_chunking_gives_the_same_messages(conversation, data):
    stream, expected = conversation
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    parser = FrameParser(max_message=80_000)
    got = []
    last = 0
    for cut in [*cuts, len(stream)]:
        got += parser.feed(stream[last:cut])
        last = cut
    assert got == expected
    assert all(type(payload) is bytes for _, payload in got)
    assert parser.buffered() == 0


@given(st.binary(min_size=1, max_size=300), st.integers(1, 300))
def test_a_masked_frame_is_refused_however_it_is_chunked(payload, cut):
    data = ABNF(1, 0, 0, 0, ABNF.OPCODE_TEXT, 1, payload).format()
    parser = FrameParser()
    with pytest.raises(FrameError):
        parser.feed(data[:cut])
        parser.feed(data[cut:])
