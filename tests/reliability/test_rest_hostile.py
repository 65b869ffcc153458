"""The REST transport against servers that misbehave on purpose, written here as raw
sockets on 127.0.0.1: interim 1xx answers, negative chunk sizes, absurd
``Retry-After``, kept-alive connections dropped under an order, many threads at once,
and a forked child (Celery prefork) next to its parent.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.client import HTTPConnection
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import (
    ClientClosed,
    ExchangeNotAvailable,
    OrderNotPlaced,
    ProtocolError,
    RateLimitExceeded,
    RequestTimeout,
)
from ccxtpro_sync._exchanges.binance import rest as rest_module
from ccxtpro_sync._exchanges.binance.rest import BinanceRest
from ccxtpro_sync._exchanges.deribit.rest import DeribitRest
from ccxtpro_sync.simulator import LocalExchange

SPOT = "BTC/USDT"

Handler = Callable[["Peer"], None]


class Peer:
    """One accepted connection of a ``Scripted`` server."""

    def __init__(self, sock: socket.socket, number: int, server: Scripted) -> None:
        self.sock = sock
        self.number = number
        self.server = server
        self._buffer = b""

    def request(self) -> tuple[str, str] | None:
        """(method, target) of the next request (recorded), or None at EOF."""
        while b"\r\n\r\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        with self.server.lock:
            self.server.seen.append((self.number, method, target))
        return method, target

    def answer(self, body: bytes, *, status: str = "200 OK", extra: bytes = b"") -> None:
        head = b"HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n" % (status.encode(), len(body), extra)
        self.sock.sendall(head + body)


class Scripted:
    """A raw HTTP server: ``handler`` runs once per accepted connection."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.lock = threading.Lock()
        self.seen: list[tuple[int, str, str]] = []  # (connection, method, target)
        self.connections = 0
        self.stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                peer = Peer(sock, self.connections, self)
            threading.Thread(target=self._serve, args=(peer,), daemon=True).start()

    def _serve(self, peer: Peer) -> None:
        with peer.sock, contextlib.suppress(OSError):
            self._handler(peer)

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # ends the accept thread
        self._listener.close()


@contextlib.contextmanager
def deribit_rest(
    handler: Handler, path: str = "", **options: Any
) -> Iterator[tuple[Scripted, DeribitRest]]:
    """A ``DeribitRest`` (``options``) at ``path`` of a ``Scripted`` server running
    ``handler``; both closed after the block."""
    server = Scripted(handler)
    rest = DeribitRest(server.url + path, **options)
    try:
        yield server, rest
    finally:
        rest.close()
        server.close()


def negative_chunk(sent: list[int]) -> Handler:
    """A chunked answer whose chunk size is ``-1``, then body bytes (up to 16 MiB,
    counted in ``sent``) for a client that reads to EOF."""

    def handler(peer: Peer) -> None:
        peer.request()
        peer.sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n")
        block = b"x" * 65536
        while sum(sent) < 16 * 1024 * 1024:  # bounded: the machine is shared
            peer.sock.sendall(block)
            sent.append(len(block))
        peer.server.stop.wait(30)

    return handler


@pytest.fixture
def scripted() -> Iterator[Callable[[Handler], Scripted]]:
    made: list[Scripted] = []

    def make(handler: Handler) -> Scripted:
        made.append(Scripted(handler))
        return made[-1]

    yield make
    for server in made:
        server.close()


def echo(peer: Peer) -> None:
    """Keep-alive: each answer names its own request's target."""
    while (request := peer.request()) is not None:
        peer.answer(b'{"target":"%s"}' % request[1].encode())


# -- framing ------------------------------------------------------------------------------


