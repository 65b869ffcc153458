"""Every REST call, public or signed, is bounded as a whole, cut by ``close()``, and
capped in size — against hostile servers on 127.0.0.1 written here.

The signed tests put a small HTTP relay between the client and the local exchange:
it passes requests through untouched and misbehaves only on the answer it is told to
(trickling it a byte at a time, or holding it), so the exchange's state stays real.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from http.client import HTTPConnection
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import ClientClosed, ProtocolError
from ccxtpro_sync._exchanges.binance.rest import DEFAULT_MAX_BODY, BinanceRest
from ccxtpro_sync.simulator import LocalExchange

SPOT = "BTC/USDT"


def read_request(sock: socket.socket, buffered: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(head, body, rest of the buffer) of one HTTP request, or None at EOF."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, data = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(data) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    return head, data[:length], data[length:]


class Relay:
    """A keep-alive HTTP relay to ``upstream`` (host, port). ``hostile(method, path)``
    picks the answers to misbehave on: they are trickled one byte every 50 ms."""

    def __init__(self, upstream: tuple[str, int], hostile: Callable[[str, str], bool]) -> None:
        self._upstream = upstream
        self._hostile = hostile
        self.stop = threading.Event()
        self.seen: list[tuple[str, str]] = []
        self.trickled = 0  # body bytes of hostile answers sent so far
        self.hostile_length = 0  # body bytes of the last hostile answer, in all
        self.hostile_started = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        upstream = HTTPConnection(*self._upstream, timeout=10)
        buffered = b""
        with sock, contextlib.suppress(OSError), contextlib.closing(upstream):
            while not self.stop.is_set():
                request = read_request(sock, buffered)
                if request is None:
                    return
                head, body, buffered = request
                lines = head.decode().split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                path = target.split("?", 1)[0]
                self.seen.append((method, path))
                headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                headers.pop("Host", None)
                upstream.request(method, target, body=body or None, headers=headers)
                answer = upstream.getresponse()
                content = answer.read()
                status = f"HTTP/1.1 {answer.status} {answer.reason}\r\n"
                top = f"{status}Content-Type: application/json\r\nContent-Length: {len(content)}"
                sock.sendall(top.encode() + b"\r\n\r\n")
                if not self._hostile(method, path):
                    sock.sendall(content)
                    continue
                self.hostile_length = len(content)
                self.hostile_started.set()
                for byte in content:
                    if self.stop.wait(0.05):
                        return
                    sock.sendall(bytes([byte]))
                    self.trickled += 1

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # ends the accept thread
        self._listener.close()


@pytest.fixture
def account(exchange: LocalExchange) -> Any:
    return exchange.create_test_account("ed25519")


def relayed_client(exchange: LocalExchange, account: Any, relay: Relay, **extra: Any) -> Any:
    config = {
        "environment": "local",
        "local": exchange,
        "credentials": account.credentials,
        "urls": {"rest": relay.url},
        "recvWindow": 500,
        "timeout": 30,
        **extra,
    }
    return ccxtpro_sync.binance(config)


@pytest.fixture
def relay_to(exchange: LocalExchange) -> Iterator[Callable[[Callable[[str, str], bool]], Relay]]:
    made: list[Relay] = []
    upstream = exchange.urls("spot")["rest"].removeprefix("http://").split(":")

    def make(hostile: Callable[[str, str], bool]) -> Relay:
        made.append(Relay((upstream[0], int(upstream[1])), hostile))
        return made[-1]

    yield make
    for relay in made:
        relay.close()


def test_a_trickled_order_reply_is_cut_and_resolved_never_sent_twice(
    exchange: LocalExchange, account: Any, relay_to: Callable[..., Relay]
) -> None:
    """The order's answer trickles far past the caller's timeout: the call is cut at
    its timeout and the order is looked up by its client id (it was placed), with the
    request sent exactly once."""
    relay = relay_to(lambda method, path: method == "POST" and path == "/api/v3/order")
    with relayed_client(exchange, account, relay) as client:
        client.load_markets()
        price = round(client.watch_ticker(SPOT).last * 0.8, 2)
        order = client.create_order(SPOT, "limit", "buy", 0.01, price, timeout=1.0)
        assert relay.trickled < relay.hostile_length  # cut while the relay still had bytes
    assert order.status == "open" and order.clientOrderId
    held = exchange.orders(account.account, "spot")
    assert [o["clientOrderId"] for o in held] == [order.clientOrderId]
    assert relay.seen.count(("POST", "/api/v3/order")) == 1
    assert ("GET", "/api/v3/order") in relay.seen  # resolved by looking it up


def test_close_cuts_a_signed_call_short(
    exchange: LocalExchange, account: Any, relay_to: Callable[..., Relay]
) -> None:
    """``close()`` on another thread ends a signed read in flight at once, well before
    the call's own (30 s) timeout: the caller gets ``ClientClosed``."""
    relay = relay_to(lambda method, path: path == "/api/v3/account")
    client = relayed_client(exchange, account, relay)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.fetch_balance(timeout=30)
        except BaseException as error:
            outcome.append(error)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    assert relay.hostile_started.wait(10), "the balance request never reached the relay"
    client.close()
    caller.join(5)
    assert not caller.is_alive(), "close() left the signed call running"
    assert len(outcome) == 1 and isinstance(outcome[0], ClientClosed)


