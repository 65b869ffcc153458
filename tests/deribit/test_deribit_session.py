"""Auth, token refresh, heartbeats and cancel-on-disconnect of the Deribit client,
against the local Deribit exchange, with the client's frames recorded on the wire
by a proxy in between."""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync import AuthenticationError, DeribitClient, InvalidArgument, deribit
from ccxtpro_sync._sync.reconnect import default_reconnect_policy
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture
from .wire import WireProxy

PERP = "BTC/USD:BTC"


ex = exchange_fixture(seed=4, tick_interval=0.05, token_ttl=2.0, min_heartbeat=1.0)


def make(ex: LocalDeribit, proxy: WireProxy, **config: Any) -> DeribitClient:
    client_id, secret = ex.credentials
    options = {"heartbeatInterval": 1.0, "minHeartbeat": 1.0, **config.pop("options", {})}
    return deribit(
        {
            "environment": "local",
            "urls": {"ws": proxy.url},
            "local": ex,
            "apiKey": client_id,
            "secret": secret,
            "reconnect": default_reconnect_policy(initial=0.05, maximum=0.2),
            "options": options,
            **config,
        }
    )


def resting_buy(client: DeribitClient, label: str) -> dict[str, Any]:
    result: dict[str, Any] = client.request(
        "private/buy",
        {
            "instrument_name": "BTC-PERPETUAL",
            "amount": 10,
            "type": "limit",
            "price": 40000,
            "label": label,
        },
    )
    assert result["order"]["order_state"] == "open"
    return result["order"]


def grants(frames: list[dict[str, Any]]) -> list[str]:
    return [f["params"]["grant_type"] for f in frames if f.get("method") == "public/auth"]


def test_refresh_before_expiry_and_reauth_after_drop(ex: LocalDeribit, proxy: WireProxy) -> None:
    with make(ex, proxy, cancelOnDisconnect="connection") as client:
        assert client.watch_ticker(PERP, timeout=10).symbol == PERP
        # Two refreshes: the second comes after the first token's 2 s lifetime.
        proxy.wait(lambda p: grants(p.sessions[0]).count("refresh_token") >= 2)
        summary = client.request("private/get_account_summary", {"currency": "BTC"})
        assert summary["currency"] == "BTC"  # the refreshed token works
        assert client.connection_info()["refresh_count"] >= 2
        proxy.drop()
        proxy.wait(lambda p: len(p.sessions) >= 2 and "private/enable_cancel_on_disconnect"
                   in p.methods(1))  # fmt: skip
        assert client.watch_ticker(PERP, timeout=10).symbol == PERP
    first, second = proxy.methods(0), proxy.methods(1)
    assert first[:4] == [
        "public/set_heartbeat",
        "public/auth",
        "private/subscribe",
        "private/enable_cancel_on_disconnect",
    ]
    assert grants(proxy.sessions[0])[0] == "client_credentials"
    # After the drop: log in again from the credentials, then restore, then COD.
    assert second[:4] == first[:4]
    assert grants(proxy.sessions[1])[0] == "client_credentials"


def test_client_signature_grant(ex: LocalDeribit, proxy: WireProxy) -> None:
    with make(ex, proxy, options={"grantType": "client_signature"}) as client:
        client.wait_ready(10)
        assert client.connection_info()["authenticated"]
    assert grants(proxy.sessions[0]) == ["client_signature"]


def test_bad_credentials_fail_the_waiter(ex: LocalDeribit) -> None:
    client = deribit({"environment": "local", "local": ex, "apiKey": "sim-client-id",
                      "secret": "wrong"})  # fmt: skip
    with client, pytest.raises(AuthenticationError):
        client.watch_ticker(PERP, timeout=10)


