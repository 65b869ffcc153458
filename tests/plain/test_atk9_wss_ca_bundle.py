"""``wss://`` trusts what websocket-client trusted when it did the TLS itself: its
``WEBSOCKET_CLIENT_CA_BUNDLE`` (a CA file) replaces the system's CAs, and the
certificate (issuer, host name, dates) is still checked against it."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.server import ServerConnection

from ccxtpro_sync import WebSocketClient

from .certs import assert_certificate_refused, certificate, key_pem
from .servers import LocalServer

WAIT = 10.0


def _server_context(directory: Path, host: str) -> ssl.SSLContext:
    """A CA (written to ca.pem) and a server certificate it signed for ``host``."""
    day = datetime.timedelta(days=1)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "atk9 test CA")])
    ca = certificate(
        ca_name,
        ca_name,
        ca_key.public_key(),
        ca_key,
        since=day,
        until=day,
        extensions=((x509.BasicConstraints(ca=True, path_length=None), True),),
    )
    leaf = certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]),
        ca_name,
        key.public_key(),
        ca_key,
        since=day,
        until=day,
        extensions=(
            (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), False),
        ),
    )
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (directory / "leaf.key").write_bytes(key_pem(key))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "leaf.pem", directory / "leaf.key")
    return context


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


def test_the_websocket_client_ca_bundle_is_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(tmp_path / "ca.pem"))
    with LocalServer(_echo, ssl=_server_context(tmp_path, "127.0.0.1")) as server:
        url = server.url.replace("ws://", "wss://")
        with WebSocketClient(url, timeout=WAIT, reconnect=False) as client:
            client.send({"hello": "tls"})
            assert client.recv() == {"hello": "tls"}


def test_without_the_bundle_the_same_server_is_refused(tmp_path: Path) -> None:
    with LocalServer(_echo, ssl=_server_context(tmp_path, "127.0.0.1")) as server:
        url = server.url.replace("ws://", "wss://")
        assert_certificate_refused(WebSocketClient(url, timeout=WAIT, reconnect=False))
