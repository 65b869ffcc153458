"""Fixtures for the simulator's own tests: real sockets on 127.0.0.1, no bare sleeps."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from ccxtpro_sync.simulator import LocalExchange

Factory = Callable[..., LocalExchange]


@pytest.fixture
def make_exchange() -> Iterator[Factory]:
    """Start ``LocalExchange(**kw)`` instances; all are closed at teardown."""
    created: list[LocalExchange] = []

    def factory(**kw: Any) -> LocalExchange:
        ex = LocalExchange(**kw).start()
        created.append(ex)
        return ex

    yield factory
    for ex in created:
        ex.close()


@pytest.fixture
def ex(make_exchange: Factory) -> LocalExchange:
    """A manually driven exchange (``tick()``), deterministic for seed 7."""
    return make_exchange(seed=7, auto_publish=False)


@pytest.fixture
def live(make_exchange: Factory) -> LocalExchange:
    """A self-publishing exchange with fast ticks and compressed cadences."""
    return make_exchange(seed=3, tick_interval=0.01, speed=10)


def ws_connect(url: str, **kw: Any) -> ClientConnection:
    """Sync client without its own keep-alive (client pings count against rate limits)."""
    kw.setdefault("ping_interval", None)
    kw.setdefault("open_timeout", 5)
    kw.setdefault("close_timeout", 1)
    return connect(url, **kw)


def recv_json(ws: ClientConnection, timeout: float = 3.0) -> Any:
    msg = ws.recv(timeout=timeout)
    assert isinstance(msg, str), msg
    return json.loads(msg)


def recv_until(ws: ClientConnection, pred: Callable[[Any], bool], timeout: float = 3.0) -> Any:
    """Receive until ``pred(message)``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no matching message")
        msg = recv_json(ws, left)
        if pred(msg):
            return msg


def request(ws: ClientConnection, req: dict[str, Any] | str, timeout: float = 3.0) -> Any:
    """Send a control request and return the first reply (a message with ``id``)."""
    ws.send(req if isinstance(req, str) else json.dumps(req))
    return recv_until(ws, lambda m: isinstance(m, dict) and "id" in m, timeout)
