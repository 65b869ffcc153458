"""Every scriptable fault, observed from a real client."""

from __future__ import annotations

import json
import socket
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ccxtpro_sync.simulator import LocalExchange

from .conftest import Factory, recv_json, request, ws_connect
from .test_market_streams import drain


def test_drop_without_close_frame(ex: LocalExchange) -> None:
    base = ex.urls("spot")["ws"]
    with ws_connect(base + "/ws/btcusdt@trade") as keep, ws_connect(base + "/ws") as gone:
        ex.wait_for_connections(2)
        assert ex.faults.drop(match="btcusdt@trade") == 1
        with pytest.raises(ConnectionClosed) as err:
            keep.recv(timeout=3)
        assert err.value.rcvd is None  # no close frame: abnormal closure
        ex.wait_for_connections(1)
        assert request(gone, {"method": "LIST_SUBSCRIPTIONS", "id": 1})["result"] == []
    assert ex.stats().disconnect_reasons["dropped"] == 1


def test_close_with_code_and_reason(ex: LocalExchange) -> None:
    with ws_connect(ex.urls("usdm")["ws"] + "/market/ws") as ws:
        ex.wait_for_connections(1)
        assert ex.faults.close(4001, "maintenance", match=lambda c: c.market == "usdm") == 1
        with pytest.raises(ConnectionClosed) as err:
            ws.recv(timeout=3)
        assert err.value.rcvd is not None
        assert (err.value.rcvd.code, err.value.rcvd.reason) == (4001, "maintenance")


def test_half_open_until_release(ex: LocalExchange) -> None:
    with ws_connect(ex.urls("spot")["ws"] + "/ws/btcusdt@trade") as ws:
        ex.wait_for_connections(1)
        assert ex.faults.half_open() == 1
        assert ex.connections()[0].half_open
        pong = ws.ping()
        ex.publish("spot", "btcusdt@trade", {"lost": True})
        assert not pong.wait(0.3)  # pings unanswered, pushes withheld
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.1)
        # a connection opened during the stall is unaffected
        with ws_connect(ex.urls("spot")["ws"] + "/ws") as fresh:
            assert request(fresh, {"method": "LIST_SUBSCRIPTIONS", "id": 1})["id"] == 1
        assert ex.faults.release() == 1
        assert pong.wait(3)
        ex.publish("spot", "btcusdt@trade", {"back": True})
        assert recv_json(ws) == {"back": True}


def test_half_open_for_a_duration(ex: LocalExchange) -> None:
    with ws_connect(ex.urls("spot")["ws"] + "/ws") as ws:
        ex.wait_for_connections(1)
        ex.faults.half_open(duration=0.3)
        started = time.monotonic()
        reply = request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 1})
        assert reply["id"] == 1 and time.monotonic() - started >= 0.25


def test_half_open_stops_server_pings(make_exchange: Factory) -> None:
    # The client's pongs come from its own background thread: a deadline of a second
    # leaves a loaded machine time to answer, and the stall outlasts it.
    ex = make_exchange(auto_publish=False, ping_interval=0.05, pong_timeout=1.0, message_rate=100)
    with ws_connect(ex.urls("spot")["ws"] + "/ws") as ws:
        ex.wait_for_connections(1)
        ex.faults.half_open(duration=2.0)
        # longer than the pong timeout: the stalled server must not drop the client itself
        ex.wait_until(
            lambda s: s.connections and not s.connections[0].half_open,
            timeout=3,
            what="auto release",
        )
        assert request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 2})["id"] == 2
        assert ex.stats().connections_closed == 0


@pytest.mark.parametrize("combined", [False, True])
def test_malformed_text_and_unknown_event(ex: LocalExchange, combined: bool) -> None:
    path = "/stream?streams=btcusdt@trade" if combined else "/ws/btcusdt@trade"
    with ws_connect(ex.urls("spot")["ws"] + path) as ws:
        ex.wait_for_connections(1)
        ex.faults.send_malformed("invalid_json")
        text = ws.recv(timeout=3)
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        ex.faults.send_malformed("unknown_event")
        msg = recv_json(ws)
        event = msg["data"] if combined else msg
        assert event["e"] == "simulatorUnknownEvent"
        ex.faults.send_malformed("binary")
        assert isinstance(ws.recv(timeout=3), bytes)
        # the connection still works afterwards
        ex.publish("spot", "btcusdt@trade", {"ok": 1})
        assert (recv_json(ws).get("data") if combined else recv_json(ws)) == {"ok": 1}


@pytest.mark.parametrize("kind", ["bad_opcode", "truncated_frame"])
def test_protocol_level_garbage(ex: LocalExchange, kind: str) -> None:
    with ws_connect(ex.urls("spot")["ws"] + "/ws") as ws:
        ex.wait_for_connections(1)
        ex.faults.send_malformed(kind)  # type: ignore[arg-type]
        with pytest.raises(ConnectionClosed) as err:
            ws.recv(timeout=3)
        assert err.value.rcvd is None
    ex.wait_for_connections(0)


@pytest.mark.parametrize(("market", "route"), [("spot", ""), ("usdm", "/public"), ("coinm", "")])
def test_depth_gap(ex: LocalExchange, market: str, route: str) -> None:
    symbol = {"spot": "btcusdt", "usdm": "btcusdt", "coinm": "btcusd_perp"}[market]
    stream = f"{symbol}@depth@100ms"
    with ws_connect(ex.urls(market)["ws"] + route + "/ws/" + stream) as ws:  # type: ignore[arg-type]
        ex.wait_for_subscription(stream)
        ex.tick(10)
        assert ex.faults.depth_gap(market, symbol, events=1) == 1  # type: ignore[arg-type]
        ex.tick(10)
        events = drain(ex, ws, market, stream)
    key = "U" if market == "spot" else "pu"
    breaks = [
        i
        for i in range(1, len(events))
        if events[i][key] != events[i - 1]["u"] + (1 if market == "spot" else 0)
    ]
    assert len(breaks) == 1 and len(events) == 9  # 10 pushes, one lost


