"""The plain WebSocketClient against local servers that enforce each heartbeat type."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed as ServerSideClosed

from ccxtpro_sync import ClientClosed, ConnectionClosed, RequestTimeout, WebSocketClient
from ccxtpro_sync._sync.connection import _writable
from ccxtpro_sync._sync.reconnect import default_reconnect_policy

from .servers import LocalServer, PingSpy, reply

WAIT = 10.0


# -- jsonrpc: the server closes the connection when a test_request goes unanswered -----
class JsonRpcServer:
    """Deribit's rule: set_heartbeat, then test_requests; one unanswered closes (4000)."""

    def __init__(self) -> None:
        self.answered = 0
        self.three_answered = threading.Event()
        self.server = LocalServer(self.handle)

    async def handle(self, ws: ServerConnection) -> None:
        answered = asyncio.Event()
        heartbeat_on = asyncio.Event()

        async def test_requests() -> None:
            await heartbeat_on.wait()
            while True:
                await asyncio.sleep(0.1)
                answered.clear()
                await ws.send(json.dumps({"jsonrpc": "2.0", "method": "heartbeat",
                                          "params": {"type": "test_request"}}))  # fmt: skip
                try:
                    await asyncio.wait_for(answered.wait(), 0.5)
                except TimeoutError:
                    await ws.close(4000, "heartbeat close")
                    return

        task = asyncio.create_task(test_requests())
        try:
            async for raw in ws:
                request = json.loads(raw)
                method = request.get("method")
                if method == "public/set_heartbeat":
                    heartbeat_on.set()
                    await ws.send(reply(request, "ok"))
                elif method == "public/test":
                    answered.set()
                    self.answered += 1
                    if self.answered >= 3:
                        self.three_answered.set()
                    await ws.send(reply(request, {"version": "1.2.26"}))
                elif method == "public/echo":
                    await ws.send(reply(request, request["params"]))
        except ServerSideClosed:
            pass
        finally:
            task.cancel()


def test_jsonrpc_heartbeat_keeps_a_strict_server_happy() -> None:
    server = JsonRpcServer()
    try:
        with WebSocketClient(server.server.url, heartbeat={"type": "jsonrpc", "interval": 1},
                             timeout=WAIT) as client:  # fmt: skip
            assert server.three_answered.wait(WAIT)
            # the heartbeat's own frames never reach the application
            assert client.request({"method": "public/echo", "params": {"x": 1}}) == {"x": 1}
            with pytest.raises(RequestTimeout):
                client.recv(timeout=0.05)
            assert client.heartbeat.answered >= 3  # type: ignore[attr-defined]
        assert server.server.connections == 1
    finally:
        server.server.close()


def test_without_the_jsonrpc_heartbeat_the_server_closes() -> None:
    server = JsonRpcServer()
    closed: list[BaseException | None] = []
    got_close = threading.Event()

    def on_close(client: WebSocketClient, error: BaseException | None) -> None:
        closed.append(error)
        got_close.set()

    try:
        with WebSocketClient(server.server.url, heartbeat="disabled", on_close=on_close,
                             timeout=WAIT) as client:  # fmt: skip
            client.send({"jsonrpc": "2.0", "id": 1, "method": "public/set_heartbeat",
                         "params": {"interval": 10}})  # fmt: skip
            assert client.recv() == {"jsonrpc": "2.0", "id": 1, "result": "ok"}
            test_request = client.recv()
            assert test_request["params"]["type"] == "test_request"
            with pytest.raises(ConnectionClosed) as info:
                client.recv(timeout=WAIT)
            assert info.value.code == 4000
            assert got_close.wait(WAIT)
            assert isinstance(closed[0], ConnectionClosed)
    finally:
        server.server.close()


# -- ping_pong: the server closes the connection when no ping arrives -------------------
class PingRequiredServer:
    def __init__(self) -> None:
        self.pings = 0
        self.three_pings = threading.Event()
        spy = type("Spy", (PingSpy,), {"on_ping": self._pinged})
        self.server = LocalServer(self.handle, create_connection=spy)
        self._latest: asyncio.Event | None = None

    def _pinged(self) -> None:
        self.pings += 1
        if self.pings >= 3:
            self.three_pings.set()
        if self._latest is not None:
            self._latest.set()

    async def handle(self, ws: ServerConnection) -> None:
        pinged = self._latest = asyncio.Event()
        while True:
            try:
                await asyncio.wait_for(pinged.wait(), 0.6)
            except TimeoutError:
                await ws.close(4001, "no ping")
                return
            pinged.clear()


def test_ping_pong_heartbeat_pings_on_schedule() -> None:
    server = PingRequiredServer()
    try:
        with WebSocketClient(server.server.url, heartbeat={"type": "ping_pong", "interval": 0.2},
                             timeout=WAIT) as client:  # fmt: skip
            client.wait_ready()
            assert server.three_pings.wait(WAIT)
            assert client.connection.state.value == "open"
        assert server.server.connections == 1
    finally:
        server.server.close()


