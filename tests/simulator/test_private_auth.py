"""WS API authentication over real sockets: signatures, logon, envelope, key switches."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from ccxtpro_sync._exchanges.binance.signing import ws_api_payload
from ccxtpro_sync.simulator import LocalExchange

from .conftest import Factory
from .test_private_support import WsApi, now_ms, rest


@pytest.fixture
def ex(make_exchange: Factory) -> LocalExchange:
    return make_exchange(seed=11, auto_publish=False)


@pytest.mark.parametrize("key_type", ["hmac", "rsa", "ed25519"])
def test_per_request_signatures(ex: LocalExchange, key_type: str) -> None:
    acct = ex.create_test_account(key_type)  # type: ignore[arg-type]
    with WsApi(ex.urls("spot")["ws_api"], acct.credentials) as api:
        status = api.ok("account.status", sign=True)
        assert status["uid"] == acct.account.uid and status["accountType"] == "SPOT"
        assert {"asset": "USDT", "free": "10000.00000000", "locked": "0.00000000"} in (
            status["balances"]
        )
        sub = api.ok("userDataStream.subscribe.signature", sign=True)
        assert sub == {"subscriptionId": 0}
    r = rest(ex, "GET", "/api/v3/account", acct.credentials, {"omitZeroBalances": "true"})
    assert r.status_code == 200 and r.json()["uid"] == acct.account.uid


def test_session_logon_ed25519(ex: LocalExchange) -> None:
    a = ex.create_test_account("ed25519")
    b = ex.create_test_account("ed25519")
    with WsApi(ex.urls("spot")["ws_api"], a.credentials) as api:
        anon = api.ok("session.status")
        assert anon["apiKey"] is None and anon["authorizedSince"] is None
        logon = api.ok("session.logon", sign=True)
        assert logon["apiKey"] == a.api_key and logon["userDataStream"] is False
        assert isinstance(logon["serverTime"], int) and logon["returnRateLimits"] is True
        # logged on: only a timestamp, no apiKey/signature
        status = api.ok("account.status", {"timestamp": now_ms()})
        assert status["uid"] == a.account.uid
        assert api.ok("userDataStream.subscribe") == {"subscriptionId": 0}
        assert api.ok("session.subscriptions") == [{"subscriptionId": 0}]
        # a second subscription of the same account on this connection is refused
        dup = api.call("userDataStream.subscribe")
        assert dup["error"]["code"] == -2035
        # re-logon with another key switches the account (and ends the logon subscription)
        api.ok("session.logon", api.signed(creds=b.credentials))
        assert api.wait_event(lambda e: e["e"] == "eventStreamTerminated")
        assert api.ok("account.status", {"timestamp": now_ms()})["uid"] == b.account.uid
        out = api.ok("session.logout")
        assert out["apiKey"] is None
        after = api.call("account.status", {"timestamp": now_ms()})
        assert after["status"] == 400 and after["error"]["code"] == -1102


def test_logon_needs_ed25519(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac")
    with WsApi(ex.urls("spot")["ws_api"], acct.credentials) as api:
        frame = api.call("session.logon", sign=True)
        assert frame["status"] == 400 and frame["error"]["code"] == -4056
        assert api.call("userDataStream.subscribe")["error"]["code"] == -1002


def test_auth_errors(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac")
    other = ex.create_test_account("hmac")
    with WsApi(ex.urls("spot")["ws_api"], acct.credentials) as api:
        bad_fmt = api.call(
            "account.status", {"apiKey": "not a key!", "timestamp": now_ms(), "signature": "00"}
        )
        assert (bad_fmt["status"], bad_fmt["error"]["code"]) == (401, -2014)
        unknown = api.call(
            "account.status", {"apiKey": "A" * 64, "timestamp": now_ms(), "signature": "00"}
        )
        assert (unknown["status"], unknown["error"]["code"]) == (401, -2015)
        assert unknown["error"]["msg"] == "Invalid API-key, IP, or permissions for action."
        wrong_secret = api.call(
            "account.status", {**api.signed(creds=other.credentials), "apiKey": acct.api_key}
        )
        assert (wrong_secret["status"], wrong_secret["error"]["code"]) == (400, -1022)
        stale = api.call("account.status", api.signed({"timestamp": now_ms() - 10_000}))
        assert (stale["status"], stale["error"]["code"]) == (400, -1021)
        assert stale["error"]["msg"] == "Timestamp for this request is outside of the recvWindow."
        wide = api.call(
            "account.status", api.signed({"timestamp": now_ms() - 10_000, "recvWindow": 20_000})
        )
        assert wide["status"] == 200
        ahead = api.call("account.status", api.signed({"timestamp": now_ms() + 5_000}))
        assert ahead["error"]["code"] == -1021
        # the signature covers exactly the params received: adding one breaks it
        tampered = api.signed({"omitZeroBalances": "true"})
        tampered["omitZeroBalances"] = "false"
        assert api.call("account.status", tampered)["error"]["code"] == -1022
        missing_ts = {"apiKey": acct.api_key}
        missing_ts["signature"] = acct.credentials.sign(ws_api_payload(missing_ts))
        assert api.call("account.status", missing_ts)["error"]["code"] == -1102
    bad = rest(ex, "GET", "/api/v3/account", acct.credentials)
    assert bad.status_code == 200
    forged = rest(ex, "GET", "/api/v3/openOrders", other.credentials, {"symbol": "BTCUSDT"})
    assert forged.status_code == 200 and forged.json() == []
    r = ex.urls("spot")["rest"] + "/api/v3/account?timestamp=1&signature=00"
    resp = requests.get(r, headers={"X-MBX-APIKEY": acct.api_key}, timeout=5)
    assert resp.status_code == 400 and resp.json()["code"] == -1021
    resp = requests.get(r, timeout=5)
    assert resp.status_code == 401 and resp.json()["code"] == -2014


def test_envelope_ids_and_rate_limits(ex: LocalExchange) -> None:
    request_id = str(uuid.uuid4())
    with WsApi(ex.urls("spot")["ws_api"]) as api:
        frame = api.call("ping", req_id=request_id)
        assert frame["id"] == request_id and frame["status"] == 200 and frame["result"] == {}
        assert frame["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
        assert frame["rateLimits"][0]["limit"] == 6000
        assert list(frame) == ["id", "status", "result", "rateLimits"]
        plain = api.call("time", {"returnRateLimits": False}, req_id=7)
        assert plain["id"] == 7 and "rateLimits" not in plain
        assert isinstance(plain["result"]["serverTime"], int)
        unknown = api.call("no.such.method", req_id="x-1")
        assert unknown["id"] == "x-1" and unknown["error"]["code"] == -1020
    with WsApi(ex.urls("spot")["ws_api"] + "?returnRateLimits=false") as api:
        assert "rateLimits" not in api.call("ping")
        assert "rateLimits" in api.call("ping", {"returnRateLimits": True})
        logon_like = api.call("session.status")
        assert logon_like["result"]["returnRateLimits"] is False


def test_null_id_is_echoed(ex: LocalExchange) -> None:
    with WsApi(ex.urls("spot")["ws_api"]) as api:
        api.ws.send(json.dumps({"id": None, "method": "ping"}))
        frame = json.loads(api.ws.recv())
        assert frame["id"] is None and frame["status"] == 200


def test_invalidated_key_revokes_session_and_ends_streams(ex: LocalExchange) -> None:
    a = ex.create_test_account("ed25519")
    h = ex.create_test_account("hmac")
    with (
        WsApi(ex.urls("spot")["ws_api"], a.credentials) as api,
        WsApi(ex.urls("spot")["ws_api"], h.credentials) as api2,
    ):
        api.ok("session.logon", sign=True)
        api.ok("userDataStream.subscribe")
        api2.ok("userDataStream.subscribe.signature", sign=True)
        assert ex.invalidate_key(h.api_key) == 1
        assert api2.wait_event(lambda e: e["e"] == "eventStreamTerminated")
        assert ex.invalidate_key(a.api_key) == 1
        assert api.wait_event(lambda e: e["e"] == "eventStreamTerminated")
        frame = api.call("account.status", {"timestamp": now_ms()})
        revoke = next(f for f in api.frames if f.get("id") is None and "error" in f)
        assert revoke == {
            "id": None,
            "status": 401,
            "error": {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
        }
        assert frame["error"]["code"] == -1102  # no longer logged on
        assert api.ok("session.status")["apiKey"] is None
        again = api2.call("account.status", sign=True)
        assert (again["status"], again["error"]["code"]) == (401, -2015)
    ex.enable_key(h.api_key)
    with WsApi(ex.urls("spot")["ws_api"], h.credentials) as api2:
        assert api2.call("account.status", sign=True)["status"] == 200


def test_permissions(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac", permissions=["USER_DATA", "USER_STREAM"])
    with WsApi(ex.urls("spot")["ws_api"], acct.credentials) as api:
        frame = api.call(
            "order.place",
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "price": "60000",
                "quantity": "0.001",
            },
            sign=True,
        )
        assert (frame["status"], frame["error"]["code"]) == (401, -2015)
        assert api.call("account.status", sign=True)["status"] == 200