@pytest.mark.parametrize("interim", [b"100 Continue", b"103 Early Hints"])
def test_an_interim_answer_is_skipped_and_never_answers_the_next_call(
    scripted: Callable[[Handler], Scripted], interim: bytes
) -> None:
    """An interim 1xx before the real answer, both in one packet: the call gets the real
    answer. (A 103 used to be taken as the answer, leaving the real one buffered on the
    kept-alive connection, where the next call read it as its own.)"""

    def handler(peer: Peer) -> None:
        while (request := peer.request()) is not None:
            peer.sock.sendall(b"HTTP/1.1 %s\r\nLink: </x>; rel=preload\r\n\r\n" % interim)
            peer.answer(b'{"target":"%s"}' % request[1].encode())

    server = scripted(handler)
    rest = BinanceRest(server.url, "spot", timeout=10)
    try:
        assert rest.send("GET", "/a") == b'{"target":"/a"}'
        assert rest.send("GET", "/b") == b'{"target":"/b"}'
    finally:
        rest.close()
    assert server.connections == 1  # the connection was kept, and in step


def test_a_negative_chunk_size_cannot_pass_the_cap(
    scripted: Callable[[Handler], Scripted],
) -> None:
    """``-1`` as a chunk size made http.client read to EOF in one go, past the cap:
    it is a ``ProtocolError`` before the body is read."""
    server = scripted(negative_chunk([]))
    rest = BinanceRest(server.url, "spot", timeout=5, max_body=1024 * 1024)
    try:
        with pytest.raises(ProtocolError, match="negative chunk size"):
            rest.send("GET", "/api/v3/exchangeInfo")
    finally:
        rest.close()
    assert not rest._idle


@pytest.mark.parametrize(
    "status_line",
    [b"garbage\r\n", b"HTTP/1.1 2OO OK\r\n", b"HTTP/1.1 1000 Nope\r\n", b"\x00\xff" * 40 + b"\r\n"],
)
def test_a_garbage_status_line_is_a_typed_network_error(
    scripted: Callable[[Handler], Scripted], status_line: bytes
) -> None:
    def handler(peer: Peer) -> None:
        peer.request()
        peer.sock.sendall(status_line + b"Content-Length: 2\r\n\r\n{}")
        peer.server.stop.wait(10)

    server = scripted(handler)
    rest = BinanceRest(server.url, "spot", timeout=5)
    try:
        with pytest.raises(ExchangeNotAvailable):
            rest.send("POST", "/api/v3/order")
    finally:
        rest.close()
    assert [method for _, method, _ in server.seen] == ["POST"]  # never sent again


@pytest.mark.parametrize(
    "header",
    [b"Retry-After: 1e999", b"Retry-After: 99999999999999999999", b"Retry-After: inf"],
)
def test_an_absurd_retry_after_does_not_hold_orders_forever(
    scripted: Callable[[Handler], Scripted], header: bytes
) -> None:
    """A 429 whose ``Retry-After`` is infinite (or centuries) is believed up to 3 days,
    Binance's longest ban: never an endless hold of every later order call."""

    def handler(peer: Peer) -> None:
        while peer.request() is not None:
            peer.answer(b"", status="429 Too Many Requests", extra=header + b"\r\n")

    server = scripted(handler)
    rest = BinanceRest(server.url, "spot", timeout=5)
    try:
        with pytest.raises(RateLimitExceeded) as caught:
            rest.send("GET", "/api/v3/depth")
    finally:
        rest.close()
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 3 * 24 * 3600
    assert rest.held_until < float("inf")


# -- a kept-alive connection dropped under an order -----------------------------------------