def test_without_pings_the_ping_server_closes_and_reconnect_false_is_final() -> None:
    server = PingRequiredServer()
    try:
        client = WebSocketClient(server.server.url, heartbeat="disabled", timeout=WAIT)
        try:
            with pytest.raises(ConnectionClosed) as info:
                client.recv(timeout=WAIT)
            assert info.value.code == 4001
            thread = client.connection.thread
            assert thread is not None
            thread.join(WAIT)
            assert not thread.is_alive()  # nothing retried
            with pytest.raises(ConnectionClosed):
                client.send("hello")
        finally:
            client.close()
        assert server.server.connections == 1
    finally:
        server.server.close()


# -- server_ping: the server pings and closes when the pong is missing ------------------
def test_server_ping_heartbeat_answers_the_servers_pings() -> None:
    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    # websockets itself closes (1011) when a pong is later than ping_timeout.
    with LocalServer(echo, ping_interval=0.1, ping_timeout=0.3) as server:
        with WebSocketClient(server.url, heartbeat="server_ping", timeout=WAIT) as client:
            for n in range(5):  # about a second: ten pings answered
                client.send({"n": n})
                assert client.recv() == {"n": n}
                threading.Event().wait(0.2)
            assert client.connection.state.value == "open"
        assert server.connections == 1


# -- custom: a probe frame and its reply ------------------------------------------------
def test_custom_heartbeat_probes_and_consumes_replies() -> None:
    probes = threading.Event()
    count = [0]

    async def strict(ws: ServerConnection) -> None:
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.6)
            except TimeoutError:
                await ws.close(4002, "no probe")
                return
            except ServerSideClosed:
                return
            message = json.loads(raw)
            if message.get("op") == "ping":
                count[0] += 1
                if count[0] >= 3:
                    probes.set()
                await ws.send(json.dumps({"op": "pong"}))
            else:
                await ws.send(json.dumps({"echo": message}))

    heartbeat = {
        "type": "custom",
        "probe": lambda: {"op": "ping"},
        "is_reply": lambda message: isinstance(message, dict) and message.get("op") == "pong",
        "interval": 0.2,
        "timeout": 1.0,
    }
    with LocalServer(strict) as server:
        with WebSocketClient(server.url, heartbeat=heartbeat, timeout=WAIT) as client:
            assert probes.wait(WAIT)
            client.send({"a": 1})
            assert client.recv() == {"echo": {"a": 1}}  # the pongs were consumed
        assert server.connections == 1


# -- reconnect=False: a loss reaches every waiter and on_close --------------------------
def test_reconnect_false_fails_waiters_and_calls_on_close() -> None:
    hold = threading.Event()

    async def drop_on_request(ws: ServerConnection) -> None:
        async for raw in ws:
            request = json.loads(raw)
            if request.get("method") == "slow":
                await ws.close(1011, "gone")
                return

    closes: list[BaseException | None] = []
    closed_once = threading.Event()

    def on_close(client: WebSocketClient, error: BaseException | None) -> None:
        closes.append(error)
        closed_once.set()

    with LocalServer(drop_on_request) as server:
        client = WebSocketClient(server.url, on_close=on_close, timeout=WAIT)
        try:
            client.wait_ready()
            errors: list[BaseException] = []

            def waiter() -> None:
                try:
                    client.recv(timeout=WAIT)
                except BaseException as error:
                    errors.append(error)
                hold.set()

            thread = threading.Thread(target=waiter)
            thread.start()
            with pytest.raises(ConnectionClosed) as info:
                client.request({"method": "slow"}, timeout=WAIT)
            assert not isinstance(info.value, ClientClosed)
            assert hold.wait(WAIT)
            thread.join(WAIT)
            assert isinstance(errors[0], ConnectionClosed)
            assert closed_once.wait(WAIT)
            assert isinstance(closes[0], ConnectionClosed)
        finally:
            client.close()
        assert closes[-1] is None  # close() itself is reported too
        assert server.connections == 1


