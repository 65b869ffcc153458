"""Binance request signing and verification. Pure functions, no clocks, no I/O.

Two things differ between Binance's transports and are easy to get subtly
wrong, so each has exactly one builder here (protocol reference §6.2):

* **WS API** (:func:`ws_api_payload`): every param except ``signature``,
  *including* ``apiKey``, sorted by name, ``name=value`` joined with ``&``,
  values as raw UTF-8 (**not** percent-encoded).
* **REST** (:func:`rest_payload`): the query string followed directly by the
  body (no separator), in the order sent, percent-encoded; the API key goes in
  the ``X-MBX-APIKEY`` header, not the payload.

Signatures: HMAC-SHA256 → lowercase hex (the server compares case-insensitively);
RSA PKCS#1 v1.5 / SHA-256 and Ed25519 → standard base64 (case-sensitive).

The verifying half (:class:`VerifyKey`, :func:`verify_ws_api_request`,
:func:`check_timestamp`) serves users who check signatures themselves. The
local exchange does not use it: it has its own checks
(``simulator/signatures.py``), so a bug here cannot be mirrored there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final, TypeAlias
from urllib.parse import quote

import msgspec

from ..._exceptions import BadRequest, InvalidNonce, InvalidSignature

# Key handling is exchange-neutral (``_keys``); re-exported for Binance's callers.
from ..._keys import (
    KeyType,
    PrivateKey,
    PublicKey,
    VerifyKey,
    ed25519_sign,
    hmac_sha256_hex,
    rsa_sign,
    sign,
)

__all__ = [
    "DEFAULT_RECV_WINDOW",
    "MAX_RECV_WINDOW",
    "KeyType",
    "Params",
    "PrivateKey",
    "PublicKey",
    "VerifyKey",
    "check_timestamp",
    "ed25519_sign",
    "format_value",
    "hmac_sha256_hex",
    "rest_payload",
    "rsa_sign",
    "sign",
    "timestamp_ms",
    "urlencode",
    "verify_ws_api_request",
    "ws_api_payload",
]

#: Ordered params: a mapping (insertion order kept) or ``(name, value)`` pairs.
Params: TypeAlias = Mapping[str, Any] | Iterable[tuple[str, Any]]

#: Binance's default and maximum ``recvWindow`` in milliseconds (§6.2).
DEFAULT_RECV_WINDOW: Final = 5000
MAX_RECV_WINDOW: Final = 60000
#: Timestamps at or above this are microseconds (ms now ≈ 1.7e12, µs ≈ 1.7e15).
_MICROS_THRESHOLD: Final = 10**14
#: A request may be at most this far ahead of the server (§6.2).
_AHEAD_MS: Final = 1000

_json = msgspec.json.Encoder()


# --------------------------------------------------------------------------- values


def format_value(value: Any) -> str:
    """A param value as it appears in a signature payload.

    Strings stay as they are; booleans are JSON's ``true``/``false``;
    ``Decimal`` is written without exponent; ints as digits; lists and dicts as
    compact JSON (what the server sees in the frame). Floats only occur on the
    verifying side (``recvWindow`` may carry decimals) and use Python's shortest
    round-trip text; the client sends DECIMAL params as strings.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple | dict):
        return _json.encode(value).decode()
    raise TypeError(f"cannot sign a param of type {type(value).__name__}")


def _pairs(params: Params) -> list[tuple[str, Any]]:
    return list(params.items()) if isinstance(params, Mapping) else list(params)


def ws_api_payload(params: Mapping[str, Any]) -> str:
    """The WS API signature payload: all params but ``signature``, sorted, not encoded."""
    return "&".join(
        f"{name}={format_value(params[name])}"
        for name in sorted(params)
        if name != "signature" and params[name] is not None
    )


def urlencode(params: Params) -> str:
    """``name=value&...`` in the given order, percent-encoded (RFC 3986 unreserved kept).

    The same string must be sent and signed, so REST callers build the query
    (or body) with this function and pass it to :func:`rest_payload`.
    """
    return "&".join(
        f"{quote(name, safe='')}={quote(format_value(value), safe='')}"
        for name, value in _pairs(params)
        if value is not None
    )


def rest_payload(query: Params | str = "", body: Params | str = "") -> str:
    """The REST signature payload: query string immediately followed by the body.

    Binance's documented example concatenates ``...&timeInForce=GTC`` and
    ``quantity=1&...`` with no ``&`` in between; this does the same.
    """
    query_text = query if isinstance(query, str) else urlencode(query)
    body_text = body if isinstance(body, str) else urlencode(body)
    return query_text + body_text


def verify_ws_api_request(params: Mapping[str, Any], key: VerifyKey) -> None:
    """Check a WS API request's ``signature`` over exactly the params received.

    Raises ``InvalidSignature`` (-1022) on a missing or wrong signature.
    """
    signature = params.get("signature")
    if not isinstance(signature, str) or not key.verify(ws_api_payload(params), signature):
        raise InvalidSignature("Signature for this request is not valid.", code=-1022)


def timestamp_ms(timestamp: int | float) -> float:
    """A Binance timestamp (milliseconds or microseconds) in milliseconds."""
    return timestamp / 1000 if timestamp >= _MICROS_THRESHOLD else float(timestamp)


def check_timestamp(
    timestamp: int | float, server_time_ms: int | float, recv_window: int | float | None = None
) -> None:
    """Binance's timing check (§6.2), exactly as documented::

        accept if timestamp < serverTime + 1000 and serverTime - timestamp <= recvWindow

    ``timestamp`` may be in ms or µs; ``recv_window`` defaults to 5000 ms, may
    carry three decimals and may not exceed 60000 (else ``BadRequest`` -1131).
    Raises ``InvalidNonce`` (-1021) with Binance's messages.
    """
    window = DEFAULT_RECV_WINDOW if recv_window is None else recv_window
    if not 0 < window <= MAX_RECV_WINDOW:
        raise BadRequest(f"recvWindow must be less than {MAX_RECV_WINDOW}.", code=-1131)
    if round(window, 3) != window:
        raise BadRequest("recvWindow supports at most three decimal places.", code=-1131)
    ts = timestamp_ms(timestamp)
    if not ts < server_time_ms + _AHEAD_MS:
        raise InvalidNonce(
            "Timestamp for this request was 1000ms ahead of the server's time.", code=-1021
        )
    if not server_time_ms - ts <= window:
        raise InvalidNonce("Timestamp for this request is outside of the recvWindow.", code=-1021)
