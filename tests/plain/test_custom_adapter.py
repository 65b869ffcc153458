"""The adapter seam: AdapterClient driving the example's adapter against its local server."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ccxtpro_sync import BadRequest, ClientClosed
from ccxtpro_sync.adapters import AdapterClient, AdapterProtocol, Disabled

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_adapter.py"
_spec = importlib.util.spec_from_file_location("custom_adapter", EXAMPLE)
assert _spec is not None and _spec.loader is not None
example: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)

RESTORE = ["public/set_heartbeat", "public/auth", "public/subscribe",
           "private/enable_cancel_on_disconnect"]  # fmt: skip


def test_the_example_runs_and_restores_in_order() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--seconds", "1.5"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "refused channel: BadRequest" in out
    assert "connections closed for a missed heartbeat: 0" in out
    sessions = [line.split(": ", 1)[1].split() for line in out.splitlines()
                if line.startswith("session ")]  # fmt: skip
    assert len(sessions) == 2
    for wire in sessions:
        assert wire[:4] == RESTORE


@pytest.fixture
def exchange() -> Any:
    server = example.MiniExchange()
    yield server
    server.close()


def test_every_drop_replays_auth_then_subscriptions_then_resume(exchange: Any) -> None:
    with AdapterClient(lambda: example.MiniAdapter(exchange.url, "demo-id", "demo-secret"),
                       timeout=10) as client:  # fmt: skip
        assert client.watch("ticker.BTC")["coin"] == "BTC"
        assert client.watch("ticker.ETH")["coin"] == "ETH"
        for _ in range(2):
            client.wait_ready()  # restored, resume acknowledged
            exchange.drop_all()
            assert client.watch("ticker.ETH")["coin"] == "ETH"
        client.wait_ready()
        assert len(exchange.sessions) == 3
        for wire in exchange.sessions[1:]:
            assert wire[:4] == RESTORE
            # both streams are restored in the one subscribe step
        info = client.connections()[0]
        assert sorted(info.subscriptions) == ["ticker.BTC", "ticker.ETH"]
        assert info.reconnects == 2


def test_unsubscribe_goes_out_with_the_last_reference(exchange: Any) -> None:
    with AdapterClient(lambda: example.MiniAdapter(exchange.url), timeout=10) as client:
        got = threading.Event()
        subscription = client.on("ticker.BTC", handler=lambda _t: got.set())
        assert got.wait(10)
        client.watch("ticker.BTC")
        subscription.cancel()
        assert "public/unsubscribe" not in exchange.sessions[0]  # the watch still holds it
        client.un_watch("ticker.BTC")
        client.request("public/test", {}, timeout=5)  # a round trip: the frame is out
        assert exchange.sessions[0][-2:] == ["public/unsubscribe", "public/test"]
        # public only: no login and no resume step on the wire
        assert exchange.sessions[0][:2] == ["public/set_heartbeat", "public/subscribe"]


def test_a_refused_login_fails_the_waiters_at_once(exchange: Any) -> None:
    with AdapterClient(lambda: example.MiniAdapter(exchange.url, "demo-id", "wrong"),
                       timeout=10) as client:  # fmt: skip
        with pytest.raises(example.AuthenticationError):
            client.watch("ticker.BTC", timeout=10)
        assert "public/subscribe" not in exchange.sessions[0]


def test_a_silently_dropped_channel_is_refused(exchange: Any) -> None:
    with AdapterClient(lambda: example.MiniAdapter(exchange.url), timeout=10) as client:
        with pytest.raises(BadRequest, match=r"ticker\.DOGE"):
            client.watch("ticker.DOGE", timeout=10)


def test_an_unanswered_test_request_closes_and_the_client_comes_back(exchange: Any) -> None:
    class SetUpOnly(Disabled):
        """Turns the server's heartbeats on but never answers them."""

        def on_open(self, now: float) -> list[str]:
            return ['{"jsonrpc":"2.0","id":999999,"method":"public/set_heartbeat","params":{}}']

    class Deaf(example.MiniAdapter):  # type: ignore[misc]
        heartbeat = SetUpOnly()

    with AdapterClient(lambda: Deaf(exchange.url), timeout=10) as client:
        client.watch("ticker.BTC")
        assert exchange.heartbeat_closed.wait(10)  # the server enforces its heartbeat
        sessions = len(exchange.sessions)
        resumed = ["public/set_heartbeat", "public/subscribe"]
        deadline = time.monotonic() + 10
        # A ticker may still come from the session being closed (the server set the
        # event before its close reached us): watch again until the new one carries it.
        while True:
            assert client.watch("ticker.BTC")["coin"] == "BTC"
            if len(exchange.sessions) >= 2 and exchange.sessions[1][:2] == resumed:
                break
            assert time.monotonic() < deadline, exchange.sessions
        assert sessions >= 1


def test_cancel_on_disconnect_hook_reaches_the_user(exchange: Any) -> None:
    heard = threading.Event()
    with AdapterClient(lambda: example.MiniAdapter(exchange.url, "demo-id", "demo-secret"),
                       timeout=10) as client:  # fmt: skip
        client.watch("ticker.BTC")
        with client._add_handler(["cancel_on_disconnect:all"], lambda _v: heard.set(),
                                 lambda: None, lambda: None, "cod"):  # fmt: skip
            exchange.drop_all()
            assert heard.wait(10)


def test_replay_and_protocol_are_sans_io() -> None:
    adapter = example.MiniAdapter("ws://unused", "id", "secret")
    protocol = AdapterProtocol(adapter)
    assert protocol.subscribe(["ticker.BTC"]) == ([], [])  # not connected: remembered
    opened = protocol.on_open(0.0)
    assert '"public/auth"' in opened.outgoing[0] and not opened.ready
    token = b'{"id":1,"result":{"refresh_token":"rt","expires_in":10}}'
    step = protocol.receive(token, 1.0)
    assert '"public/subscribe"' in step.outgoing[0]  # type: ignore[union-attr]
    step = protocol.receive(b'{"id":2,"result":["ticker.BTC"]}', 1.1)
    assert '"private/enable_cancel_on_disconnect"' in step.outgoing[0]  # type: ignore[union-attr]
    step = protocol.receive(b'{"id":3,"result":"ok"}', 1.2)
    assert step.ready  # type: ignore[union-attr]
    assert protocol.next_deadline() == pytest.approx(9.0)
    assert '"refresh_token"' in protocol.on_timer(9.5)[0]
    client = AdapterClient(lambda: example.MiniAdapter("ws://unused"))
    try:
        from ccxtpro_sync import RawMessage

        frame = b'{"method":"subscription","params":{"channel":"ticker.BTC","data":{"last":1}}}'
        (delivery,) = client.replay([RawMessage("mini", "ws", frame, 0.0)])
        assert delivery.message_hash == "ticker:BTC" and delivery.value == {"last": 1}
    finally:
        client.close()
    with pytest.raises(ClientClosed):
        client.watch("ticker.BTC")
