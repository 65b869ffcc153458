"""``wss://`` through the library's own dial (TCP, then TLS, then websocket-client's
handshake on that socket): the certificate is still verified, and ``close()`` cuts
a TLS handshake the server never answers."""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ccxtpro_sync import ClientClosed, ExchangeNotAvailable, WebSocketClient

from ..ports import refused_port
from .certs import assert_certificate_refused, certificate, key_pem

WAIT = 10.0


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = certificate(
        name,
        name,
        key.public_key(),
        key,
        since=datetime.timedelta(minutes=1),
        until=datetime.timedelta(hours=1),
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key_pem(key))
    return cert_path, key_path


@contextlib.contextmanager
def _listener(handshake: bool) -> Iterator[tuple[int, threading.Event]]:
    """A TCP listener on 127.0.0.1 that accepts one connection and then either does
    a TLS handshake with a self-signed certificate or never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = threading.Event()
    held: list[socket.socket] = []
    with tempfile.TemporaryDirectory() as directory:
        cert, key = _self_signed(Path(directory))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)

        def serve() -> None:
            with contextlib.suppress(OSError):
                sock, _ = listener.accept()
                held.append(sock)
                accepted.set()
                if handshake:
                    held.append(context.wrap_socket(sock, server_side=True))

        threading.Thread(target=serve, daemon=True).start()
        try:
            yield listener.getsockname()[1], accepted
        finally:
            listener.close()
            for sock in held:
                sock.close()


def test_an_untrusted_certificate_is_refused() -> None:
    with _listener(handshake=True) as (port, _):
        assert_certificate_refused(WebSocketClient(f"wss://127.0.0.1:{port}", timeout=WAIT))


def test_close_cuts_a_tls_handshake_never_answered() -> None:
    with _listener(handshake=False) as (port, accepted):
        client = WebSocketClient(f"wss://127.0.0.1:{port}", connect_timeout=30.0, timeout=WAIT)
        assert accepted.wait(WAIT)
        started = time.monotonic()
        client.close()
        took = time.monotonic() - started
        with pytest.raises(ClientClosed):
            client.recv()
    assert took < WAIT, f"close() took {took:.1f}s behind a TLS handshake"


def test_a_first_connect_refused_for_good_reaches_recv_at_once() -> None:
    """With ``reconnect=False`` the first connect's failure is final: ``recv()`` raises
    it (it waited for its whole timeout: only a lost session reached it)."""
    with refused_port() as port:
        client = WebSocketClient(f"ws://127.0.0.1:{port}", timeout=60.0)  # nothing listens
        try:
            started = time.monotonic()
            with pytest.raises(ExchangeNotAvailable):
                client.recv()
            assert time.monotonic() - started < WAIT
        finally:
            client.close()
