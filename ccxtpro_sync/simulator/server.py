"""The WebSocket server: one asyncio loop in a daemon thread serving every market.

Responsibilities: handshake policy (paths, attempt limit, refusals), per-connection
writer / keep-alive / lifetime tasks, inbound frame counting, the control
protocol, fan-out of the engine's outbox, and the fault actions. Payloads come
from :mod:`.feeds`; stream names from :mod:`.streams`.

A WS API handler per market can be registered with :meth:`WsServer.register_ws_api`;
until then its path answers 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response

from . import control
from .catalog import Catalog, MarketName
from .engine import Engine, now_ms
from .faults import ConnMatch, Faults, matches
from .limits import AttemptLimiter, MarketLimits, SlidingWindow
from .observe import ConnectionInfo, Registry
from .streams import PathInfo, Route, StreamKey, delivered_on, parse_path, parse_stream

WsApiHandler = Callable[[ServerConnection], Awaitable[None]]
_COUNTED: frozenset[Opcode] = frozenset({Opcode.TEXT, Opcode.BINARY, Opcode.PING, Opcode.PONG})
#: A consumer this far behind is disconnected, as Binance does with slow clients.
MAX_PENDING = 20_000
_encode = msgspec.json.Encoder().encode


def _dumps(obj: Any) -> str:
    return _encode(obj).decode()


class SimConnection(ServerConnection):
    """Adds a hook on every inbound frame (websockets answers pings internally)."""

    frame_hook: Callable[[Frame], None] | None = None
    sim_path: PathInfo | None = None

    def process_event(self, event: Any) -> None:
        if self.request is not None and isinstance(event, Frame) and self.frame_hook:
            self.frame_hook(event)
        super().process_event(event)


class Conn:
    """Server-side state of one market-stream connection."""

    def __init__(
        self, cid: int, ws: SimConnection, info: PathInfo, limits: MarketLimits, server: WsServer
    ) -> None:
        self.id = cid
        self.ws = ws
        self.market: MarketName = info.market
        self.route: Route | None = info.route
        self.path = ws.request.path if ws.request else ""
        self.combined = info.combined
        self.limits = limits
        self.subs: dict[str, StreamKey] = {}
        self.sent = 0
        self.received = 0
        self.opened_at = time.time()
        self.queue: asyncio.Queue[tuple[float, str | bytes]] = asyncio.Queue()
        self.rate = SlidingWindow(limits.message_rate, 1.0)
        self.half_open = False
        #: Streams still listed as subscribed but no longer pushed (``Faults.silence``).
        self.silenced: set[str] = set()
        self.stall_timer: asyncio.TimerHandle | None = None
        self.unanswered_ping_at: float | None = None
        self.closing = False
        self.close_reason = "client"
        self._server = server

    def info(self) -> ConnectionInfo:
        return ConnectionInfo(
            self.id,
            self.market,
            self.route,
            self.path,
            self.combined,
            tuple(self.subs),
            self.sent,
            self.received,
            self.opened_at,
            self.half_open,
        )

    # ControlTarget protocol -----------------------------------------------------------
    def parse(self, name: str) -> StreamKey | None:
        return self._server.parse_name(self.market, name)

    def subscriptions(self) -> list[str]:
        return list(self.subs)

    def room_for(self, names: list[str]) -> bool:
        new = {n for n in names if n not in self.subs}
        return len(self.subs) + len(new) <= self.limits.max_streams

    def subscribe(self, keys: list[StreamKey]) -> None:
        self._server.subscribe(self, keys)

    def unsubscribe(self, names: list[str]) -> None:
        self._server.unsubscribe(self, names)

    # output ------------------------------------------------------------------------------
    def push(self, msg: str | bytes) -> None:
        if self.half_open or self.closing:
            return
        if self.queue.qsize() >= MAX_PENDING:
            self._server.kill(self, 1008, "Slow consumer", "slow_consumer")
            return
        self.queue.put_nowait((time.monotonic(), msg))


class WsServer:
    """Market-stream server for all markets on one port."""

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        limits: dict[MarketName, MarketLimits],
        registry: Registry,
        attempts: AttemptLimiter,
        *,
        host: str,
        port: int,
        auto_publish: bool,
    ) -> None:
        self.engine, self.catalog, self.limits = engine, catalog, limits
        self.registry, self.attempts = registry, attempts
        self.host, self.port = host, port
        self.auto_publish = auto_publish
        self.faults: Faults | None = None
        self.loop = asyncio.new_event_loop()
        self.conns: dict[int, Conn] = {}
        self.index: dict[MarketName, dict[str, set[Conn]]] = {"spot": {}, "usdm": {}, "coinm": {}}
        self.ws_api_handlers: dict[MarketName, WsApiHandler] = {}
        #: Names served besides market streams (the private side's listenKeys).
        self.extra_streams: Callable[[MarketName, str], StreamKey | None] | None = None
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._drain_pending = False
        self._closed = False
        registry.snapshot = lambda: tuple(c.info() for c in list(self.conns.values()))

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="ccxtpro-sim-ws", daemon=True
        )
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        self.engine.wake = self._wake

    async def _start(self) -> None:
        self._server = await serve(
            self._handler,
            self.host,
            self.port,
            process_request=self._process_request,
            create_connection=SimConnection,
            ping_interval=None,
            ping_timeout=None,
            close_timeout=1,
            compression=None,
            max_size=2**20,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if self.auto_publish:
            self.loop.create_task(self._ticker())

    def close(self) -> None:
        if self._closed or self._thread is None:
            return
        self._closed = True
        self.engine.wake = lambda: None
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    async def _shutdown(self) -> None:
        for conn in list(self.conns.values()):
            if conn.half_open:
                conn.ws.transport.abort()
        if self._server is not None:
            self._server.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2)
            except TimeoutError:
                for conn in list(self.conns.values()):
                    conn.ws.transport.abort()
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _ticker(self) -> None:
        """Background generator: one engine tick per ``tick_interval`` without drift."""
        interval = self.engine.tick_interval
        next_at = self.loop.time()
        while True:
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - self.loop.time()))
            self.engine.tick(1)

    def parse_name(self, market: MarketName, name: str) -> StreamKey | None:
        key = parse_stream(market, name, self.catalog)
        if key is None and self.extra_streams is not None:
            key = self.extra_streams(market, name)
        return key

    def register_ws_api(self, market: MarketName, handler: WsApiHandler) -> None:
        """Serve ``handler`` on ``market``'s WS API path (for the future private side)."""
        self.ws_api_handlers[market] = handler

    # -- handshake -----------------------------------------------------------------------
    @staticmethod
    def _reject(
        ws: ServerConnection,
        status: int,
        body: dict[str, Any] | str,
        retry_after: float | None = None,
    ) -> Response:
        text = body if isinstance(body, str) else _dumps(body)
        resp = ws.respond(HTTPStatus(status), text)
        if retry_after is not None:
            resp.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
        return resp

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        assert self.faults is not None
        delay = self.faults.take_handshake_delay()
        if delay:
            await asyncio.sleep(delay)
        refusal = self.faults.take_ws_refusal()
        resp: Response | None = None
        if refusal is not None:
            resp = self._reject(
                ws,
                refusal.status,
                {"code": -1003, "msg": "Too many requests."},
                refusal.retry_after,
            )
        else:
            ip = str(ws.remote_address[0]) if ws.remote_address else "?"
            ok, retry = self.attempts.attempt(ip, time.monotonic())
            if not ok:
                resp = self._reject(
                    ws, 429, {"code": -1003, "msg": "Too many connection attempts."}, retry
                )
        if resp is None:
            resp = self._check_path(ws, request.path)
        if resp is not None:
            self.registry.bump("handshakes_refused")
        return resp

    def _check_path(self, ws: ServerConnection, path: str) -> Response | None:
        info = parse_path(path)
        if info is None or (info.ws_api and info.market not in self.ws_api_handlers):
            return self._reject(ws, 404, "Not Found")
        names = info.streams
        if any(self.parse_name(info.market, n) is None for n in info.required):
            return self._reject(ws, 400, {"code": 2, "msg": "Invalid request: invalid stream"})
        if len(set(names)) > self.limits[info.market].max_streams:
            return self._reject(ws, 400, {"code": 2, "msg": "Invalid request: too many streams"})
        assert isinstance(ws, SimConnection)
        ws.sim_path = info
        return None

    # -- connection lifecycle --------------------------------------------------------------
    async def _handler(self, ws: ServerConnection) -> None:
        assert isinstance(ws, SimConnection) and ws.sim_path is not None
        info = ws.sim_path
        if info.ws_api:
            self.registry.bump("handshakes_accepted")
            await self.ws_api_handlers[info.market](ws)
            return
        conn = Conn(next(self._ids), ws, info, self.limits[info.market], self)
        with self.registry.cond:
            self.conns[conn.id] = conn
            self.registry.handshakes_accepted += 1
            # A raw ``/ws/<name>`` segment that is no stream (ccxt.pro's ``/ws/<n>``
            # connection counter) subscribes nothing; the client SUBSCRIBEs live.
            self.subscribe(conn, [k for n in info.streams if (k := conn.parse(n))])
            self.registry.cond.notify_all()
        ws.frame_hook = lambda frame: self._on_frame(conn, frame)
        tasks = [
            self.loop.create_task(coro)
            for coro in (self._writer(conn), self._keepalive(conn), self._lifetime(conn))
        ]
        try:
            async for message in ws:
                if conn.closing:
                    continue
                text = message if isinstance(message, str) else message.decode(errors="replace")
                conn.push(_dumps(control.handle(text, conn)))
        except ConnectionClosed:
            pass
        finally:
            for t in tasks:
                t.cancel()
            if conn.stall_timer:
                conn.stall_timer.cancel()
            with self.registry.cond:
                self.unsubscribe(conn, list(conn.subs))
                del self.conns[conn.id]
            self.registry.note_disconnect(conn.close_reason)

    def subscribe(self, conn: Conn, keys: list[StreamKey]) -> None:
        index = self.index[conn.market]
        with self.registry.cond:
            for key in keys:
                conn.silenced.discard(key.name)  # a new SUBSCRIBE revives a silenced stream
                if key.name in conn.subs:
                    continue
                conn.subs[key.name] = key
                index.setdefault(key.name, set()).add(conn)
                if key.kind != "userData":  # listenKeys are fed by publish(), not a feed
                    self.engine.acquire(conn.market, key)
            self.registry.cond.notify_all()

    def unsubscribe(self, conn: Conn, names: list[str]) -> None:
        index = self.index[conn.market]
        with self.registry.cond:
            for name in names:
                conn.silenced.discard(name)
                if conn.subs.pop(name, None) is None:
                    continue
                subs = index.get(name)
                if subs is not None:
                    subs.discard(conn)
                    if not subs:
                        del index[name]
                self.engine.release(conn.market, name)
            self.registry.cond.notify_all()

    def _on_frame(self, conn: Conn, frame: Frame) -> None:
        """Count inbound frames (text, binary, ping, pong) against the per-second limit."""
        if frame.opcode not in _COUNTED:
            return
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            conn.received += 1
            self.registry.messages_received += 1
        elif frame.opcode is Opcode.PONG and conn.market != "spot":
            # Futures accept unsolicited pongs as keep-alive; spot needs the ping's payload.
            conn.unanswered_ping_at = None
        if not conn.rate.hit(time.monotonic()) and not conn.closing:
            self.kill(conn, 1008, "Too many requests", "rate_limit")

    def kill(self, conn: Conn, code: int, reason: str, why: str) -> None:
        """Close ``conn`` from a synchronous context."""
        if conn.closing:
            return
        conn.closing, conn.close_reason = True, why
        self.loop.create_task(conn.ws.close(code, reason))

    async def _writer(self, conn: Conn) -> None:
        assert self.faults is not None
        faults, queue, ws = self.faults, conn.queue, conn.ws
        while True:
            queued_at, msg = await queue.get()
            delay = faults.message_delay(conn.info)
            if delay:
                await asyncio.sleep(max(0.0, queued_at + delay - time.monotonic()))
            if not conn.half_open:
                try:
                    await ws.send(msg)
                except ConnectionClosed:
                    return
                conn.sent += 1
                self.registry.messages_sent += 1
            queue.task_done()

    async def _keepalive(self, conn: Conn) -> None:
        """Ping every ``ping_interval`` with a payload; drop after ``pong_timeout`` unanswered."""
        interval, timeout = conn.limits.ping_interval, conn.limits.pong_timeout
        step = max(0.01, min(interval, timeout) / 10)
        next_ping = time.monotonic() + interval
        counter = itertools.count()

        def answered(fut: asyncio.Future[float]) -> None:
            if not fut.cancelled() and fut.exception() is None:
                conn.unanswered_ping_at = None

        while True:
            await asyncio.sleep(step)
            now = time.monotonic()
            if conn.half_open:
                next_ping, conn.unanswered_ping_at = now + interval, None
                continue
            if conn.unanswered_ping_at is not None and now - conn.unanswered_ping_at > timeout:
                self.kill(conn, 1008, "Pong timeout", "pong_timeout")
                return
            if now >= next_ping:
                next_ping = now + interval
                try:
                    waiter = await conn.ws.ping(f"{now_ms()}{next(counter):04d}".encode())
                except ConnectionClosed:
                    return
                if conn.unanswered_ping_at is None:
                    conn.unanswered_ping_at = now
                if conn.market == "spot":
                    asyncio.ensure_future(waiter).add_done_callback(answered)

    async def _lifetime(self, conn: Conn) -> None:
        """Disconnect at ``max_lifetime``; spot announces it with ``serverShutdown``
        ``shutdown_notice`` seconds earlier (and at least lets the notice go out)."""
        loop = asyncio.get_running_loop()
        ends = loop.time() + conn.limits.max_lifetime
        lifetime, notice = conn.limits.max_lifetime, conn.limits.shutdown_notice
        notice = min(max(0.0, notice), lifetime) if conn.market == "spot" else 0.0
        await asyncio.sleep(lifetime - notice)
        if conn.market == "spot":
            event = {"e": "serverShutdown", "E": now_ms()}
            conn.push(
                _dumps({"stream": "!serverShutdown", "data": event} if conn.combined else event)
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.queue.join(), max(notice, 1.0))
            await asyncio.sleep(max(0.0, ends - loop.time()))
        self.kill(conn, 1001, "Connection lifetime exceeded", "lifetime")

    # -- fan-out ---------------------------------------------------------------------------
    def _wake(self) -> None:
        if self._drain_pending or self._closed:
            return
        self._drain_pending = True
        with contextlib.suppress(RuntimeError):  # loop already closed
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._drain_pending = False
        outbox = self.engine.outbox
        while outbox:
            market, events = outbox.popleft()
            index = self.index[market]
            for stream, payload in events:
                subs = index.get(stream)
                if not subs:
                    continue
                raw = _encode(payload)
                wrapped: bytes | None = None
                for conn in list(subs):
                    key = conn.subs.get(stream)
                    if key is None or not delivered_on(market, conn.route, key):
                        continue
                    if conn.silenced and stream in conn.silenced:
                        continue
                    if conn.combined:
                        if wrapped is None:
                            wrapped = b'{"stream":' + _encode(stream) + b',"data":' + raw + b"}"
                        conn.push(wrapped.decode())
                    else:
                        conn.push(raw.decode())

    # -- faults ----------------------------------------------------------------------------
    def act(self, action: str, match: ConnMatch, **kw: Any) -> int:
        """Run a fault action on matching connections (from any thread)."""
        if self._closed:
            return 0
        fut = asyncio.run_coroutine_threadsafe(self._act(action, match, kw), self.loop)
        return fut.result(10)

    async def _act(self, action: str, match: ConnMatch, kw: dict[str, Any]) -> int:
        targets = [c for c in list(self.conns.values()) if matches(match, c.info())]
        hit = 0
        for conn in targets:
            transport = conn.ws.transport
            if action == "drop":
                conn.closing, conn.close_reason = True, "dropped"
                transport.abort()
            elif action == "close":
                self.kill(conn, kw["code"], kw["reason"], "fault_close")
            elif action == "half_open":
                if conn.half_open:
                    continue
                conn.half_open = True
                transport.pause_reading()
                while not conn.queue.empty():
                    conn.queue.get_nowait()
                    conn.queue.task_done()
                if kw["duration"] is not None:
                    conn.stall_timer = self.loop.call_later(kw["duration"], self._unstall, conn)
            elif action == "release":
                if not conn.half_open:
                    continue
                self._unstall(conn)
            elif action == "silence":
                if kw["stream"] not in conn.subs:
                    continue
                conn.silenced.add(kw["stream"])
            elif action == "malformed":
                self._malformed(conn, kw["kind"])
            hit += 1
        self.registry.changed()
        return hit

    def _unstall(self, conn: Conn) -> None:
        if conn.stall_timer:
            conn.stall_timer.cancel()
            conn.stall_timer = None
        if conn.half_open:
            conn.half_open = False
            conn.unanswered_ping_at = None
            with contextlib.suppress(Exception):
                conn.ws.transport.resume_reading()
        self.registry.changed()

    def _malformed(self, conn: Conn, kind: str) -> None:
        transport = conn.ws.transport
        if kind == "invalid_json":
            conn.push('{"e":"trade","E":')
        elif kind == "unknown_event":
            event = {"e": "simulatorUnknownEvent", "E": now_ms()}
            conn.push(_dumps({"stream": "!unknown", "data": event} if conn.combined else event))
        elif kind == "binary":
            conn.push(b"\x00\x01\x02binary")
        elif kind == "bad_opcode":
            transport.write(b"\x83\x00")  # FIN + reserved opcode 0x3, empty payload
        elif kind == "truncated_frame":
            conn.closing, conn.close_reason = True, "truncated_frame"
            transport.write(b"\x81\x7e\x01\x00" + b'{"e":"trade","E":1')  # promises 256 bytes
            transport.close()  # flushes the partial frame, then FIN
        else:
            raise ValueError(f"unknown malformed kind {kind!r}")
