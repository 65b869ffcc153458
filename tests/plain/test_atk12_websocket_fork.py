"""``WebSocketClient`` across ``os.fork()``: the child gets a clear error, the parent keeps
its connection (a Celery prefork worker inherits the clients of its parent). And at
interpreter exit an unclosed client is closed, as the exchange clients are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

import ccxtpro_sync
from ccxtpro_sync import NetworkError, WebSocketClient
from tests.forking import report_from_child

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
        report = report_from_child(lambda: child_report(ws))
        assert report == dict.fromkeys(
            ("recv", "request", "send", "wait_ready", "on_message", "every"), "NetworkError"
        )
        # The child's close sent no close frame and shut nothing down: the parent's
        # session (reconnect=False: a loss would be final) still answers.
        assert ws.request({"method": "m", "params": [4]}) == [4]
        assert ws.connection.connects == 1 and not ws.closed


# -- a script that ends without close() --------------------------------------------------
EXIT_SCRIPT = """
import os, sys
from ccxtpro_sync import WebSocketClient

client = WebSocketClient(os.environ["URL"], timeout=10)
print(client.request({"method": "m", "params": [1]}), flush=True)
# ...and the script ends without close()
"""


def test_an_unclosed_client_sends_a_close_frame_at_exit() -> None:
    """As the exchange clients are: the atexit hook closes it, so the server sees a
    normal close (1000), not an abnormal end (1006) of a socket dropped by exit."""
    codes: list[int | None] = []
    ended = threading.Event()

    async def record(ws: ServerConnection) -> None:
        try:
            async for message in ws:
                request = json.loads(message)
                await ws.send(reply(request, request["params"]))
        finally:
            codes.append(ws.close_code)
            ended.set()

    with LocalServer(record) as server:
        root = str(Path(ccxtpro_sync.__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": root, "URL": server.url}
        done = subprocess.run(
            [sys.executable, "-c", EXIT_SCRIPT],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[1]"
        assert ended.wait(10)
    assert codes == [1000]