class DroppingRelay:
    """A keep-alive relay to the local exchange that, on the first ``POST`` order,
    closes the client's connection without an answer: after passing it upstream
    (``forward=True``: the order exists) or without (it never reached the exchange)."""

    def __init__(self, upstream: tuple[str, int], *, forward: bool) -> None:
        self._upstream = upstream
        self._forward = forward
        self.dropped = threading.Event()
        self.server = Scripted(self._handle)

    def _handle(self, peer: Peer) -> None:
        upstream = HTTPConnection(*self._upstream, timeout=10)
        with contextlib.closing(upstream):
            while (request := peer.request()) is not None:
                method, target = request
                order = method == "POST" and target.startswith("/api/v3/order?")
                drop = order and not self.dropped.is_set()
                if drop and not self._forward:
                    self.dropped.set()
                    return  # closed with the order unread by the exchange
                # the relay copies the API key header; requests here carry no body
                upstream.request(method, target, headers={"X-MBX-APIKEY": self.api_key})
                answer = upstream.getresponse()
                content = answer.read()
                if drop:
                    self.dropped.set()
                    return  # the order is placed; its answer is lost
                peer.answer(content, status=f"{answer.status} {answer.reason}")

    api_key = ""


@pytest.fixture
def account(exchange: LocalExchange) -> Any:
    return exchange.create_test_account("ed25519")


@pytest.mark.parametrize("forward", [True, False])
def test_an_order_on_a_dropped_kept_alive_connection_is_resolved_never_resent(
    exchange: LocalExchange, account: Any, forward: bool
) -> None:
    """The server closes the kept-alive connection the order went on, without an
    answer. The order is not sent again (a GET would be); the caller gets the
    outcome: the placed order, or ``OrderNotPlaced`` once the request went stale."""
    host, port = exchange.urls("spot")["rest"].removeprefix("http://").split(":")
    relay = DroppingRelay((host, int(port)), forward=forward)
    relay.api_key = account.credentials.api_key
    config = {
        "environment": "local",
        "local": exchange,
        "credentials": account.credentials,
        "urls": {"rest": relay.server.url},
        "recvWindow": 500,
    }
    try:
        with ccxtpro_sync.binance(config) as client:
            client.load_markets()
            price = round(client.fetch_ticker(SPOT)["last"] * 0.8, 2)
            client.fetch_balance()  # the order goes on a kept-alive connection
            assert client.rest._idle
            if forward:
                order = client.create_order(SPOT, "limit", "buy", 0.01, price, timeout=10)
                assert order.status == "open"
                held = exchange.orders(account.account, "spot")
                assert [o["clientOrderId"] for o in held] == [order.clientOrderId]
            else:
                with pytest.raises(OrderNotPlaced):
                    client.create_order(SPOT, "limit", "buy", 0.01, price, timeout=10)
                assert exchange.orders(account.account, "spot") == []
    finally:
        relay.server.close()
    posts = [t for _, m, t in relay.server.seen if m == "POST" and t.startswith("/api/v3/order?")]
    assert relay.dropped.is_set() and len(posts) == 1


# -- threads, close, fork ------------------------------------------------------------------


