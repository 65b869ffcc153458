"""Deribit's REST transport goes through the proxy the environment names, as the
``urlopen`` it replaced did (a host reachable only through a proxy stays reachable);
``no_proxy`` still goes direct."""

from __future__ import annotations

import base64

import pytest

from ccxtpro_sync import ExchangeNotAvailable, InvalidArgument
from ccxtpro_sync._exchanges.deribit.rest import DeribitRest

from .test_rest_hostile import Peer, Scripted

WAIT = 10.0
#: A host this machine cannot resolve: only the proxy can reach it.
REMOTE = "deribit.invalid"


def _answering(peer: Peer) -> None:
    while peer.request() is not None:
        peer.answer(b'{"result":[]}')


@pytest.mark.parametrize("netloc", [f"{REMOTE}:8080", REMOTE, "[2001:db8::1]:8080"])
def test_plain_http_asks_the_proxy_for_the_absolute_url(
    netloc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Scripted(_answering)
    monkeypatch.setenv("http_proxy", f"http://user:p%40ss@127.0.0.1:{proxy.port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    rest = DeribitRest(f"http://{netloc}/api/v2")
    try:
        assert rest.get("/public/get_instruments?currency=BTC", WAIT, "x") == (
            200,
            b'{"result":[]}',
        )
    finally:
        rest.close()
        proxy.close()
    assert [(m, t) for _, m, t in proxy.seen] == [
        ("GET", f"http://{netloc}/api/v2/public/get_instruments?currency=BTC")
    ]


def test_proxy_credentials_are_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    heads: list[bytes] = []

    def handler(peer: Peer) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += peer.sock.recv(65536)
        heads.append(data)
        peer.answer(b"{}")

    proxy = Scripted(handler)
    monkeypatch.setenv("http_proxy", f"http://user:p%40ss@127.0.0.1:{proxy.port}")
    rest = DeribitRest(f"http://{REMOTE}/api/v2")
    try:
        rest.get("/public/test", WAIT, "x")
    finally:
        rest.close()
        proxy.close()
    token = base64.b64encode(b"user:p@ss").decode()
    assert f"Proxy-Authorization: Basic {token}".encode() in heads[0]


def test_https_tunnels_through_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(peer: Peer) -> None:  # grants the tunnel, then hangs up: no TLS server
        peer.request()
        peer.sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

    proxy = Scripted(handler)
    monkeypatch.setenv("https_proxy", f"127.0.0.1:{proxy.port}")
    rest = DeribitRest(f"https://{REMOTE}/api/v2")
    try:
        with pytest.raises(ExchangeNotAvailable):
            rest.get("/public/test", WAIT, "x")
    finally:
        rest.close()
        proxy.close()
    assert [(m, t) for _, m, t in proxy.seen] == [("CONNECT", f"{REMOTE}:443")]


def test_no_proxy_goes_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy, origin = Scripted(_answering), Scripted(_answering)
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    rest = DeribitRest(origin.url + "/api/v2")
    try:
        assert rest.get("/public/test", WAIT, "x")[0] == 200
    finally:
        rest.close()
        proxy.close()
        origin.close()
    assert proxy.seen == [] and [t for _, _, t in origin.seen] == ["/api/v2/public/test"]


def test_an_unusable_proxy_in_the_environment_is_a_typed_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:port")
    rest = DeribitRest(f"http://{REMOTE}/api/v2")
    try:
        with pytest.raises(InvalidArgument, match="http_proxy"):
            rest.get("/public/test", WAIT, "x")
        assert not rest._calls  # nothing left registered for close() to cut
    finally:
        rest.close()
