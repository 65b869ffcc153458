"""Futures countdown cancel-all of the local exchange (per symbol, heartbeat, 0 stops it)."""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync.simulator import LocalExchange

from .test_private_support import Stream, rest
from .test_rest_orders import ROOTS, SYMBOLS, limit_buy


def _open(ex: LocalExchange, account: Any, market: str) -> list[str]:
    return [o["symbol"] for o in ex.orders(account, market, open_only=True)]  # type: ignore[arg-type]


def _wait_cancelled(ex: LocalExchange, account: Any, market: str, timeout: float = 5.0) -> None:
    def check(_: Any) -> tuple[bool] | None:
        return (True,) if not _open(ex, account, market) else None

    ex.private.registry.wait(check, timeout, "countdown expiry")


@pytest.mark.parametrize("market", ["usdm", "coinm"])
def test_expiry_cancels_open_orders_of_that_symbol(ex: LocalExchange, market: str) -> None:
    acct = ex.create_test_account("hmac")
    creds, root, symbol = acct.credentials, ROOTS[market], SYMBOLS[market]
    for _ in range(2):
        assert rest(ex, "POST", f"{root}/order", creds, limit_buy(ex, market)).status_code == 200
    reply = rest(ex, "POST", f"{root}/countdownCancelAll", creds,
                 {"symbol": symbol, "countdownTime": 150})  # fmt: skip
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"symbol": symbol, "countdownTime": "150"}  # a string, as Binance
    assert len(ex.countdowns()) == 1
    _wait_cancelled(ex, acct.account, market)
    statuses = [o["status"] for o in ex.orders(acct.account, market)]  # type: ignore[arg-type]
    assert statuses == ["CANCELED", "CANCELED"]
    assert ex.countdowns() == {}


def test_expiry_pushes_order_trade_update_events(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac")
    creds = acct.credentials
    key = rest(ex, "POST", "/fapi/v1/listenKey", creds, signed=False).json()["listenKey"]
    stream = Stream(ex.urls("usdm")["ws"] + f"/private/ws?listenKey={key}")
    try:
        placed = rest(ex, "POST", "/fapi/v1/order", creds, limit_buy(ex, "usdm")).json()
        arm = {"symbol": "BTCUSDT", "countdownTime": 100}
        assert rest(ex, "POST", "/fapi/v1/countdownCancelAll", creds, arm).status_code == 200
        event = stream.next(
            lambda e: e.get("e") == "ORDER_TRADE_UPDATE" and e["o"]["X"] == "CANCELED",
            timeout=5,
        )
        assert event["o"]["i"] == placed["orderId"] and event["o"]["x"] == "CANCELED"
    finally:
        stream.close()


def test_zero_stops_the_countdown_and_other_symbols_are_untouched(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac")
    creds = acct.credentials
    assert rest(ex, "POST", "/fapi/v1/order", creds, limit_buy(ex, "usdm")).status_code == 200
    eth = limit_buy(ex, "usdm") | {"symbol": "ETHUSDT", "quantity": "0.1"}
    eth["price"] = f"{float(ex.book('usdm', 'ETHUSDT', 1).bids[0][0]) * 0.8:.2f}"
    assert rest(ex, "POST", "/fapi/v1/order", creds, eth).status_code == 200
    arm = {"symbol": "BTCUSDT", "countdownTime": 60_000}
    assert rest(ex, "POST", "/fapi/v1/countdownCancelAll", creds, arm).status_code == 200
    stop = {"symbol": "BTCUSDT", "countdownTime": 0}
    stopped = rest(ex, "POST", "/fapi/v1/countdownCancelAll", creds, stop)
    assert stopped.json()["countdownTime"] == "0"
    assert ex.countdowns() == {}
    # a short countdown on ETHUSDT fires; BTCUSDT's order stays open
    short = {"symbol": "ETHUSDT", "countdownTime": 50}
    assert rest(ex, "POST", "/fapi/v1/countdownCancelAll", creds, short).status_code == 200

    def check(_: Any) -> tuple[bool] | None:
        return (True,) if _open(ex, acct.account, "usdm") == ["BTCUSDT"] else None

    ex.private.registry.wait(check, 5.0, "ETHUSDT countdown expiry")


def test_heartbeat_replaces_the_running_countdown(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac")
    creds = acct.credentials
    assert rest(ex, "POST", "/fapi/v1/order", creds, limit_buy(ex, "usdm")).status_code == 200
    arm = {"symbol": "BTCUSDT", "countdownTime": 100}
    assert rest(ex, "POST", "/fapi/v1/countdownCancelAll", creds, arm).status_code == 200
    longer = {"symbol": "BTCUSDT", "countdownTime": 600_000}
    assert rest(ex, "POST", "/fapi/v1/countdownCancelAll", creds, longer).status_code == 200
    (left,) = ex.countdowns().values()
    assert left > 500  # the second call replaced the 100 ms countdown
    assert _open(ex, acct.account, "usdm") == ["BTCUSDT"]


def test_bad_countdown_time_is_rejected(ex: LocalExchange) -> None:
    creds = ex.create_test_account("hmac").credentials
    missing = rest(ex, "POST", "/fapi/v1/countdownCancelAll", creds, {"symbol": "BTCUSDT"})
    assert missing.status_code == 400 and missing.json()["code"] == -1102
    bad = {"symbol": "BTCUSDT", "countdownTime": "-5"}
    illegal = rest(ex, "POST", "/fapi/v1/countdownCancelAll", creds, bad)
    assert illegal.status_code == 400 and illegal.json()["code"] == -1100
    assert ex.countdowns() == {}
