"""Credit rate limits (§8), connection cap, lifecycle and scripted faults."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ccxtpro_sync.simulator.deribit import LocalDeribit, RateLimits

from .conftest import Rpc, fixture


def test_non_matching_pool_answers_10028_and_ends_the_session(
    make_deribit: Callable[..., LocalDeribit],
) -> None:
    ex = make_deribit(auto_publish=False, rate_limits=RateLimits(non_matching_rate=0.01,
                                                                 non_matching_burst=3))  # fmt: skip
    with Rpc(ex.url) as client:
        for _ in range(3):
            assert client.result("public/get_time")
        frame = client.call("public/get_time")
        expected = fixture("rpc_error_too_many_requests.json")["error"]
        assert frame["error"] == expected
        with pytest.raises(ConnectionClosed):
            client.next(lambda f: False)
    ex.wait_until(lambda s: s.disconnect_reasons == {"rate_limit": 1}, what="rate drop")


def test_matching_engine_pool_is_separate(make_deribit: Callable[..., LocalDeribit]) -> None:
    ex = make_deribit(auto_publish=False, rate_limits=RateLimits(matching_rate=0.01,
                                                                 matching_burst=2))  # fmt: skip
    with Rpc(ex.url) as client:
        client.login(ex)
        order = {"instrument_name": "BTC-PERPETUAL", "amount": 10, "type": "market"}
        client.result("private/buy", order)
        client.result("private/sell", order)
        for _ in range(5):  # non-matching calls still pass
            client.result("private/get_positions", {"currency": "BTC"})
        assert client.call("private/buy", order)["error"]["code"] == 10028


def test_connection_cap_and_refused_handshakes(
    make_deribit: Callable[..., LocalDeribit],
) -> None:
    ex = make_deribit(auto_publish=False, max_connections=2)
    with Rpc(ex.url), Rpc(ex.url):
        with pytest.raises(InvalidStatus) as refused:
            Rpc(ex.url)
        assert refused.value.response.status_code == 429
    ex.wait_for_connections(0)
    ex.faults.refuse_handshakes(1, status=503)
    with pytest.raises(InvalidStatus) as refused:
        Rpc(ex.url)
    assert refused.value.response.status_code == 503
    with Rpc(ex.url) as client:
        assert client.result("public/test")


def test_drop_close_and_half_open(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> None:
    gone, closed, stalled = rpc(), rpc(), rpc()
    ids = [c.id for c in ex.wait_for_connections(3)]
    assert ex.faults.drop(match=ids[0]) == 1
    with pytest.raises(ConnectionClosed) as err:
        gone.next(lambda f: False)
    assert err.value.rcvd is None  # no close frame
    assert ex.faults.close(4001, "maintenance", match=ids[1]) == 1
    with pytest.raises(ConnectionClosed) as err:
        closed.next(lambda f: False)
    assert err.value.rcvd is not None and (err.value.rcvd.code, err.value.rcvd.reason) == (
        4001, "maintenance",
    )  # fmt: skip
    assert ex.faults.half_open(match=ids[2]) == 1
    stalled.send("public/test")
    with pytest.raises(TimeoutError):
        stalled.recv(timeout=0.3)
    assert ex.faults.release() == 1
    assert stalled.recv()["result"] == {"version": "1.2.26"}  # read once released


def test_malformed_frames_and_delay(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    ex.wait_for_connections(1)
    ex.faults.send_malformed("invalid_json")
    with pytest.raises(json.JSONDecodeError):
        client.recv()
    ex.faults.send_malformed("unknown_method")
    assert client.recv()["method"] == "simulator_unknown"
    ex.faults.send_malformed("binary")
    assert isinstance(client.ws.recv(timeout=3), bytes)
    ex.faults.delay_messages(0.3)
    client.send("public/test")
    with pytest.raises(TimeoutError):
        client.recv(timeout=0.1)
    assert client.recv()["result"]
    ex.faults.clear()
    ex.faults.send_malformed("truncated_frame")
    with pytest.raises(ConnectionClosed):
        client.recv()


def test_idle_connection_is_dropped(make_deribit: Callable[..., LocalDeribit]) -> None:
    ex = make_deribit(auto_publish=False, idle_timeout=0.3)
    with Rpc(ex.url) as quiet, Rpc(ex.url) as listening:
        listening.result("public/subscribe", {"channels": ["quote.BTC-PERPETUAL"]})
        with pytest.raises(ConnectionClosed):
            quiet.next(lambda f: False, timeout=5)
        ex.wait_until(lambda s: s.disconnect_reasons == {"idle": 1}, what="idle drop")
        assert listening.result("public/test")  # a subscribed socket stays


def test_close_is_idempotent_and_leaves_no_thread(
    make_deribit: Callable[..., LocalDeribit],
) -> None:
    before = {t.name for t in threading.enumerate()}
    ex = LocalDeribit(auto_publish=True, tick_interval=0.01)
    with ex:
        client = Rpc(ex.url)
        client.result("public/subscribe", {"channels": ["book.ETH-PERPETUAL.100ms"]})
        assert client.note("book.ETH-PERPETUAL.100ms")["type"] == "snapshot"
        assert client.note("book.ETH-PERPETUAL.100ms")["type"] == "change"
    ex.close()
    with pytest.raises(ConnectionClosed):
        client.next(lambda f: False)
    assert "ccxtpro-sim-deribit" not in {t.name for t in threading.enumerate()} - before
    with pytest.raises(RuntimeError):
        ex.start()
