"""A websocket to a host only a proxy can reach still goes through the environment's
proxy (``http_proxy``, websocket-client's ``CONNECT`` tunnel) now that the library
dials direct connections itself."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from websockets.asyncio.server import ServerConnection

from ccxtpro_sync import WebSocketClient

from .servers import LocalServer

WAIT = 10.0


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def _tunnel_proxy(target: tuple[str, int]) -> Iterator[tuple[int, list[str]]]:
    """An HTTP proxy that answers every ``CONNECT`` with a tunnel to ``target``."""
    listener = socket.create_server(("127.0.0.1", 0))
    asked: list[str] = []
    held: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                head = b""
                while b"\r\n\r\n" not in head:
                    head += client.recv(4096)
                asked.append(head.split(b"\r\n", 1)[0].decode())
                upstream = socket.create_connection(target)
                held.extend((client, upstream))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1], asked
    finally:
        listener.close()
        for sock in held:
            sock.close()


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


def test_a_remote_host_goes_through_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with LocalServer(_echo) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with _tunnel_proxy(("127.0.0.1", port)) as (proxy_port, asked):
            monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy_port}")
            with WebSocketClient("ws://exchange.invalid:9443/ws", timeout=WAIT) as client:
                client.send({"via": "proxy"})
                assert client.recv() == {"via": "proxy"}
    assert asked == ["CONNECT exchange.invalid:9443 HTTP/1.1"]
