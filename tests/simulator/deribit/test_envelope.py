"""JSON-RPC envelope, ids, error shapes and the HTTP GET form (reference §1)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from ccxtpro_sync.simulator.deribit import LocalDeribit

from .conftest import Rpc, fixture


def _http(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_reply_envelope_has_timing_fields(rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    frame = client.call("public/get_time", id=7365)
    assert frame["jsonrpc"] == "2.0" and frame["id"] == 7365
    assert isinstance(frame["result"], int) and frame["result"] > 1_700_000_000_000
    assert frame["usDiff"] == frame["usOut"] - frame["usIn"] >= 0
    assert frame["testnet"] is False
    # the documented reply carries the same keys
    assert set(fixture("rpc_result_subscribe.json")) == set(frame)


def test_string_id_is_echoed_and_missing_id_gets_no_id(rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    assert client.call("public/test", id="abc")["id"] == "abc"
    client.ws.send(json.dumps({"jsonrpc": "2.0", "method": "public/test", "params": {}}))
    reply = client.recv()
    assert "id" not in reply and reply["result"] == {"version": "1.2.26"}


def test_invalid_json_gets_11050_without_id_and_socket_stays(rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    client.ws.send('{"jsonrpc":"2.0","id":1,')
    reply = client.recv()
    assert "id" not in reply
    assert reply["error"] == {"code": 11050, "message": "bad_request", "data": "invalid json"}
    assert set(fixture("rpc_error_bad_request_no_id.json")) == set(reply)
    assert client.result("public/test") == {"version": "1.2.26"}


def test_unknown_method_positional_params_and_forced_exception(rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    assert client.error("public/no_such_method")["code"] == -32601
    client.ws.send(json.dumps({"jsonrpc": "2.0", "id": 5, "method": "public/test", "params": [1]}))
    reply = client.recv()
    assert reply["id"] == 5 and reply["error"]["code"] == -32602
    err = client.error("public/test", {"expected_result": "exception"})
    assert err["code"] == 10001


def test_http_get_form_of_public_methods(ex: LocalDeribit) -> None:
    base = ex.urls()["rest"]
    status, body = _http(base + "/public/get_time")
    assert status == 200 and isinstance(body["result"], int) and "usIn" in body
    status, body = _http(base + "/public/get_instruments?currency=ETH&kind=future&expired=false")
    assert status == 200
    names = {i["instrument_name"] for i in body["result"]}
    assert "ETH-PERPETUAL" in names and all(
        i["settlement_currency"] == "ETH" for i in body["result"]
    )
    status, body = _http(base + "/public/set_heartbeat?interval=30")
    assert status == 400 and body["error"]["code"] == 10030  # WebSocket-only
    status, body = _http(base + "/public/get_instruments?currency=XYZ")
    assert status == 400 and body["error"]["code"] == -32602
    assert body["error"]["data"]["param"] == "currency"
    status, body = _http(base + "/private/get_positions?currency=BTC")
    assert status == 400 and body["error"]["code"] == 10030


def test_unknown_websocket_path_is_refused(ex: LocalDeribit) -> None:
    status, _ = _http_text(ex.urls()["rest"].replace("/api/v2", "/ws/other"))
    assert status == 404


def _http_text(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