# -- with a policy: connect -> auth -> subscriptions -> resume, after every drop ---------
def test_policy_restores_in_order_after_every_drop() -> None:
    sessions: list[list[str]] = []
    third = threading.Event()

    async def exchange(ws: ServerConnection) -> None:
        wire: list[str] = []
        sessions.append(wire)
        number = len(sessions)
        if number >= 3:
            third.set()
        async for raw in ws:
            request = json.loads(raw)
            wire.append(request["method"])
            await ws.send(reply(request, "ok"))
            if request["method"] == "private/enable_cancel_on_disconnect" and number < 3:
                await ws.close(1012, "restart")  # drop right after the resume step
                return

    def on_open(client: WebSocketClient) -> None:
        client.request({"method": "public/auth", "params": {"grant_type": "client_credentials"}})
        client.request({"method": "public/subscribe", "params": {"channels": ["trades"]}})
        client.request({"method": "private/enable_cancel_on_disconnect", "params": {}})

    policy = default_reconnect_policy(initial=0.01, maximum=0.05)
    with LocalServer(exchange) as server:
        with WebSocketClient(server.url, reconnect=policy, on_open=on_open, heartbeat="disabled",
                             timeout=WAIT) as client:  # fmt: skip
            assert third.wait(WAIT)
            client.wait_ready()
            client.request({"method": "private/buy", "params": {}})  # resumes after restore
        expected = ["public/auth", "public/subscribe", "private/enable_cancel_on_disconnect"]
        assert len(sessions) == 3
        assert sessions[0] == expected
        assert sessions[1] == expected
        assert sessions[2] == [*expected, "private/buy"]


def test_send_before_ready_waits_for_the_open_hook() -> None:
    wire: list[str] = []
    release = threading.Event()

    async def record(ws: ServerConnection) -> None:
        async for raw in ws:
            request = json.loads(raw)
            wire.append(request["method"])
            if "id" in request:
                await ws.send(reply(request, "ok"))

    def on_open(client: WebSocketClient) -> None:
        release.wait(WAIT)
        client.request({"method": "auth"})

    with LocalServer(record) as server:
        with WebSocketClient(server.url, on_open=on_open, timeout=WAIT) as client:
            sender = threading.Thread(target=client.send, args=({"method": "order"},))
            sender.start()
            release.set()
            sender.join(WAIT)
            client.request({"method": "ping"})
        assert wire == ["auth", "order", "ping"]


def test_bad_arguments_are_typed_errors() -> None:
    with pytest.raises(ValueError, match="ws://"):
        WebSocketClient("http://example.org")
    with pytest.raises(ValueError, match="heartbeat"):
        WebSocketClient("ws://127.0.0.1:9", heartbeat={"type": "nope"})
    with pytest.raises(ValueError, match="reconnect"):
        WebSocketClient("ws://127.0.0.1:9", reconnect=True)  # type: ignore[arg-type]


def test_close_is_idempotent_and_ends_iteration() -> None:
    async def one(ws: ServerConnection) -> None:
        await ws.send("hello")
        await ws.wait_closed()

    with LocalServer(one) as server:
        client = WebSocketClient(server.url, timeout=WAIT)
        seen: list[Any] = []
        for message in client:
            seen.append(message)
            client.close()
        client.close()
        assert seen == ["hello"]
        with pytest.raises(ClientClosed):
            client.send("x")
        assert client.connection.thread is not None
        assert not client.connection.thread.is_alive()


# -- a send from the reader thread that finds the socket gone ---------------------------
def test_a_probe_sent_into_a_dead_socket_reconnects_and_keeps_the_reader() -> None:
    """The heartbeat's probe goes out on the reader thread. Here the probe first shuts
    the socket's sending side, so its own send meets a dead socket every time: that is a
    lost connection like any other (it once escaped the reader as an unhandled exception
    and ended it for good; pytest's thread-exception check now fails such a test)."""
    rounds = 3
    enough = threading.Event()
    lost: list[BaseException] = []
    holder: list[WebSocketClient] = []

    async def quiet(ws: ServerConnection) -> None:
        try:
            async for _ in ws:
                pass
        except ServerSideClosed:
            pass

    def cut_then_probe() -> dict[str, str]:
        ws = holder[0].connection._ws if holder else None
        if ws is not None:
            ws.sock.shutdown(socket.SHUT_WR)
        return {"op": "ping"}

    def on_close(client: WebSocketClient, error: BaseException | None) -> None:
        if error is not None:
            lost.append(error)
        if len(lost) >= rounds:
            enough.set()

    heartbeat = {"type": "custom", "probe": cut_then_probe, "is_reply": lambda m: False,
                 "interval": 0.05, "timeout": WAIT}  # fmt: skip
    policy = default_reconnect_policy(initial=0.0, maximum=0.0)
    with LocalServer(quiet) as server:
        client = WebSocketClient(server.url, heartbeat=heartbeat, reconnect=policy,
                                 on_close=on_close, timeout=WAIT, name="cut")  # fmt: skip
        holder.append(client)
        with client:
            assert enough.wait(WAIT), f"only {len(lost)} sessions ended"
            assert all(isinstance(e, ConnectionClosed) for e in lost)
            assert any("send failed" in str(e) for e in lost), lost
            assert not client.closed
            client.wait_ready(WAIT)  # and it is back once more
        assert server.connections >= rounds


