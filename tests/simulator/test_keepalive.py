"""Server pings, pong deadlines and the connection lifetime (intervals shrunk to ~0.1 s)."""

from __future__ import annotations

import time

import pytest
import websocket
from websockets.exceptions import ConnectionClosed

from .conftest import Factory, recv_json, ws_connect

# Pongs count as inbound messages, so fast pings need a higher message-rate budget.
FAST = {"ping_interval": 0.1, "pong_timeout": 0.3, "message_rate": 50}
#: For the tests where the client must keep the connection alive: a pong deadline far
#: above the client's pace (0.15 s), so that only a missed pong, not a slow machine,
#: gets it dropped.
KEEP = {"ping_interval": 0.1, "pong_timeout": 1.0, "message_rate": 50}


def test_server_pings_with_payload_and_answered_pings_keep_alive(make_exchange: Factory) -> None:
    ex = make_exchange(auto_publish=False, **KEEP)
    ws = websocket.create_connection(ex.urls("spot")["ws"] + "/ws", timeout=3)
    try:
        started = time.monotonic()
        payloads = []
        while len(payloads) < 30:  # ~3 s: well past several pong deadlines
            opcode, frame = ws.recv_data_frame(control_frame=True)  # answers pings itself
            if opcode == websocket.ABNF.OPCODE_PING:
                payloads.append(frame.data)
        assert all(payloads) and len(set(payloads)) == len(payloads)
        assert time.monotonic() - started >= 2.5
        assert len(ex.connections()) == 1 and ex.stats().connections_closed == 0
    finally:
        ws.close()


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_silent_client_is_dropped_after_pong_timeout(make_exchange: Factory, market: str) -> None:
    ex = make_exchange(auto_publish=False, **FAST)
    # websocket-client only answers pings while recv() runs; never calling it = no pongs.
    ws = websocket.create_connection(ex.urls(market)["ws"] + "/ws", timeout=3)
    try:
        ex.wait_for_connections(1)
        started = time.monotonic()
        ex.wait_for_connections(0, timeout=3)
        assert time.monotonic() - started >= 0.3
        assert ex.stats().disconnect_reasons == {"pong_timeout": 1}
    finally:
        ws.close()


@pytest.mark.parametrize(("market", "survives"), [("usdm", True), ("spot", False)])
def test_unsolicited_pongs(make_exchange: Factory, market: str, survives: bool) -> None:
    """Futures accept unsolicited pongs as keep-alive; spot requires the ping's payload."""
    ex = make_exchange(auto_publish=False, **KEEP)
    ws = websocket.create_connection(ex.urls(market)["ws"] + "/ws", timeout=3)
    try:
        ex.wait_for_connections(1)
        deadline = time.monotonic() + 3.0  # three pong deadlines
        while time.monotonic() < deadline and ex.connections():
            ws.pong(b"")
            time.sleep(0.15)  # pacing the client (under the 5-10 msg/s limits), not a wait
        if survives:
            assert len(ex.connections()) == 1 and ex.stats().connections_closed == 0
        else:  # the close handshake with a non-reading client takes up to close_timeout
            ex.wait_for_connections(0, timeout=5)
            assert ex.stats().disconnect_reasons == {"pong_timeout": 1}
    finally:
        ws.close()


@pytest.mark.parametrize("path", ["/ws/btcusdt@trade", "/stream?streams=btcusdt@trade"])
def test_spot_lifetime_sends_server_shutdown(make_exchange: Factory, path: str) -> None:
    ex = make_exchange(auto_publish=False, max_lifetime=0.3)
    with ws_connect(ex.urls("spot")["ws"] + path) as ws:
        msg = recv_json(ws, timeout=3)
        event = msg["data"] if "stream" in msg else msg
        assert event["e"] == "serverShutdown" and isinstance(event["E"], int)
        if "stream" in msg:
            assert msg["stream"] == "!serverShutdown"
        with pytest.raises(ConnectionClosed) as err:
            ws.recv(timeout=3)
        assert err.value.rcvd is not None and err.value.rcvd.code == 1001
    ex.wait_until(lambda s: s.disconnect_reasons == {"lifetime": 1}, what="lifetime close")


def test_futures_lifetime_just_closes(make_exchange: Factory) -> None:
    ex = make_exchange(auto_publish=False, max_lifetime={"usdm": 0.3})
    with ws_connect(ex.urls("usdm")["ws"] + "/ws") as ws:
        with pytest.raises(ConnectionClosed) as err:
            ws.recv(timeout=3)
        assert err.value.rcvd is not None and err.value.rcvd.code == 1001


def test_spot_server_shutdown_comes_shutdown_notice_before_the_end(
    make_exchange: Factory,
) -> None:
    # notice at 0.3 s, close at 1.5 s: 1.2 s in which the connection is still open
    ex = make_exchange(auto_publish=False, max_lifetime=1.5, shutdown_notice={"spot": 1.2})
    with ws_connect(ex.urls("spot")["ws"] + "/ws/btcusdt@trade") as ws:
        assert recv_json(ws, timeout=5)["e"] == "serverShutdown"
        # the notice came early: the connection is still open and usable for a while
        assert ex.stats().disconnect_reasons == {}
        with pytest.raises(ConnectionClosed) as err:
            ws.recv(timeout=5)
        assert err.value.rcvd is not None and err.value.rcvd.code == 1001
    ex.wait_until(lambda s: s.disconnect_reasons == {"lifetime": 1}, what="lifetime close")


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_ws_api_connections_have_the_lifetime_too(make_exchange: Factory, market: str) -> None:
    ex = make_exchange(auto_publish=False, max_lifetime={market: 0.3})
    with ws_connect(ex.urls(market)["ws_api"]) as ws:  # type: ignore[arg-type]
        if market == "spot":
            msg = recv_json(ws, timeout=3)
            assert set(msg) == {"event"} and msg["event"]["e"] == "serverShutdown"
            assert isinstance(msg["event"]["E"], int)
        with pytest.raises(ConnectionClosed) as err:
            ws.recv(timeout=3)
        assert err.value.rcvd is not None and err.value.rcvd.code == 1001
