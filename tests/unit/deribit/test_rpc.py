"""The JSON-RPC envelope on the documented frames, and Deribit's error codes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from ccxtpro_sync._exceptions import (
    AuthenticationError,
    BadRequest,
    BadSymbol,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidArgument,
    InvalidOrder,
    NotSupported,
    OnMaintenance,
    OrderNotFound,
    PermissionDenied,
    ProtocolError,
    RateLimitExceeded,
)
from ccxtpro_sync._exchanges.deribit.errors import InvalidToken, deribit_error
from ccxtpro_sync._exchanges.deribit.rpc import (
    ErrorResponse,
    Heartbeat,
    Notification,
    RequestIds,
    Response,
    decode_frame,
    encode_request,
    heartbeat_reply,
    set_heartbeat_params,
)

from ._fixtures import load, raw


@pytest.mark.parametrize(
    "name",
    [
        "rpc_request_get_time.json",
        "subscribe_request.json",
        "private_subscribe_request.json",
        "heartbeat_set_request.json",
        "test_request.json",
        "cod_enable_request.json",
        "logout_request.json",
        "get_instruments_request.json",
        "buy_market_request.json",
    ],
)
def test_requests_encode_as_documented(name: str) -> None:
    doc = load(name)
    frame = encode_request(doc["id"], doc["method"], doc["params"])
    assert json.loads(frame) == doc


def test_request_ids_increase_and_params_default_to_an_object() -> None:
    ids = RequestIds(7)
    first = ids.request("public/get_time")
    second = ids.request("public/get_time")
    assert (first[0], second[0]) == (7, 8)
    assert json.loads(first[1]) == {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "public/get_time",
        "params": {},
    }
    with pytest.raises(InvalidArgument):
        encode_request(1, "public/get_time", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        encode_request(1, "get_time")


def test_decimal_params_are_json_numbers() -> None:
    frame = encode_request(1, "private/buy", {"amount": Decimal("0.001")})
    assert b'"amount":0.001' in frame


def test_results() -> None:
    reply = decode_frame(raw("rpc_result_subscribe.json"))
    assert reply == Response(
        3, ["book.ETH-PERPETUAL.100ms"], 1790133840888348, 1790133840889867, False
    )
    ok = decode_frame(raw("heartbeat_set_result.json"))
    assert ok == Response(9098, "ok")
    auth = decode_frame(raw("auth_result.json"))
    assert isinstance(auth, Response) and auth.result["expires_in"] == 31536000


def test_errors_with_and_without_id() -> None:
    no_id = decode_frame(raw("rpc_error_bad_request_no_id.json"))
    assert no_id == ErrorResponse(None, 11050, "bad_request", "invalid json")
    assert isinstance(no_id.exception(), BadRequest)
    token = decode_frame(raw("rpc_error_invalid_token.json"))
    assert isinstance(token, ErrorResponse) and token.id == 42
    error = token.exception("private/subscribe")
    assert isinstance(error, InvalidToken) and isinstance(error, AuthenticationError)
    assert error.code == 13009  # type: ignore[attr-defined]
    assert "token has expired" in str(error) and "private/subscribe" in str(error)
    limited = decode_frame(raw("rpc_error_too_many_requests.json"))
    assert isinstance(limited, ErrorResponse)
    assert isinstance(limited.exception(), RateLimitExceeded)


def test_notifications_and_heartbeats() -> None:
    note = decode_frame(raw("ticker.json"))
    assert isinstance(note, Notification) and note.channel == "ticker.BTC_USDC-PERPETUAL.100ms"
    assert note.data["last_price"] == 86773.6
    assert decode_frame(raw("heartbeat_heartbeat.json")) == Heartbeat(test_request=False)
    assert decode_frame(raw("heartbeat_test_request.json")) == Heartbeat(test_request=True)


def test_test_request_is_answered_with_public_test() -> None:
    ids = RequestIds(12)
    request_id, frame = heartbeat_reply(ids)
    assert request_id == 12
    assert json.loads(frame) == load("test_request.json")


def test_exact_mode_decodes_decimals() -> None:
    note = decode_frame(raw("ticker.json"), exact=True)
    assert isinstance(note, Notification)
    assert note.data["last_price"] == Decimal("86773.6")


@pytest.mark.parametrize(
    "frame",
    [
        b"not json",
        b"[1,2]",
        b'{"jsonrpc":"2.0","id":1,"result":NaN}',
        b'{"jsonrpc":"2.0","id":1,"result":1e999}',
        b'{"jsonrpc":"2.0","result":1}',
        b'{"jsonrpc":"2.0","id":true,"result":1}',
        b'{"jsonrpc":"2.0","error":{"code":"x"}}',
        b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":1,"data":{}}}',
        b'{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"other"}}',
        b'{"jsonrpc":"2.0","method":"surprise","params":{}}',
        b'{"jsonrpc":"2.0"}',
    ],
)
def test_malformed_frames_are_protocol_errors(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_frame(frame)


def test_heartbeat_interval_minimum() -> None:
    assert set_heartbeat_params(30) == load("heartbeat_set_request.json")["params"]
    assert set_heartbeat_params(10) == {"interval": 10}
    for bad in (9, 9.99, float("nan"), float("inf"), True, "30"):
        with pytest.raises(InvalidArgument):
            set_heartbeat_params(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (10000, AuthenticationError),
        (13004, AuthenticationError),
        (13009, InvalidToken),
        (13021, PermissionDenied),
        (13778, PermissionDenied),
        (10028, RateLimitExceeded),
        (10047, RateLimitExceeded),
        (10066, RateLimitExceeded),
        (10040, ExchangeNotAvailable),
        (10041, OnMaintenance),
        (13028, ExchangeNotAvailable),
        (11029, BadRequest),
        (11043, BadRequest),
        (11051, OnMaintenance),
        (10009, InsufficientFunds),
        (10002, InvalidOrder),
        (10043, InvalidOrder),
        (11054, InvalidOrder),
        (11044, OrderNotFound),
        (10010, OrderNotFound),
        (11008, OrderNotFound),
        (10029, OrderNotFound),
        (10004, OrderNotFound),
        (10020, BadSymbol),
        (11050, BadRequest),
        (-32601, BadRequest),
        (10030, NotSupported),
        (99999, ExchangeError),
    ],
)
def test_error_codes(code: int, cls: type[Exception]) -> None:
    error = deribit_error(code, "some_message", {"reason": "why"}, method="private/buy")
    assert type(error) is cls
    assert error.code == code  # type: ignore[attr-defined]
    assert error.reason == "why"  # type: ignore[attr-defined]


def test_order_not_found_is_an_invalid_order_and_messages_are_bounded() -> None:
    error = deribit_error(10004, "order_not_found" * 100, None)
    assert isinstance(error, InvalidOrder)
    assert len(str(error)) < 300
