"""Helpers for the private-side tests: a signing WS API client, signed REST, listenKey streams.

Everything signs with the project's own ``signing.py`` and ``Credentials``, over
real sockets (``websocket-client`` and ``requests``). Waits are bounded by
timeouts; nothing sleeps blindly.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import requests
import websocket

from ccxtpro_sync._credentials import Credentials
from ccxtpro_sync._exchanges.binance.signing import rest_payload, urlencode, ws_api_payload
from ccxtpro_sync.simulator import LocalExchange

Obj = dict[str, Any]


def now_ms() -> int:
    return int(time.time() * 1000)


class WsApi:
    """A minimal WS API client: requests by id, pushed events kept in order."""

    def __init__(self, url: str, creds: Credentials | None = None) -> None:
        self.ws = websocket.create_connection(url, timeout=5)
        self.creds = creds
        self.events: list[Obj] = []
        self.frames: list[Obj] = []
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> WsApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def signed(self, params: Obj | None = None, creds: Credentials | None = None) -> Obj:
        creds = creds or self.creds
        assert creds is not None
        out = {**(params or {}), "apiKey": creds.api_key}
        out.setdefault("timestamp", now_ms())
        out["signature"] = creds.sign(ws_api_payload(out))
        return out

    def _recv(self, timeout: float) -> Obj:
        self.ws.settimeout(timeout)
        frame: Obj = json.loads(self.ws.recv())
        self.frames.append(frame)
        if "event" in frame:
            self.events.append(frame)
        return frame

    def call(
        self,
        method: str,
        params: Obj | None = None,
        *,
        sign: bool = False,
        req_id: Any = None,
        timeout: float = 3.0,
    ) -> Obj:
        """Send and return the response with our id (events meanwhile are kept)."""
        rid = next(self._ids) if req_id is None else req_id
        msg: Obj = {"id": rid, "method": method}
        if params is not None or sign:
            msg["params"] = self.signed(params) if sign else params
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            frame = self._recv(max(0.01, deadline - time.monotonic()))
            if "event" not in frame and frame.get("id") == rid:
                return frame

    def ok(self, method: str, params: Obj | None = None, *, sign: bool = False) -> Any:
        frame = self.call(method, params, sign=sign)
        assert frame["status"] == 200, frame
        return frame["result"]

    def wait_event(self, pred: Callable[[Obj], bool], timeout: float = 3.0) -> Obj:
        """The first event (inner object) matching ``pred``, received now or earlier."""
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.events[seen:]:
                event: Obj = frame["event"]
                if pred(event):
                    self.events.remove(frame)
                    return event
            seen = len(self.events)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching event")
            try:
                self._recv(left)
            except websocket.WebSocketTimeoutException:
                continue

    def take_events(self, n: int, timeout: float = 3.0) -> list[Obj]:
        """The next ``n`` events (inner objects) in arrival order."""
        deadline = time.monotonic() + timeout
        while len(self.events) < n:
            self._recv(max(0.01, deadline - time.monotonic()))
        taken, self.events = self.events[:n], self.events[n:]
        return [f["event"] for f in taken]


class Stream:
    """A market-stream connection carrying futures user data (listenKey)."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=5)

    def close(self) -> None:
        self.ws.close()

    def next(self, pred: Callable[[Obj], bool] = lambda e: True, timeout: float = 3.0) -> Obj:
        deadline = time.monotonic() + timeout
        while True:
            self.ws.settimeout(max(0.01, deadline - time.monotonic()))
            msg: Obj = json.loads(self.ws.recv())
            if pred(msg):
                return msg


def rest(
    ex: LocalExchange,
    method: str,
    path: str,
    creds: Credentials,
    params: Obj | None = None,
    *,
    signed: bool = True,
) -> requests.Response:
    """A REST call signed like Binance's docs: query string, signature appended last."""
    query = dict(params or {})
    if signed:
        query["timestamp"] = now_ms()
    text = urlencode(query)
    if signed:
        text += "&signature=" + creds.sign(rest_payload(text))
    url = ex.urls("spot")["rest"] + path + ("?" + text if text else "")
    return requests.request(method, url, headers={"X-MBX-APIKEY": creds.api_key}, timeout=5)
