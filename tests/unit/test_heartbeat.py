"""Keep-alive strategies with plain numbers: no socket, no clock."""

from __future__ import annotations

import json
import math

import pytest

from ccxtpro_sync._core.heartbeat import (
    CustomHeartbeat,
    Disabled,
    JsonRpcHeartbeat,
    PingPong,
    ServerPing,
    make_heartbeat,
)


def test_server_ping_pings_when_quiet_and_dies_when_silent() -> None:
    beat = ServerPing(interval=20, silence=60)
    beat.on_open(100)
    assert beat.next_deadline() == math.inf  # a busy socket pays nothing
    assert beat.on_timer(now=120, last_rx=100).ping
    assert not beat.on_timer(now=125, last_rx=100).ping  # woken early: pinged 5 s ago
    assert beat.on_timer(now=140, last_rx=100).ping
    assert beat.on_timer(now=160, last_rx=100).dead


def test_ping_pong_dies_when_the_pong_is_late() -> None:
    beat = PingPong(interval=10, timeout=5)
    beat.on_open(0)
    assert beat.next_deadline() == 10
    assert not beat.on_timer(5, 5).ping
    assert beat.on_timer(10, 10).ping
    assert beat.next_deadline() == 15  # the pong is due
    beat.on_pong(12)
    assert beat.next_deadline() == 20
    assert beat.on_timer(20, 20).ping
    assert beat.on_timer(25, 24.9).dead  # data does not count: only a pong does


def test_jsonrpc_answers_test_requests_and_consumes_its_own_replies() -> None:
    ids = iter(range(100, 200))
    beat = JsonRpcHeartbeat(interval=10, ids=ids.__next__)
    (setup,) = beat.on_open(0)
    assert json.loads(setup) == {"jsonrpc": "2.0", "id": 100, "method": "public/set_heartbeat",
                                 "params": {"interval": 10.0}}  # fmt: skip
    assert beat.on_message(b'{"jsonrpc":"2.0","id":100,"result":"ok"}', 1) == (True, [])
    consumed, answers = beat.on_message(
        b'{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}', 2
    )
    assert consumed and json.loads(answers[0])["method"] == "public/test"
    assert beat.on_message(b'{"jsonrpc":"2.0","id":7,"result":1}', 3) == (False, [])
    assert not beat.on_timer(15, 0).dead
    assert beat.on_timer(20, 0).dead


def test_custom_probe_reply_and_deadline() -> None:
    beat = CustomHeartbeat(lambda: {"op": "ping"}, lambda m: m == {"op": "pong"}, 5, 2)
    beat.on_open(0)
    assert beat.on_timer(5, 5).frames == ['{"op": "ping"}']
    assert beat.on_message(b'{"op":"pong"}', 6) == (True, [])
    assert beat.on_message(b'{"op":"pong"}', 6) == (False, [])  # not awaited: data
    assert beat.on_timer(10, 10).frames
    assert beat.on_timer(12, 11).dead


def test_make_heartbeat_validates() -> None:
    assert isinstance(make_heartbeat("disabled"), Disabled)
    assert isinstance(make_heartbeat({"type": "ping_pong", "interval": 1}), PingPong)
    with pytest.raises(ValueError):
        make_heartbeat({"type": "ping_pong", "interval": -1})
    with pytest.raises(ValueError):
        make_heartbeat({"type": "ping_pong", "bogus": 1})
    with pytest.raises(ValueError):
        make_heartbeat(42)  # type: ignore[arg-type]
