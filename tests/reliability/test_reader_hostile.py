"""The websocket reader against a hostile server: memory stays bounded however the
bytes are cut, and an exception from the protocol's ``on_open`` ends the reader loudly
without leaving its socket open.

The framing tests feed plain bytes to the sans-I/O parser; the others run the reader
thread against raw servers on 127.0.0.1 written here.
"""

from __future__ import annotations

import socket
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import ProtocolError, default_reconnect_policy
from ccxtpro_sync._core.events import Inbound
from ccxtpro_sync._core.frames import FrameParser, MessageTooLarge
from ccxtpro_sync._core.heartbeat import CustomHeartbeat, JsonRpcHeartbeat
from ccxtpro_sync._core.plain import PlainProtocol
from ccxtpro_sync._exchanges.binance.stream_protocol import BinanceStreamProtocol
from ccxtpro_sync._sync.connection import Connection
from ccxtpro_sync.simulator import LocalExchange

from .support import make_client, signal_logs
from .test_hostile_transport import (
    Events,
    RawServer,
    frame_header,
    read_request,
    upgrade_response,
)

MiB = 1024 * 1024


@pytest.fixture
def protocol_errors() -> Iterator[Events]:
    from ccxtpro_sync import signals

    events = Events(signals.protocol_error)
    yield events
    events.close()


# -- framing: memory per byte received -----------------------------------------------------


def test_empty_continuation_frames_cannot_grow_memory_without_bound() -> None:
    """Empty fragments pass the size limit (they add no bytes) but each was kept: a
    server sending them forever grew the client forever. Their count is bounded."""
    parser = FrameParser()
    parser.feed(frame_header(1, 0x1, fin=False) + b"[")
    flood = frame_header(0, 0x0, fin=False) * 100_000  # 200 kB: 100,000 fragments
    with pytest.raises(MessageTooLarge, match="fragments"):
        for _ in range(20):
            parser.feed(flood)