def test_unanswered_test_request_reconnects_and_restores(
    ex: LocalDeribit, proxy: WireProxy
) -> None:
    with make(ex, proxy, cancelOnDisconnect="connection") as client:
        client.watch_ticker(PERP, timeout=10)
        proxy.wait(lambda p: "public/test" in p.methods(0))  # test_requests are answered
        proxy.mute.set()  # the answers no longer reach the exchange
        ex.wait_until(lambda s: s.disconnect_reasons.get("heartbeat") or None, 10, "4000")
        proxy.mute.clear()
        proxy.wait(lambda p: len(p.sessions) >= 2 and "private/enable_cancel_on_disconnect"
                   in p.methods(1))  # fmt: skip
        assert client.watch_ticker(PERP, timeout=10).symbol == PERP
        info = client.connections()[0]
        assert info.reconnects >= 1
        assert info.subscriptions == ["ticker.BTC-PERPETUAL.100ms"]
        assert client.connection_info()["cancel_on_disconnect_enabled"]


def test_silent_server_is_detected_by_the_client(ex: LocalDeribit, proxy: WireProxy) -> None:
    with make(ex, proxy) as client:
        client.wait_ready(10)
        ex.faults.half_open()  # nothing sent or read: no test_request, no data
        proxy.wait(lambda p: len(p.sessions) >= 2, timeout=15)
        ex.faults.release()
        client.wait_ready(10)
        assert client.connections()[0].reconnects >= 1


@pytest.mark.parametrize("how", ["drop", "silent"])
def test_cancel_on_disconnect_fires(ex: LocalDeribit, proxy: WireProxy, how: str) -> None:
    with make(ex, proxy, cancelOnDisconnect="connection") as client:
        client.wait_ready(10)
        assert client.connection_info()["cancel_on_disconnect_enabled"]
        order = resting_buy(client, f"cod-{how}")
        before = ex.stats().cod_cancelled
        if how == "drop":
            proxy.drop()
        else:
            proxy.mute.set()
        ex.wait_until(lambda s: s.cod_cancelled > before or None, 10, "COD")
        proxy.mute.clear()
        proxy.wait(lambda p: len(p.sessions) >= 2 and "private/enable_cancel_on_disconnect"
                   in p.methods(1))  # fmt: skip
        state = client.request("private/get_order_state", {"order_id": order["order_id"]})
        assert state["order_state"] == "cancelled"
        assert state["cancel_reason"] == "cancel_on_disconnect"


def test_no_cancel_on_disconnect_when_disabled(ex: LocalDeribit, proxy: WireProxy) -> None:
    with make(ex, proxy) as client:
        client.wait_ready(10)
        info = client.connection_info()
        assert info["cancel_on_disconnect"] is False
        assert not info["cancel_on_disconnect_enabled"]
        order = resting_buy(client, "no-cod")
        proxy.drop()
        proxy.wait(lambda p: len(p.sessions) >= 2)
        client.wait_ready(10)
        state = client.request("private/get_order_state", {"order_id": order["order_id"]})
        assert state["order_state"] == "open"
        assert ex.stats().cod_cancelled == 0
    assert "private/enable_cancel_on_disconnect" not in proxy.methods(0) + proxy.methods(1)


def test_raw_book_when_authorised_and_keys_from_the_environment(
    ex: LocalDeribit, proxy: WireProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidArgument):
        deribit({"environment": "local", "local": ex, "options": {"bookInterval": "raw"}})
    client_id, secret = ex.credentials
    monkeypatch.setenv("DERIBIT_LOCAL_CLIENT_ID", client_id)
    monkeypatch.setenv("DERIBIT_LOCAL_CLIENT_SECRET", secret)
    monkeypatch.setenv("DERIBIT_TEST_CLIENT_ID", "another-environment")
    config = {"environment": "local", "local": ex, "urls": {"ws": proxy.url}}
    with deribit({**config, "options": {"bookInterval": "raw"}}) as client:
        book = client.watch_order_book(PERP, timeout=10)
        assert book.symbol == PERP and book.bids[0][0] < book.asks[0][0]
        assert client.connections()[0].subscriptions == ["book.BTC-PERPETUAL.raw"]
    assert [f["params"].get("client_id") for f in proxy.sessions[0]
            if f.get("method") == "public/auth"] == [client_id]  # fmt: skip
