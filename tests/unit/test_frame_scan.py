"""The compiled scan of whole text frames (``_frame_scan.c``) against the parser in
Python alone: the same messages and the same errors, after every read, whatever the
server sends and however the socket cuts it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccxtpro_sync._core import frames
from ccxtpro_sync._core.frames import FrameParser
from tests.required import in_ci

from .support import printed_in_child

COMPILED = frames.text_scan

needs_compiled = pytest.mark.skipif(COMPILED is None, reason="_frame_scan was not built")


def _header(first: int, length: int, form: int, masked: bool = False) -> bytes:
    mask = 0x80 if masked else 0
    if form == 7:
        return bytes([first, mask | length])
    if form == 16:
        return bytes([first, mask | 126]) + length.to_bytes(2, "big")
    return bytes([first, mask | 127]) + length.to_bytes(8, "big")


@st.composite
def _frame(draw: st.DrawFn) -> bytes:
    """One frame as a server (or a broken one) may send it."""
    kind = draw(st.sampled_from(["text", "text", "text", "other", "garbage"]))
    if kind == "garbage":
        return draw(st.binary(min_size=1, max_size=12))
    size = draw(st.one_of(st.integers(0, 130), st.integers(120, 140), st.integers(250, 1200)))
    form = 7 if size < 126 else 16
    form = draw(st.sampled_from([form, form, 16, 64])) if size <= 0xFFFF else 64
    if kind == "text":
        first = 0x81
        masked = draw(st.integers(0, 20)) == 0
    else:  # binary, fragments, control frames, reserved bits, unknown opcodes
        first = draw(st.sampled_from([0x82, 0x01, 0x80, 0x00, 0x89, 0x8A, 0x88, 0xC1, 0x83]))
        masked = False
    payload = bytes([draw(st.integers(0, 255))]) * size
    return _header(first, size, form, masked) + payload


def _run(stream: bytes, cuts: list[int], limit: int, scan: frames.TextScan | None) -> list[object]:
    """What each read gives, or the error that ended the parser."""
    frames.text_scan = scan
    try:
        parser = FrameParser(max_message=limit)
        out: list[object] = []
        last = 0
        for cut in [*cuts, len(stream)]:
            try:
                out.append(parser.feed(stream[last:cut]))
            except frames.FrameError as error:
                out.append((type(error), str(error)))
                break
            last = cut
        out.append((parser.pending(), parser.buffered()))
        return out
    finally:
        frames.text_scan = COMPILED


@needs_compiled
@settings(max_examples=400, deadline=None)
@given(st.lists(_frame(), min_size=1, max_size=12), st.data(), st.integers(125, 1500))
def test_the_compiled_scan_and_python_agree_on_any_stream(
    parts: list[bytes], data: st.DataObject, limit: int
) -> None:
    stream = b"".join(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    assert _run(stream, cuts, limit, COMPILED) == _run(stream, cuts, limit, None)


@needs_compiled
def test_the_scan_takes_whole_text_frames_and_stops_at_anything_else() -> None:
    assert COMPILED is not None
    small, medium = b"a" * 125, b"b" * 126
    ok = _header(0x81, 125, 7) + small + _header(0x81, 126, 16) + medium
    out: list[tuple[int, bytes]] = []
    assert COMPILED(ok, 0, 1000, out) == len(ok)
    assert out == [(1, small), (1, medium)]
    for stop in (
        _header(0x81, 126, 16),  # its payload is not in yet
        _header(0x81, 10, 7)[:1],  # half a header
        _header(0x81, 300, 16) + b"c" * 300,  # over the limit below
        _header(0x81, 5, 7, masked=True) + b"d" * 5,
        _header(0x81, 5, 64) + b"e" * 5,  # a 64-bit length: the general path's
        _header(0x82, 5, 7) + b"f" * 5,
        _header(0x01, 5, 7) + b"g" * 5,  # a first fragment
    ):
        out = []
        assert COMPILED(ok + stop, 0, 200, out) == len(ok)
        assert len(out) == 2
    out = []
    assert COMPILED(ok, len(ok), 1000, out) == len(ok) and out == []


@needs_compiled
def test_the_scan_refuses_bad_arguments_instead_of_reading_outside_the_buffer() -> None:
    assert COMPILED is not None
    out: list[tuple[int, bytes]] = []
    for pos in (-1, 3):
        with pytest.raises(ValueError, match="outside the buffer"):
            COMPILED(b"ab", pos, 200, out)
    with pytest.raises(TypeError):
        COMPILED(bytearray(b"ab"), 0, 200, out)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        COMPILED(b"ab", 0, 200, ())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        COMPILED(b"ab", 0, 200)  # type: ignore[call-arg]
    assert out == []


def _impl_in_child(value: str | None) -> str:
    code = "from ccxtpro_sync._core import frames; print(frames.text_scan is not None)"
    return printed_in_child(value, code)


def test_the_compiled_scan_is_built_and_selected() -> None:
    """Under CI the extension must exist: the fast path may not vanish silently."""
    if COMPILED is None:
        why = "ccxtpro_sync._frame_scan was not built (no C compiler at install time?)"
        if in_ci():
            pytest.fail(f"{why}; CI must build the compiled frame scan", pytrace=False)
        pytest.skip(why)
    assert _impl_in_child(None) == "True"
    assert _impl_in_child("0") == "True"
    assert _impl_in_child("1") == "False"
