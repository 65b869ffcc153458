"""A minimal Binance-shaped market-stream server that pushes pre-built frames fast.

The simulator (``ccxtpro_sync.simulator``) generates a realistic market but pushes
each message through an asyncio queue; it is far slower than the clients under
test. This server does nothing but the protocol a market-data client needs:

* WebSocket on one port: ``/ws[/<stream>]`` (raw payloads, as CCXT Pro uses it) and
  ``/stream[?streams=a/b]`` (combined envelopes, as ccxtpro_sync uses it); it answers
  ``SUBSCRIBE``/``UNSUBSCRIBE``/``LIST_SUBSCRIPTIONS``, pings and close frames;
* REST on the same port: ``/api/v3/exchangeInfo`` (the simulator's catalogue, plus
  optional synthetic symbols), ``/api/v3/depth`` (a snapshot on the same update-id
  sequence as the diffs), ``/api/v3/ping`` and ``/api/v3/time``.

It runs in its own process (:class:`Blaster` starts it with ``spawn``) so its CPU
never counts against the client measured. Payloads come from :mod:`_payloads`;
frames are serialised once per run, before the clock starts, and each connection's
batch is written with a single ``sendall`` (the kernel takes it as fast as the client
reads), so the server is never the bottleneck.
The control channel is a ``multiprocessing`` pipe (see :class:`Blaster`).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import hashlib
import json
import multiprocessing
import os
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from decimal import Decimal
from multiprocessing.connection import Connection as Pipe
from typing import Any

import _payloads as pl

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: Update ids spanned by one diff event (spot: ``U`` = previous ``u`` + 1).
_IDS_PER_DIFF = 3


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked server-to-client frame (FIN set)."""
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", 0x80 | opcode, n) + payload
    if n < 65_536:
        return struct.pack("!BBH", 0x80 | opcode, 126, n) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, n) + payload


def synthetic_symbols(count: int) -> list[str]:
    """Ids of ``count`` extra spot symbols (``S0000USDT`` ...)."""
    return [f"S{k:04d}USDT" for k in range(count)]


def synthetic_specs(count: int) -> list[Any]:
    """``SymbolSpec`` s of ``count`` extra spot symbols (for the blaster and the simulator)."""
    from ccxtpro_sync.simulator.catalog import SymbolSpec

    return [
        SymbolSpec(
            sid,
            sid.removesuffix("USDT"),
            "USDT",
            Decimal("0.01"),
            Decimal("0.001"),
            Decimal(1),
            Decimal(1),
            Decimal("0.001"),
            Decimal(9000),
            Decimal(5),
        )
        for sid in synthetic_symbols(count)
    ]


def _exchange_info(extra: int) -> bytes:
    from ccxtpro_sync.simulator.catalog import DEFAULT_SYMBOLS, exchange_info

    specs = [*DEFAULT_SYMBOLS["spot"], *synthetic_specs(extra)]
    doc = exchange_info("spot", specs, int(time.time() * 1000), 6000)
    return json.dumps(doc).encode()


class _Client:
    """Server-side state of one WebSocket connection."""

    def __init__(self, sock: socket.socket, combined: bool, streams: list[str]) -> None:
        self.sock = sock
        self.combined = combined
        self.streams: set[str] = set(streams)
        self.lock = threading.Lock()
        self.open = True

    def send(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)

    def wrap(self, stream: bytes, payload: bytes) -> bytes:
        return ws_frame(pl.envelope(stream, payload) if self.combined else payload)


