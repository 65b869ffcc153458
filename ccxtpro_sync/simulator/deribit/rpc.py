"""The JSON-RPC 2.0 envelope (reference §1), free of sockets.

:func:`parse` turns one text frame into a :class:`Request` or an :class:`RpcError`;
the ``*_frame`` helpers build replies with the ``usIn``/``usOut``/``usDiff``/``testnet``
fields. A frame that is not JSON gets ``11050 bad_request`` with no ``id``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .errors import BAD_REQUEST, INVALID_PARAMS, METHOD_NOT_FOUND, RpcError

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
#: Request ids are echoed when they are JSON ints or strings.
_NO_ID = object()


def now_us() -> int:
    return time.time_ns() // 1000


def dumps(obj: Any) -> str:
    return _encode(obj).decode()


@dataclass
class Request:
    """One parsed call; ``id`` is ``None`` when the client sent none."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)
    id: Any = None
    us_in: int = 0
    has_id: bool = True


@dataclass
class Malformed:
    """A frame that cannot be answered as a call: the error plus the id if one was read."""

    error: RpcError
    id: Any = None
    has_id: bool = False


def parse(text: str | bytes, us_in: int | None = None) -> Request | Malformed:
    """Parse one client frame. Only named params and single calls are accepted."""
    us = now_us() if us_in is None else us_in
    try:
        obj = _decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return Malformed(RpcError(BAD_REQUEST, "invalid json"))
    if not isinstance(obj, dict):
        return Malformed(RpcError(BAD_REQUEST, "batch requests are not supported"))
    req_id = obj.get("id", _NO_ID)
    has_id = req_id is not _NO_ID
    if has_id and (isinstance(req_id, bool) or not isinstance(req_id, int | str | None)):
        return Malformed(RpcError(BAD_REQUEST, "invalid id"))
    echo = None if req_id is _NO_ID else req_id
    method = obj.get("method")
    if not isinstance(method, str) or not method:
        return Malformed(RpcError(METHOD_NOT_FOUND, None), echo, has_id)
    params = obj.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return Malformed(
            RpcError(INVALID_PARAMS, {"reason": "only named params are accepted"}), echo, has_id
        )
    return Request(method, params, echo, us, has_id)


def _stamp(frame: dict[str, Any], us_in: int, testnet: bool) -> dict[str, Any]:
    out = now_us()
    frame.update(usIn=us_in, usOut=out, usDiff=out - us_in, testnet=testnet)
    return frame


def result_frame(
    req_id: Any, result: Any, us_in: int, *, has_id: bool = True, testnet: bool = False
) -> dict[str, Any]:
    """A reply; a call sent without ``id`` is answered without one (as observed live)."""
    frame: dict[str, Any] = {"jsonrpc": "2.0"}
    if has_id:
        frame["id"] = req_id
    frame["result"] = result
    return _stamp(frame, us_in, testnet)


def error_frame(
    error: RpcError, us_in: int, *, req_id: Any = None, has_id: bool = True, testnet: bool = False
) -> dict[str, Any]:
    frame: dict[str, Any] = {"jsonrpc": "2.0"}
    if has_id:
        frame["id"] = req_id
    frame["error"] = error.to_json()
    return _stamp(frame, us_in, testnet)


def notification(channel: str, data: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": "subscription",
        "params": {"channel": channel, "data": data},
    }


def heartbeat(kind: str) -> dict[str, Any]:
    """``kind`` is ``heartbeat`` (informational) or ``test_request`` (must be answered)."""
    return {"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": kind}}
