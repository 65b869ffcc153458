"""The sans-I/O protocol of the plain websocket client: frames in, messages out.

Every data frame becomes one message (decoded JSON, else text, else bytes),
delivered under ``MESSAGE_HASH``; a frame whose key (JSON-RPC ``id`` by default)
matches a request in flight answers that request instead. No exchange knowledge.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from typing import Any

from .._exceptions import ExchangeError, InvalidArgument
from .events import Delivery, Inbound, Policy, Response

#: Message hash of every message that is not a reply to a request.
MESSAGE_HASH = "message"
#: Message hash of "a session opened" (value: the session number), for the open hook.
OPEN_HASH = "open"

KeyFunction = Callable[[Any], Any]


def jsonrpc_id(message: Any) -> Any:
    """The default request key: a JSON object's ``id``."""
    return message.get("id") if isinstance(message, dict) else None


def decode(data: bytes) -> Any:
    """JSON when the frame is JSON, else text, else the bytes as they came."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # (nested deeper than the decoder recurses)
        pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def encode(message: Any) -> str:
    """A text frame: strings as they are, bytes as UTF-8 text, anything else as JSON.

    ``InvalidArgument`` for what cannot be such a frame: bytes that are not UTF-8, and
    values that are not JSON (``NaN`` and infinities included: json would write them as
    ``NaN``, which no JSON parser on the other side reads)."""
    if isinstance(message, str):
        return message
    try:
        if isinstance(message, bytes | bytearray):
            return bytes(message).decode("utf-8")
        return json.dumps(message, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:  # UnicodeDecodeError is a ValueError
        raise InvalidArgument(
            f"cannot send {type(message).__name__} as a text frame: {error}"
        ) from None


class PlainProtocol:
    """One URL, no subscriptions of its own; requests are correlated by ``key``."""

    def __init__(self, url: str, *, key: KeyFunction = jsonrpc_id, hooked: bool = False) -> None:
        self._url = url
        self._key = key
        #: With an open hook the session is ready only when the hook says so.
        self._hooked = hooked
        self._pending: set[Any] = set()
        self._ids = itertools.count(1)
        #: Sessions opened so far; the current one's number.
        self.session = 0

    def next_id(self) -> int:
        return next(self._ids)

    # -- ConnectionProtocol -----------------------------------------------------------
    def url(self) -> str:
        return self._url

    def on_open(self, now: float) -> Inbound:
        self.session += 1
        if not self._hooked:
            return Inbound(ready=True)
        return Inbound(deliveries=[Delivery(OPEN_HASH, self.session)])

    def receive(self, data: bytes, now: float) -> Inbound | list[Delivery]:
        message = decode(data)
        if self._pending:
            key = self._key(message)
            if key is not None and key in self._pending:
                self._pending.discard(key)
                return Inbound(responses=[_response(key, message)])
        return [Delivery(MESSAGE_HASH, [message], Policy.APPEND)]

    def on_close(self) -> Inbound:
        self._pending.clear()  # the connection fails their waiters
        return Inbound()

    def encode_request(self, method: str, params: Any) -> tuple[int | str, str]:
        request_id = self.next_id()
        frame = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}
        text = encode(frame)
        self._pending.add(request_id)
        return request_id, text

    # -- used by the client under the connection lock -----------------------------------
    def prepare(self, payload: Any) -> tuple[Any, str]:
        """A request frame and its key: a dict without a key gets the next ``id``."""
        key = self._key(payload)
        if key is None:
            if not isinstance(payload, dict) or self._key is not jsonrpc_id:
                raise ValueError(
                    "request(): the payload carries no key; give it an 'id' or pass key="
                )
            key = self.next_id()
            payload = {**payload, "id": key}
        if key in self._pending:
            raise ValueError(f"request(): a request with key {key!r} is already in flight")
        frame = encode(payload)  # first: a payload that cannot be sent leaves no key behind
        self._pending.add(key)
        return key, frame

    def abandon(self, keys: Iterable[Any]) -> None:
        """Requests nobody waits for any more: their late replies become messages."""
        self._pending.difference_update(keys)


def _response(key: Any, message: Any) -> Response:
    if isinstance(message, dict) and "jsonrpc" in message:
        error = message.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, dict) else None
            text = error.get("message") if isinstance(error, dict) else error
            return Response(
                key,
                error=ExchangeError(
                    f"request {key!r} failed: {text}", code=code if isinstance(code, int) else None
                ),
            )
        return Response(key, result=message.get("result"))
    return Response(key, result=message)
