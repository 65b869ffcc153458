"""Futures: listenKey lifecycle, user-data streams, orders, positions and margin."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
import websocket

from ccxtpro_sync.simulator import LocalExchange, PrivateOptions

from .conftest import Factory
from .test_private_support import Stream, WsApi, now_ms, rest

D = Decimal


@pytest.fixture
def ex(make_exchange: Factory) -> LocalExchange:
    return make_exchange(
        seed=9, auto_publish=False, private=PrivateOptions(listen_key_validity=0.6)
    )


def best(ex: LocalExchange, market: str, symbol: str) -> tuple[Decimal, Decimal]:
    book = ex.book(market, symbol, 1)  # type: ignore[arg-type]
    return D(book.bids[0][0]), D(book.asks[0][0])


def test_listen_key_lifecycle_and_expiry(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac")
    creds = acct.credentials
    for path in ("/fapi/v1/listenKey", "/dapi/v1/listenKey"):
        created = rest(ex, "POST", path, creds, signed=False)
        assert created.status_code == 200
        key = created.json()["listenKey"]
        assert len(key) == 64
        assert rest(ex, "POST", path, creds, signed=False).json() == {"listenKey": key}
        assert rest(ex, "PUT", path, creds, signed=False).json() == {"listenKey": key}
        assert rest(ex, "DELETE", path, creds, signed=False).json() == {}
        gone = rest(ex, "PUT", path, creds, signed=False)
        assert gone.status_code == 400
        assert gone.json() == {"code": -1125, "msg": "This listenKey does not exist."}
    no_key = rest(ex, "POST", "/fapi/v1/listenKey", creds, signed=False)
    key = no_key.json()["listenKey"]
    stream = Stream(ex.urls("usdm")["ws"] + f"/private/ws?listenKey={key}")
    try:
        expired = stream.next(timeout=3)
        assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
        assert isinstance(expired["E"], int)
    finally:
        stream.close()
    assert rest(ex, "PUT", "/fapi/v1/listenKey", creds, signed=False).json()["code"] == -1125
    with pytest.raises(websocket.WebSocketBadStatusException):
        Stream(ex.urls("usdm")["ws"] + f"/private/ws?listenKey={key}")


def test_usdm_orders_positions_and_events(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac")
    with WsApi(ex.urls("usdm")["ws_api"], acct.credentials) as api:
        key = api.ok("userDataStream.start", {"apiKey": acct.api_key})["listenKey"]
        assert api.ok("userDataStream.ping", {"apiKey": acct.api_key}) == {"listenKey": key}
        stream = Stream(ex.urls("usdm")["ws"] + f"/private/ws?listenKey={key}")
        try:
            bid, ask = best(ex, "usdm", "BTCUSDT")
            placed = api.ok(
                "order.place",
                api.signed(
                    {
                        "symbol": "BTCUSDT",
                        "side": "BUY",
                        "type": "LIMIT",
                        "timeInForce": "GTC",
                        "price": str(bid - 20),
                        "quantity": "0.010",
                        "newClientOrderId": "fut-1",
                    }
                ),
            )
            assert placed["status"] == "NEW" and placed["cumQuote"] == "0.00000000"
            assert placed["positionSide"] == "BOTH" and placed["origQty"] == "0.010"
            ex.tick()
            new = stream.next(lambda e: e.get("e") == "ORDER_TRADE_UPDATE")
            assert (new["o"]["x"], new["o"]["X"], new["o"]["c"]) == ("NEW", "NEW", "fut-1")
            modified = api.ok(
                "order.modify",
                api.signed(
                    {
                        "symbol": "BTCUSDT",
                        "orderId": placed["orderId"],
                        "side": "BUY",
                        "price": str(bid - 30),
                        "quantity": "0.020",
                    }
                ),
            )
            assert modified["price"] == f"{bid - 30:.2f}" and modified["origQty"] == "0.020"
            amended = stream.next(lambda e: e.get("e") == "ORDER_TRADE_UPDATE")
            assert amended["o"]["x"] == "AMENDMENT"
            _, ask = best(ex, "usdm", "BTCUSDT")  # the tick moved the book
            market = api.ok(
                "order.place",
                api.signed(
                    {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.005"}
                ),
            )
            assert market["status"] == "FILLED" and D(market["avgPrice"]) >= ask
            trade = stream.next(lambda e: e.get("o", {}).get("x") == "TRADE")
            assert trade["o"]["N"] == "USDT" and trade["o"]["m"] is False
            update = stream.next(lambda e: e.get("e") == "ACCOUNT_UPDATE")
            assert update["a"]["m"] == "ORDER" and update["a"]["P"][0]["s"] == "BTCUSDT"
            assert D(update["a"]["P"][0]["pa"]) == D("0.005")
            positions = api.ok("v2/account.position", api.signed({}))
            btc = next(p for p in positions if p["symbol"] == "BTCUSDT")
            assert D(btc["positionAmt"]) == D("0.005") and btc["positionSide"] == "BOTH"
            balance = api.ok("v2/account.balance", api.signed({}))
            usdt = next(b for b in balance if b["asset"] == "USDT")
            assert D(usdt["balance"]) < 10_000  # the taker commission
            assert D(usdt["availableBalance"]) < D(usdt["balance"])
            risk = rest(
                ex, "GET", "/fapi/v2/positionRisk", acct.credentials, {"symbol": "BTCUSDT"}
            ).json()
            assert [D(p["positionAmt"]) for p in risk] == [D("0.005")]
            opened = rest(ex, "GET", "/fapi/v1/openOrders", acct.credentials).json()
            assert [o["orderId"] for o in opened] == [placed["orderId"]]
            assert rest(ex, "GET", "/fapi/v3/balance", acct.credentials).status_code == 200
            cancelled = api.ok(
                "order.cancel", api.signed({"symbol": "BTCUSDT", "origClientOrderId": "fut-1"})
            )
            assert cancelled["status"] == "CANCELED"
            # close the position: realized PnL shows up in the wallet and the event
            ex.move_market("usdm", "BTCUSDT", ask + 100)
            api.ok(
                "order.place",
                api.signed(
                    {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.005"}
                ),
            )
            closing = stream.next(
                lambda e: e.get("o", {}).get("x") == "TRADE" and e["o"]["S"] == "SELL"
            )
            assert D(closing["o"]["rp"]) > 0
            assert ex.positions(acct.account, "usdm") == {}
        finally:
            stream.close()
        assert api.ok("userDataStream.stop", {"apiKey": acct.api_key}) == {}


def test_usdm_errors(ex: LocalExchange) -> None:
    poor = ex.create_test_account("ed25519", usdm_balances={"USDT": 10})
    bid, _ = best(ex, "usdm", "BTCUSDT")
    with WsApi(ex.urls("usdm")["ws_api"], poor.credentials) as api:

        def err(params: dict[str, str]) -> tuple[int, str]:
            frame = api.call("order.place", api.signed(params))
            return frame["error"]["code"], frame["error"]["msg"]

        order = {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "price": str(bid - 10),
            "quantity": "0.010",
        }
        assert err(order) == (-2019, "Margin is insufficient.")
        assert err({**order, "price": str(bid - D("10.05"))})[0] == -4014
        assert err({**order, "quantity": "0.0105"})[0] == -1111
        assert err({**order, "quantity": "0.001"})[0] == -4164
        assert err({**order, "timeInForce": "GTX", "price": str(bid + 500)})[0] == -5022
        assert err({**order, "reduceOnly": "true"})[0] == -2022
        status = api.call("order.status", api.signed({"symbol": "BTCUSDT", "orderId": 5}))
        assert status["error"]["code"] == -2013
        missing = api.call("session.logon", api.signed({}))
        assert missing["error"]["code"] == -1020  # futures: per-request signatures only


def test_coinm_inverse_position_via_stream_path(ex: LocalExchange) -> None:
    acct = ex.create_test_account("rsa")
    key = rest(ex, "POST", "/dapi/v1/listenKey", acct.credentials, signed=False).json()["listenKey"]
    stream = Stream(ex.urls("coinm")["ws"] + f"/ws/{key}")
    try:
        with WsApi(ex.urls("coinm")["ws_api"], acct.credentials) as api:
            _, ask = best(ex, "coinm", "BTCUSD_PERP")
            resting = api.ok(
                "order.place",
                api.signed(
                    {
                        "symbol": "BTCUSD_PERP",
                        "side": "SELL",
                        "type": "LIMIT",
                        "timeInForce": "GTC",
                        "price": str(ask + 5),
                        "quantity": "3",
                    }
                ),
            )
            assert resting["pair"] == "BTCUSD" and "cumBase" in resting
            assert ex.move_market("coinm", "BTCUSD_PERP", ask + 6) == 1
            fill = stream.next(lambda e: e.get("o", {}).get("x") == "TRADE")
            assert fill["o"]["X"] == "FILLED" and fill["o"]["m"] is True
            assert fill["o"]["N"] == "BTC" and fill["i"]
            account = stream.next(lambda e: e.get("e") == "ACCOUNT_UPDATE")
            assert D(account["a"]["P"][0]["pa"]) == -3 and account["a"]["B"][0]["a"] == "BTC"
            positions = api.ok("account.position", api.signed({}))
            assert [(p["symbol"], D(p["positionAmt"])) for p in positions] == [
                ("BTCUSD_PERP", D(-3))
            ]
            assert D(positions[0]["entryPrice"]) == ask + 5
        risk = rest(
            ex, "GET", "/dapi/v1/positionRisk", acct.credentials, {"symbol": "BTCUSD_PERP"}
        ).json()
        assert D(risk[0]["positionAmt"]) == -3 and "notionalValue" in risk[0]
        balances = rest(ex, "GET", "/dapi/v1/balance", acct.credentials).json()
        assert {b["asset"] for b in balances} >= {"BTC", "ETH"}
        assert ex.wallets(acct.account, "coinm")["BTC"] < 1  # maker commission in BTC
    finally:
        stream.close()


def test_subscribe_listen_key_on_private_path(ex: LocalExchange) -> None:
    acct = ex.create_test_account("hmac")
    key = rest(ex, "POST", "/fapi/v1/listenKey", acct.credentials, signed=False).json()["listenKey"]
    stream = Stream(ex.urls("usdm")["ws"] + "/private/stream")
    try:
        stream.ws.send(f'{{"method":"SUBSCRIBE","params":["{key}"],"id":1}}')
        assert stream.next(lambda m: m.get("id") == 1) == {"result": None, "id": 1}
        ex.deposit(acct.account, "USDT", 25, market="usdm")
        ex.tick()
        wrapped = stream.next(lambda m: "stream" in m)
        assert wrapped["stream"] == key and wrapped["data"]["e"] == "ACCOUNT_UPDATE"
        assert wrapped["data"]["a"]["m"] == "DEPOSIT"
        assert wrapped["data"]["a"]["B"][0]["wb"] == "10025.00000000"
    finally:
        stream.close()


@pytest.mark.parametrize(
    ("market", "root", "symbol", "qty"),
    [("usdm", "/fapi", "BTCUSDT", "0.010"), ("coinm", "/dapi", "BTCUSD_PERP", "2")],
)
def test_user_trades_rest(ex: LocalExchange, market: str, root: str, symbol: str, qty: str) -> None:
    acct = ex.create_test_account("hmac")
    path = f"{root}/v1/userTrades"
    with WsApi(ex.urls(market)["ws_api"], acct.credentials) as api:  # type: ignore[arg-type]
        order_ids = [
            api.ok(
                "order.place",
                api.signed({"symbol": symbol, "side": side, "type": "MARKET", "quantity": qty}),
            )["orderId"]
            for side in ("BUY", "SELL", "BUY")
        ]
    answer = rest(ex, "GET", path, acct.credentials, {"symbol": symbol})
    assert answer.status_code == 200
    assert answer.headers["X-MBX-USED-WEIGHT-1M"] == "5"
    rows = answer.json()
    assert {r["orderId"] for r in rows} == set(order_ids)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    first = [r for r in rows if r["orderId"] == order_ids[0]]
    assert sum(D(r["qty"]) for r in first) == D(qty)
    row = first[0]
    assert row["side"] == "BUY" and row["buyer"] is True and row["maker"] is False
    assert row["positionSide"] == "BOTH" and row["symbol"] == symbol
    assert D(row["commission"]) > 0 and isinstance(row["time"], int)
    if market == "usdm":
        assert row["commissionAsset"] == "USDT" and "baseQty" not in row
        assert D(row["quoteQty"]) == D(row["price"]) * D(row["qty"])
    else:
        assert row["commissionAsset"] == "BTC" and "quoteQty" not in row
        assert (row["pair"], row["marginAsset"]) == ("BTCUSD", "BTC")
        # an inverse contract's value in the base asset: contracts * 100 USD / price
        value = D(row["qty"]) * 100 / D(row["price"])
        assert abs(D(row["baseQty"]) - value) <= D("0.00000001")  # 8 decimals
    closing = [r for r in rows if r["orderId"] == order_ids[1]]
    assert {r["side"] for r in closing} == {"SELL"} and "realizedPnl" in closing[0]

    def query(params: dict[str, object]) -> list[dict[str, object]]:
        reply = rest(ex, "GET", path, acct.credentials, {"symbol": symbol, **params})
        assert reply.status_code == 200, reply.text
        return list(reply.json())

    assert query({"orderId": order_ids[1]}) == closing
    assert query({"limit": 1}) == rows[-1:]  # the latest by default
    assert query({"fromId": rows[1]["id"], "limit": 1}) == [rows[1]]  # from the id up
    assert query({"startTime": rows[-1]["time"]}) == [
        r for r in rows if r["time"] >= rows[-1]["time"]
    ]
    assert query({"endTime": rows[0]["time"] - 1}) == []
    missing = rest(ex, "GET", path, acct.credentials, {})
    assert missing.status_code == 400 and missing.json()["code"] == -1102
    unsigned = rest(ex, "GET", path, acct.credentials, {"symbol": symbol}, signed=False)
    assert unsigned.status_code in (400, 401) and unsigned.json()["code"] < 0


@pytest.mark.parametrize("market", ["usdm", "coinm"])
def test_futures_ws_api_int_params_must_be_json_integers(ex: LocalExchange, market: str) -> None:
    """Futures WS API: "INT parameters such as timestamp are expected as JSON integers,
    not strings" (reference §6.2); spot accepts either."""
    login = ex.create_test_account("ed25519")
    symbol = "BTCUSDT" if market == "usdm" else "BTCUSD_PERP"
    with WsApi(ex.urls(market)["ws_api"], login.credentials) as api:
        as_int = api.call("account.balance", api.signed({}))
        assert as_int["status"] == 200, as_int
        stamp = api.call("account.balance", api.signed({"timestamp": str(now_ms())}))
        assert (stamp["status"], stamp["error"]["code"]) == (400, -1102)
        assert "'timestamp'" in stamp["error"]["msg"]
        window = api.call("account.balance", api.signed({"recvWindow": "5000"}))
        assert (window["status"], window["error"]["code"]) == (400, -1100)
        order_id = api.call("order.status", api.signed({"symbol": symbol, "orderId": "5"}))
        assert order_id["error"]["code"] == -1100 and "'orderId'" in order_id["error"]["msg"]
    with WsApi(ex.urls("spot")["ws_api"], login.credentials) as api:
        spot = api.call("account.status", api.signed({"timestamp": str(now_ms())}))
        assert spot["status"] == 200, spot


