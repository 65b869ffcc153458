"""API keys that sign payloads, and their verifying halves. Exchange-neutral.

Signature formats: HMAC-SHA256 as lowercase hex; RSA PKCS#1 v1.5 with SHA-256 and
Ed25519 as standard base64. What is signed (the payload) is each exchange's
business (``_exchanges/<exchange>/signing.py``); pure functions, no clocks, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any, Literal, TypeAlias

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

__all__ = [
    "KeyType",
    "PrivateKey",
    "PublicKey",
    "VerifyKey",
    "ed25519_sign",
    "hmac_sha256_hex",
    "rsa_sign",
    "sign",
]

KeyType: TypeAlias = Literal["hmac", "rsa", "ed25519"]
PrivateKey: TypeAlias = RSAPrivateKey | Ed25519PrivateKey
PublicKey: TypeAlias = RSAPublicKey | Ed25519PublicKey


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
            raise TypeError(f"only RSA or Ed25519 keys are accepted, not {type(key).__name__}")
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
