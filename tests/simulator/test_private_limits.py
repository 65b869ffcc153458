"""WS API rate limits (429 then 418) and the public view of account orders."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import websocket

from ccxtpro_sync.simulator import LocalExchange, PrivateOptions
from ccxtpro_sync.simulator.private_limits import Rule

from .conftest import Factory, recv_until, ws_connect
from .test_private_support import WsApi

PINNED = 1_800_000_030.0  # mid-minute, so no window boundary is crossed during the test


def test_weight_limit_429_then_ban_418(make_exchange: Factory) -> None:
    ex = make_exchange(
        seed=1,
        auto_publish=False,
        private=PrivateOptions(spot_ws_api_weight=6, ban_after=2, ban_seconds=60),
    )
    ex.private.limits["spot"].clock = lambda: PINNED
    with WsApi(ex.urls("spot")["ws_api"]) as api:  # connecting costs 2
        for expected in (3, 4, 5, 6):
            frame = api.call("ping")
            assert frame["rateLimits"] == [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6,
                    "count": expected,
                }
            ]
        limited = api.call("ping", req_id="a-1")
        assert limited["status"] == 429 and limited["error"]["code"] == -1003
        assert limited["rateLimits"][0]["count"] == 6  # a refused request is not charged
        data = limited["error"]["data"]
        assert data == {"serverTime": int(PINNED * 1000), "retryAfter": 1_800_000_060_000}
        assert api.call("time")["status"] == 429
        banned = api.call("ping")
        assert banned["status"] == 418 and "IP banned until" in banned["error"]["msg"]
        assert banned["error"]["data"]["retryAfter"] == int((PINNED + 60) * 1000)
        opcode, _ = api.ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE  # banned: disconnected
    with WsApi(ex.urls("spot")["ws_api"]) as again:
        again.ws.settimeout(3)
        assert json.loads(again.ws.recv())["status"] == 418


def test_orders_limit(make_exchange: Factory) -> None:
    ex = make_exchange(
        seed=1,
        auto_publish=False,
        private=PrivateOptions(
            spot_order_limits=(Rule("ORDERS", "SECOND", 10, 2), Rule("ORDERS", "DAY", 1, 100))
        ),
    )
    ex.private.limits["spot"].clock = lambda: PINNED
    acct = ex.create_test_account("hmac")
    bid = Decimal(ex.book("spot", "BTCUSDT", 1).bids[0][0])
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "price": str(bid - 100),
        "quantity": "0.00100",
    }
    with WsApi(ex.urls("spot")["ws_api"], acct.credentials) as api:
        first = api.call("order.place", api.signed(order))
        assert first["rateLimits"][:2] == [
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": 2,
                "count": 1,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "DAY",
                "intervalNum": 1,
                "limit": 100,
                "count": 1,
            },
        ]
        assert api.call("order.place", api.signed(order))["status"] == 200
        third = api.call("order.place", api.signed(order))
        assert third["status"] == 429 and third["error"]["code"] == -1015
        assert third["error"]["data"]["retryAfter"] == 1_800_000_040_000
        assert api.call("account.status", api.signed({}))["status"] == 200


def test_account_orders_show_in_depth_and_fill_from_flow(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac")
    bid = Decimal(ex.book("spot", "BTCUSDT", 1).bids[0][0])
    with (
        ws_connect(ex.urls("spot")["ws"] + "/ws/btcusdt@depth@100ms") as depth,
        WsApi(ex.urls("spot")["ws_api"], acct.credentials) as api,
    ):
        ex.wait_for_subscription("btcusdt@depth@100ms")
        before = dict(ex.book("spot", "BTCUSDT").bids).get(f"{bid:.8f}", "0")
        placed = api.ok(
            "order.place",
            api.signed(
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "type": "LIMIT",
                    "timeInForce": "GTC",
                    "price": str(bid),
                    "quantity": "0.10000",
                }
            ),
        )
        after = dict(ex.book("spot", "BTCUSDT").bids)[f"{bid:.8f}"]
        assert Decimal(after) == Decimal(before) + Decimal("0.1")
        ex.tick(2)  # published with the next tick, ahead of the tick's own changes
        event = recv_until(depth, lambda m: m.get("e") == "depthUpdate")
        assert f"{bid:.8f}" in {p for p, _ in event["b"]}
        for _ in range(400):  # the generator's sellers reach the order sooner or later
            ex.tick()
            status = api.ok(
                "order.status", api.signed({"symbol": "BTCUSDT", "orderId": placed["orderId"]})
            )
            if status["status"] != "NEW":
                break
        assert status["status"] in ("PARTIALLY_FILLED", "FILLED")
        assert Decimal(status["executedQty"]) > 0


@pytest.fixture
def ex(make_exchange: Factory) -> LocalExchange:
    return make_exchange(seed=2, auto_publish=False)
