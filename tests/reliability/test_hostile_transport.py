"""Hostile servers and dead connections: memory and time stay bounded, failures reach the caller.

The hostile servers here are tiny raw TCP servers on 127.0.0.1 written in the test:
the local exchange is well behaved on purpose, and these misbehave on purpose.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psutil
import pytest

import ccxtpro_sync
from ccxtpro_sync import (
    ConnectionClosed,
    ExchangeNotAvailable,
    ProtocolError,
    RequestTimeout,
    default_reconnect_policy,
    signals,
)
from ccxtpro_sync._core.frames import DEFAULT_MAX_MESSAGE
from ccxtpro_sync._exchanges.binance.stream_protocol import BinanceStreamProtocol
from ccxtpro_sync._sync.connection import Connection
from ccxtpro_sync.simulator import LocalExchange

from ..ports import refused_port
from .support import exchange_streams, fast_config, wait_for, wire_connections

SPOT = "BTC/USDT"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MiB = 1024 * 1024


class RawServer:
    """Accepts TCP connections on 127.0.0.1 and runs ``serve(sock, stop)`` for each."""

    def __init__(self, serve: Callable[[socket.socket, threading.Event], None]) -> None:
        self._serve = serve
        self.stop = threading.Event()
        self.accepted = 0
        self._cond = threading.Condition()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/stream"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._cond:
                self.accepted += 1
                self._cond.notify_all()
            thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, sock: socket.socket) -> None:
        # OSError: the client went away, as a client that refuses us should.
        with sock, contextlib.suppress(OSError):
            self._serve(sock, self.stop)

    def wait_accepted(self, count: int, timeout: float) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.accepted >= count, timeout), (
                f"expected {count} connection attempts, saw {self.accepted}"
            )

    def close(self) -> None:
        self.stop.set()
        # close() alone leaves a thread blocked in accept() there (Linux): join waited 5 s
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        self._thread.join(5)
        for thread in self._threads:
            thread.join(5)


def read_request(sock: socket.socket) -> bytes:
    """The client's HTTP upgrade request; returns its Sec-WebSocket-Key."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("client left during the handshake")
        data += chunk
    for line in data.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-key:"):
            return line.split(b":", 1)[1].strip()
    raise AssertionError("no Sec-WebSocket-Key in the request")


def upgrade_response(key: bytes) -> bytes:
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


def frame_header(length: int, opcode: int, *, fin: bool) -> bytes:
    first = bytes([(0x80 if fin else 0) | opcode])
    if length < 126:
        return first + bytes([length])
    if length < 65536:
        return first + bytes([126]) + length.to_bytes(2, "big")
    return first + bytes([127]) + length.to_bytes(8, "big")


class Events:
    """Signal payloads of one signal, waited for without sleeping."""

    def __init__(self, signal: Any) -> None:
        self.items: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._signal = signal
        signal.connect(self._on, weak=False)

    def _on(self, sender: Any, **payload: Any) -> None:
        with self._cond:
            self.items.append(payload)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float) -> list[dict[str, Any]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= count, timeout), (
                f"expected {count} signals, got {self.items}"
            )
            return list(self.items)

    def close(self) -> None:
        self._signal.disconnect(self._on)


@pytest.fixture
def protocol_errors() -> Iterator[Events]:
    events = Events(signals.protocol_error)
    yield events
    events.close()


@pytest.fixture
def reconnects() -> Iterator[Events]:
    events = Events(signals.reconnect_scheduled)
    yield events
    events.close()


# -- memory: a message that never ends ------------------------------------------------------


