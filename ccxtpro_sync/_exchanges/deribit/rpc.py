"""Deribit's JSON-RPC 2.0 envelope: request frames out, typed frames in.

Requests carry integer ids from :class:`RequestIds` (Deribit's examples use
integers; whether string ids are echoed is undocumented) and named params only.
Incoming frames are one of four kinds:

* :class:`Response` — ``{"id", "result"}``;
* :class:`ErrorResponse` — ``{"error": {code, message, data}}``, ``id`` may be
  absent (Deribit's answer to a frame that was not JSON);
* :class:`Notification` — ``method == "subscription"``, routed by channel;
* :class:`Heartbeat` — ``method == "heartbeat"``; ``test_request`` must be
  answered with ``public/test`` (see :func:`heartbeat_reply`) or the server
  closes the connection.

Numbers are decoded as ``float`` (default) or exactly as ``Decimal``
(``exact=True``); msgspec rejects NaN/Infinity literals and out-of-range
numbers, which surface as :class:`ProtocolError` like any malformed frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import msgspec

from ..._exceptions import CcxtproSyncError, InvalidArgument, ProtocolError
from ..._numbers import ascii_int
from .errors import deribit_error

__all__ = [
    "MIN_HEARTBEAT_INTERVAL",
    "ErrorResponse",
    "Frame",
    "Heartbeat",
    "Notification",
    "RequestIds",
    "Response",
    "decode_frame",
    "encode_request",
    "heartbeat_reply",
    "set_heartbeat_params",
]

#: ``public/set_heartbeat``: "interval ... not less than 10" seconds.
MIN_HEARTBEAT_INTERVAL: Final = 10

_ENCODER = msgspec.json.Encoder(decimal_format="number")
_FLOAT_DECODER = msgspec.json.Decoder()
_EXACT_DECODER = msgspec.json.Decoder(float_hook=Decimal)


class RequestIds:
    """Allocates request ids: increasing integers, unique per connection.

    Not thread-safe by itself; the caller serialises sends (the seam's writer).
    """

    __slots__ = ("_next",)

    def __init__(self, start: int = 1) -> None:
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise InvalidArgument("start must be a non-negative int")
        self._next = start

    def next(self) -> int:
        """A fresh id."""
        value = self._next
        self._next = value + 1
        return value

    def request(self, method: str, params: dict[str, Any] | None = None) -> tuple[int, bytes]:
        """``(id, frame)`` for one request with a fresh id."""
        request_id = self.next()
        return request_id, encode_request(request_id, method, params)


def encode_request(request_id: int, method: str, params: dict[str, Any] | None = None) -> bytes:
    """One JSON-RPC request frame (named params only, as Deribit requires)."""
    if not isinstance(method, str) or "/" not in method:
        raise InvalidArgument(f"not a Deribit method name: {method!r}")
    if params is not None and not isinstance(params, dict):
        raise InvalidArgument("Deribit accepts named params only (a dict)")
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}
    return _ENCODER.encode(body)


@dataclass(frozen=True, slots=True)
class Response:
    """A successful reply. ``us_in``/``us_out`` are the server's µs times, when sent."""

    id: int | str
    result: Any
    us_in: int | None = None
    us_out: int | None = None
    testnet: bool | None = None


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """An error reply; ``id`` is ``None`` when the server could not read our frame."""

    id: int | str | None
    code: int
    message: str
    data: Any = None

    def exception(self, method: str | None = None) -> CcxtproSyncError:
        """The typed exception for this error (see ``errors.deribit_error``)."""
        return deribit_error(self.code, self.message, self.data, method=method)


@dataclass(frozen=True, slots=True)
class Notification:
    """A subscription notification: route on ``channel``."""

    channel: str
    data: Any
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A ``heartbeat`` frame; ``test_request`` ones must be answered (``heartbeat_reply``)."""

    test_request: bool


Frame = Response | ErrorResponse | Notification | Heartbeat

_HEARTBEAT: Final = Heartbeat(test_request=False)
_TEST_REQUEST: Final = Heartbeat(test_request=True)


def _opt_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return ascii_int(value)  # CCXT shows usIn as a string


def _id(value: Any) -> int | str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ProtocolError(f"deribit frame with a bad id type {type(value).__name__}")
    return value


def decode_frame(data: bytes | str, *, exact: bool = False) -> Frame:
    """Decode one text frame into a :data:`Frame`; anything else is ``ProtocolError``."""
    decoder = _EXACT_DECODER if exact else _FLOAT_DECODER
    try:
        body = decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ProtocolError(f"deribit frame is not valid JSON: {exc}") from None
    except RecursionError:  # msgspec's answer to a value nested deeper than it recurses
        raise ProtocolError("deribit frame is nested too deeply") from None
    if not isinstance(body, dict):
        raise ProtocolError("deribit frame is not a JSON object")
    if "error" in body:
        error = body["error"]
        if not isinstance(error, dict):
            raise ProtocolError("deribit error frame without an error object")
        code = error.get("code")
        if isinstance(code, bool) or not isinstance(code, int):
            raise ProtocolError("deribit error frame without an integer code")
        message = error.get("message")
        text = message if isinstance(message, str) else ""
        return ErrorResponse(_id(body.get("id")), code, text, error.get("data"))
    method = body.get("method")
    if method is not None:
        params = body.get("params")
        if not isinstance(params, dict):
            raise ProtocolError(f"deribit {method!r} frame without params")
        if method == "subscription":
            channel = params.get("channel")
            if not isinstance(channel, str) or "data" not in params:
                raise ProtocolError("deribit subscription frame without channel or data")
            label = params.get("label")
            return Notification(channel, params["data"], label if isinstance(label, str) else None)
        if method == "heartbeat":
            kind = params.get("type")
            if kind == "test_request":
                return _TEST_REQUEST
            if kind == "heartbeat":
                return _HEARTBEAT
            raise ProtocolError(f"deribit heartbeat of unknown type {kind!r}")
        raise ProtocolError(f"deribit notification with unknown method {str(method)[:40]!r}")
    if "result" in body:
        request_id = _id(body.get("id"))
        if request_id is None:
            raise ProtocolError("deribit result frame without an id")
        testnet = body.get("testnet")
        return Response(
            request_id,
            body["result"],
            _opt_int(body.get("usIn")),
            _opt_int(body.get("usOut")),
            testnet if isinstance(testnet, bool) else None,
        )
    raise ProtocolError("deribit frame is neither a result, an error nor a notification")


def heartbeat_reply(ids: RequestIds) -> tuple[int, bytes]:
    """The ``public/test`` request that answers a ``test_request``."""
    return ids.request("public/test", {})


def set_heartbeat_params(interval: float) -> dict[str, Any]:
    """``public/set_heartbeat`` params; Deribit refuses intervals under 10 s."""
    if isinstance(interval, bool) or not isinstance(interval, int | float):
        raise InvalidArgument("heartbeat interval must be a number of seconds")
    if not MIN_HEARTBEAT_INTERVAL <= interval < math.inf:
        raise InvalidArgument(
            f"heartbeat interval must be at least {MIN_HEARTBEAT_INTERVAL} s (Deribit's minimum)"
        )
    return {"interval": int(interval) if float(interval).is_integer() else interval}