class _DeafServer:
    """Completes the websocket handshake, then never reads again: the client's sends
    fill the kernel's buffers and block, as against a peer that stopped reading."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self._listener.getsockname()[1]}"
        self._peers: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            peer, _ = self._listener.accept()
            self._peers.append(peer)
            head = b""
            while b"\r\n\r\n" not in head:
                head += peer.recv(4096)
            key = re.search(rb"Sec-WebSocket-Key: *(\S+)", head, re.IGNORECASE)
            assert key is not None
            digest = hashlib.sha1(key.group(1) + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
            accept = base64.b64encode(digest.digest())
            peer.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )

    def close(self) -> None:
        self._listener.close()
        for peer in self._peers:
            peer.close()
        self._thread.join(WAIT)


def test_a_send_behind_one_stuck_on_a_deaf_peer_times_out_unsent() -> None:
    """Every blocking call takes a timeout: a frame queued behind a send that a peer
    no longer reading has blocked is given up at the caller's timeout, unsent
    (``RequestTimeout``), instead of waiting on the send lock for as long as the stuck
    send lasts; ``close()`` then frees the stuck sender too."""
    server = _DeafServer()
    client = WebSocketClient(server.url, heartbeat="disabled", read_timeout=600.0,
                             timeout=WAIT, name="deaf")  # fmt: skip
    stuck_error: list[BaseException] = []
    behind: list[BaseException | None] = []
    try:
        client.wait_ready(WAIT)
        connection = client.connection

        sent = [0]

        def flood() -> None:
            try:
                while True:
                    client.send("x" * 1_000_000, timeout=600.0)
                    sent[0] += 1
            except Exception as error:
                stuck_error.append(error)

        flooder = threading.Thread(target=flood, daemon=True)
        flooder.start()
        # Stuck: the send lock held at two looks in a row with no frame finished in
        # between (the lock is also taken briefly per frame for the rate limit, but a
        # frame's two holds are separated by its send), and the socket takes no more.
        blocked = threading.Event()
        seen: tuple[bool, int] = (False, -1)
        while not blocked.wait(0.01):
            assert flooder.is_alive(), stuck_error
            ws = connection._ws
            look = (connection._send_lock.locked(), sent[0])
            if look[0] and look == seen and ws is not None and not _writable(ws.sock):
                blocked.set()
            seen = look

        def send_behind() -> None:
            try:
                client.send({"op": "small"}, timeout=0.2)
                behind.append(None)
            except Exception as error:
                behind.append(error)

        second = threading.Thread(target=send_behind, daemon=True)
        second.start()
        second.join(WAIT)
        assert behind, "the send behind the stuck one waited past its timeout"
        assert isinstance(behind[0], RequestTimeout), behind
        assert isinstance(behind[0], TimeoutError)
        assert "not sent" in str(behind[0])
        assert flooder.is_alive()  # the first is still stuck: the peer never read
    finally:
        client.close()
        server.close()
    flooder.join(WAIT)
    assert not flooder.is_alive(), "close() left the stuck sender blocked"
    assert stuck_error and isinstance(stuck_error[0], ConnectionClosed), stuck_error


def test_pings_more_often_than_the_rate_wait_for_their_slots_and_never_hold_a_send_back() -> None:
    """A ping period far shorter than one slot (0.01 s against 5 frames/s). Unsolicited
    pings count against the outgoing rate and wait for their slots like any frame:
    sent at once, they went over the rate (an exchange cuts such a connection). A send
    still finds its slot among them: once, ping debt piled up and held every later
    send back without end (a send with a 2 s timeout found its slot tens of seconds
    away)."""
    enough = threading.Event()
    pinged_at: list[float] = []

    def pinged() -> None:
        pinged_at.append(time.monotonic())
        if len(pinged_at) >= 10:
            enough.set()

    spy = type("Spy", (PingSpy,), {"on_ping": staticmethod(pinged)})

    async def quiet(ws: ServerConnection) -> None:
        try:
            async for _ in ws:
                pass
        except ServerSideClosed:
            pass

    heartbeat = {"type": "server_ping", "interval": 0.01, "silence": WAIT}
    with LocalServer(quiet, create_connection=spy) as server:
        with WebSocketClient(server.url, heartbeat=heartbeat, outgoing_rate=5.0,
                             timeout=WAIT, name="pings") as client:  # fmt: skip
            client.wait_ready(WAIT)
            assert enough.wait(WAIT), f"only {len(pinged_at)} pings"
            client.send({"op": "hello"}, timeout=2.0)  # raised RequestTimeout (not sent)
    # Paced, the first ten pings span 1.8 s (a burst of one, then 5/s); sent at once,
    # about 0.1 s. Half of it leaves room for a loaded box bunching their arrivals.
    span = pinged_at[9] - pinged_at[0]
    assert span >= 0.9, f"10 pings within {span:.2f}s: over the 5 frames/s rate"
