"""Binance error codes and statuses map to the typed hierarchy, keeping the code."""

import pytest

from ccxtpro_sync._exceptions import (
    AuthenticationError,
    BadRequest,
    BadSymbol,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidNonce,
    InvalidOrder,
    InvalidSignature,
    IPBanned,
    OnMaintenance,
    OrderNotFound,
    PermissionDenied,
    RateLimitExceeded,
)
from ccxtpro_sync._exchanges.binance.errors import binance_error, from_payload, parse_retry_after


@pytest.mark.parametrize(
    ("code", "msg", "cls"),
    [
        (-1021, "Timestamp for this request is outside of the recvWindow.", InvalidNonce),
        (-1022, "Signature for this request is not valid.", InvalidSignature),
        (-2014, "API-key format invalid.", AuthenticationError),
        (-2015, "Invalid API-key, IP, or permissions for action.", PermissionDenied),
        (-1002, "You are not authorized to execute this request.", PermissionDenied),
        (-1016, "This service is no longer available.", OnMaintenance),
        (-1121, "Invalid symbol.", BadSymbol),
        (-2010, "Account has insufficient balance for requested action.", InsufficientFunds),
        (-2019, "Margin is insufficient.", InsufficientFunds),
        (-2010, "Order would immediately match and take.", InvalidOrder),
        (-1013, "Filter failure: LOT_SIZE", InvalidOrder),
        (-1111, "Precision is over the maximum defined for this asset.", InvalidOrder),
        (-2011, "Unknown order sent.", OrderNotFound),
        (-2011, "Order was not canceled due to cancel restrictions.", InvalidOrder),
        (-2013, "Order does not exist.", OrderNotFound),
        (-1102, "Mandatory parameter 'symbol' was not sent.", BadRequest),
        (-1007, "Timeout waiting for response from backend server.", ExchangeNotAvailable),
        (-9999, "Something new.", ExchangeError),
    ],
)
def test_codes_map_to_classes_and_keep_the_code(code, msg, cls):
    error = binance_error(code, msg, status=400, method="order.place")
    assert type(error) is cls
    assert error.code == code and error.status == 400
    assert str(code) in str(error) and "order.place" in str(error)


def test_unknown_outcome_is_flagged():
    for error in (binance_error(-1007, "Timeout"), binance_error(None, "", status=503)):
        assert isinstance(error, ExchangeNotAvailable)
        assert "execution status unknown" in str(error)


def test_ws_api_ban_uses_data_retry_after_relative_to_server_time():
    payload = {
        "code": -1003,
        "msg": "Way too much request weight used; IP banned until 1659146400000. Please use "
        "WebSocket Streams for live updates to avoid bans.",
        "data": {"serverTime": 1659142907531, "retryAfter": 1659146400000},
    }
    error = from_payload(payload, status=418)
    assert isinstance(error, IPBanned) and error.code == -1003
    assert error.retry_after == pytest.approx((1659146400000 - 1659142907531) / 1000)


def test_rate_limit_429_with_header_or_data():
    error = binance_error(-1003, "Too much request weight used", status=429, retry_after_header="7")
    assert type(error) is RateLimitExceeded and error.retry_after == 7.0
    with_data = from_payload(
        {"code": -1003, "msg": "Too many requests", "data": {"retryAfter": 2_000}},
        status=429,
        now_ms=1_000,
    )
    assert type(with_data) is RateLimitExceeded and with_data.retry_after == 1.0
    # 418 without a code is still a ban
    assert isinstance(binance_error(None, "", status=418, retry_after_header="120"), IPBanned)


def test_retry_after_from_message_and_never_negative():
    assert parse_retry_after(msg="IP banned until 1659146400000.", now_ms=1659146399000) == 1.0
    assert parse_retry_after(data={"retryAfter": 5}, now_ms=10_000) == 0.0
    assert parse_retry_after(header="not a number") is None
    assert parse_retry_after() is None


def test_retry_after_header_forms_a_hostile_server_may_send():
    # RFC 9110: delay-seconds or an HTTP-date; anything else is not a wait at all
    now_ms = 1_445_412_480_000.0  # Wed, 21 Oct 2015 07:28:00 GMT
    date = "Wed, 21 Oct 2015 07:29:30 GMT"
    assert parse_retry_after(header=date, now_ms=now_ms) == 90.0
    assert parse_retry_after(header="Wed, 21 Oct 2015 07:00:00 GMT", now_ms=now_ms) == 0.0
    assert parse_retry_after(header="-5") == 0.0
    assert parse_retry_after(header="1e999") == 3 * 24 * 3600.0
    for junk in ("\u0661\u0662\u0660", "\uff11\uff12", "1_000", "nan", "12 s", ""):
        assert parse_retry_after(header=junk) is None, junk


def test_status_only_and_long_messages():
    assert isinstance(binance_error(None, "", status=401), AuthenticationError)
    assert isinstance(binance_error(None, "WAF", status=403), ExchangeError)
    long = binance_error(-2010, "x" * 5000)
    assert len(str(long)) < 400


def test_message_comes_only_from_code_and_msg():
    error = from_payload({"code": -1022, "msg": "Signature for this request is not valid."})
    assert str(error) == "binance error -1022: Signature for this request is not valid."
    assert from_payload({"msg": "no code"}).code is None


def test_ccxt_names_sit_at_ccxt_positions():
    import ccxtpro_sync as cs

    assert cs.BaseError is cs.CcxtproSyncError
    assert issubclass(cs.PermissionDenied, cs.AuthenticationError)
    assert issubclass(cs.AccountSuspended, cs.AuthenticationError)
    assert issubclass(cs.ArgumentsRequired, cs.ExchangeError)
    assert not issubclass(cs.ArgumentsRequired, cs.BadRequest)
    assert issubclass(cs.OnMaintenance, cs.ExchangeNotAvailable)
    assert issubclass(cs.InvalidArgument, cs.BadRequest)
    assert issubclass(cs.InvalidArgument, TypeError) and issubclass(cs.InvalidArgument, ValueError)
    every = [getattr(cs, n) for n in cs.__all__ if isinstance(getattr(cs, n), type)]
    errors = [c for c in every if issubclass(c, Exception)]
    assert len(errors) > 20 and all(issubclass(c, cs.BaseError) for c in errors)


def test_permission_and_maintenance_stay_catchable_by_their_parents():
    # -2015 was an AuthenticationError before PermissionDenied existed: still is.
    assert isinstance(binance_error(-2015, "Invalid API-key"), AuthenticationError)
    maintenance = binance_error(-1016, "This service is no longer available.", status=503)
    assert isinstance(maintenance, ExchangeNotAvailable) and maintenance.code == -1016
