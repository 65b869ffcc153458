"""``GET /sapi/v1/account/apiRestrictions`` on the local exchange: Binance's shape, the
calling key's own permissions, signed like every USER_DATA call."""

from __future__ import annotations

import pytest

import ccxtpro_sync
from ccxtpro_sync._exchanges.binance.key_permissions import parse_permissions
from ccxtpro_sync.simulator import LocalExchange

FIELDS = {
    "ipRestrict", "createTime", "enableReading", "enableWithdrawals", "enableInternalTransfer",
    "enableMargin", "enableFutures", "permitsUniversalTransfer", "enableVanillaOptions",
    "enableFixApiTrade", "enableFixReadOnly", "enableSpotAndMarginTrading",
    "enablePortfolioMarginTrading",
}  # fmt: skip


def test_each_key_sees_its_own_permissions(exchange: LocalExchange) -> None:
    reader = exchange.create_test_account("hmac", permissions=["USER_DATA", "USER_STREAM"])
    trader = exchange.create_test_account("rsa", permissions=["USER_DATA", "TRADE", "WITHDRAW"])
    answers = {}
    for name, account in (("reader", reader), ("trader", trader)):
        config = {"environment": "local", "local": exchange, "credentials": account.credentials}
        with ccxtpro_sync.binance(config) as client:
            answers[name] = client.fetch_permissions()
    assert set(answers["reader"].info) == FIELDS
    assert answers["reader"].info["enableReading"] is True
    assert answers["reader"].info["enableSpotAndMarginTrading"] is False
    assert answers["reader"].info["enableWithdrawals"] is False
    assert answers["reader"].granted == {"USER_DATA", "USER_STREAM"}
    assert answers["trader"].granted == {"USER_DATA", "USER_STREAM", "TRADE", "FUTURES", "WITHDRAW"}


def test_an_unknown_key_is_refused(exchange: LocalExchange) -> None:
    credentials = ccxtpro_sync.Credentials("U" * 64, secret="S" * 64)
    config = {"environment": "local", "local": exchange, "credentials": credentials}
    with ccxtpro_sync.binance(config) as client, pytest.raises(ccxtpro_sync.AuthenticationError):
        client.fetch_permissions()


def test_parse_permissions_from_plain_bytes() -> None:
    spot = parse_permissions("spot", b'{"enableReading":true,"enableFutures":true}')
    assert spot.granted == {"USER_DATA", "USER_STREAM", "FUTURES"}
    assert spot.missing({"TRADE", "USER_DATA"}) == ["TRADE"]
    futures = parse_permissions("usdm", b'{"canTrade":false,"canWithdraw":false}')
    assert "TRADE" not in futures.granted and "WITHDRAW" not in futures.granted
    with pytest.raises(ccxtpro_sync.ProtocolError):
        parse_permissions("spot", b"[1]")
