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

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec

from ..._core.events import Delivery

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
