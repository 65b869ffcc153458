"""A recording websocket proxy: what the client really sent, frame by frame.

Client -> proxy -> LocalDeribit. Each client connection gets its own upstream
connection; text frames the client sends are recorded (parsed JSON) per session,
in order. ``drop()`` aborts every client socket without a close frame."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


class WireProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.sessions: list[list[dict[str, Any]]] = []
        #: While set, client frames are recorded but not forwarded (a silent client).
        self.mute = threading.Event()
        #: ``(method, forward)``: the next client frame calling ``method`` is forwarded
        #: (or not), then the client's socket is aborted: its reply is lost.
        self.cut: tuple[str, bool] | None = None
        #: ``(method, rewrite)``: the reply to the next client frame calling ``method``
        #: reaches the client with its ``result`` replaced by ``rewrite(result)``.
        self.reply: tuple[str, Callable[[Any], Any]] | None = None
        #: While set, new client connections are aborted at once (a long outage).
        self.block = threading.Event()
        #: ``(method, seconds)``: the next client frame calling ``method`` reaches the
        #: exchange that much later (injected latency, e.g. a slow login).
        self.delay: tuple[str, float] | None = None
        #: ``(method, body)``: the reply to the next client frame calling ``method``
        #: reaches the client as ``body`` instead (a hostile reply); set when replaced.
        self.replace: tuple[str, bytes] | None = None
        self.replaced = threading.Event()
        self._replacing: dict[Any, bytes] = {}
        #: ``(method, seconds)``: the reply to the next client frame calling ``method``
        #: reaches the client that much later (it was answered; it is slow to arrive).
        #: ``held`` counts the replies held so far.
        self.hold: tuple[str, float] | None = None
        self.held = 0
        #: ``(method, error)``: the reply to the next client frame calling ``method``
        #: reaches the client as this JSON-RPC ``error`` (same id) although the exchange
        #: acted on the request (a lying server).
        self.fail: tuple[str, dict[str, Any]] | None = None
        self.cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._clients: set[ServerConnection] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="wire-proxy")
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError("proxy did not start")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/ws/api/v2"

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", 0) as server:
            self._port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _handle(self, client: ServerConnection) -> None:
        if self.block.is_set():
            client.transport.abort()
            return
        frames: list[dict[str, Any]] = []
        rewrites: dict[Any, Callable[[Any], Any]] = {}  # by request id
        holds: dict[Any, float] = {}  # by request id
        fails: dict[Any, dict[str, Any]] = {}  # by request id
        with self.cond:
            self.sessions.append(frames)
            self.cond.notify_all()
        self._clients.add(client)
        try:
            async with connect(self.upstream, max_size=None) as upstream:

                async def up() -> None:
                    async for message in client:
                        frame = json.loads(message)
                        with self.cond:
                            frames.append(frame)
                            self.cond.notify_all()
                        delay = self.delay
                        if delay is not None and frame.get("method") == delay[0]:
                            self.delay = None
                            await self._pause(delay[1])
                        hold = self.hold
                        if hold is not None and frame.get("method") == hold[0]:
                            self.hold = None
                            holds[frame.get("id")] = hold[1]
                        reply = self.reply
                        if reply is not None and frame.get("method") == reply[0]:
                            self.reply = None
                            rewrites[frame.get("id")] = reply[1]
                        fail = self.fail
                        if fail is not None and frame.get("method") == fail[0]:
                            self.fail = None
                            fails[frame.get("id")] = fail[1]
                        replace = self.replace
                        if replace is not None and frame.get("method") == replace[0]:
                            self.replace = None
                            self._replacing[frame.get("id")] = replace[1]
                        cut = self.cut
                        if cut is not None and frame.get("method") == cut[0]:
                            self.cut = None
                            if cut[1]:
                                await upstream.send(message)
                            client.transport.abort()
                            return
                        if not self.mute.is_set():
                            await upstream.send(message)

                async def down() -> None:
                    async for message in upstream:
                        if self._replacing:
                            body = self._replacing.pop(json.loads(message).get("id"), None)
                            if body is not None:
                                self.replaced.set()
                                await client.send(body.decode())
                                continue
                        out = message
                        if fails:
                            answer = json.loads(message)
                            error = fails.pop(answer.get("id"), None)
                            if error is not None:
                                answer.pop("result", None)
                                answer["error"] = error
                                out = json.dumps(answer)
                        if holds:
                            seconds = holds.pop(json.loads(message).get("id"), None)
                            if seconds is not None:
                                with self.cond:
                                    self.held += 1
                                    self.cond.notify_all()
                                await self._pause(seconds)
                        if rewrites:
                            answer = json.loads(message)
                            rewrite = rewrites.pop(answer.get("id"), None)
                            if rewrite is not None and "result" in answer:
                                answer["result"] = rewrite(answer["result"])
                                out = json.dumps(answer)
                        await client.send(out)

                tasks = [asyncio.create_task(up()), asyncio.create_task(down())]
                with contextlib.suppress(ConnectionClosed):
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in tasks:
                    task.cancel()
        except (ConnectionClosed, OSError):
            pass
        finally:
            self._clients.discard(client)
            client.transport.abort()

    async def _pause(self, seconds: float) -> None:
        """Injected latency that ends early when the proxy closes: a test's teardown
        never waits out a delay its test no longer needs."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    def drop(self) -> None:
        """Abort every client connection (no close frame); upstream closes too."""

        def abort() -> None:
            for client in list(self._clients):
                client.transport.abort()

        self._loop.call_soon_threadsafe(abort)

    def methods(self, session: int) -> list[str]:
        with self.cond:
            return [f.get("method", "") for f in self.sessions[session]]

    def sent(self) -> list[str]:
        """The methods of every request, over all sessions, in order."""
        with self.cond:
            return [m for s in range(len(self.sessions)) for m in self.methods(s)]

    def wait(self, predicate: Any, timeout: float = 10.0) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self), timeout):
                raise TimeoutError("wire condition not met")

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
