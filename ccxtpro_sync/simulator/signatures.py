"""The exchange's own signature and timing checks, written from Binance's documented rules.

Deliberately independent of the client's signing module: if both sides shared
one payload builder, a bug in it would be signed and verified identically and
every test would pass. The rules (protocol reference §6.2):

* WS API payload: every param except ``signature`` (``apiKey`` included),
  sorted by name, ``name=value`` joined by ``&``, values as plain UTF-8 text.
* REST payload: the query string followed directly by the body, exactly as the
  bytes arrived (percent-encoding kept), minus the ``signature`` pair.
* HMAC-SHA256 signatures are hex, compared case-insensitively; RSA
  (PKCS#1 v1.5, SHA-256) and Ed25519 signatures are standard base64.
* Timing: accept iff ``timestamp < serverTime + 1000`` and
  ``serverTime - timestamp <= recvWindow`` (default 5000, at most 60000).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

KeyType = Literal["hmac", "rsa", "ed25519"]

RECV_WINDOW_DEFAULT: Final = 5000
RECV_WINDOW_MAX: Final = 60000
#: Timestamps this large are microseconds (Binance accepts both units).
_MICROSECONDS_FROM: Final = 10**14


class TimingError(Exception):
    """A request's ``timestamp``/``recvWindow`` failed Binance's check."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


class ExchangeKey:
    """What the exchange stores for one API key: the shared secret or the public key."""

    __slots__ = ("_public", "_secret", "key_type")

    def __init__(
        self, key_type: KeyType, *, secret: bytes | None = None, public: Any = None
    ) -> None:
        self.key_type: KeyType = key_type
        self._secret = secret
        self._public = public

    @classmethod
    def hmac(cls, secret: str | bytes) -> ExchangeKey:
        return cls("hmac", secret=secret.encode() if isinstance(secret, str) else secret)

    @classmethod
    def from_public_pem(cls, pem: str | bytes) -> ExchangeKey:
        """An RSA or Ed25519 public key in PEM, as a user registers it with Binance."""
        key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
        if isinstance(key, RSAPublicKey):
            return cls("rsa", public=key)
        if isinstance(key, Ed25519PublicKey):
            return cls("ed25519", public=key)
        raise TypeError(f"binance accepts RSA or Ed25519 keys, not {type(key).__name__}")

    def verify(self, payload: str, signature: str) -> bool:
        """Whether ``signature`` signs ``payload`` under this key."""
        data = payload.encode("utf-8")
        if self._secret is not None:
            digest = hmac.new(self._secret, data, hashlib.sha256).hexdigest()
            return hmac.compare_digest(digest, signature.lower())
        try:
            raw = base64.b64decode(signature.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return False
        try:
            if isinstance(self._public, RSAPublicKey):
                self._public.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                self._public.verify(raw, data)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"ExchangeKey({self.key_type!r})"

    def __reduce__(self) -> Any:
        raise TypeError("exchange keys are not picklable (an HMAC key is a shared secret)")


def _text(value: Any) -> str:
    """A received JSON value as it reads in the payload (strings verbatim)."""
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def ws_api_signed_text(params: Mapping[str, Any]) -> str:
    """The text a WS API request's signature covers: all params but ``signature``, sorted."""
    names = sorted(name for name in params if name != "signature")
    return "&".join(f"{name}={_text(params[name])}" for name in names)


def ws_api_signature_ok(params: Mapping[str, Any], key: ExchangeKey) -> bool:
    signature = params.get("signature")
    return isinstance(signature, str) and key.verify(ws_api_signed_text(params), signature)


def check_request_time(timestamp: float, server_ms: float, recv_window: float | None) -> None:
    """Binance's timing rule; raises :class:`TimingError` with Binance's code and message."""
    window = RECV_WINDOW_DEFAULT if recv_window is None else recv_window
    if window <= 0 or window > RECV_WINDOW_MAX:
        raise TimingError(-1131, f"recvWindow must be less than {RECV_WINDOW_MAX}.")
    if round(window, 3) != window:
        raise TimingError(-1131, "recvWindow supports at most three decimal places.")
    sent_ms = timestamp / 1000 if timestamp >= _MICROSECONDS_FROM else timestamp
    if sent_ms >= server_ms + 1000:
        raise TimingError(
            -1021, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if server_ms - sent_ms > window:
        raise TimingError(-1021, "Timestamp for this request is outside of the recvWindow.")


__all__ = [
    "ExchangeKey",
    "KeyType",
    "TimingError",
    "check_request_time",
    "ws_api_signature_ok",
    "ws_api_signed_text",
]
