"""Spot trading over the WS API: place/amend/cancel/fill flows and their user-data events."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ccxtpro_sync.simulator import LocalExchange

from .conftest import Factory
from .test_private_support import Obj, WsApi, rest

D = Decimal


@pytest.fixture
def ex(make_exchange: Factory) -> LocalExchange:
    return make_exchange(seed=5, auto_publish=False)


def best(ex: LocalExchange, symbol: str = "BTCUSDT") -> tuple[Decimal, Decimal]:
    book = ex.book("spot", symbol, 1)
    return D(book.bids[0][0]), D(book.asks[0][0])


def limit(side: str, price: Decimal | str, qty: str, **extra: str) -> Obj:
    return {
        "symbol": "BTCUSDT",
        "side": side,
        "type": "LIMIT",
        "timeInForce": "GTC",
        "price": str(price),
        "quantity": qty,
        **extra,
    }


def logged_on(ex: LocalExchange) -> tuple[WsApi, Obj]:
    acct = ex.create_test_account("ed25519")
    api = WsApi(ex.urls("spot")["ws_api"], acct.credentials)
    api.ok("session.logon", sign=True)
    api.ok("userDataStream.subscribe")
    return api, {"account": acct.account, "creds": acct.credentials, "key": acct.api_key}


def test_limit_rests_then_fills_when_the_market_moves(ex: LocalExchange) -> None:
    api, who = logged_on(ex)
    bid, _ = best(ex)
    price = bid - D("5.00")
    with api:
        result = api.ok(
            "order.place", api.signed(limit("BUY", price, "0.01000", newClientOrderId="my-order-1"))
        )
        assert result["status"] == "NEW" and result["clientOrderId"] == "my-order-1"
        assert result["price"] == f"{price:.8f}" and result["origQty"] == "0.01000000"
        assert result["fills"] == [] and result["orderListId"] == -1
        new, position = api.take_events(2)
        assert (new["e"], new["x"], new["X"], new["i"]) == (
            "executionReport",
            "NEW",
            "NEW",
            result["orderId"],
        )
        assert new["c"] == "my-order-1" and new["N"] is None and new["t"] == -1
        assert position["e"] == "outboundAccountPosition"
        usdt = next(b for b in position["B"] if b["a"] == "USDT")
        locked = price * D("0.01")
        assert D(usdt["l"]) == locked and D(usdt["f"]) == D(10000) - locked
        # the resting order is part of the true book (and so of depth streams)
        levels = dict(ex.book("spot", "BTCUSDT").bids)
        assert D(levels[f"{price:.8f}"]) >= D("0.01")
        assert ex.move_market("spot", "BTCUSDT", price - D("1")) == 1
        trade = api.wait_event(lambda e: e.get("x") == "TRADE")
        assert (trade["X"], trade["l"], trade["L"], trade["m"]) == (
            "FILLED",
            "0.01000000",
            f"{price:.8f}",
            True,
        )
        assert trade["N"] == "BTC" and D(trade["n"]) == D("0.00001")
        assert api.wait_event(lambda e: e["e"] == "outboundAccountPosition")
        status = api.ok(
            "order.status",
            {"symbol": "BTCUSDT", "orderId": result["orderId"], "timestamp": trade["E"]},
        )
        assert status["status"] == "FILLED" and status["executedQty"] == "0.01000000"
    balances = ex.balances(who["account"])
    assert balances["BTC"].free == D("1.00999")  # 0.01 minus 0.1 % commission
    assert balances["USDT"].locked == 0 and balances["USDT"].free == D(10000) - locked


def test_market_order_full_response_and_events(ex: LocalExchange) -> None:
    api, who = logged_on(ex)
    _, ask = best(ex)
    with api:
        result = api.ok(
            "order.place",
            api.signed(
                {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.02000"}
            ),
        )
        assert result["status"] == "FILLED" and result["type"] == "MARKET"
        assert result["fills"] and result["fills"][0]["price"] == f"{ask:.8f}"
        assert sum(D(f["qty"]) for f in result["fills"]) == D("0.02")
        events = api.take_events(1 + len(result["fills"]) + 1)
        assert [e.get("x") for e in events[:-1]] == ["NEW"] + ["TRADE"] * len(result["fills"])
        assert events[-2]["X"] == "FILLED" and events[-1]["e"] == "outboundAccountPosition"
        quote = sum(D(f["price"]) * D(f["qty"]) for f in result["fills"])
        assert D(result["cummulativeQuoteQty"]) == quote
        ack = api.ok(
            "order.place",
            api.signed(
                {
                    "symbol": "BTCUSDT",
                    "side": "SELL",
                    "type": "MARKET",
                    "quantity": "0.01000",
                    "newOrderRespType": "ACK",
                }
            ),
        )
        assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
        by_quote = api.ok(
            "order.place",
            api.signed(
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "type": "MARKET",
                    "quoteOrderQty": "100",
                    "newOrderRespType": "RESULT",
                }
            ),
        )
        assert by_quote["origQuoteOrderQty"] == "100.00000000"
        assert D(by_quote["cummulativeQuoteQty"]) <= 100 and "fills" not in by_quote
        trades = api.ok("myTrades", api.signed({"symbol": "BTCUSDT"}))
        assert len(trades) >= 3 and {t["isBuyer"] for t in trades} == {True, False}
    assert who["account"].spot["USDT"].locked == 0


def test_amend_cancel_and_cancel_all(ex: LocalExchange) -> None:
    api, _ = logged_on(ex)
    bid, ask = best(ex)
    with api:
        first = api.ok("order.place", api.signed(limit("BUY", bid - 10, "0.00500")))
        api.take_events(2)
        amended = api.ok(
            "order.amend.keepPriority",
            api.signed({"symbol": "BTCUSDT", "orderId": first["orderId"], "newQty": "0.00300"}),
        )
        order = amended["amendedOrder"]
        assert order["qty"] == "0.00300000" and order["orderId"] == first["orderId"]
        assert order["origClientOrderId"] == first["clientOrderId"]
        # no newClientOrderId sent: Binance gives the amended order a new random one
        assert re.fullmatch(r"[A-Za-z0-9]{22}", order["clientOrderId"])
        assert order["clientOrderId"] != first["clientOrderId"]
        assert isinstance(amended["executionId"], int)
        replaced = api.wait_event(lambda e: e.get("x") == "REPLACED")
        assert replaced["q"] == "0.00300000" and replaced["X"] == "NEW"
        assert (replaced["c"], replaced["C"]) == (order["clientOrderId"], first["clientOrderId"])
        too_big = api.call(
            "order.amend.keepPriority",
            api.signed({"symbol": "BTCUSDT", "orderId": first["orderId"], "newQty": "0.00300"}),
        )
        assert too_big["status"] == 400
        swapped = api.ok(
            "order.cancelReplace",
            api.signed(
                {
                    **limit("BUY", bid - 20, "0.00400"),
                    "cancelReplaceMode": "STOP_ON_FAILURE",
                    "cancelOrderId": first["orderId"],
                }
            ),
        )
        assert swapped["cancelResult"] == "SUCCESS" and swapped["newOrderResult"] == "SUCCESS"
        assert swapped["cancelResponse"]["status"] == "CANCELED"
        assert swapped["newOrderResponse"]["status"] == "NEW"
        cancelled = api.wait_event(lambda e: e.get("x") == "CANCELED")
        assert cancelled["C"] == order["clientOrderId"] and cancelled["i"] == first["orderId"]
        failed = api.call(
            "order.cancelReplace",
            api.signed(
                {
                    **limit("BUY", bid - 20, "0.00400"),
                    "cancelReplaceMode": "STOP_ON_FAILURE",
                    "cancelOrderId": first["orderId"],
                }
            ),
        )
        assert (failed["status"], failed["error"]["code"]) == (400, -2022)
        assert failed["error"]["data"]["cancelResponse"] == {
            "code": -2011,
            "msg": "Unknown order sent.",
        }
        assert failed["error"]["data"]["newOrderResult"] == "NOT_ATTEMPTED"
        api.ok("order.place", api.signed(limit("SELL", ask + 10, "0.00100")))
        opened = api.ok("openOrders.status", api.signed({"symbol": "BTCUSDT"}))
        assert len(opened) == 2 and all(o["status"] == "NEW" for o in opened)
        rest_view = rest(
            ex,
            "GET",
            "/api/v3/openOrders",
            api.creds,  # type: ignore[arg-type]
            {"symbol": "BTCUSDT"},
        ).json()
        assert [o["orderId"] for o in rest_view] == [o["orderId"] for o in opened]
        gone = api.ok("openOrders.cancelAll", api.signed({"symbol": "BTCUSDT"}))
        assert [o["status"] for o in gone] == ["CANCELED", "CANCELED"]
        assert api.ok("openOrders.status", api.signed({})) == []
        none_left = api.call("openOrders.cancelAll", api.signed({"symbol": "BTCUSDT"}))
        assert none_left["error"] == {"code": -2011, "msg": "Unknown order sent."}


def test_order_errors(ex: LocalExchange) -> None:
    poor = ex.create_test_account("hmac", balances={"USDT": 10})
    bid, ask = best(ex)
    with WsApi(ex.urls("spot")["ws_api"], poor.credentials) as api:

        def err(params: Obj, method: str = "order.place") -> tuple[int, int, str]:
            frame = api.call(method, api.signed(params))
            return frame["status"], frame["error"]["code"], frame["error"]["msg"]

        assert err(limit("BUY", bid, "0.01000")) == (
            400,
            -2010,
            "Account has insufficient balance for requested action.",
        )
        assert err(limit("BUY", bid + D("0.001"), "0.01000"))[1:] == (
            -1013,
            "Filter failure: PRICE_FILTER",
        )
        assert err(limit("BUY", bid, "0.000011"))[1:] == (-1013, "Filter failure: LOT_SIZE")
        assert err(limit("BUY", D("1.00"), "0.00001"))[1:] == (-1013, "Filter failure: NOTIONAL")
        assert err({**limit("BUY", bid, "0.001"), "symbol": "NOPEUSDT"})[1] == -1121
        assert err(
            {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "price": "1", "quantity": "1"}
        )[1:] == (
            -1102,
            "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
        )
        assert err({**limit("BUY", bid, "0.001"), "type": "STOP_LOSS"})[1] == -1116
        assert err(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT_MAKER",
                "price": str(ask + 100),
                "quantity": "0.00010",
            }
        )[1:] == (-2010, "Order would immediately match and take.")
        assert err({"symbol": "BTCUSDT", "orderId": 1}, "order.cancel")[1:] == (
            -2011,
            "Unknown order sent.",
        )
        assert err({"symbol": "BTCUSDT", "orderId": 1}, "order.status")[1:] == (
            -2013,
            "Order does not exist.",
        )
        assert err({"symbol": "BTCUSDT"}, "order.status")[1] == -1102
    assert ex.balances(poor.account)["USDT"].free == 10


def test_orders_between_accounts_and_time_in_force(ex: LocalExchange) -> None:
    maker_api, maker = logged_on(ex)
    taker_api, taker = logged_on(ex)
    bid, ask = best(ex)
    with maker_api, taker_api:
        resting = maker_api.ok(
            "order.place",
            maker_api.signed(
                {
                    "symbol": "BTCUSDT",
                    "side": "SELL",
                    "type": "LIMIT_MAKER",
                    "price": str(ask),
                    "quantity": "0.00300",
                }
            ),
        )  # joins the best ask, first in line
        assert set(resting) == {
            "symbol",
            "orderId",
            "orderListId",
            "clientOrderId",
            "transactTime",
        }  # LIMIT_MAKER defaults to ACK
        fok = taker_api.ok(
            "order.place", taker_api.signed(limit("BUY", bid, "0.00100", timeInForce="FOK"))
        )  # nothing to take at bid
        assert fok["status"] == "EXPIRED" and fok["executedQty"] == "0.00000000"
        crossing = taker_api.ok(
            "order.place", taker_api.signed(limit("BUY", ask, "0.00300", timeInForce="IOC"))
        )
        assert crossing["status"] == "FILLED" and len(crossing["fills"]) == 1
        fill = crossing["fills"][0]
        assert fill["price"] == f"{ask:.8f}" and fill["qty"] == "0.00300000"
        got = maker_api.wait_event(lambda e: e.get("x") == "TRADE")
        assert (got["m"], got["X"], got["t"]) == (True, "FILLED", fill["tradeId"])
        assert got["N"] == "USDT"
    assert maker["account"].spot["BTC"].free == D("0.997")
    assert taker["account"].spot["USDT"].locked == 0


def test_state_survives_disconnects_and_lost_events(ex: LocalExchange) -> None:
    api, who = logged_on(ex)
    bid, _ = best(ex)
    with api:
        placed = api.ok("order.place", api.signed(limit("BUY", bid - 3, "0.00200")))
        api.take_events(2)
        assert ex.disconnect_ws_api(who["account"]) == 1
        ex.wait_for_ws_api(0)
    ex.move_market("spot", "BTCUSDT", bid - 4)  # fills while nobody listens
    with WsApi(ex.urls("spot")["ws_api"], who["creds"]) as again:
        again.ok("session.logon", sign=True)
        again.ok("userDataStream.subscribe")
        status = again.ok(
            "order.status",
            {
                "symbol": "BTCUSDT",
                "orderId": placed["orderId"],
                "timestamp": placed["transactTime"] + 1,
            },
        )
        assert status["status"] == "FILLED"
        assert again.ok("openOrders.status", {"timestamp": placed["transactTime"] + 1}) == []
        # a lost push: the state changes, the event never arrives
        ex.drop_user_data(2, who["account"])
        second = again.ok("order.place", again.signed(limit("BUY", bid - 6, "0.00200")))
        again.ok("ping")
        assert again.events == []
        seen = again.ok(
            "order.status", again.signed({"symbol": "BTCUSDT", "orderId": second["orderId"]})
        )
        assert seen["status"] == "NEW"
        ex.deposit(who["account"], "USDT", 5)
        update = again.wait_event(lambda e: e["e"] == "balanceUpdate")
        assert update["a"] == "USDT" and update["d"] == "5.00000000"
    assert ex.orders(who["account"], open_only=True)[0]["orderId"] == second["orderId"]
