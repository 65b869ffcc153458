"""Certificates for the ``wss://`` tests, made on the fly (EC P-256, SHA-256), and the
check that a client refuses an untrusted one."""

from __future__ import annotations

import datetime
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ccxtpro_sync import ExchangeNotAvailable, WebSocketClient


def certificate(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signer: ec.EllipticCurvePrivateKey,
    *,
    since: datetime.timedelta,
    until: datetime.timedelta,
    extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> x509.Certificate:
    """A certificate valid from ``since`` ago to ``until`` from now; each extension
    comes with whether it is critical."""
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - since)
        .not_valid_after(now + until)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, hashes.SHA256())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def assert_certificate_refused(client: WebSocketClient) -> None:
    """``client``'s first read fails typed, caused by the certificate check; it is closed."""
    try:
        with pytest.raises(ExchangeNotAvailable) as caught:
            client.recv()
    finally:
        client.close()
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