def test_many_threads_never_share_a_connection(scripted: Callable[[Handler], Scripted]) -> None:
    """16 threads calling at once over the keep-alive pool: every call gets its own
    answer (a connection handed to two threads would mix them up)."""
    server = scripted(echo)
    rest = BinanceRest(server.url, "spot", timeout=20)
    wrong: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def caller(n: int) -> None:
        try:
            start.wait(10)
            for i in range(25):
                target = f"/t{n}-{i}"
                body = rest.send("GET", target)
                if body != b'{"target":"%s"}' % target.encode():
                    wrong.append(f"{target} got {body!r}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    rest.close()
    assert not errors and not wrong
    assert len(server.seen) == 16 * 25
    assert server.connections <= 16 * 25  # and the pool never outgrew its bound:
    assert not rest._idle and not rest._active


def test_close_during_a_stalled_tls_handshake_ends_the_call() -> None:
    """The server accepts TCP but never answers the TLS hello: ``close()`` on another
    thread ends the call at once with ``ClientClosed``, not at its 30 s timeout."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            sock, _ = listener.accept()
            held.append(sock)
            accepted.set()

    threading.Thread(target=accept, daemon=True).start()
    rest = BinanceRest(f"https://127.0.0.1:{listener.getsockname()[1]}", "spot", timeout=30)
    outcome: list[BaseException] = []
    done = threading.Event()

    def call() -> None:
        try:
            rest.send("GET", "/api/v3/time")
        except BaseException as error:
            outcome.append(error)
        done.set()

    threading.Thread(target=call, daemon=True).start()
    try:
        assert accepted.wait(10)
        rest.close()
        assert done.wait(5), "close() left the TLS handshake running"
    finally:
        listener.close()
        for sock in held:
            sock.close()
    assert len(outcome) == 1 and isinstance(outcome[0], ClientClosed)
    assert not isinstance(outcome[0], ssl.SSLError)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_reuses_or_cuts_the_parents_connection(
    scripted: Callable[[Handler], Scripted],
) -> None:
    """Celery prefork: a child forked with a kept-alive connection in the pool must open
    its own (a shared socket would mix the two processes' answers), and its close()
    must not cut the parent's connection."""
    server = scripted(echo)
    rest = BinanceRest(server.url, "spot", timeout=10)
    try:
        assert rest.send("GET", "/parent-1") == b'{"target":"/parent-1"}'
        assert len(rest._idle) == 1
        pid = os.fork()
        if pid == 0:  # the child: report through the exit code only
            code = 1
            try:
                ok = rest.send("GET", "/child") == b'{"target":"/child"}'
                rest.close()
                code = 0 if ok else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert rest.send("GET", "/parent-2") == b'{"target":"/parent-2"}'
    finally:
        rest.close()
    by_target = {target: connection for connection, _, target in server.seen}
    assert by_target["/child"] != by_target["/parent-1"]
    assert by_target["/parent-2"] == by_target["/parent-1"]  # the parent's was left intact


def test_connections_are_reused_in_a_process_with_many_descriptors(
    scripted: Callable[[Handler], Scripted],
) -> None:
    """A process holding over 1024 descriptors (thousands of streams): the idle check
    used select(), which refuses such descriptors, so no connection was ever reused."""
    server = scripted(echo)
    spare = os.open(os.devnull, os.O_RDONLY)
    held = [os.dup(spare) for _ in range(1100)]
    rest = BinanceRest(server.url, "spot", timeout=10)
    try:
        assert rest.send("GET", "/a") == b'{"target":"/a"}'
        sock = rest._idle[0].sock
        assert sock is not None and sock.fileno() >= 1024  # the case under test
        for target in ("/b", "/c"):
            assert rest.send("GET", target) == b'{"target":"%s"}' % target.encode()
    finally:
        rest.close()
        for fd in [spare, *held]:
            os.close(fd)
    assert server.connections == 1


class LateTimer(BinanceRest):
    """Holds each fired deadline timer until the test lets it go on: the timer thread
    is then exactly as late as a scheduler may make it."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "spot", timeout=30)
        self.fired = threading.Event()
        self.go = threading.Event()
        self.cut_done = threading.Event()

    def _cut(self, *args: Any) -> None:
        self.fired.set()
        self.go.wait(30)
        super()._cut(*args)
        self.cut_done.set()


def test_a_late_deadline_timer_never_cuts_the_next_call_on_the_connection(
    scripted: Callable[[Handler], Scripted], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call's deadline timer fires just as the call completes, too late to be
    cancelled, and runs only once the connection went back to the pool and carries an
    order: it must not shut it (the order would end with an unknown outcome).

    The interleaving is forced, not waited for: the first call's answer is read in
    full, then held until its timer has fired (``_read_capped`` wrapped); the timer is
    held until the order is on the connection (``LateTimer``)."""
    got_order = threading.Event()
    answer_order = threading.Event()

    def handler(peer: Peer) -> None:
        while (request := peer.request()) is not None:
            if request[0] == "POST":
                got_order.set()
                answer_order.wait(30)
            peer.answer(b'{"target":"%s"}' % request[1].encode())

    server = scripted(handler)
    rest = LateTimer(server.url)
    read_capped = rest_module._read_capped

    def read_then_wait_for_the_timer(*args: Any) -> bytes:
        content = read_capped(*args)
        if not rest.go.is_set():
            assert rest.fired.wait(30)
        return content

    monkeypatch.setattr(rest_module, "_read_capped", read_then_wait_for_the_timer)
    results: dict[str, Any] = {}

    def call(name: str, method: str, target: str, timeout: float) -> None:
        try:
            results[name] = rest.send(method, target, timeout=timeout)
        except BaseException as error:
            results[name] = error

    try:
        call("first", "GET", "/first", 1.0)
        assert rest.fired.is_set()
        assert results["first"] == b'{"target":"/first"}'
        assert len(rest._idle) == 1  # the connection is back in the pool
        order = threading.Thread(target=call, args=("order", "POST", "/api/v3/order", 30))
        order.start()
        assert got_order.wait(10)  # the order is on that connection now
        rest.go.set()  # the late timer runs
        assert rest.cut_done.wait(10)
        answer_order.set()
        order.join(10)
    finally:
        rest.go.set()
        answer_order.set()
        rest.close()
    assert results["order"] == b'{"target":"/api/v3/order"}'
    assert server.connections == 1
    assert [method for _, method, _ in server.seen] == ["GET", "POST"]


def test_a_read_dropped_on_a_kept_alive_connection_is_sent_once_more_on_a_new_one(
    scripted: Callable[[Handler], Scripted],
) -> None:
    """The GET counterpart of the order case: the server reads the request on the
    kept-alive connection and closes it unanswered; a read is safe to repeat, once."""

    def handler(peer: Peer) -> None:
        while (request := peer.request()) is not None:
            if peer.number == 1 and request[1] == "/second":
                return  # closed, unanswered
            peer.answer(b'{"target":"%s"}' % request[1].encode())

    server = scripted(handler)
    rest = BinanceRest(server.url, "spot", timeout=10)
    try:
        assert rest.send("GET", "/first") == b'{"target":"/first"}'
        assert rest.send("GET", "/second") == b'{"target":"/second"}'
    finally:
        rest.close()
    assert server.seen == [(1, "GET", "/first"), (1, "GET", "/second"), (2, "GET", "/second")]


@pytest.mark.parametrize(
    ("answer", "keeps"),
    [
        (b"HTTP/1.0 200 OK\r\n\r\n{}", False),  # HTTP/1.0, no length: the close ends it
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{}", False),
    ],
)
def test_http_1_0_and_close_delimited_answers_are_read_whole(
    scripted: Callable[[Handler], Scripted], answer: bytes, keeps: bool
) -> None:
    def handler(peer: Peer) -> None:
        while peer.request() is not None:
            peer.sock.sendall(answer)
            if not keeps:
                return

    server = scripted(handler)
    rest = BinanceRest(server.url, "spot", timeout=10)
    try:
        assert rest.send("GET", "/a") == b"{}"
        assert rest.send("GET", "/b") == b"{}"
    finally:
        rest.close()
    assert server.connections == (1 if keeps else 2)


def test_an_answer_without_length_on_an_open_connection_ends_at_the_deadline(
    scripted: Callable[[Handler], Scripted],
) -> None:
    """HTTP/1.1, no Content-Length, no chunking, no close: the body only ends when the
    connection does, so the call ends at its deadline, typed, and the connection goes."""

    def handler(peer: Peer) -> None:
        peer.request()
        peer.sock.sendall(b"HTTP/1.1 200 OK\r\n\r\n{}")
        peer.server.stop.wait(30)

    server = scripted(handler)
    rest = BinanceRest(server.url, "spot", timeout=10)
    try:
        with pytest.raises(RequestTimeout):
            rest.send("GET", "/a", timeout=0.5)
    finally:
        rest.close()
    assert not rest._idle
