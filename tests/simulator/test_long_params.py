"""Every route of the local exchange reads LONG parameters (ids, ``startTime``,
``endTime``, ``limit``) the same way: ASCII digits in the signed 64-bit range, else
``-1100`` ILLEGAL_CHARS. (``myTrades`` took ``startTime=10**30`` while ``klines``
refused it; a 64-bit overflow or unicode digits got through some routes.)"""

from __future__ import annotations

import pytest
import requests

from ccxtpro_sync.simulator import LocalExchange

from .test_private_support import rest

BAD = [str(10**30), str(2**63), "١٢", "1_000", "+5", " 5", "5.0", "0x10"]

PUBLIC = [
    ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m"}, "startTime"),
    ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m"}, "endTime"),
    ("/api/v3/aggTrades", {"symbol": "BTCUSDT"}, "fromId"),
]
SIGNED = [
    ("/api/v3/myTrades", "startTime"),
    ("/api/v3/myTrades", "fromId"),
    ("/fapi/v1/userTrades", "startTime"),
    ("/dapi/v1/userTrades", "endTime"),
    ("/api/v3/order", "orderId"),
]


def assert_illegal(response: requests.Response, name: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == -1100 and f"parameter '{name}'" in body["msg"]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize(("path", "params", "name"), PUBLIC)
def test_public_routes_refuse_a_bad_long(
    ex: LocalExchange, path: str, params: dict[str, str], name: str, bad: str
) -> None:
    url = ex.urls("spot")["rest"] + path
    assert_illegal(requests.get(url, params={**params, name: bad}, timeout=5), name)


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize(("path", "name"), SIGNED)
def test_signed_routes_refuse_a_bad_long(ex: LocalExchange, path: str, name: str, bad: str) -> None:
    creds = ex.create_test_account("hmac").credentials
    symbol = "BTCUSD_PERP" if path.startswith("/dapi") else "BTCUSDT"
    assert_illegal(rest(ex, "GET", path, creds, {"symbol": symbol, name: bad}), name)


@pytest.mark.parametrize(("path", "name"), SIGNED[:4])
def test_the_largest_long_is_accepted(ex: LocalExchange, path: str, name: str) -> None:
    creds = ex.create_test_account("hmac").credentials
    symbol = "BTCUSD_PERP" if path.startswith("/dapi") else "BTCUSDT"
    answer = rest(ex, "GET", path, creds, {"symbol": symbol, name: str(2**63 - 1)})
    assert answer.status_code == 200 and answer.json() == []


@pytest.mark.parametrize("path", ["/api/v3/depth", "/fapi/v1/depth"])
def test_depth_refuses_unicode_digits_in_limit(ex: LocalExchange, path: str) -> None:
    url = ex.urls("spot")["rest"] + path
    assert_illegal(
        requests.get(url, params={"symbol": "BTCUSDT", "limit": "²"}, timeout=5), "limit"
    )
