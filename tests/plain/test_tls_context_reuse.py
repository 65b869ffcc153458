"""One verified TLS context per CA configuration, not one per connect.

Building a default context loads the whole CA store (milliseconds of CPU, each
reconnect of each websocket, each Deribit REST call). The library builds it once and
reuses it, keeping what each connect checks: the certificate against the CAs in
force (``WEBSOCKET_CLIENT_CA_BUNDLE`` for websockets, ``SSL_CERT_FILE`` and the
system's for REST), the host name, and SNI. Against local TLS servers whose
certificates a CA made here signed."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.server import ServerConnection

from ccxtpro_sync import WebSocketClient
from ccxtpro_sync._exchanges.deribit.rest import DeribitRest

from .certs import assert_certificate_refused, certificate, key_pem
from .servers import LocalServer

WAIT = 10.0
HOST = "localhost"


class Tls:
    """A CA (``ca.pem`` in ``directory``) and a server context with a certificate it
    signed for ``localhost``; ``names`` keeps the SNI each handshake carried."""

    def __init__(self, directory: Path, label: str) -> None:
        day = datetime.timedelta(days=1)
        ca_key, key = (
            ec.generate_private_key(ec.SECP256R1()),
            ec.generate_private_key(ec.SECP256R1()),
        )
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{label} test CA")])
        ca = certificate(
            ca_name, ca_name, ca_key.public_key(), ca_key, since=day, until=day,
            extensions=((x509.BasicConstraints(ca=True, path_length=None), True),),
        )  # fmt: skip
        leaf = certificate(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]), ca_name,
            key.public_key(), ca_key, since=day, until=day,
            extensions=((x509.SubjectAlternativeName([x509.DNSName(HOST)]), False),),
        )  # fmt: skip
        self.ca = directory / f"{label}-ca.pem"
        self.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        (directory / f"{label}-leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        (directory / f"{label}-leaf.key").write_bytes(key_pem(key))
        self.names: list[str | None] = []
        self.server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server.load_cert_chain(
            directory / f"{label}-leaf.pem", directory / f"{label}-leaf.key"
        )

        def sni(sock: Any, name: str | None, context: ssl.SSLContext) -> None:
            self.names.append(name)

        self.server.sni_callback = sni


@pytest.fixture
def wraps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ssl.SSLContext]]:
    """The context of every client-side TLS wrap the library makes (the call goes on)."""
    seen: list[ssl.SSLContext] = []
    wrap = ssl.SSLContext.wrap_socket

    def spy(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        if not kwargs.get("server_side"):
            seen.append(self)
        return wrap(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "wrap_socket", spy)
    yield seen


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


def _echoed(url: str) -> None:
    with WebSocketClient(url, timeout=WAIT, reconnect=False) as client:
        client.send({"hello": "tls"})
        assert client.recv() == {"hello": "tls"}


def test_websocket_connects_share_one_verified_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wraps: list[ssl.SSLContext]
) -> None:
    tls = Tls(tmp_path, "one")
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(tls.ca))
    with LocalServer(_echo, ssl=tls.server) as server:
        url = server.url.replace("ws://127.0.0.1", f"wss://{HOST}")
        for _ in range(3):
            _echoed(url)
    assert len(wraps) == 3 and all(c is wraps[0] for c in wraps)  # built once
    context = wraps[0]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert tls.names == [HOST] * 3  # SNI on every handshake


def test_a_changed_ca_bundle_is_honoured_on_the_next_connect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wraps: list[ssl.SSLContext]
) -> None:
    trusted, other = Tls(tmp_path, "trusted"), Tls(tmp_path, "other")
    with LocalServer(_echo, ssl=trusted.server) as server:
        url = server.url.replace("ws://127.0.0.1", f"wss://{HOST}")
        monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(trusted.ca))
        _echoed(url)
        monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(other.ca))
        assert_certificate_refused(WebSocketClient(url, timeout=WAIT, reconnect=False))
        # the bundle's file replaced in place (a CA rotated on disk) is read again
        other.ca.write_bytes(trusted.ca.read_bytes() + b"\n")
        _echoed(url)
        monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(trusted.ca))
        _echoed(url)
    assert wraps[3] is wraps[0]  # the first bundle's context, reused
    assert len({id(c) for c in wraps}) == 3


def test_deribit_rest_calls_share_one_verified_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wraps: list[ssl.SSLContext]
) -> None:
    tls = Tls(tmp_path, "rest")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca))  # the "system" CAs of this process
    for name in ("https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = tls.server.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(
        # shutdown() waits for the loop to poll: 0.5 s by default
        target=httpd.serve_forever,
        kwargs={"poll_interval": 0.02},
        daemon=True,
    )
    thread.start()
    rest = DeribitRest(f"https://{HOST}:{httpd.server_address[1]}/api/v2")
    try:
        for _ in range(3):
            assert rest.get("/public/test", WAIT, "x") == (200, b"{}")
    finally:
        rest.close()
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
    assert len(wraps) == 3 and all(c is wraps[0] for c in wraps)
    assert wraps[0].verify_mode == ssl.CERT_REQUIRED and wraps[0].check_hostname
    assert tls.names == [HOST] * 3
