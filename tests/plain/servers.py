"""Tiny local websocket servers that enforce one keep-alive rule each (tests only)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.frames import Frame, Opcode

Handler = Callable[[ServerConnection], Awaitable[None]]


class PingSpy(ServerConnection):
    """Counts the websocket pings a client sends (websockets answers them itself)."""

    on_ping: Callable[[], None] | None = None

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING and self.on_ping:
            self.on_ping()
        super().process_event(event)


class LocalServer:
    """An asyncio websocket server on 127.0.0.1 in a daemon thread."""

    def __init__(self, handler: Handler, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.connections = 0
        self.lock = threading.Lock()

        async def counted(ws: ServerConnection) -> None:
            with self.lock:
                self.connections += 1
            await handler(ws)

        async def start() -> Server:
            return await serve(counted, "127.0.0.1", 0, **options)

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(5)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def reply(request: dict[str, Any], result: Any) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result})
