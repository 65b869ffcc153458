"""The live subscription protocol of market-stream connections (reference §2).

Pure request -> reply logic, independent of sockets. Errors use the shape the
real servers send, ``{"error":{"code":N,"msg":"..."},"id":...}`` (the reference's
table lists only the inner object); ``id`` is echoed when it was parsed.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, Protocol

from .streams import StreamKey

METHODS: Final = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
_ID_STRING: Final = re.compile(r"^[A-Za-z0-9]{1,36}$")
_INT64: Final = 2**63


class ControlTarget(Protocol):
    """What a connection exposes to the protocol handler."""

    combined: bool

    def parse(self, name: str) -> StreamKey | None: ...
    def subscriptions(self) -> list[str]: ...
    def room_for(self, names: list[str]) -> bool: ...
    def subscribe(self, keys: list[StreamKey]) -> None: ...
    def unsubscribe(self, names: list[str]) -> None: ...


def _error(code: int, msg: str, req_id: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "msg": msg}, "id": req_id}


def _valid_id(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -_INT64 <= value < _INT64
    return isinstance(value, str) and bool(_ID_STRING.match(value))


def handle(text: str, target: ControlTarget) -> dict[str, Any]:
    """Apply one client text frame to ``target`` and return the reply object."""
    try:
        req = json.loads(text)
    except json.JSONDecodeError as exc:
        return _error(3, f"Invalid JSON: expected value at line {exc.lineno} column {exc.colno}")
    end = f"at line 1 column {len(text)}"
    if not isinstance(req, dict):
        return _error(2, f"Invalid request: invalid type: expected struct Request {end}")
    if "method" not in req:
        return _error(2, f"Invalid request: missing field `method` {end}")
    if "id" not in req or not _valid_id(req["id"]):
        return _error(2, "Invalid request: request ID must be an unsigned integer")
    req_id, method = req["id"], req["method"]
    if method not in METHODS:
        expected = ", ".join(f"`{m}`" for m in METHODS)
        return _error(
            2,
            f"Invalid request: unknown variant `{method}`, expected one of {expected} {end}",
            req_id,
        )
    params = req.get("params", [])
    if not isinstance(params, list):
        return _error(2, "Invalid request: invalid type: expected a sequence", req_id)

    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        if not params or not all(isinstance(p, str) for p in params):
            return _error(2, "Invalid request: invalid stream", req_id)
        if method == "UNSUBSCRIBE":
            target.unsubscribe(params)
            return {"result": None, "id": req_id}
        keys = [target.parse(p) for p in params]
        if any(k is None for k in keys):
            return _error(2, "Invalid request: invalid stream", req_id)
        if not target.room_for(params):
            return _error(2, "Invalid request: too many streams", req_id)
        target.subscribe([k for k in keys if k is not None])
        return {"result": None, "id": req_id}
    if method == "LIST_SUBSCRIPTIONS":
        if params:
            return _error(2, "Invalid request: too many parameters", req_id)
        return {"result": target.subscriptions(), "id": req_id}
    # SET_PROPERTY / GET_PROPERTY
    wanted = 2 if method == "SET_PROPERTY" else 1
    if len(params) > wanted:
        return _error(2, "Invalid request: too many parameters", req_id)
    if not params or not isinstance(params[0], str):
        return _error(2, "Invalid request: property name must be a string", req_id)
    if params[0] != "combined":
        return _error(0, "Unknown property", req_id)
    if method == "GET_PROPERTY":
        return {"result": target.combined, "id": req_id}
    if len(params) < 2 or not isinstance(params[1], bool):
        return _error(1, "Invalid value type: expected Boolean", req_id)
    target.combined = params[1]
    return {"result": None, "id": req_id}