def endless_message(total: int) -> Callable[[socket.socket, threading.Event], None]:
    """Starts a text message and streams 4 MiB continuation frames, ``total`` bytes in all.
    The frames are built once, before the test measures, and shared by every connection."""
    piece = 4 * MiB
    opening = frame_header(piece, 0x1, fin=False) + b"[" * piece
    continuation = frame_header(piece, 0x0, fin=False) + b"x" * piece

    def serve(sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(upgrade_response(read_request(sock)))
        sock.sendall(opening)
        sent = piece
        while sent < total and not stop.is_set():
            sock.sendall(continuation)  # raises once the client has hung up on us
            sent += piece

    return serve


def test_an_endless_fragmented_message_is_refused_with_memory_flat(
    protocol_errors: Events,
) -> None:
    server = RawServer(endless_message(400 * MiB))
    process = psutil.Process()
    peak = [0]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.005):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    conn = Connection(
        BinanceStreamProtocol(server.url),
        name="hostile",
        read_timeout=30.0,
        ping_interval=5.0,
        reconnect=default_reconnect_policy(initial=0.05, maximum=0.2),
    )
    try:
        baseline = process.memory_info().rss
        peak[0] = baseline
        sampler.start()
        conn.call(lambda p: p.subscribe(["btcusdt@trade"]))
        conn.start()
        # Refused, and refused again on the next socket: the client reconnected.
        events = protocol_errors.wait_for(2, timeout=60)
        server.wait_accepted(2, timeout=30)
    finally:
        sampling.set()
        sampler.join(5)
        conn.close()
        server.close()
    error = events[0]["error"]
    assert isinstance(error, ProtocolError)
    assert "over the limit" in str(error)
    assert conn.protocol_errors >= 2
    growth = peak[0] - baseline
    # The message is cut at 8 MiB of 400: what is held stays within a few times the limit.
    assert growth < 6 * DEFAULT_MAX_MESSAGE, f"RSS grew by {growth / MiB:.0f} MiB"


def test_max_message_size_is_a_client_option(exchange: LocalExchange) -> None:
    config = fast_config(exchange, options={"maxMessageSize": 4096})
    with ccxtpro_sync.binance(config) as client:
        client.watch_ticker(SPOT)  # a ticker is well under 4 KiB
        [conn] = wire_connections(client)
        assert conn._max_message == 4096
    with pytest.raises(ccxtpro_sync.BadRequest):
        ccxtpro_sync.binance(fast_config(exchange, options={"maxMessageSize": 10}))


# -- time: a handshake that never finishes ---------------------------------------------------


def trickle_handshake(sock: socket.socket, stop: threading.Event) -> None:
    """Answers the upgrade one byte every 0.5 s: each read is quick, the whole is endless."""
    response = upgrade_response(read_request(sock))
    for byte in response:
        if stop.wait(0.5):
            return
        sock.sendall(bytes([byte]))


def test_the_connect_timeout_bounds_the_whole_handshake(reconnects: Events) -> None:
    server = RawServer(trickle_handshake)
    conn = Connection(
        BinanceStreamProtocol(server.url),
        name="trickled",
        connect_timeout=2.0,
        reconnect=default_reconnect_policy(initial=0.05, maximum=0.1),
    )
    try:
        conn.call(lambda p: p.subscribe(["btcusdt@trade"]))
        conn.start()
        # Under the old code the first attempt never ends (the response takes ~60 s).
        [event] = reconnects.wait_for(1, timeout=20)[:1]
        server.wait_accepted(2, timeout=10)
        assert isinstance(event["error"], RequestTimeout)
        assert "handshake" in str(event["error"])
        assert conn.state.value in ("connecting", "reconnecting")
    finally:
        conn.close()
        server.close()


# -- failures reach the caller ---------------------------------------------------------------


@contextlib.contextmanager
def refused_url() -> Iterator[str]:
    """A port nothing listens on (for the block): every connect is refused at once."""
    with refused_port() as port:
        yield f"ws://127.0.0.1:{port}"


def giving_up_client(exchange: LocalExchange, **urls: str) -> Any:
    account = exchange.create_test_account("ed25519")
    config = fast_config(
        exchange,
        reconnect=default_reconnect_policy(initial=0.01, maximum=0.05, max_attempts=3),
        urls=urls,
        credentials=account.credentials,
    )
    return ccxtpro_sync.binance(config)