def test_a_frame_trickled_in_tiny_reads_costs_about_its_size() -> None:
    """A 256 KiB frame arriving 3 bytes per read (each read a new object) is held at
    close to its own size, not at an object per read (87,000 reads of at least 36 bytes
    each: over ten times more)."""
    size = MiB // 4
    parser = FrameParser()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        parser.feed(frame_header(size, 0x2, fin=True))
        got: list[tuple[int, bytes]] = []
        for _ in range(size // 3):
            got += parser.feed(bytes(bytearray(b"abc")))
        held = tracemalloc.get_traced_memory()[0] - before
        got += parser.feed(bytes(bytearray(b"abc"[: size % 3])))
    finally:
        tracemalloc.stop()
    assert held < 2 * size, f"held {held / MiB:.2f} MiB for a {size / MiB:.2f} MiB frame"
    assert [(op, len(payload)) for op, payload in got] == [(0x2, size)]
    assert got[0][1][:6] == b"abcabc"


def test_an_endless_stream_of_empty_fragments_is_refused_by_the_reader(
    protocol_errors: Events,
) -> None:
    """End to end: the reader reports it and drops the socket (then reconnects)."""
    flood = frame_header(0, 0x0, fin=False) * 50_000

    def serve(sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(upgrade_response(read_request(sock)))
        sock.sendall(frame_header(1, 0x1, fin=False) + b"[")
        while not stop.is_set():
            sock.sendall(flood)  # raises once the client has hung up on us

    server = RawServer(serve)
    conn = Connection(
        BinanceStreamProtocol(server.url),
        name="fragments",
        read_timeout=30.0,
        ping_interval=5.0,
        reconnect=default_reconnect_policy(initial=0.05, maximum=0.2),
    )
    try:
        conn.start()
        events = protocol_errors.wait_for(1, timeout=30)
        server.wait_accepted(2, timeout=30)
    finally:
        conn.close()
        server.close()
    error = events[0]["error"]
    assert isinstance(error, ProtocolError) and "fragments" in str(error)


# -- the reader thread: exceptions from the protocol ----------------------------------------


class OpenFails(BinanceStreamProtocol):
    """A protocol whose ``on_open`` has a bug."""

    def on_open(self, now: float) -> Inbound:
        raise RuntimeError("bug in on_open")


class CloseFails(BinanceStreamProtocol):
    """A protocol whose ``on_close`` has a bug."""

    def on_close(self) -> Inbound:
        raise RuntimeError("bug in on_close")


@pytest.mark.parametrize("protocol", [OpenFails, CloseFails])
def test_a_failing_on_open_or_on_close_gives_up_loudly_and_releases_the_socket(
    protocol: type[BinanceStreamProtocol],
) -> None:
    """The reader ends with the error (every waiter told) and its socket is closed at
    once: the server sees the end of the stream, without waiting for ``close()`` or the
    garbage collector."""
    eof = threading.Event()

    def serve(sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(upgrade_response(read_request(sock)))
        # A close frame ends the session (on_close runs); the TCP side stays ours.
        sock.sendall(frame_header(2, 0x8, fin=True) + (1000).to_bytes(2, "big"))
        sock.settimeout(30)
        while sock.recv(4096):  # the client's frames, until it closes the socket
            pass
        eof.set()

    server = RawServer(serve)
    gave_up: list[BaseException] = []
    done = threading.Event()

    def on_give_up(_conn: Connection, error: BaseException) -> None:
        gave_up.append(error)
        done.set()

    conn = Connection(
        protocol(server.url),
        name="fails",
        read_timeout=30.0,
        ping_interval=5.0,
        on_give_up=on_give_up,
    )
    try:
        conn.start()
        assert done.wait(30), "the reader did not give up"
        assert eof.wait(10), "the socket was left open after the reader gave up"
        thread = conn.thread
        assert thread is not None
        thread.join(10)
        assert not thread.is_alive()
    finally:
        conn.close()
        server.close()
    assert len(gave_up) == 1 and isinstance(gave_up[0], RuntimeError)
    assert str(gave_up[0]) == f"bug in {'on_open' if protocol is OpenFails else 'on_close'}"
    assert conn.finished


def test_close_does_not_wait_behind_a_send_blocked_by_a_server_that_stops_reading() -> None:
    """The server floods pings and never reads: the reader's pong blocks on the full
    socket, holding the send lock, until its 600 s socket timeout. close() used to wait
    behind it for the close frame; it now skips the frame and shuts the socket."""
    flooded = threading.Event()
    ping = (frame_header(125, 0x9, fin=True) + b"p" * 125) * 100

    def serve(sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(upgrade_response(read_request(sock)))
        sock.settimeout(0.5)  # the client stops reading: our sendall then times out
        try:
            while not stop.is_set():
                sock.sendall(ping)
        except TimeoutError:
            flooded.set()  # both ways are full now: the client's pong is stuck
        stop.wait(60)

    server = RawServer(serve)
    conn = Connection(PlainProtocol(server.url), name="flood", read_timeout=600, ping_interval=600)
    closed = threading.Event()
    try:
        conn.start()
        assert flooded.wait(30), "the client kept reading the ping flood"
        closer = threading.Thread(target=lambda: (conn.close(), closed.set()), daemon=True)
        closer.start()
        assert closed.wait(20), "close() hung behind the blocked pong"
        thread = conn.thread
        assert thread is not None and not thread.is_alive()
    finally:
        ws = conn._ws
        if not closed.is_set() and ws is not None:
            conn._abort(ws)  # unblock the stuck pong, so the test ends
        conn.close()
        server.close()


# -- heartbeats: code that looks at every frame the server sends ----------------------------


def nested(depth: int) -> bytes:
    return b"[" * depth + b'"heartbeat"' + b"]" * depth


def test_a_deeply_nested_frame_is_not_a_heartbeat() -> None:
    """json.loads raises RecursionError (not ValueError) on deep nesting."""
    jsonrpc = JsonRpcHeartbeat(interval=10)
    jsonrpc.on_open(0.0)
    assert jsonrpc.on_message(nested(100_000), 1.0) == (False, [])
    custom = CustomHeartbeat(probe=lambda: "ping", is_reply=lambda m: m == "pong", interval=1)
    custom.on_open(0.0)
    assert custom.on_timer(2.0, 2.0).frames == ["ping"]  # a reply is due: frames are read
    assert custom.on_message(nested(100_000), 2.5) == (False, [])


def test_a_raising_is_reply_is_reported_and_the_reader_goes_on(
    protocol_errors: Events,
) -> None:
    """A careless custom heartbeat: ``is_reply`` assumes every frame is a JSON object.
    A text frame makes it raise on the reader thread: reported as a protocol error and
    the frame passed on; the reader used to die (the connection gave up for good)."""
    from ccxtpro_sync import signals

    received = Events(signals.message_received)

    def serve(sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(upgrade_response(read_request(sock)))
        sock.settimeout(30)
        sock.recv(4096)  # the client's probe: a reply is due, so frames are inspected
        text = b"not json"
        sock.sendall(frame_header(len(text), 0x1, fin=True) + text)
        data = b'{"n": 1}'
        sock.sendall(frame_header(len(data), 0x1, fin=True) + data)
        stop.wait(30)

    def is_reply(message: dict[str, object]) -> bool:
        return message.get("pong") is True  # AttributeError on a str

    server = RawServer(serve)
    gave_up: list[BaseException] = []
    heartbeat = CustomHeartbeat(probe=lambda: "ping", is_reply=is_reply, interval=0.2, timeout=30)
    conn = Connection(
        PlainProtocol(server.url),
        name="careless",
        heartbeat=heartbeat,
        on_give_up=lambda _conn, error: gave_up.append(error),
    )
    try:
        conn.start()
        received.wait_for(2, timeout=30)  # both frames reached the protocol
        errors = protocol_errors.wait_for(1, timeout=10)
    finally:
        received.close()
        conn.close()
        server.close()
    assert not gave_up
    assert isinstance(errors[0]["error"], AttributeError)


# -- the dispatcher thread: a careless callback ----------------------------------------------


def test_a_callback_calling_sys_exit_does_not_end_the_dispatcher(exchange: LocalExchange) -> None:
    """``sys.exit()`` in a callback raises SystemExit, which is not an Exception: it
    ended the dispatcher thread silently (threads ignore SystemExit), and no callback
    ran again. It is a callback error like any other."""
    calls = [0]

    def exits(ticker: Any) -> None:
        calls[0] += 1
        sys.exit(3)

    client = make_client(ccxtpro_sync.binance, exchange)
    with client, signal_logs(client) as logs:
        client.on_bids_asks("BTC/USDT", exits)
        errors = logs["callback_error"].wait_for(3, timeout=10)  # called again after exiting
        dispatcher = client.hub.dispatcher.thread
        assert dispatcher is not None and dispatcher.is_alive()
    assert calls[0] >= 3
    assert all(isinstance(e.payload["error"], SystemExit) for e in errors)


def test_a_signal_receiver_calling_sys_exit_does_not_end_the_reader(
    exchange: LocalExchange,
) -> None:
    """The same from a signal receiver, which runs on the reader thread: the reader
    died silently and every watch timed out."""
    from ccxtpro_sync import signals

    exits = [0]

    def receiver(sender: Any, **payload: Any) -> None:
        exits[0] += 1
        sys.exit(3)

    signals.connection_started.connect(receiver, weak=False)
    try:
        with make_client(ccxtpro_sync.binance, exchange) as client:
            assert client.watch_ticker("BTC/USDT", timeout=10).symbol == "BTC/USDT"
    finally:
        signals.connection_started.disconnect(receiver)
    assert exits[0] >= 1
