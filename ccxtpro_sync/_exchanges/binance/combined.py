"""One decode per combined-stream frame, for streams whose payload type is known.

A combined-stream frame is ``{"stream":"<name>","data":{...}}``. Decoding it as an
envelope with ``data`` kept raw and then decoding ``data`` again costs two passes and
a ``Raw`` object; once a stream's payload type is known (it is bound to a handler),
``Combined[Event]`` decodes both in one pass. The stream name is read off the frame's
first bytes to pick the decoder; the decoded ``stream`` is compared with it, so a
frame that only looks like it takes the general (two-step) path, as does anything
the typed decode refuses: the general path reports it with the usual error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar

import msgspec

from ... import _compiled
from ..._core.events import Delivery
from ..._core.frames import OP_BINARY

E = TypeVar("E")

#: Where the stream name starts in a frame of the combined shape: ``{"stream":"``.
NAME_START = len(b'{"stream":"')


class Combined(msgspec.Struct, Generic[E], frozen=True, gc=False):
    """A combined-stream frame with its payload decoded as ``E``."""

    stream: str
    data: E


#: Decodes a whole frame of one bound stream.
FrameDecode = Callable[[bytes], Combined[Any]]
#: What a bound stream's decoded payload turns into.
EventHandler = Callable[[Any], list[Delivery]]

_decoders: dict[tuple[Any, bool], msgspec.json.Decoder[Any]] = {}


def combined_decoder(payload: msgspec.json.Decoder[Any]) -> FrameDecode:
    """The one-pass decoder of frames whose payload ``payload`` decodes (same type and
    strictness; cached per type)."""
    key = (payload.type, payload.strict)
    decoder = _decoders.get(key)
    if decoder is None:
        decoder = msgspec.json.Decoder(Combined[payload.type], strict=payload.strict)  # type: ignore[name-defined]
        _decoders[key] = decoder
    return decoder.decode


#: Frames of streams bound to a handler of the raw payload.
RAW_FRAME: FrameDecode = combined_decoder(msgspec.json.Decoder(msgspec.Raw))


def frame_name(frame: bytes) -> bytes:
    """The stream name a combined frame starts with (anything, for other frames: the
    caller looks it up among bound names and verifies it after decoding)."""
    return frame[NAME_START : frame.find(b'"', NAME_START)]


#: What a decode raises for a frame it refuses: msgspec's errors, and RecursionError
#: for a value nested deeper than it recurses (even inside a key it only skips).
REFUSED: Final = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)

#: A bound stream as ``payload_run`` reads it: its name's bytes with the closing quote
#: (where its frames have them), its whole-frame decoder, its name.
RunKey = tuple[bytes, FrameDecode, str]
#: ``payload_run(messages, index, end, stream)``.
PayloadRun = Callable[[list[tuple[int, bytes]], int, int, RunKey], list[Any]]


def _payload_run(
    messages: list[tuple[int, bytes]], index: int, end: int, stream: RunKey
) -> list[Any]:
    """The payloads of one bound stream's consecutive frames ``messages[index:end]``:
    each a data frame with ``key`` (the name and its closing quote) at ``NAME_START``,
    which ``decode`` takes and whose decoded ``stream`` is ``name``. It stops, taking
    nothing more, at the first frame that is not (``receive_run`` then reads that one
    on its own, as it always did), so the first frame may give an empty list."""
    key, decode, name = stream
    payloads = []
    end = min(end, len(messages))
    while index < end:
        opcode, data = messages[index]
        if opcode > OP_BINARY or not data.startswith(key, NAME_START):
            break
        try:
            combined = decode(data)
        except REFUSED:
            break
        if combined.stream != name:
            break
        payloads.append(combined.data)
        index += 1
    return payloads


#: ``CCXTPRO_SYNC_PURE_PYTHON`` set (not to ``0``) keeps the compiled run out, as it
#: does the other compiled helpers.
_PURE_PYTHON_ENV: Final = _compiled.PURE_PYTHON_ENV


def _compiled_run() -> PayloadRun | None:
    """``_stream_run.payloads`` (C) with ``REFUSED`` bound, when it was built and not
    ruled out, else None."""
    _stream_run = _compiled.load("_stream_run", "payloads")
    if _stream_run is None:
        return None
    run: PayloadRun = functools.partial(_stream_run.payloads, REFUSED)
    return run


#: The compiled run (``_stream_run.c``) when built, else the Python one: both give
#: the same payloads and raise the same errors (tests/unit/test_payload_run.py).
payload_run: PayloadRun = _compiled_run() or _payload_run
