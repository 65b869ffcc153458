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

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final, Literal, TypeAlias
from urllib.parse import quote

import msgspec
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from ..._exceptions import BadRequest, InvalidNonce, InvalidSignature

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

KeyType: TypeAlias = Literal["hmac", "rsa", "ed25519"]
PrivateKey: TypeAlias = RSAPrivateKey | Ed25519PrivateKey
PublicKey: TypeAlias = RSAPublicKey | Ed25519PublicKey
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


# --------------------------------------------------------------------------- signers


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def hmac_sha256_hex(secret: str | bytes, payload: str) -> str:
    """HMAC-SHA256 of ``payload`` keyed with the API secret, lowercase hex."""
    return hmac.new(_bytes(secret), payload.encode(), hashlib.sha256).hexdigest()


def rsa_sign(key: RSAPrivateKey, payload: str) -> str:
    """RSASSA-PKCS1-v1_5 with SHA-256, standard base64."""
    signature = key.sign(payload.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def ed25519_sign(key: Ed25519PrivateKey, payload: str) -> str:
    """Ed25519 signature, standard base64."""
    return base64.b64encode(key.sign(payload.encode())).decode()


def sign(key: str | bytes | PrivateKey, payload: str) -> str:
    """Sign with whatever key is given: a secret (HMAC) or an RSA/Ed25519 private key."""
    if isinstance(key, RSAPrivateKey):
        return rsa_sign(key, payload)
    if isinstance(key, Ed25519PrivateKey):
        return ed25519_sign(key, payload)
    return hmac_sha256_hex(key, payload)


# --------------------------------------------------------------------------- verifiers


class VerifyKey:
    """The verifying half of an API key, as the exchange holds it.

    HMAC keys verify with the shared secret; RSA and Ed25519 keys with the
    public key. The secret is never shown by ``repr`` and never pickled.
    """

    __slots__ = ("_material", "key_type")

    def __init__(self, key_type: KeyType, material: bytes | PublicKey) -> None:
        if key_type == "hmac" and not isinstance(material, bytes):
            raise TypeError("an HMAC verify key is the shared secret as bytes")
        if key_type == "rsa" and not isinstance(material, RSAPublicKey):
            raise TypeError("an RSA verify key is an RSA public key")
        if key_type == "ed25519" and not isinstance(material, Ed25519PublicKey):
            raise TypeError("an Ed25519 verify key is an Ed25519 public key")
        self.key_type: KeyType = key_type
        self._material = material

    @classmethod
    def hmac(cls, secret: str | bytes) -> VerifyKey:
        return cls("hmac", _bytes(secret))

    @classmethod
    def from_public_key(cls, key: PublicKey) -> VerifyKey:
        return cls("rsa" if isinstance(key, RSAPublicKey) else "ed25519", key)

    @classmethod
    def from_public_pem(cls, pem: str | bytes) -> VerifyKey:
        """A verify key from an RSA or Ed25519 public key in PEM (what users register)."""
        key = serialization.load_pem_public_key(_bytes(pem))
        if not isinstance(key, RSAPublicKey | Ed25519PublicKey):
            raise TypeError(f"binance accepts RSA or Ed25519 keys, not {type(key).__name__}")
        return cls.from_public_key(key)

    def verify(self, payload: str, signature: str) -> bool:
        """True iff ``signature`` is valid for ``payload`` (constant time for HMAC)."""
        data = payload.encode()
        material = self._material
        if isinstance(material, bytes):
            expected = hmac.new(material, data, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, signature.lower())
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        try:
            if isinstance(material, RSAPublicKey):
                material.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                material.verify(raw, data)
        except _CryptoInvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"VerifyKey({self.key_type!r})"

    def __reduce__(self) -> Any:
        raise TypeError("verify keys are not picklable (they may hold a shared secret)")


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