class BlastServer:
    """The server; lives in the child process. See the module docstring."""

    def __init__(self, extra_symbols: int = 0) -> None:
        self.exchange_info = _exchange_info(extra_symbols)
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.clients: list[_Client] = []
        self.next_index: dict[str, int] = {}
        self.depth_seq: dict[str, int] = {}  # symbol id -> last update id sent
        self.prepared: list[tuple[_Client, bytes]] = []
        self.depth_requests = 0  # REST snapshots served: a client resyncing its book
        self.closed = False

    # -- accepting -----------------------------------------------------------------
    def serve_forever(self) -> None:
        while not self.closed:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    def _handle(self, sock: socket.socket) -> None:
        reader = sock.makefile("rb")
        with contextlib.suppress(OSError, ValueError), sock:
            while True:
                request = _read_request(reader)
                if request is None:
                    return
                path, headers = request
                if headers.get("upgrade", "").lower() == "websocket":
                    self._serve_ws(sock, reader, path, headers)
                    return
                self._serve_rest(sock, path)

    # -- REST ----------------------------------------------------------------------
    def _serve_rest(self, sock: socket.socket, target: str) -> None:
        url = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(url.query))
        status, body = 200, b"{}"
        if url.path.endswith("/exchangeInfo"):
            body = self.exchange_info
        elif url.path.endswith("/depth"):
            symbol = query.get("symbol", "")
            with self.lock:
                last = self.depth_seq.setdefault(symbol, 1000)
                self.depth_requests += 1
            body = pl.depth_snapshot(last)
        elif url.path.endswith("/time"):
            body = b'{"serverTime":%d}' % int(time.time() * 1000)
        elif not url.path.endswith("/ping"):
            status, body = 404, b'{"code":-1,"msg":"not found"}'
        head = (
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
            "Content-Type: application/json\r\nX-MBX-USED-WEIGHT-1M: 1\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
        )
        sock.sendall(head.encode() + body)

    # -- WebSocket -----------------------------------------------------------------
    def _serve_ws(
        self, sock: socket.socket, reader: Any, target: str, headers: dict[str, str]
    ) -> None:
        url = urllib.parse.urlsplit(target)
        combined = url.path.endswith("/stream")
        if combined:
            names = urllib.parse.parse_qs(url.query).get("streams", [""])[0]
            streams = [s for s in names.split("/") if s]
        else:  # /ws/<name>: CCXT puts its own connection label there; keep it harmlessly
            tail = url.path.split("/ws", 1)[-1].strip("/")
            streams = [tail] if tail else []
        key = headers.get("sec-websocket-key", "").encode()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        client = _Client(sock, combined, streams)
        with self.changed:
            self.clients.append(client)
            self.changed.notify_all()
        try:
            self._ws_loop(client, reader)
        finally:
            client.open = False
            with self.changed:
                self.clients.remove(client)
                self.changed.notify_all()

    def _ws_loop(self, client: _Client, reader: Any) -> None:
        while True:
            frame = _read_frame(reader)
            if frame is None:
                return
            opcode, payload = frame
            if opcode == 0x8:  # close: echo and stop
                with contextlib.suppress(OSError):
                    client.send(ws_frame(payload[:2], 0x8))
                return
            if opcode == 0x9:
                client.send(ws_frame(payload, 0xA))
            elif opcode == 0x1:
                self._control(client, payload)

    def _control(self, client: _Client, payload: bytes) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        method, params = message.get("method"), message.get("params") or []
        result: Any = None
        with self.changed:
            if method == "SUBSCRIBE":
                client.streams.update(params)
            elif method == "UNSUBSCRIBE":
                client.streams.difference_update(params)
            elif method == "LIST_SUBSCRIPTIONS":
                result = sorted(client.streams)
            self.changed.notify_all()
        reply = json.dumps({"result": result, "id": message.get("id")}).encode()
        client.send(ws_frame(reply))

    # -- payloads ------------------------------------------------------------------
    def _payload(self, stream: str, index: int) -> tuple[bytes, int]:
        """The payload for the ``index``-th message of ``stream`` and its marker."""
        symbol_id, kind = stream.split("@", 1)
        symbol = symbol_id.upper().encode()
        if kind == "aggTrade" or kind == "trade":
            return pl.agg_trade(symbol, index), index
        if kind == "ticker":
            return pl.ticker(symbol, index), index
        if kind.startswith("kline_"):
            return pl.kline(symbol, index), index
        if kind.startswith("depth"):
            first = self.depth_seq.setdefault(symbol.decode(), 1000) + 1
            last = first + _IDS_PER_DIFF - 1
            self.depth_seq[symbol.decode()] = last
            return pl.depth_update(symbol, first, last), last
        raise ValueError(f"no payload for stream {stream!r}")

    def _take(self, stream: str, count: int) -> tuple[list[bytes], int]:
        with self.lock:
            start = self.next_index.get(stream, 0)
            self.next_index[stream] = start + count
            built = [self._payload(stream, start + k) for k in range(count)]
        return [p for p, _ in built], built[-1][1] if built else -1

    def subscribers(self, stream: str) -> list[_Client]:
        with self.lock:
            return [c for c in self.clients if stream in c.streams and c.open]

    # -- commands ------------------------------------------------------------------
    def wait_subscribed(self, stream: str, n: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                count = sum(1 for c in self.clients if stream in c.streams)
                left = deadline - time.monotonic()
                if count >= n or left <= 0:
                    return count
                self.changed.wait(left)

    def prepare(self, stream: str, count: int) -> int:
        """Serialise ``count`` messages for every subscriber; returns the last marker."""
        return self.prepare_many([stream], count)[stream]

    def prepare_many(self, streams: list[str], count: int) -> dict[str, int]:
        """Serialise ``count`` messages of each stream for every subscriber, the streams
        interleaved message by message; returns each stream's last marker."""
        built: dict[str, list[bytes]] = {}
        markers: dict[str, int] = {}
        for stream in streams:
            payloads, markers[stream] = self._take(stream, count)
            built[stream] = payloads
        with self.lock:
            clients = [c for c in self.clients if c.open and c.streams & built.keys()]
        self.prepared = []
        for client in clients:
            mine = [(s.encode(), built[s]) for s in streams if s in client.streams]
            frames = (
                client.wrap(name, payloads[k]) for k in range(count) for name, payloads in mine
            )
            self.prepared.append((client, b"".join(frames)))
        return markers

    def go(self) -> tuple[int, float]:
        """Send what ``prepare`` built as fast as the sockets take it; (bytes, seconds)."""
        started = time.perf_counter()
        sent = 0

        def push(client: _Client, data: bytes) -> None:
            with contextlib.suppress(OSError):
                client.send(data)  # one sendall per batch

        threads = [threading.Thread(target=push, args=item) for item in self.prepared]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sent = sum(len(data) for _, data in self.prepared)
        self.prepared = []
        return sent, time.perf_counter() - started

    def one(self, streams: list[str]) -> list[int]:
        """Send the next message of each stream to its subscribers; returns the markers."""
        markers = []
        for stream in streams:
            payloads, marker = self._take(stream, 1)
            name = stream.encode()
            for client in self.subscribers(stream):
                with contextlib.suppress(OSError):
                    client.send(client.wrap(name, payloads[0]))
            markers.append(marker)
        return markers

    def paced(self, stream: str, count: int, rate: float, cpus: bool = False) -> dict[str, Any]:
        """Send ``count`` aggTrades at ``rate``/s, each stamped with its send time.

        Pacing sleeps to each due time; a frame whose time has passed (sleep overshoot
        at high rates) goes at once, so frames sometimes leave in twos or threes.

        The first/last trade ids ``f``/``l`` carry ``time.monotonic_ns() // 1000``
        taken just before the frame is written (CLOCK_MONOTONIC is shared by all
        processes); the aggregate ids ``a`` stay consecutive across runs.
        ``cpus``: also return the CPU each frame was written from (``cpus``, from the
        aggregate id ``first`` on), to tell whether the client shared it.
        """
        clients = self.subscribers(stream)
        with self.lock:
            first = self.next_index.get(stream, 0)
            self.next_index[stream] = first + count
        symbol = stream.split("@", 1)[0].upper().encode()
        name = stream.encode()
        interval = 1.0 / rate
        clock = time.perf_counter
        getcpu = _getcpu() if cpus else None
        written: list[int] = []
        start = clock()
        late = 0
        for k in range(count):
            due = start + k * interval
            wait = due - clock()
            if wait > 0:  # sleep, never spin: a spinning server would steal the client's CPU
                time.sleep(wait)
            elif wait < -0.0005:
                late += 1
            stamp = time.monotonic_ns() // 1000
            payload = pl.agg_trade(symbol, first + k, stamp=stamp)
            for client in clients:
                with contextlib.suppress(OSError):
                    client.send(client.wrap(name, payload))
            if getcpu is not None:
                written.append(getcpu())
        elapsed = clock() - start
        stats: dict[str, Any] = {"sent": count, "seconds": elapsed, "rate": count / elapsed}
        stats["late"] = late
        if getcpu is not None:
            stats |= {"first": first, "cpus": written}
        return stats


def _getcpu() -> Callable[[], int]:
    """``sched_getcpu`` (glibc), or a stand-in that says -1."""
    try:
        function = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError):
        return lambda: -1
    function.restype = ctypes.c_int
    function.argtypes = []
    return function  # type: ignore[no-any-return]


