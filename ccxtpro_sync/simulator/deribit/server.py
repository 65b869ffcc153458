"""The socket layer: one asyncio loop in a daemon thread, WebSocket + HTTP GET.

Everything that touches exchange state runs on this loop, so the sans-I/O parts
(:mod:`.exchange`, :mod:`.matching`, :mod:`.market`) need no locks. The layer
owns: handshakes (path, connection cap, refusals), the HTTP GET form of public
methods, per-connection writer / heartbeat / idle tasks, rate-limit enforcement,
fan-out of public and user events, cancel-on-disconnect, and fault actions.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from . import errors as E
from . import rpc
from .accounts import Account
from .channels import Channel
from .errors import RpcError
from .exchange import Exchange, Outcome
from .limits import Credits
from .matching import Events, UserEvent
from .observe import ConnInfo, Registry
from .session import Session

T = TypeVar("T")
WS_PATH: Final = "/ws/api/v2"
HTTP_PREFIX: Final = "/api/v2/"
#: A reader this far behind is dropped (the live server's ``connection_too_slow``).
MAX_PENDING: Final = 20_000
ConnMatch = int | Callable[[ConnInfo], bool] | None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Conn:
    """One WebSocket connection: its session, socket and outbound queue."""

    def __init__(self, session: Session, ws: ServerConnection) -> None:
        self.session = session
        self.ws = ws
        self.queue: asyncio.Queue[tuple[float, str | bytes]] = asyncio.Queue()
        self.stall: asyncio.TimerHandle | None = None
        #: Set by the server: close this connection as too slow.
        self.too_slow: Callable[[], None] = lambda: None

    def info(self) -> ConnInfo:
        s = self.session
        return ConnInfo(
            s.id, s.path, s.account.client_id if s.account else None, tuple(s.subs), s.cod,
            s.heartbeat, s.half_open,
        )  # fmt: skip

    def push(self, frame: dict[str, Any] | str) -> None:
        if self.session.half_open or self.session.closing:
            return
        if self.queue.qsize() >= MAX_PENDING:
            self.too_slow()
            return
        self.queue.put_nowait(
            (time.monotonic(), frame if isinstance(frame, str) else rpc.dumps(frame))
        )


def _coerce(value: str) -> Any:
    """HTTP query values: booleans and numbers as JSON would carry them."""
    if value in ("true", "false"):
        return value == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


class DeribitServer:
    """WebSocket JSON-RPC endpoint plus HTTP GET, on one port."""

    def __init__(
        self, exchange: Exchange, registry: Registry, *, host: str, port: int,
        tick_interval: float, auto_publish: bool, idle_timeout: float, max_connections: int,
    ) -> None:  # fmt: skip
        self.exchange, self.registry = exchange, registry
        self.host, self.port = host, port
        self.tick_interval, self.auto_publish = tick_interval, auto_publish
        self.idle_timeout, self.max_connections = idle_timeout, max_connections
        self.loop = asyncio.new_event_loop()
        self.conns: dict[int, Conn] = {}
        self.credits: dict[str, Credits] = {}
        self.http_credits = Credits(exchange.limits)
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._closed = False
        # fault settings (loop thread only)
        self.heartbeats_on = True
        self.delay = 0.0
        self.delay_match: ConnMatch = None
        self.refusals: tuple[int, int] = (0, 429)
        registry.snapshot = lambda: tuple(c.info() for c in list(self.conns.values()))

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self.loop.run_forever, name="ccxtpro-sim-deribit",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        self.run(self._start())

    async def _start(self) -> None:
        self._server = await serve(
            self._handler, self.host, self.port, process_request=self._process_request,
            ping_interval=None, ping_timeout=None, close_timeout=1, compression=None,
            max_size=2**20,
        )  # fmt: skip
        self.port = self._server.sockets[0].getsockname()[1]
        if self.auto_publish:
            self.loop.create_task(self._ticker())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run ``coro`` on the loop from another thread and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run ``fn()`` on the loop (the one thread that owns exchange state)."""

        async def wrapped() -> T:
            return fn()

        return self.run(wrapped(), timeout)

    def close(self) -> None:
        if self._closed or self._thread is None:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self.run(self._shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    async def _shutdown(self) -> None:
        for conn in list(self.conns.values()):
            if conn.session.half_open:
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
        next_at = self.loop.time()
        while True:
            next_at += self.tick_interval
            await asyncio.sleep(max(0.0, next_at - self.loop.time()))
            self.tick()

    def tick(self) -> None:
        """One generator step, then fan-out (loop thread)."""
        now = now_ms()
        events, fills = self.exchange.market.step(now)
        user = self.exchange.matching.settle_makers(fills, now)
        self.publish(events, user, now)

    def publish(self, events: Events, user: list[UserEvent], now: int) -> None:
        """Fan out, then fire trigger orders the new prices reached (and fan those out)."""
        self.fan_out(events, user, now)
        more_user, more_events = self.exchange.matching.fire_triggers(now)
        if more_user or more_events:
            self.fan_out(more_events, more_user, now)

    # -- handshake and HTTP ------------------------------------------------------------------
    @staticmethod
    def _respond(ws: ServerConnection, status: int, body: dict[str, Any] | str) -> Response:
        text = body if isinstance(body, str) else rpc.dumps(body)
        resp = ws.respond(HTTPStatus(status), text)
        if not isinstance(body, str):
            del resp.headers["Content-Type"]
            resp.headers["Content-Type"] = "application/json"
        return resp

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        left, status = self.refusals
        if left > 0:
            self.refusals = (left - 1, status)
            return self._respond(ws, status, "Too Many Requests")
        url = urlsplit(request.path)
        if url.path.startswith(HTTP_PREFIX):
            return self._http(ws, url.path[len(HTTP_PREFIX) :], url.query)
        if url.path.rstrip("/") != WS_PATH:
            return self._respond(ws, 404, "Not Found")
        if len(self.conns) >= self.max_connections:
            return self._respond(ws, 429, "Too Many Requests")
        return None

    def _http(self, ws: ServerConnection, method: str, query: str) -> Response:
        """The HTTP GET form: ``/api/v2/<method>?<params>`` (public methods)."""
        us_in = rpc.now_us()
        params = {k: _coerce(v) for k, v in parse_qsl(query, keep_blank_values=True)}
        session = Session(0, self.http_credits, path="/api/v2/" + method, http=True)
        if not self.http_credits.allow(method, time.monotonic()):
            out = Outcome(error=RpcError(E.TOO_MANY_REQUESTS))
        else:
            out = self.exchange.call(session, rpc.Request(method, params), now_ms())
        testnet = self.exchange.testnet
        if out.error is not None:
            status = 429 if out.error.code == E.TOO_MANY_REQUESTS else 400
            return self._respond(ws, status, rpc.error_frame(out.error, us_in, has_id=False,
                                                             testnet=testnet))  # fmt: skip
        return self._respond(ws, 200, rpc.result_frame(None, out.result, us_in, has_id=False,
                                                       testnet=testnet))  # fmt: skip

    # -- connections ---------------------------------------------------------------------------
    async def _handler(self, ws: ServerConnection) -> None:
        session = Session(next(self._ids), Credits(self.exchange.limits),
                          path=ws.request.path if ws.request else "")  # fmt: skip
        session.last_inbound = time.monotonic()
        conn = Conn(session, ws)
        conn.too_slow = lambda: self.kill(conn, 1008, "connection_too_slow", "too_slow")
        with self.registry.cond:
            self.conns[session.id] = conn
            self.registry.handshakes_accepted += 1
            self.registry.cond.notify_all()
        tasks = [self.loop.create_task(c) for c in (self._writer(conn), self._watch(conn))]
        try:
            async for message in ws:
                if session.closing:
                    continue
                session.last_inbound = time.monotonic()
                self._on_message(conn, message)
        except ConnectionClosed:
            pass
        finally:
            for t in tasks:
                t.cancel()
            if conn.stall:
                conn.stall.cancel()
            self._disconnected(conn)

    def _disconnected(self, conn: Conn) -> None:
        session = conn.session
        now = now_ms()
        user, events = self.exchange.cancel_on_disconnect(session, now)
        self.exchange.auth.forget_connection(session.id)
        with self.registry.cond:
            del self.conns[session.id]
            self.registry.reasons[session.close_reason] += 1
            self.registry.cod_cancelled += sum(1 for u in user if u.kind == "order")
            self.registry.cond.notify_all()
        self.publish(events, user, now)

    def _credits(self, session: Session) -> Credits:
        if session.account is None:
            return session.credits
        pool = self.credits.get(session.account.client_id)
        if pool is None:
            pool = self.credits[session.account.client_id] = Credits(self.exchange.limits)
        return pool

    def _on_message(self, conn: Conn, message: str | bytes) -> None:
        session = conn.session
        req = rpc.parse(message)
        testnet = self.exchange.testnet
        if isinstance(req, rpc.Malformed):
            conn.push(rpc.error_frame(req.error, rpc.now_us(), req_id=req.id, has_id=req.has_id,
                                      testnet=testnet))  # fmt: skip
            return
        if not self._credits(session).allow(req.method, time.monotonic()):
            conn.push(rpc.error_frame(RpcError(E.TOO_MANY_REQUESTS), req.us_in, req_id=req.id,
                                      has_id=req.has_id, testnet=testnet))  # fmt: skip
            self.kill(conn, 1008, "too_many_requests", "rate_limit")
            return
        now = now_ms()
        out = self.exchange.call(session, req, now)
        if out.error is not None:
            conn.push(rpc.error_frame(out.error, req.us_in, req_id=req.id, has_id=req.has_id,
                                      testnet=testnet))  # fmt: skip
        elif out.reply:
            conn.push(rpc.result_frame(req.id, out.result, req.us_in, has_id=req.has_id,
                                       testnet=testnet))  # fmt: skip
        if out.subscribed or out.unsubscribed:
            # replaced, never mutated: test threads snapshot it without the loop
            subs = {n: c for n, c in session.subs.items() if n not in out.unsubscribed}
            subs.update((c.name, c) for c in out.subscribed)
            session.subs = subs
        for channel_name, data in out.after:
            conn.push(self._note(session, channel_name, data))
        if out.subscribed or out.unsubscribed:
            self.registry.changed()
        if out.close is not None:
            code, reason, why = out.close
            self.kill(conn, code, reason, why)
        self.publish(out.events, out.user, now)

    def kill(self, conn: Conn, code: int, reason: str, why: str) -> None:
        """Close ``conn`` after its queued frames are written."""
        session = conn.session
        if session.closing:
            return
        session.closing, session.close_reason = True, why

        async def close() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.queue.join(), 1.0)
            await conn.ws.close(code, reason)

        self.loop.create_task(close())

    async def _writer(self, conn: Conn) -> None:
        while True:
            queued_at, msg = await conn.queue.get()
            try:
                if self.delay > 0 and self._matches(self.delay_match, conn):
                    await asyncio.sleep(max(0.0, queued_at + self.delay - time.monotonic()))
                if not conn.session.half_open:
                    with contextlib.suppress(ConnectionClosed):
                        await conn.ws.send(msg)
            finally:
                conn.queue.task_done()

    async def _watch(self, conn: Conn) -> None:
        """Heartbeat enforcement (``test_request``, close 4000) and the idle cut-off."""
        session = conn.session
        next_test: float | None = None
        while True:
            interval = session.heartbeat
            step = 0.05 if interval is None else max(0.01, min(0.5, interval / 10))
            await asyncio.sleep(step)
            now = time.monotonic()
            if session.half_open or session.closing:
                continue
            if interval is None or not self.heartbeats_on:
                next_test = None
                quiet = not session.subs and now - session.last_inbound > self.idle_timeout
                if interval is None and quiet:
                    session.closing, session.close_reason = True, "idle"
                    conn.ws.transport.abort()  # the live server just drops it (1006)
                    return
                continue
            if next_test is None:
                next_test = now + interval
            if session.test_request_at is not None and now - session.test_request_at >= interval:
                self.kill(conn, 4000, "heartbeat close", "heartbeat")
                return
            if now >= next_test:
                next_test = now + interval
                if session.test_request_at is None:
                    session.test_request_at = now
                conn.push(rpc.heartbeat("test_request"))

    # -- fan-out ---------------------------------------------------------------------------------
    def _note(self, session: Session, channel: str, data: Any) -> dict[str, Any]:
        frame = rpc.notification(channel, data)
        if session.sub_label is not None and channel.startswith("user."):
            frame["params"]["label"] = session.sub_label
        return frame

    def _subscribers(self, pred: Callable[[Channel], bool]) -> list[tuple[Conn, Channel]]:
        return [
            (conn, ch)
            for conn in list(self.conns.values())
            for ch in conn.session.subs.values()
            if pred(ch)
        ]

    def fan_out(self, events: Events, user: list[UserEvent], now: int) -> None:
        if not self.conns:
            return
        market = self.exchange.market
        catalog = self.exchange.catalog
        wanted = self._subscribers(lambda ch: True)
        if not wanted:
            return
        by_topic: dict[str, list[tuple[Conn, Channel]]] = {}
        for conn, ch in wanted:
            by_topic.setdefault(ch.topic, []).append((conn, ch))
        for topic, name, payload in events:
            inst = catalog.by_name[name]
            if topic == "book":
                for conn, ch in by_topic.get("book", ()):
                    if ch.instrument == name:
                        conn.push(self._note(conn.session, ch.name, payload))
                for conn, ch in by_topic.get("book_window", ()):
                    if ch.instrument == name:
                        book = market.states[name].book
                        window = {"timestamp": book.timestamp, "instrument_name": name,
                                  "change_id": book.change_id, "bids": book.bids.levels(ch.depth),
                                  "asks": book.asks.levels(ch.depth)}  # fmt: skip
                        conn.push(self._note(conn.session, ch.name, window))
                for conn, ch in by_topic.get("quote", ()):
                    if ch.instrument == name:
                        conn.push(self._note(conn.session, ch.name, market.quote(name)))
            elif topic == "trades":
                for conn, ch in by_topic.get("trades", ()):
                    if ch.covers(inst):
                        conn.push(self._note(conn.session, ch.name, payload))
                for conn, ch in by_topic.get("chart", ()):
                    if ch.instrument == name and ch.resolution is not None:
                        bars = market.candles(name, ch.resolution, now, now)
                        if bars:
                            conn.push(self._note(conn.session, ch.name, bars[-1]))
            elif topic == "tick":
                for conn, ch in by_topic.get("ticker", ()):
                    if ch.instrument == name:
                        conn.push(self._note(conn.session, ch.name, market.ticker(name, now)))
                if name.endswith("-PERPETUAL") and "_" not in name:
                    for conn, ch in by_topic.get("index", ()):
                        if ch.currency == inst.base:
                            price = market.index_price(inst.base)
                            data = {"timestamp": now, "price": price,
                                    "index_name": ch.name.split(".", 1)[1]}  # fmt: skip
                            conn.push(self._note(conn.session, ch.name, data))
        if user:
            self._fan_user(user, by_topic, now)

    def _fan_user(
        self, user: list[UserEvent], by_topic: dict[str, list[tuple[Conn, Channel]]], now: int
    ) -> None:
        matching = self.exchange.matching
        portfolios: set[tuple[str, str]] = set()
        changes: dict[tuple[str, str], dict[str, Any]] = {}
        for ev in user:
            if ev.kind == "portfolio":
                portfolios.add((ev.account, ev.payload))
                continue
            assert ev.inst is not None
            topic = "user.orders" if ev.kind == "order" else "user.trades"
            for conn, ch in by_topic.get(topic, ()):
                if self._owner(conn) == ev.account and ch.covers(ev.inst):
                    data = ev.payload
                    if topic == "user.orders" and not ch.raw:
                        data = [data]
                    conn.push(self._note(conn.session, ch.name, data))
            change = changes.setdefault((ev.account, ev.inst.name),
                                        {"instrument_name": ev.inst.name, "orders": [],
                                         "trades": [], "positions": []})  # fmt: skip
            change["orders" if ev.kind == "order" else "trades"] += (
                [ev.payload] if ev.kind == "order" else ev.payload
            )
        for (account_id, name), change in changes.items():
            inst = self.exchange.catalog.by_name[name]
            account = matching.accounts[account_id]
            pos = account.positions.get(name)
            if pos is not None and change["trades"]:
                market = self.exchange.market
                change["positions"] = [pos.to_json(market.mark_price(name),
                                                   market.index_price(inst.base))]  # fmt: skip
            for conn, ch in by_topic.get("user.changes", ()):
                if self._owner(conn) == account_id and ch.covers(inst):
                    conn.push(self._note(conn.session, ch.name, change))
        for account_id, currency in portfolios:
            summary: dict[str, Any] | None = None
            for conn, ch in by_topic.get("user.portfolio", ()):
                if self._owner(conn) == account_id and ch.currency == currency:
                    if summary is None:
                        summary = matching.summary(matching.accounts[account_id], currency)
                    conn.push(self._note(conn.session, ch.name, summary))

    @staticmethod
    def _owner(conn: Conn) -> str | None:
        account: Account | None = conn.session.account
        return account.client_id if account is not None else None

    # -- faults ----------------------------------------------------------------------------------
    @staticmethod
    def _matches(match: ConnMatch, conn: Conn) -> bool:
        if match is None:
            return True
        if isinstance(match, int):
            return conn.session.id == match
        return match(conn.info())

    def act(self, action: str, match: ConnMatch, **kw: Any) -> int:
        """Run a fault action on matching connections (from any thread)."""
        if self._closed:
            return 0
        return self.call(lambda: self._act(action, match, kw))

    def _act(self, action: str, match: ConnMatch, kw: dict[str, Any]) -> int:
        hit = 0
        for conn in [c for c in list(self.conns.values()) if self._matches(match, c)]:
            session, transport = conn.session, conn.ws.transport
            if action == "drop":
                session.closing, session.close_reason = True, "dropped"
                transport.abort()
            elif action == "close":
                self.kill(conn, kw["code"], kw["reason"], "fault_close")
            elif action == "half_open":
                if session.half_open:
                    continue
                session.half_open = True
                transport.pause_reading()
                while not conn.queue.empty():
                    conn.queue.get_nowait()
                    conn.queue.task_done()
                if kw["duration"] is not None:
                    conn.stall = self.loop.call_later(kw["duration"], self._unstall, conn)
            elif action == "release":
                if not session.half_open:
                    continue
                self._unstall(conn)
            elif action == "malformed":
                self._malformed(conn, kw["kind"])
            hit += 1
        self.registry.changed()
        return hit

    def _unstall(self, conn: Conn) -> None:
        if conn.stall:
            conn.stall.cancel()
            conn.stall = None
        if conn.session.half_open:
            conn.session.half_open = False
            conn.session.last_inbound = time.monotonic()
            with contextlib.suppress(Exception):
                conn.ws.transport.resume_reading()
        self.registry.changed()

    def _malformed(self, conn: Conn, kind: str) -> None:
        if kind == "invalid_json":
            conn.push('{"jsonrpc":"2.0","method":"subscription","params":{"channel":')
        elif kind == "unknown_method":
            conn.push({"jsonrpc": "2.0", "method": "simulator_unknown", "params": {}})
        elif kind == "binary":
            conn.queue.put_nowait((time.monotonic(), b"\x00\x01binary"))
        elif kind == "truncated_frame":
            conn.session.closing, conn.session.close_reason = True, "truncated_frame"
            conn.ws.transport.write(b"\x81\x7e\x01\x00" + b'{"jsonrpc":"2.0","method"')
            conn.ws.transport.close()
        else:
            raise ValueError(f"unknown malformed kind {kind!r}")