def test_depth_gap_before_subscription_applies_later(ex: LocalExchange) -> None:
    assert ex.faults.depth_gap("spot", "ETHUSDT", events=1) == 0
    with ws_connect(ex.urls("spot")["ws"] + "/ws/ethusdt@depth@100ms") as ws:
        ex.wait_for_subscription("ethusdt@depth@100ms")
        ex.tick(6)
        assert len(drain(ex, ws, "spot", "ethusdt@depth@100ms")) == 2
    with pytest.raises(KeyError):
        ex.faults.depth_gap("spot", "NOPE")


@pytest.mark.parametrize("status", [429, 418])
def test_refuse_handshakes(ex: LocalExchange, status: int) -> None:
    ex.faults.refuse_handshakes(count=2, status=status, retry_after=30)
    url = ex.urls("spot")["ws"] + "/ws"
    for _ in range(2):
        with pytest.raises(InvalidStatus) as err:
            ws_connect(url)
        assert err.value.response.status_code == status
        assert err.value.response.headers["Retry-After"] == "30"
    with ws_connect(url):
        ex.wait_for_connections(1)
    assert ex.stats().handshakes_refused == 2


def test_connection_attempt_limit(make_exchange: Factory) -> None:
    ex = make_exchange(auto_publish=False, connection_attempts=3, connection_window=60)
    url = ex.urls("coinm")["ws"] + "/ws"
    for _ in range(3):
        with ws_connect(url):
            pass
    with pytest.raises(InvalidStatus) as err:
        ws_connect(url)
    assert err.value.response.status_code == 429
    assert int(err.value.response.headers["Retry-After"]) > 0


#: An injected delay, and the most an undelayed message or handshake may take: far
#: apart, so that only a missing or misapplied delay fails, not a loaded machine.
DELAY = 2.0
PROMPT = DELAY / 2


def test_delay_messages(ex: LocalExchange) -> None:
    base = ex.urls("spot")["ws"]
    with (
        ws_connect(base + "/ws/btcusdt@trade") as slow,
        ws_connect(base + "/ws/ethusdt@trade") as fast,
    ):
        ex.wait_for_connections(2)
        ex.faults.delay_messages(DELAY, match="btcusdt")
        started = time.monotonic()
        ex.publish("spot", "btcusdt@trade", {"n": 1})
        ex.publish("spot", "btcusdt@trade", {"n": 2})
        ex.publish("spot", "ethusdt@trade", {"n": 3})
        # published last, yet here first: the other connection's pushes are held back
        assert recv_json(fast) == {"n": 3}
        assert time.monotonic() - started < PROMPT
        with pytest.raises(TimeoutError):
            slow.recv(timeout=0)
        assert recv_json(slow, timeout=10) == {"n": 1} and recv_json(slow) == {"n": 2}
        assert time.monotonic() - started >= DELAY
        ex.faults.clear()
        started = time.monotonic()
        ex.publish("spot", "btcusdt@trade", {"n": 4})
        assert recv_json(slow) == {"n": 4} and time.monotonic() - started < PROMPT


def test_delay_handshakes(ex: LocalExchange) -> None:
    ex.faults.delay_handshakes(DELAY, count=1)
    url = ex.urls("spot")["ws"] + "/ws"
    started = time.monotonic()
    with ws_connect(url, open_timeout=10):
        assert time.monotonic() - started >= DELAY
    started = time.monotonic()
    with ws_connect(url):  # count=1: the next handshake is not held
        assert time.monotonic() - started < PROMPT


def test_faults_on_a_tcp_level_stalled_client(ex: LocalExchange) -> None:
    """drop() works even on a connection whose client never finished reading."""
    sock = socket.create_connection(
        ("127.0.0.1", int(ex.urls("spot")["ws"].split(":")[2].split("/")[0]))
    )
    sock.sendall(
        b"GET /spot/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    try:
        ex.wait_for_connections(1)
        assert ex.faults.drop() == 1
        ex.wait_for_connections(0)
    finally:
        sock.close()


def test_silence_stops_one_stream_until_it_is_subscribed_again(ex: LocalExchange) -> None:
    with ws_connect(ex.urls("spot")["ws"] + "/stream?streams=btcusdt@trade/ethusdt@trade") as ws:
        ex.wait_for_connections(1)
        assert ex.faults.silence("btcusdt@trade") == 1
        assert ex.faults.silence("solusdt@trade") == 0  # not subscribed there: no hit
        ex.publish("spot", "btcusdt@trade", {"n": 1})
        ex.publish("spot", "ethusdt@trade", {"n": 2})
        # silently gone: the neighbour arrives, the silenced stream is still listed
        assert recv_json(ws) == {"stream": "ethusdt@trade", "data": {"n": 2}}
        listed = request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 1})["result"]
        assert sorted(listed) == ["btcusdt@trade", "ethusdt@trade"]
        assert request(ws, {"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 2})["id"] == 2
        ex.publish("spot", "btcusdt@trade", {"n": 3})
        assert recv_json(ws) == {"stream": "btcusdt@trade", "data": {"n": 3}}