def test_kept_alive_connections_are_reused(
    exchange: LocalExchange, account: Any, relay_to: Callable[..., Relay]
) -> None:
    relay = relay_to(lambda method, path: False)
    with relayed_client(exchange, account, relay) as client:
        client.load_markets()
        for _ in range(3):
            client.fetch_balance()
        assert client.rest._idle, "no connection kept for reuse"
    assert relay.seen.count(("GET", "/api/v3/account")) == 3


# -- body cap ----------------------------------------------------------------------------------


def serve_once(answer: Callable[[socket.socket], None]) -> tuple[str, threading.Event]:
    """A one-connection server answering any request with ``answer``; its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def run() -> None:
        with listener:
            sock, _ = listener.accept()
            with sock, contextlib.suppress(OSError):
                read_request(sock, b"")
                answer(sock)
                done.wait(10)

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", done


def endless_chunks(sent: list[int]) -> Callable[[socket.socket], None]:
    """A chunked 200 whose body never ends (until the client hangs up)."""

    def answer(sock: socket.socket) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        while True:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent.append(len(chunk))

    return answer


def test_an_endless_answer_is_a_protocol_error_at_the_cap() -> None:
    sent: list[int] = []
    url, done = serve_once(endless_chunks(sent))
    rest = BinanceRest(url, "spot", timeout=20, max_body=1024 * 1024)
    try:
        with pytest.raises(ProtocolError, match="limit"):
            rest.get("/api/v3/exchangeInfo", timeout=20)
    finally:
        rest.close()
        done.set()
    assert 1024 * 1024 <= sum(sent) <= 8 * 1024 * 1024  # read just past the cap, no more


def test_an_announced_oversized_answer_is_refused_unread() -> None:
    def answer(sock: socket.socket) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\n\r\n{")

    url, done = serve_once(answer)
    rest = BinanceRest(url, "spot", timeout=5)
    try:
        with pytest.raises(ProtocolError, match="5000000000 bytes"):
            rest.send("GET", "/api/v3/exchangeInfo")
    finally:
        rest.close()
        done.set()
    assert rest.max_body == DEFAULT_MAX_BODY


def test_the_cap_is_a_client_option(exchange: LocalExchange) -> None:
    config = {"environment": "local", "local": exchange, "options": {"maxResponseSize": 100}}
    with ccxtpro_sync.binance(config) as client:
        assert client.rest.max_body == 100
        with pytest.raises(ProtocolError, match="100-byte limit"):
            client.load_markets()  # exchangeInfo is far larger
