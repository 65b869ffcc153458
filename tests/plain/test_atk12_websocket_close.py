"""``WebSocketClient.close()`` from several threads at once, and from its own hooks: every
call returns only once the client is closed (no library thread left), none deadlocks.
And payloads that cannot be a text frame are refused, typed, before anything is sent."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from ccxtpro_sync import InvalidArgument, WebSocketClient

from .servers import LocalServer

WAIT = 10.0


async def hello(ws: ServerConnection) -> None:
    await ws.send("hello")
    await ws.wait_closed()


def library_threads_alive() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("ccxtpro_sync")]


def test_concurrent_closes_all_return_once_the_client_is_closed() -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(message: Any) -> None:  # keeps the dispatcher (and so the first close) busy
        entered.set()
        release.wait(WAIT)

    with LocalServer(hello) as server:
        client = WebSocketClient(server.url, timeout=WAIT, buffer=0)
        client.on_message(slow)
        assert entered.wait(WAIT)
        start = threading.Barrier(3)
        left: list[list[str]] = []

        def closer() -> None:
            start.wait(WAIT)
            client.close(timeout=WAIT)
            left.append(library_threads_alive())  # what a returned close() leaves

        closers = [threading.Thread(target=closer) for _ in range(3)]
        for thread in closers:
            thread.start()
        # While the callback runs, no close() may return: the first waits for the
        # dispatcher, the others for the first. Give a wrong early return the time:
        # half a second in all (it would return at once, not wait), not a second each.
        deadline = time.monotonic() + 0.5
        for thread in closers:
            thread.join(max(0.0, deadline - time.monotonic()))
        release.set()
        for thread in closers:
            thread.join(WAIT)
        assert not any(thread.is_alive() for thread in closers)
        assert left == [[]] * 3, left


def test_close_from_the_on_close_hook_and_from_a_timer_returns() -> None:
    hooked: list[Any] = []
    ticked = threading.Event()

    def on_close(client: WebSocketClient, error: BaseException | None) -> None:
        hooked.append(error)
        client.close()  # re-entrant: must not wait for the close that runs this hook

    def tick(client: WebSocketClient) -> None:
        client.close()  # from the timer thread, which close() would join
        ticked.set()

    with LocalServer(hello) as server:
        client = WebSocketClient(server.url, timeout=WAIT, on_close=on_close)
        assert client.recv() == "hello"
        client.every(0.05, tick)
        assert ticked.wait(WAIT)
        closing = threading.Thread(target=client.close)
        closing.start()
        closing.join(WAIT)
        assert not closing.is_alive()
        assert hooked == [None]
        assert library_threads_alive() == []


# -- what cannot be a frame is refused before it is sent ------------------------------------
def test_unsendable_payloads_are_invalid_argument_and_leave_no_key_behind() -> None:
    received: list[str] = []

    async def record(ws: ServerConnection) -> None:
        async for message in ws:
            received.append(str(message))
            request = json.loads(message)
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": "ok"}))

    with LocalServer(record) as server, WebSocketClient(server.url, timeout=WAIT) as client:
        for bad in (float("nan"), {"price": float("inf")}, object(), b"\xff\xfe"):
            with pytest.raises(InvalidArgument):
                client.send(bad)
        with pytest.raises(InvalidArgument):
            client.request({"id": 7, "amount": float("nan")})
        # The key of the refused request is free: the same id can be used again.
        assert client.request({"id": 7, "amount": 1}) == "ok"
        # Only that last, valid frame reached the server (and it is standard JSON).
        assert [json.loads(m) for m in received] == [{"id": 7, "amount": 1}]