def outcome_of(call: Callable[[], Any], within: float = 30.0) -> Any:
    """Run ``call`` (given a caller timeout far longer than ``within``) on a thread and
    return what it returned or raised, asserting that it ended within ``within``."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # what the call raised is the point
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), "the call sat out its timeout instead of failing at once"
    return outcome[0]


def test_a_connection_that_gives_up_fails_every_consumer_at_once(exchange: LocalExchange) -> None:
    with refused_url() as url, giving_up_client(exchange, ws=url) as client:
        client.load_markets()
        stream = client.stream_ticker(SPOT, timeout=600)
        seen: list[Any] = []
        subscription = client.on_ticker(SPOT, handler=seen.append)
        # A 600 s caller timeout: the final error must come at once, not RequestTimeout.
        error = outcome_of(lambda: client.watch_ticker(SPOT, timeout=600))
        assert isinstance(error, ExchangeNotAvailable) and not isinstance(error, RequestTimeout)
        assert isinstance(error.__cause__, OSError)  # the cause rides along
        assert isinstance(outcome_of(lambda: next(stream)), ExchangeNotAvailable)
        wait_for(lambda: subscription.error is not None, 10, "the subscription to fail")
        assert isinstance(subscription.error, ExchangeNotAvailable)
        assert not subscription.active and seen == []
        assert client.connections() == []  # the dead connection is not kept
        # The next call builds a new connection: here, to the real local exchange.
        client.endpoints = client.endpoints.replace(ws=exchange.urls("spot")["ws"])
        ticker = client.watch_ticker(SPOT, timeout=20)
        assert ticker.symbol == SPOT
        [info] = client.connections()
        assert info.state == "open"
        stream.close()
        subscription.cancel()


def test_a_ws_api_connection_that_gives_up_fails_its_call_at_once(exchange: LocalExchange) -> None:
    with refused_url() as url, giving_up_client(exchange, ws_api=url) as client:
        client.load_markets()
        error = outcome_of(lambda: client.fetch_balance_ws(timeout=600))
        assert isinstance(error, ExchangeNotAvailable)
        assert [i.kind for i in client.connections()] == []
        client.endpoints = client.endpoints.replace(ws_api=exchange.urls("spot")["ws_api"])
        assert client.fetch_balance_ws(timeout=20) is not None  # a new WS API connection
        assert [i.kind for i in client.connections()] == ["ws_api"]


def test_close_connection_closes_one_connection_and_releases_its_streams(
    exchange: LocalExchange,
) -> None:
    config = fast_config(exchange, options={"maxStreamsPerConnection": 1})
    with ccxtpro_sync.binance(config) as client:
        client.watch_ticker(SPOT)
        client.watch_ticker("ETH/USDT")
        infos = {tuple(i.subscriptions): i for i in client.connections()}
        btc, eth = infos[("btcusdt@ticker",)], infos[("ethusdt@ticker",)]
        outcome: list[BaseException] = []
        waiting = threading.Event()

        def wait_btc() -> None:
            try:
                while True:  # a ticker still in flight may answer a waiter: wait again
                    future = client.hub.waiter(["ticker:BTC/USDT"])
                    waiting.set()
                    client.hub.wait(future, 30, "btc ticker")
            except BaseException as error:  # what the waiter got is the point
                outcome.append(error)

        # No new BTC ticker: the waiter can only end by the close (it once got a ticker
        # that arrived between its start and the close, and ended without an error).
        assert exchange.faults.silence("btcusdt@ticker") >= 1
        stream = client.stream_ticker(SPOT, timeout=30)
        waiter = threading.Thread(target=wait_btc)
        waiter.start()
        assert waiting.wait(10)
        client.close_connection(btc.name)
        waiter.join(10)
        assert len(outcome) == 1 and isinstance(outcome[0], ConnectionClosed)
        with pytest.raises(ConnectionClosed):
            while True:  # whatever was buffered first, then the final error
                next(stream)
        # Only the other connection is left, still serving.
        [left] = client.connections()
        assert left.name == eth.name and left.state == "open"
        assert client.watch_ticker("ETH/USDT").symbol == "ETH/USDT"
        # Released, not restored: the exchange no longer streams it on any socket.
        wait_for(
            lambda: ("spot", "btcusdt@ticker") not in exchange_streams(exchange.stats()),
            10,
            "the exchange to drop btcusdt@ticker",
        )
        # A later watch opens a new connection for it.
        assert client.watch_ticker(SPOT).symbol == SPOT
        assert len(client.connections()) == 2
        with pytest.raises(ccxtpro_sync.BadRequest):
            client.close_connection("no-such-connection")


def test_connections_lists_market_ws_api_and_user_data_with_their_kind(
    exchange: LocalExchange,
) -> None:
    account = exchange.create_test_account("ed25519")
    spot_config = fast_config(exchange, credentials=account.credentials)
    with ccxtpro_sync.binance(spot_config) as spot:
        spot.watch_ticker(SPOT)
        spot.fetch_balance_ws()
        kinds = sorted(i.kind for i in spot.connections())
        assert kinds == ["market", "ws_api"]
        ws_api = next(i for i in spot.connections() if i.kind == "ws_api")
        assert spot.connection_info(ws_api.name).kind == "ws_api"
    usdm_config = fast_config(exchange, credentials=account.credentials)
    with ccxtpro_sync.binanceusdm(usdm_config) as usdm:
        usdm.watch_ticker("BTC/USDT:USDT")
        with usdm.on_orders(handler=lambda orders: None):
            wait_for(
                lambda: any(i.kind == "user_data" for i in usdm.connections()),
                10,
                "the user-data connection",
            )
            kinds = sorted(i.kind for i in usdm.connections())
        assert kinds == ["market", "user_data"]


def test_a_watch_spanning_a_closed_connection_is_held_once_when_renewed(
    exchange: LocalExchange,
) -> None:
    config = fast_config(exchange, options={"maxStreamsPerConnection": 1})
    pair = [SPOT, "ETH/USDT"]
    with ccxtpro_sync.binance(config) as client:
        client.watch_tickers(pair)
        btc = next(i for i in client.connections() if i.subscriptions == ["btcusdt@ticker"])
        client.close_connection(btc.name)
        client.watch_tickers(pair)  # renews the hold: BTC on a new connection
        assert sorted(s for i in client.connections() for s in i.subscriptions) == [
            "btcusdt@ticker",
            "ethusdt@ticker",
        ]
        client.un_watch_tickers(pair)
        # Held once, released once: nothing is left subscribed anywhere.
        wait_for(
            lambda: not any(i.subscriptions for i in client.connections()),
            10,
            "every ticker stream to be released",
        )
        wait_for(
            lambda: not exchange_streams(exchange.stats()),
            10,
            "the exchange to stream nothing",
        )


def test_closing_the_user_data_connection_ends_its_subscriptions(exchange: LocalExchange) -> None:
    account = exchange.create_test_account("ed25519")
    with ccxtpro_sync.binanceusdm(fast_config(exchange, credentials=account.credentials)) as usdm:
        usdm.watch_ticker("BTC/USDT:USDT")
        orders = usdm.on_orders(handler=lambda batch: None)
        user = wait_for(
            lambda: next((i for i in usdm.connections() if i.kind == "user_data"), None),
            10,
            "the user-data connection",
        )
        usdm.close_connection(user.name)
        assert isinstance(orders.error, ConnectionClosed)
        assert not orders.active
        assert [i.kind for i in usdm.connections()] == ["market"]  # untouched
        assert usdm.watch_ticker("BTC/USDT:USDT").symbol == "BTC/USDT:USDT"


# -- REST: the timeout bounds the whole answer -------------------------------------------------


def trickle_http_body(sent: list[int]) -> Callable[[socket.socket, threading.Event], None]:
    """A 200 whose 60-byte body comes one byte every 0.25 s (15 s in all): each read
    is quick, the whole is far over the caller's timeout. ``sent`` counts body bytes."""
    body = b'{"serverTime":1700000000000}' + b" " * 32

    def serve(sock: socket.socket, stop: threading.Event) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return
            data += chunk
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        sock.sendall(head.encode() + b"\r\n\r\n")
        for byte in body:
            if stop.wait(0.25):
                return
            sock.sendall(bytes([byte]))
            sent.append(byte)

    return serve


def test_a_trickled_rest_answer_is_cut_at_the_timeout() -> None:
    """Market-data ``fetch_*`` and depth snapshots: the timeout bounds the whole
    answer, not each read (a server trickling its body held the call until it was
    done, 15 s against a 1 s timeout here)."""
    from ccxtpro_sync._exchanges.binance.rest import BinanceRest

    sent: list[int] = []
    server = RawServer(trickle_http_body(sent))
    rest = BinanceRest(f"http://127.0.0.1:{server.port}", "spot", timeout=1.0)
    try:
        with pytest.raises(RequestTimeout, match="timed out"):
            rest.get("/api/v3/time", timeout=1.0)
        assert len(sent) < 60  # cut while the server still had bytes to send
    finally:
        rest.close()
        server.close()
