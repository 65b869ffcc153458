"""Fixtures for the local Deribit's tests: a plain websocket client, real sockets."""

from __future__ import annotations

import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from ccxtpro_sync.simulator.deribit import LocalDeribit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "deribit"
Factory = Callable[..., LocalDeribit]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def make_deribit() -> Iterator[Factory]:
    created: list[LocalDeribit] = []

    def factory(**kw: Any) -> LocalDeribit:
        ex = LocalDeribit(**kw).start()
        created.append(ex)
        return ex

    yield factory
    for ex in created:
        ex.close()


@pytest.fixture
def ex(make_deribit: Factory) -> LocalDeribit:
    """A manually driven exchange (``tick()``/``trade()``), seed 7."""
    return make_deribit(seed=7, auto_publish=False)


class Rpc:
    """A bare JSON-RPC client: ``call`` returns the reply, other frames are kept."""

    def __init__(self, url: str) -> None:
        self.ws: ClientConnection = connect(url, ping_interval=None, open_timeout=5, legacy=True,
                                            close_timeout=1)  # fmt: skip
        self.ids = itertools.count(1)
        self.pending: deque[dict[str, Any]] = deque()

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Rpc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, method: str, params: dict[str, Any] | None = None, **extra: Any) -> int:
        req_id = extra.pop("id", next(self.ids))
        self.ws.send(json.dumps({"jsonrpc": "2.0", "id": req_id, "method": method,
                                 "params": params or {}, **extra}))  # fmt: skip
        return req_id

    def recv(self, timeout: float = 3.0) -> dict[str, Any]:
        msg = self.ws.recv(timeout=timeout)
        assert isinstance(msg, str), msg
        frame = json.loads(msg)
        assert isinstance(frame, dict)
        return frame

    def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 3.0, **kw: Any
    ) -> dict[str, Any]:
        req_id = self.send(method, params, **kw)
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv(max(0.01, deadline - time.monotonic()))
            if frame.get("id") == req_id and ("result" in frame or "error" in frame):
                return frame
            self.pending.append(frame)

    def result(self, method: str, params: dict[str, Any] | None = None) -> Any:
        frame = self.call(method, params)
        assert "error" not in frame, frame
        return frame["result"]

    def error(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        frame = self.call(method, params)
        assert "error" in frame, frame
        return frame["error"]  # type: ignore[no-any-return]

    def next(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 3.0) -> dict[str, Any]:
        """The next kept or arriving frame matching ``pred`` (others are discarded)."""
        while self.pending:
            frame = self.pending.popleft()
            if pred(frame):
                return frame
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching frame")
            frame = self.recv(left)
            if pred(frame):
                return frame

    def note(self, channel: str, timeout: float = 3.0) -> Any:
        """The data of the next notification on ``channel``."""
        frame = self.next(
            lambda f: f.get("method") == "subscription" and f["params"]["channel"] == channel,
            timeout,
        )
        return frame["params"]["data"]

    def login(self, ex: LocalDeribit, scope: str | None = None) -> dict[str, Any]:
        client_id, secret = ex.credentials
        params = {"grant_type": "client_credentials", "client_id": client_id,
                  "client_secret": secret}  # fmt: skip
        if scope is not None:
            params["scope"] = scope
        result: dict[str, Any] = self.result("public/auth", params)
        return result


@pytest.fixture
def rpc(ex: LocalDeribit) -> Iterator[Callable[[], Rpc]]:
    """Open ``Rpc`` clients on ``ex``; all are closed at teardown."""
    opened: list[Rpc] = []

    def open_one() -> Rpc:
        client = Rpc(ex.url)
        opened.append(client)
        return client

    yield open_one
    for client in opened:
        client.close()