def _read_request(reader: Any) -> tuple[str, dict[str, str]] | None:
    line = reader.readline(65_536)
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) < 2:
        return None
    headers: dict[str, str] = {}
    while True:
        raw = reader.readline(65_536)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if length:
        reader.read(length)
    return parts[1], headers


def _read_frame(reader: Any) -> tuple[int, bytes] | None:
    head = reader.read(2)
    if len(head) < 2:
        return None
    opcode = head[0] & 0x0F
    masked = head[1] & 0x80
    n = head[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", reader.read(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", reader.read(8))[0]
    mask = reader.read(4) if masked else b""
    data = reader.read(n)
    if masked:
        key = (mask * (n // 4 + 1))[:n]
        data = (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return opcode, data


def _child_main(pipe: Pipe, extra_symbols: int, cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    server = BlastServer(extra_symbols)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pipe.send(server.port)
    commands: dict[str, Callable[..., Any]] = {
        "wait": server.wait_subscribed,
        "prepare": server.prepare,
        "prepare_many": server.prepare_many,
        "go": server.go,
        "one": server.one,
        "paced": server.paced,
        "subscribers": lambda stream: len(server.subscribers(stream)),
        "depth_requests": lambda: server.depth_requests,
    }
    while True:
        try:
            name, args = pipe.recv()
        except EOFError:
            break
        if name == "stop":
            break
        try:
            pipe.send(("ok", commands[name](*args)))
        except Exception as error:
            pipe.send(("error", repr(error)))
    server.closed = True
    server.listener.close()


class Blaster:
    """Driver-side handle: starts the server process and sends it commands.

    ``prepare(stream, n)`` then ``go()`` (returns at once) and ``wait_done()`` measure
    a blast; ``one``, ``paced`` and ``wait_subscribed`` block until done.
    """

    def __init__(self, extra_symbols: int = 0, cpu: int | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pipe, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_child_main,
            args=(child, extra_symbols, cpu),
            daemon=True,
            name="bench-blaster",
        )
        self._process.start()
        if not self._pipe.poll(30):
            raise RuntimeError("blaster did not start")
        self.port: int = self._pipe.recv()
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.rest_url = f"http://127.0.0.1:{self.port}"

    def _call(self, name: str, *args: Any) -> Any:
        self._pipe.send((name, args))
        return self._reply()

    def _reply(self) -> Any:
        status, value = self._pipe.recv()
        if status != "ok":
            raise RuntimeError(f"blaster: {value}")
        return value

    def wait_subscribed(self, stream: str, n: int = 1, timeout: float = 10.0) -> None:
        got = self._call("wait", stream, n, timeout)
        if got < n:
            raise TimeoutError(f"{got}/{n} connection(s) subscribed to {stream}")

    def subscribers(self, stream: str) -> int:
        count: int = self._call("subscribers", stream)
        return count

    def depth_requests(self) -> int:
        """How many REST depth snapshots the server has served so far."""
        count: int = self._call("depth_requests")
        return count

    def prepare(self, stream: str, count: int) -> int:
        marker: int = self._call("prepare", stream, count)
        return marker

    def prepare_many(self, streams: list[str], count: int) -> dict[str, int]:
        markers: dict[str, int] = self._call("prepare_many", streams, count)
        return markers

    def go(self) -> None:
        self._pipe.send(("go", ()))

    def wait_done(self) -> tuple[int, float]:
        sent, seconds = self._reply()
        return sent, seconds

    def one(self, *streams: str) -> list[int]:
        markers: list[int] = self._call("one", list(streams))
        return markers

    def paced(self, stream: str, count: int, rate: float) -> dict[str, Any]:
        self.start_paced(stream, count, rate)
        return self.paced_result()

    def start_paced(self, stream: str, count: int, rate: float, cpus: bool = False) -> None:
        """Start a paced run and return at once; ``paced_result()`` waits for its end.
        ``cpus``: the result says which CPU wrote each frame."""
        self._pipe.send(("paced", (stream, count, rate, cpus)))

    def paced_result(self) -> dict[str, Any]:
        stats: dict[str, Any] = self._reply()
        return stats

    def close(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self._pipe.send(("stop", ()))
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()

    def __enter__(self) -> Blaster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
