"""The plain client's jsonrpc heartbeat against the local Deribit exchange, which enforces it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ccxtpro_sync import ConnectionClosed, WebSocketClient
from ccxtpro_sync.adapters import JsonRpcHeartbeat
from ccxtpro_sync.simulator.deribit import LocalDeribit

HB = 1.0  # the local exchange's minimum for tests (Deribit's is 10 s); room for a loaded machine
WAIT = 10.0


@pytest.fixture
def deribit() -> Iterator[LocalDeribit]:
    exchange = LocalDeribit(seed=5, auto_publish=False, min_heartbeat=HB).start()
    yield exchange
    exchange.close()


class CountingHeartbeat(JsonRpcHeartbeat):
    """Sets ``three`` once three test_requests were answered."""

    def __init__(self) -> None:
        super().__init__(HB, timeout=WAIT)
        self.three = threading.Event()

    def on_message(self, data: bytes, now: float) -> tuple[bool, list[str]]:
        result = super().on_message(data, now)
        if self.answered >= 3:
            self.three.set()
        return result


def test_jsonrpc_heartbeat_keeps_the_deribit_connection(deribit: LocalDeribit) -> None:
    heartbeat = CountingHeartbeat()
    with WebSocketClient(deribit.url, heartbeat=heartbeat, timeout=WAIT) as client:
        assert heartbeat.three.wait(WAIT)
        assert client.request({"jsonrpc": "2.0", "method": "public/test", "params": {}}) == {
            "version": "1.2.26"
        }
        assert client.connection.state.value == "open"
        assert deribit.stats().disconnect_reasons == {}  # nothing closed for a missed beat
    # the server notes the close on its own loop: wait for it, then check it was ours only
    reasons = deribit.wait_until(
        lambda s: s.disconnect_reasons or None, timeout=WAIT, what="the close noted"
    )
    assert reasons == {"client": 1}  # only our own close()


def test_an_unanswered_test_request_closes_the_deribit_connection(deribit: LocalDeribit) -> None:
    with WebSocketClient(deribit.url, heartbeat="disabled", timeout=WAIT) as client:
        setup = {"jsonrpc": "2.0", "method": "public/set_heartbeat", "params": {"interval": HB}}
        assert client.request(setup) == "ok"
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # the test_request arrives, nobody answers, the server closes
                client.recv(timeout=WAIT)
        assert closed.value.code == 4000
