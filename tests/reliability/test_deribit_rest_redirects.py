"""Redirects on Deribit's REST transport, against real local HTTP servers.

A public ``GET`` follows at most ``MAX_REDIRECTS`` redirects of the same scheme,
within the call's one deadline; a redirect to another scheme (``https`` to ``http``
would drop TLS), past the limit, or answering a call that may not be re-sent
elsewhere (``redirects=0``, what anything but a public call gets) is an
``ExchangeError`` naming the redirect, and nothing is sent to its target.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ccxtpro_sync import ExchangeError, deribit
from ccxtpro_sync._exchanges.deribit.rest import MAX_REDIRECTS, DeribitRest
from ccxtpro_sync.simulator import LocalDeribit

WAIT = 10.0
BODY = b'{"result":[]}'


class Server:
    """A local HTTP server: ``route(path)`` gives ``(status, headers, body)``; the
    paths asked for are kept in ``seen``."""

    def __init__(self, route: Callable[[str], tuple[int, dict[str, str], bytes]]) -> None:
        self.seen: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.seen.append(self.path)
                status, headers, body = route(self.path)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            # shutdown() waits for the loop to poll: 0.5 s by default, per server
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(10)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    made: list[Server] = []
    yield made
    for server in made:
        server.close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)


def serve(
    servers: list[Server], route: Callable[[str], tuple[int, dict[str, str], bytes]]
) -> Server:
    server = Server(route)
    servers.append(server)
    return server


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_public_get_follows_a_redirect_to_another_host(
    servers: list[Server], status: int
) -> None:
    target = serve(servers, lambda path: (200, {}, BODY))
    moved = serve(servers, lambda path: (status, {"Location": target.base + "/v3" + path}, b""))
    rest = DeribitRest(moved.base + "/api/v2")
    try:
        assert rest.get("/public/get_instruments?currency=BTC", WAIT, "x") == (200, BODY)
    finally:
        rest.close()
    assert moved.seen == ["/api/v2/public/get_instruments?currency=BTC"]
    assert target.seen == ["/v3/api/v2/public/get_instruments?currency=BTC"]


def test_a_relative_location_is_taken_against_the_url_asked(servers: list[Server]) -> None:
    def route(path: str) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/old/"):
            return 302, {"Location": "/new/" + path.removeprefix("/old/")}, b""
        return 200, {}, BODY

    server = serve(servers, route)
    rest = DeribitRest(server.base + "/old")
    try:
        assert rest.get("/public/test", WAIT, "x") == (200, BODY)
    finally:
        rest.close()
    assert server.seen == ["/old/public/test", "/new/public/test"]


def _refused(base: str, path: str, match: str, what: str = "x", **kw: Any) -> ExchangeError:
    """A GET by a fresh client at ``base`` fails with an ExchangeError saying ``match``."""
    rest = DeribitRest(base)
    try:
        with pytest.raises(ExchangeError, match=match) as caught:
            rest.get(path, WAIT, what, **kw)
    finally:
        rest.close()
    return caught.value


def test_a_redirect_loop_ends_after_the_limit(servers: list[Server]) -> None:
    loop = serve(servers, lambda path: (302, {"Location": path}, b""))
    error = _refused(loop.base, "/public/test", "redirect", "deribit public/test")
    assert "deribit public/test" in str(error)
    assert len(loop.seen) == MAX_REDIRECTS + 1


def test_a_redirect_to_another_scheme_is_refused(servers: list[Server]) -> None:
    target = serve(servers, lambda path: (200, {}, BODY))
    https = target.base.replace("http://", "https://")
    moved = serve(servers, lambda path: (302, {"Location": https + path}, b""))
    _refused(moved.base, "/public/test", "scheme")
    assert target.seen == []


def test_a_call_that_may_not_be_sent_elsewhere_is_not(servers: list[Server]) -> None:
    target = serve(servers, lambda path: (200, {}, BODY))
    moved = serve(servers, lambda path: (307, {"Location": target.base + path}, b""))
    error = _refused(moved.base, "/private/buy?amount=10", "not followed", redirects=0)
    assert error.code == 307
    assert moved.seen == ["/private/buy?amount=10"] and target.seen == []


def test_a_redirect_without_a_location_is_an_exchange_error(servers: list[Server]) -> None:
    moved = serve(servers, lambda path: (302, {}, b"moved"))
    _refused(moved.base, "/public/test", "Location")


def test_the_client_loads_its_markets_through_a_redirect(servers: list[Server]) -> None:
    with LocalDeribit(seed=3, auto_publish=False) as ex:
        rest = ex.urls()["rest"]
        moved = serve(
            servers, lambda path: (301, {"Location": rest + path.removeprefix("/api/v2")}, b"")
        )
        client = deribit(
            {"environment": "local", "urls": {"ws": ex.url, "rest": moved.base + "/api/v2"}}
        )
        try:
            assert "BTC/USD:BTC" in client.load_markets()
        finally:
            client.close()
    assert moved.seen and all(p.startswith("/api/v2/public/get_instruments") for p in moved.seen)