def test_leverage_brackets(ex: LocalExchange) -> None:
    """``/fapi/v1/leverageBracket``, ``/dapi/v2/leverageBracket`` (per symbol) and
    ``/dapi/v1/leverageBracket`` (per pair) with Binance's documented shapes."""
    login = ex.create_test_account("hmac")
    creds = login.credentials
    every = rest(ex, "GET", "/fapi/v1/leverageBracket", creds)
    assert every.status_code == 200, every.text
    assert {e["symbol"] for e in every.json()} >= {"BTCUSDT", "ETHUSDT"}
    one = rest(ex, "GET", "/fapi/v1/leverageBracket", creds, {"symbol": "BTCUSDT"}).json()
    assert set(one) == {"symbol", "brackets"} and one["symbol"] == "BTCUSDT"
    tiers = one["brackets"]
    assert set(tiers[0]) == {
        "bracket",
        "initialLeverage",
        "notionalCap",
        "notionalFloor",
        "maintMarginRatio",
        "cum",
    }
    assert [t["bracket"] for t in tiers] == list(range(1, len(tiers) + 1))
    assert tiers[0]["notionalFloor"] == 0 and tiers[0]["cum"] == 0
    for low, high in pairwise(tiers):
        assert high["notionalFloor"] == low["notionalCap"]
        assert high["initialLeverage"] < low["initialLeverage"]
        # maintenance margin is continuous at the edge: floor * mmr - cum agrees on both sides
        edge = high["notionalFloor"]
        assert D(str(edge)) * D(str(low["maintMarginRatio"])) - D(str(low["cum"])) == D(
            str(edge)
        ) * D(str(high["maintMarginRatio"])) - D(str(high["cum"]))
    coin = rest(ex, "GET", "/dapi/v2/leverageBracket", creds, {"symbol": "BTCUSD_PERP"}).json()
    assert [e["symbol"] for e in coin] == ["BTCUSD_PERP"]
    assert {"qtyCap", "qtyFloor"} <= set(coin[0]["brackets"][0])
    pairs = rest(ex, "GET", "/dapi/v1/leverageBracket", creds, {"pair": "BTCUSD"}).json()
    assert [p["pair"] for p in pairs] == ["BTCUSD"] and "qtylFloor" in pairs[0]["brackets"][0]
    bad = rest(ex, "GET", "/fapi/v1/leverageBracket", creds, {"symbol": "NOPEUSDT"})
    assert (bad.status_code, bad.json()["code"]) == (400, -1121)
    unsigned = rest(ex, "GET", "/fapi/v1/leverageBracket", creds, signed=False)
    assert unsigned.status_code == 400 and unsigned.json()["code"] == -1102
