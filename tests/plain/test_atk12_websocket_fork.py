"""``WebSocketClient`` across ``os.fork()``: the child gets a clear error, the parent keeps
its connection (a Celery prefork worker inherits the clients of its parent)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from ccxtpro_sync import NetworkError, WebSocketClient

from .servers import LocalServer, reply


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        request = json.loads(message)
        await ws.send(reply(request, request["params"]))


def child_report(ws: WebSocketClient) -> dict[str, Any]:
    """What the inherited client does in the child; runs in the child only."""
    report: dict[str, Any] = {}
    for name, call in (
        ("recv", lambda: ws.recv(timeout=5)),
        ("request", lambda: ws.request({"method": "m", "params": [2]}, timeout=5)),
        ("send", lambda: ws.send({"method": "m", "params": [3]}, timeout=5)),
        ("wait_ready", lambda: ws.wait_ready(timeout=5)),
        ("on_message", lambda: ws.on_message(print)),
        ("every", lambda: ws.every(5, print)),
    ):
        try:
            call()
            report[name] = "returned"
        except NetworkError as error:
            report[name] = "NetworkError" if "fork" in str(error) else repr(error)
        except Exception as error:  # anything else is the finding
            report[name] = repr(error)
    ws.close()  # must leave the parent's socket alone
    ws.close()
    return report


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_gets_network_error_and_its_close_spares_the_parent() -> None:
    with LocalServer(echo) as server, WebSocketClient(server.url, timeout=10) as ws:
        assert ws.request({"method": "m", "params": [1]}) == [1]
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report through the pipe, never return into pytest
            status = 1
            try:
                os.close(read_end)
                os.write(write_end, json.dumps(child_report(ws)).encode())
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            report = json.loads(pipe.read() or "{}")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert report == dict.fromkeys(
            ("recv", "request", "send", "wait_ready", "on_message", "every"), "NetworkError"
        )
        # The child's close sent no close frame and shut nothing down: the parent's
        # session (reconnect=False: a loss would be final) still answers.
        assert ws.request({"method": "m", "params": [4]}) == [4]
        assert ws.connection.connects == 1 and not ws.closed
