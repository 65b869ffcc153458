"""``public/auth`` grants, tokens, scopes, expiry and logout (reference §2)."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from ccxtpro_sync.simulator.deribit import LocalDeribit
from ccxtpro_sync.simulator.deribit.auth import signature

from .conftest import Rpc, fixture


def _signed(client_id: str, secret: str, ts: int, nonce: str, data: str) -> dict[str, object]:
    # written from the reference's formula, independently of the simulator's helper
    sig = hmac.new(secret.encode(), f"{ts}\n{nonce}\n{data}".encode(), hashlib.sha256).hexdigest()
    return {"grant_type": "client_signature", "client_id": client_id, "timestamp": ts,
            "signature": sig, "nonce": nonce, "data": data}  # fmt: skip


def test_signature_helper_matches_the_reference_formula() -> None:
    ts = 1699999999999
    expected = hmac.new(b"W0H6FJW4IRPZ1MOQ8FP6KMC5RZDUUKXS", f"{ts}\n{ts}\n".encode(),
                        hashlib.sha256).hexdigest()  # fmt: skip
    assert signature("W0H6FJW4IRPZ1MOQ8FP6KMC5RZDUUKXS", ts, str(ts), "") == expected
    assert len(expected) == 64 and expected == expected.lower()


def test_client_credentials(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    result = client.login(ex)
    assert set(fixture("auth_result.json")["result"]) <= set(result)
    assert result["token_type"] == "bearer" and result["expires_in"] == 31536000
    assert result["scope"].startswith("connection mainaccount")
    assert "trade:read_write" in result["scope"]
    client_id, _ = ex.credentials
    bad = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "nope"}
    assert client.error("public/auth", bad)["code"] == 13004
    assert client.error("public/auth", {"grant_type": "password"})["code"] == -32602


def test_client_signature(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    client_id, secret = ex.credentials
    ts = int(time.time() * 1000)
    # CCXT's form: the timestamp as nonce and empty data
    assert client.result("public/auth", _signed(client_id, secret, ts, str(ts), ""))["access_token"]
    assert client.result("public/auth", _signed(client_id, secret, ts, "n-1", "extra"))
    wrong = _signed(client_id, "other-secret", ts, str(ts), "")
    assert client.error("public/auth", wrong)["code"] == 13004
    stale = _signed(client_id, secret, ts - 3_600_000, "x", "")
    assert client.error("public/auth", stale)["code"] == 13004
    tampered = _signed(client_id, secret, ts, "a", "")
    tampered["nonce"] = "b"
    assert client.error("public/auth", tampered)["code"] == 13004


def test_refresh_gives_a_new_pair_and_retires_the_old(
    ex: LocalDeribit, rpc: Callable[[], Rpc]
) -> None:
    client = rpc()
    first = client.login(ex)
    again = client.result("public/auth", {"grant_type": "refresh_token",
                                          "refresh_token": first["refresh_token"]})  # fmt: skip
    assert again["access_token"] != first["access_token"]
    assert again["refresh_token"] != first["refresh_token"]
    err = client.error("public/auth", {"grant_type": "refresh_token",
                                       "refresh_token": first["refresh_token"]})  # fmt: skip
    assert err["code"] == 13009
    assert client.result("private/get_positions", {"currency": "BTC"}) == []


def test_connection_scope_is_bound_to_its_connection(
    ex: LocalDeribit, rpc: Callable[[], Rpc]
) -> None:
    first, second = rpc(), rpc()
    conn_tokens = first.login(ex)
    err = second.error("public/auth", {"grant_type": "refresh_token",
                                       "refresh_token": conn_tokens["refresh_token"]})  # fmt: skip
    assert err["code"] == 13009
    borrowed = {"currency": "BTC", "access_token": conn_tokens["access_token"]}
    err = second.error("private/get_positions", borrowed)
    assert err["code"] == 13009
    session = first.login(ex, scope="session:bot1")
    assert session["scope"].startswith("session:bot1")
    moved = second.result("public/auth", {"grant_type": "refresh_token",
                                          "refresh_token": session["refresh_token"]})  # fmt: skip
    assert moved["scope"].startswith("session:bot1")


def test_private_calls_need_a_token(rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    err = client.error("private/get_positions", {"currency": "BTC"})
    assert err["code"] == 13009 and err["data"]["reason"] == "invalid_token"
    err = client.error("private/subscribe", {"channels": ["user.orders.any.any.raw"]})
    assert err["code"] == 13009


def test_expired_token_gets_the_documented_error_and_refresh_recovers(
    ex: LocalDeribit, rpc: Callable[[], Rpc]
) -> None:
    client = rpc()
    tokens = client.login(ex)
    assert ex.faults.expire_tokens() >= 1
    frame = client.call("private/get_positions", {"currency": "BTC"})
    documented = fixture("rpc_error_invalid_token.json")["error"]
    assert frame["error"]["code"] == documented["code"] == 13009
    assert frame["error"]["data"] == documented["data"]
    client.result("public/auth", {"grant_type": "refresh_token",
                                  "refresh_token": tokens["refresh_token"]})  # fmt: skip
    assert client.result("private/get_positions", {"currency": "BTC"}) == []


def test_short_token_ttl_expires_on_its_own(make_deribit: Callable[..., LocalDeribit]) -> None:
    ex = make_deribit(auto_publish=False, token_ttl=1.0)
    with Rpc(ex.url) as client:
        assert client.login(ex)["expires_in"] == 1
        pause = threading.Event()
        deadline = time.monotonic() + 10
        # poll a condition (the token's end), well under the 20 requests/s limit
        while "error" not in (frame := client.call("private/get_positions", {"currency": "BTC"})):
            assert time.monotonic() < deadline, "token never expired"
            pause.wait(0.1)
        assert frame["error"]["code"] == 13009
        assert frame["error"]["data"]["reason"] == "token has expired"


def test_scope_limits_methods(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    result = client.login(ex, scope="trade:read account:read")
    assert "trade:read " in result["scope"] + " "
    assert client.result("private/get_open_orders_by_currency", {"currency": "BTC"}) == []
    err = client.error("private/buy", {"instrument_name": "BTC-PERPETUAL", "amount": 10,
                                       "type": "market"})  # fmt: skip
    assert err["code"] == 13021


def test_logout_closes_without_reply_and_invalidates(
    ex: LocalDeribit, rpc: Callable[[], Rpc]
) -> None:
    client, other = rpc(), rpc()
    tokens = client.login(ex)
    client.send("private/logout", {"invalidate_token": True})
    with pytest.raises(ConnectionClosed):
        frame = client.recv()
        pytest.fail(f"logout must not be answered, got {frame}")
    err = other.error("public/auth", {"grant_type": "refresh_token",
                                      "refresh_token": tokens["refresh_token"]})  # fmt: skip
    assert err["code"] == 13009
    ex.wait_until(lambda s: s.disconnect_reasons.get("logout") == 1, what="logout")


def test_tokens_that_can_never_be_used_again_are_forgotten(
    ex: LocalDeribit, rpc: Callable[[], Rpc]
) -> None:
    """Bounded memory under auth churn: refreshed, logged-out and connection-scoped
    tokens of a closed connection leave the token tables (they were kept forever, so
    a client re-authenticating over new connections grew the exchange without bound)."""
    auth = ex.exchange.auth
    churner = rpc()
    tokens = churner.login(ex)
    for _ in range(20):
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        tokens = churner.result("public/auth", refresh)
    for _ in range(20):
        churner.login(ex)  # connection scope: bound to this connection
    kept = rpc()
    kept.login(ex, scope="session:keep")
    assert len(auth.by_access) == 22  # the live one of the refresh chain, 20 logins, kept
    churner.close()
    ex.wait_for_connections(1)
    ex.wait_until(lambda _: len(auth.by_access) == 1, 5.0, "the churner's tokens gone")
    assert len(auth.by_refresh) == 1
    kept.result("private/get_account_summary", {"currency": "BTC"})  # the kept one still works
    kept.send("private/logout", {})  # the exchange then closes the connection
    ex.wait_until(lambda _: not auth.by_access and not auth.by_refresh, 5.0, "no tokens left")
