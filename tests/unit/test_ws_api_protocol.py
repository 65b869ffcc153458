"""The Binance WS API protocol, endpoints and user-data state, driven with plain data."""

import json
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from ccxtpro_sync._core.events import Policy
from ccxtpro_sync._credentials import Credentials
from ccxtpro_sync._exceptions import (
    AuthenticationError,
    BadRequest,
    InsufficientFunds,
    InvalidOrder,
    IPBanned,
    NotSupported,
    ProtocolError,
)
from ccxtpro_sync._exchanges.binance import ws_api_requests as ws_requests
from ccxtpro_sync._exchanges.binance.environments import (
    Endpoints,
    endpoints,
    route_for_stream,
)
from ccxtpro_sync._exchanges.binance.markets import Markets
from ccxtpro_sync._exchanges.binance.precision import (
    amount_to_precision,
    cost_to_precision,
    price_to_precision,
)
from ccxtpro_sync._exchanges.binance.signing import verify_ws_api_request
from ccxtpro_sync._exchanges.binance.user_data import (
    ListenKeyAction,
    ListenKeyTimer,
    UserDataState,
)
from ccxtpro_sync._exchanges.binance.ws_api import USER_DATA_SUBSCRIBED, BinanceWsApiProtocol
from ccxtpro_sync._exchanges.binance.ws_api_requests import new_order_params
from ccxtpro_sync._structures import Balance, Balances, Order

from .test_private_parsers import EXECUTION_NEW, spot_market, usdm_market

NOW = 1_700_000_000.0  # seconds, the injected wall clock


def clock():
    return NOW


def sent(frame):
    return json.loads(frame)


def reply(request_id, result=None, *, status=200, error=None, rate_limits=None):
    body = {"id": request_id, "status": status}
    if error is not None:
        body["error"] = error
    else:
        body["result"] = result if result is not None else {}
    if rate_limits is not None:
        body["rateLimits"] = rate_limits
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def ed_creds():
    return Credentials("EDKEY0123456789", private_key=ed25519.Ed25519PrivateKey.generate())


@pytest.fixture
def hmac_creds():
    return Credentials("HMACKEY0123456789", secret="secret")


def spot_protocol(creds=None, **kwargs):
    markets = Markets([spot_market()], "spot")
    user_data = UserDataState(markets)
    protocol = BinanceWsApiProtocol(
        endpoints("prod", "spot"), creds, markets=markets, user_data=user_data, clock=clock,
        **kwargs,
    )  # fmt: skip
    return protocol


# ------------------------------------------------------------------ environments


def test_endpoints_table_and_errors():
    spot = endpoints("prod", "spot")
    assert spot.ws_api == "wss://ws-api.binance.com:443/ws-api/v3"
    assert spot.stream_base() == "wss://stream.binance.com:9443"
    assert endpoints("testnet", "spot").rest == "https://testnet.binance.vision"
    assert endpoints("demo", "spot").ws_api == "wss://demo-ws-api.binance.com/ws-api/v3"
    usdm = endpoints("prod", "usdm")
    assert usdm.stream_base("market") == "wss://fstream.binance.com/market"
    assert usdm.listen_key_path == "/fapi/v1/listenKey"
    with pytest.raises(BadRequest):
        usdm.stream_base()  # unrouted USD-M only sees /public: refuse
    assert endpoints("testnet", "coinm").ws_api == "wss://testnet.binancefuture.com/ws-dapi/v1"
    with pytest.raises(NotSupported):
        endpoints("demo", "coinm")
    demo_usdm = endpoints("demo", "usdm")
    assert demo_usdm.rest == "https://demo-fapi.binance.com"
    with pytest.raises(NotSupported):
        demo_usdm.require("ws_api")
    assert demo_usdm.replace(ws="wss://x").stream_base("public") == "wss://x/public"
    for bad in (("staging", "spot"), ("prod", "options")):
        with pytest.raises(BadRequest):
            endpoints(*bad)
    with pytest.raises(BadRequest):
        endpoints("local", "spot")
    with pytest.raises(NotSupported):
        _ = spot.listen_key_path


def test_local_endpoints_from_the_local_exchange_mapping():
    local = Endpoints.from_urls(
        "usdm",
        {"ws": "ws://127.0.0.1:9/usdm/", "ws_api": "ws://127.0.0.1:9/usdm/ws-fapi/v1",
         "rest": "http://127.0.0.1:9/usdm"},
    )  # fmt: skip
    assert local.environment == "local" and local.routed
    assert local.stream_base("private") == "ws://127.0.0.1:9/usdm/private"
    with pytest.raises(BadRequest):
        Endpoints.from_urls("spot", {"ws": "x"})


def test_route_for_stream():
    assert route_for_stream("btcusdt@depth@100ms") == "public"
    assert route_for_stream("btcusdt@depth20") == "public"
    assert route_for_stream("!bookTicker") == "public"
    assert route_for_stream("btcusdt@aggTrade") == "market"
    assert route_for_stream("!markPrice@arr@1s") == "market"


# ------------------------------------------------------------------ precision


def test_precision_formatting():
    market = spot_market()  # price tick 0.000001, amount step 0.0001
    assert amount_to_precision(market, 1.23456789) == "1.2345"
    assert amount_to_precision(market, Decimal("2")) == "2"  # no padding, as the CCXT helper
    assert price_to_precision(market, 0.10264449) == "0.102644"
    assert price_to_precision(market, "0.1026445") == "0.102645"
    assert cost_to_precision(market, "12.3456789") == "12.345678"  # truncated to the tick
    with pytest.raises(InvalidOrder):
        amount_to_precision(market, 0.00001)
    with pytest.raises(BadRequest):
        price_to_precision(market, "abc")
    with pytest.raises(BadRequest):
        amount_to_precision(market, float("nan"))


def test_a_market_buy_by_cost_is_truncated_never_rounded_up():
    """``quoteOrderQty`` is money the user spends: half a tick more than asked is not theirs."""
    market = spot_market()  # price tick 0.000001
    params = new_order_params(market, "market", "buy", None, None, {"cost": "10.0000009"})
    assert params["quoteOrderQty"] == "10"


# ------------------------------------------------------------------ signing and resume


def test_hmac_without_user_data_is_ready_at_once_and_signs_each_request(hmac_creds):
    protocol = spot_protocol(hmac_creds, recv_window=5000)
    protocol.set_time_offset(250)
    opened = protocol.on_open(0.0)
    assert opened.ready and opened.outgoing == []
    request_id, frame = protocol.send(
        ws_requests.create_order(protocol.context, "ETH/BTC", "limit", "buy", 1.23456, 0.1026441)
    )
    message = sent(frame)
    assert message["id"] == request_id and message["method"] == "order.place"
    params = message["params"]
    assert params["quantity"] == "1.2345" and params["price"] == "0.102644"
    assert params["timeInForce"] == "GTC" and params["type"] == "LIMIT"
    assert params["timestamp"] == int(NOW * 1000 + 250) and params["recvWindow"] == 5000
    assert params["apiKey"] == hmac_creds.api_key
    verify_ws_api_request(params, hmac_creds.verify_key())


def test_ed25519_resume_sequence_logon_then_subscribe_then_ready(ed_creds):
    protocol = spot_protocol(ed_creds)
    assert protocol.want_user_data() == ([], [])  # offline: recorded for the resume
    opened = protocol.on_open(0.0)
    assert not opened.ready
    [logon] = [sent(f) for f in opened.outgoing]
    assert logon["method"] == "session.logon"
    assert set(logon["params"]) == {"apiKey", "timestamp", "signature"}
    verify_ws_api_request(logon["params"], ed_creds.verify_key())
    logged = protocol.receive(
        reply(logon["id"], {"apiKey": ed_creds.api_key, "serverTime": int(NOW * 1000) + 40}), 1.0
    )
    assert protocol.logged_on and not logged.ready
    assert protocol.time_offset_ms == pytest.approx(40)
    [subscribe] = [sent(f) for f in logged.outgoing]
    assert subscribe["method"] == "userDataStream.subscribe" and "params" not in subscribe
    done = protocol.receive(reply(subscribe["id"], {"subscriptionId": 0}), 1.0)
    assert done.ready and protocol.subscription_id == 0
    assert [d.message_hash for d in done.deliveries] == [USER_DATA_SUBSCRIBED]
    # logged on: requests carry a timestamp but neither apiKey nor signature
    _, frame = protocol.send(ws_requests.fetch_order(protocol.context, "42", "ETH/BTC"))
    params = sent(frame)["params"]
    assert params == {"symbol": "ETHBTC", "orderId": 42, "timestamp": params["timestamp"]}
    # a reconnect forgets the session and logs on again before anything else
    protocol.on_close()
    again = protocol.on_open(5.0)
    assert sent(again.outgoing[0])["method"] == "session.logon" and not protocol.logged_on


def test_hmac_user_data_uses_subscribe_signature(hmac_creds):
    protocol = spot_protocol(hmac_creds)
    protocol.want_user_data()
    opened = protocol.on_open(0.0)
    [frame] = [sent(f) for f in opened.outgoing]
    assert frame["method"] == "userDataStream.subscribe.signature"
    verify_ws_api_request(frame["params"], hmac_creds.verify_key())
    assert protocol.receive(reply(frame["id"], {"subscriptionId": 3}), 0).ready
    with pytest.raises(NotSupported):
        BinanceWsApiProtocol(endpoints("prod", "spot"), hmac_creds, session_logon=True)


def test_failed_logon_falls_back_to_per_request_signatures(ed_creds):
    protocol = spot_protocol(ed_creds)
    protocol.want_user_data()
    logon = sent(protocol.on_open(0).outgoing[0])
    error = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    failed = protocol.receive(reply(logon["id"], status=401, error=error), 0)
    assert isinstance(failed.responses[0].error, AuthenticationError)
    assert isinstance(failed.errors[0], AuthenticationError)
    [subscribe] = [sent(f) for f in failed.outgoing]
    assert subscribe["method"] == "userDataStream.subscribe.signature"
    refused = protocol.receive(reply(subscribe["id"], status=401, error=error), 0)
    assert refused.ready  # carry on rather than hang; user-data waiters fail
    assert {h for h, _ in refused.rejections} >= {"orders", "balance", "myTrades"}


def test_futures_never_log_on_and_have_no_ws_user_data(ed_creds):
    markets = Markets([usdm_market()], "usdm")
    protocol = BinanceWsApiProtocol(
        endpoints("prod", "usdm"), ed_creds, markets=markets, clock=clock
    )
    assert protocol.on_open(0).ready
    assert protocol.url() == "wss://ws-fapi.binance.com/ws-fapi/v1"
    with pytest.raises(NotSupported):
        protocol.want_user_data()
    with pytest.raises(NotSupported):
        protocol.send(ws_requests.cancel_all_orders(protocol.context, "BTC/USDT:USDT"))
    _, frame = protocol.send(
        ws_requests.create_order(
            protocol.context,
            "BTC/USDT:USDT",
            "limit",
            "sell",
            0.0015,
            43187.04,
            {"postOnly": True, "reduceOnly": True},
        )
    )
    params = sent(frame)["params"]
    assert params["timeInForce"] == "GTX" and params["reduceOnly"] == "true"
    assert params["quantity"] == "0.001" and params["price"] == "43187"
    assert params["newOrderRespType"] == "RESULT" and "signature" in params
    verify_ws_api_request(params, ed_creds.verify_key())
    _, modify = protocol.send(
        ws_requests.edit_order(
            protocol.context, "7", "BTC/USDT:USDT", "limit", "sell", 0.002, 43000
        )
    )
    assert sent(modify)["method"] == "order.modify"
    assert sent(modify)["params"]["orderId"] == 7
    _, balance = protocol.send(ws_requests.fetch_balance(protocol.context))
    assert sent(balance)["method"] == "v2/account.balance"


def test_spot_edit_uses_amend_or_cancel_replace(hmac_creds):
    protocol = spot_protocol(hmac_creds)
    protocol.on_open(0)
    _, amend = protocol.send(
        ws_requests.edit_order(protocol.context, "5", "ETH/BTC", "limit", "buy", 0.5)
    )
    assert sent(amend)["method"] == "order.amend.keepPriority"
    assert sent(amend)["params"]["newQty"] == "0.5"
    _, replace = protocol.send(
        ws_requests.edit_order(protocol.context, "5", "ETH/BTC", "limit", "buy", 0.5, 0.1)
    )
    message = sent(replace)
    assert message["method"] == "order.cancelReplace"
    assert message["params"]["cancelOrderId"] == 5
    assert message["params"]["cancelReplaceMode"] == "STOP_ON_FAILURE"
    _, maker = protocol.send(
        ws_requests.create_order(
            protocol.context, "ETH/BTC", "limit", "buy", 1, 0.1, {"postOnly": True}
        )
    )
    assert sent(maker)["params"]["type"] == "LIMIT_MAKER"
    assert "timeInForce" not in sent(maker)["params"]


# ------------------------------------------------------------------ responses


RATE_LIMITS = [
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50, "count": 13},
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000,
     "count": 322},
]  # fmt: skip


def test_results_are_parsed_and_tracked_errors_typed_rate_limits_kept(hmac_creds):
    protocol = spot_protocol(hmac_creds)
    protocol.on_open(0)
    request_id, _ = protocol.send(
        ws_requests.create_order(protocol.context, "ETH/BTC", "limit", "buy", 1, 0.1)
    )
    result = {
        "symbol": "ETHBTC", "orderId": 9, "orderListId": -1, "clientOrderId": "c9",
        "transactTime": 1, "price": "0.10000000", "origQty": "1.00000000",
        "executedQty": "0.00000000", "cummulativeQuoteQty": "0.00000000", "status": "NEW",
        "timeInForce": "GTC", "type": "LIMIT", "side": "BUY", "fills": [],
    }  # fmt: skip
    inbound = protocol.receive(reply(request_id, result, rate_limits=RATE_LIMITS), 0)
    order = inbound.responses[0].result
    assert isinstance(order, Order) and order.status == "open" and order.amount == 1.0
    assert protocol.user_data.orders["9"] is order
    assert len(protocol.rate_limits) == 2
    request_id, _ = protocol.send(
        ws_requests.create_order(protocol.context, "ETH/BTC", "limit", "buy", 1000, 0.1)
    )
    later = [dict(RATE_LIMITS[0], count=14)]
    error = {"code": -2010, "msg": "Account has insufficient balance for requested action."}
    failed = protocol.receive(reply(request_id, status=400, error=error, rate_limits=later), 0)
    assert isinstance(failed.responses[0].error, InsufficientFunds)
    assert "order.place" in str(failed.responses[0].error)
    counts = {(r.rateLimitType, r.interval): r.count for r in protocol.rate_limits}
    assert counts == {("ORDERS", "SECOND"): 14, ("REQUEST_WEIGHT", "MINUTE"): 322}


def test_ip_ban_sets_retry_after_and_blocked_until(hmac_creds):
    protocol = spot_protocol(hmac_creds)
    protocol.on_open(0)
    request_id, _ = protocol.encode_request("ping", None)
    ban = {
        "code": -1003,
        "msg": "Way too much request weight used; IP banned until 1659146400000.",
        "data": {"serverTime": 1659142907531, "retryAfter": 1659146400000},
    }
    inbound = protocol.receive(reply(request_id, status=418, error=ban), 100.0)
    error = inbound.responses[0].error
    assert isinstance(error, IPBanned) and error.retry_after == pytest.approx(3492.469)
    assert protocol.blocked_until == pytest.approx(100 + 3492.469)


def test_time_response_syncs_the_offset_and_ids_can_be_strings():
    protocol = spot_protocol(string_ids=True)
    protocol.on_open(0)
    request_id, frame = protocol.encode_request("time", None)
    assert isinstance(request_id, str) and sent(frame) == {"id": request_id, "method": "time"}
    protocol.receive(reply(request_id, {"serverTime": int(NOW * 1000) - 1500}), 0)
    assert protocol.time_offset_ms == pytest.approx(-1500)
    with pytest.raises(AuthenticationError):
        protocol.encode_request("account.status", {})


def test_user_data_events_shutdown_and_termination(ed_creds):
    protocol = spot_protocol(ed_creds)
    protocol.want_user_data()
    logon = sent(protocol.on_open(0).outgoing[0])
    subscribe = sent(protocol.receive(reply(logon["id"], {}), 0).outgoing[0])
    protocol.receive(reply(subscribe["id"], {"subscriptionId": 0}), 0)
    trade = dict(EXECUTION_NEW, x="TRADE", X="FILLED", l="1", z="1", L="0.1", Z="0.1", t=5)
    inbound = protocol.receive(json.dumps({"subscriptionId": 0, "event": trade}).encode(), 0)
    hashes = [d.message_hash for d in inbound.deliveries]
    assert hashes == ["orders", "orders:ETH/BTC", "myTrades", "myTrades:ETH/BTC"]
    assert all(d.policy is Policy.APPEND for d in inbound.deliveries)
    assert inbound.deliveries[0].value[0].status == "closed"
    # unknown events are tolerated, malformed known ones reported
    quiet = protocol.receive(b'{"subscriptionId":0,"event":{"e":"somethingNew","E":1}}', 0)
    assert quiet.deliveries == [] and quiet.errors == []
    bad = protocol.receive(b'{"subscriptionId":0,"event":{"e":"executionReport"}}', 0)
    assert isinstance(bad.errors[0], ProtocolError)
    # the stream ended while still wanted: subscribe again at once
    ended = protocol.receive(
        b'{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1728973001334}}', 0
    )
    [again] = [sent(f) for f in ended.outgoing]
    assert again["method"] == "userDataStream.subscribe" and protocol.subscription_id is None
    renewed = protocol.receive(reply(again["id"], {"subscriptionId": 1}), 0)
    assert renewed.deliveries[0].message_hash == USER_DATA_SUBSCRIBED
    # unsubscribing on purpose does not resubscribe
    _, frames = protocol.want_user_data(False)
    assert sent(frames[0])["params"] == {"subscriptionId": 1}
    quiet_end = protocol.receive(
        b'{"subscriptionId":1,"event":{"e":"eventStreamTerminated","E":1}}', 0
    )
    assert quiet_end.outgoing == []
    shutdown = protocol.receive(b'{"event":{"e":"serverShutdown","E":1770123456789}}', 0)
    assert shutdown.reconnect_reason


def test_server_shutdown_asks_for_a_rotation_when_one_is_arranged(hmac_creds):
    protocol = spot_protocol(hmac_creds)
    protocol.on_open(0)
    notice = b'{"event":{"e":"serverShutdown","E":1770123456789}}'
    asked: list[bool] = []
    protocol.on_server_shutdown = lambda: asked.append(True) or True
    rotating = protocol.receive(notice, 0)
    assert asked == [True] and not rotating.reconnect_reason  # the session lives on
    protocol.on_server_shutdown = lambda: False  # e.g. the client is closing
    assert protocol.receive(notice, 0).reconnect_reason


def test_malformed_frames_are_reported(hmac_creds):
    protocol = spot_protocol(hmac_creds)
    protocol.on_open(0)
    assert isinstance(protocol.receive(b"{", 0).errors[0], ProtocolError)
    assert isinstance(protocol.receive(b'{"hello":1}', 0).errors[0], ProtocolError)
    revoked = protocol.receive(
        b'{"id":null,"status":401,"error":{"code":-2015,"msg":"Invalid API-key."}}', 0
    )
    assert isinstance(revoked.errors[0], AuthenticationError)
    request_id, _ = protocol.send(ws_requests.fetch_balance(protocol.context))
    broken = protocol.receive(reply(request_id, {"balances": "nope"}), 0)
    assert isinstance(broken.responses[0].error, ProtocolError)


# ------------------------------------------------------------------ reconcile


def order(order_id, status="open", filled=0.0, amount=1.0, ts=1, price=0.1):
    return Order(
        id=order_id, symbol="ETH/BTC", status=status, filled=filled, amount=amount,
        remaining=amount - filled, lastUpdateTimestamp=ts, price=price,
    )  # fmt: skip


def state():
    return UserDataState(Markets([spot_market()], "spot"))


def delivered_orders(deliveries):
    return [(o.id, o.status, o.filled) for d in deliveries if d.message_hash == "orders"
            for o in d.value]  # fmt: skip


def test_first_reconcile_only_seeds():
    s = state()
    result = s.reconcile([order("1"), order("2")], Balances())
    assert result.deliveries == [] and result.missing == []
    assert set(s.orders) == {"1", "2"}


def test_first_reconcile_still_reports_orders_known_from_live_events():
    # The subscription's first reconcile can come after a gap (it failed, the socket
    # dropped): an order seen open in a live event and filled meanwhile is reported.
    s = state()
    s.track(order("1"))
    result = s.reconcile([order("2")])
    assert result.deliveries == [] and result.missing == [("ETH/BTC", "1")]
    final = s.resolve([order("1", "closed", 1.0, ts=9)])
    assert delivered_orders(final) == [("1", "closed", 1.0)]


def test_reconcile_after_gap_emits_every_change_exactly_once():
    s = state()
    s.reconcile([order("1"), order("2"), order("3"), order("4")])
    # during the gap: 1 untouched, 2 partially filled, 3 and 4 left the open list,
    # 5 was placed elsewhere
    plan = s.reconcile(
        [order("1"), order("2", filled=0.4, ts=5), order("5", ts=6)],
        Balances(balances={"BTC": Balance(free=1.0, used=0.0, total=1.0)}),
    )
    assert delivered_orders(plan.deliveries) == [("2", "open", 0.4), ("5", "open", 0.0)]
    assert [d.message_hash for d in plan.deliveries if d.message_hash == "balance"] == ["balance"]
    assert sorted(plan.missing) == [("ETH/BTC", "3"), ("ETH/BTC", "4")]
    final = s.resolve([order("3", "closed", 1.0, ts=7), order("4", "canceled", 0.0, ts=8)])
    assert delivered_orders(final) == [("3", "closed", 1.0), ("4", "canceled", 0.0)]
    assert set(s.orders) == {"1", "2", "5"}
    # nothing changed since: a second reconcile is silent; finished orders stay finished
    again = s.reconcile([order("1"), order("2", filled=0.4, ts=5), order("5", ts=6)])
    assert again.deliveries == [] and again.missing == []
    assert s.resolve([order("3", "closed", 1.0, ts=7)]) == []


def test_reconcile_never_moves_an_order_backwards():
    s = state()
    s.reconcile([order("1")])
    # a live event after resubscribing is newer than the snapshot fetched next
    live = dict(EXECUTION_NEW, i=1, x="TRADE", X="PARTIALLY_FILLED", l="0.6", z="0.6",
                L="0.1", Z="0.06", T=50, O=1)  # fmt: skip
    from ccxtpro_sync._exchanges.binance.private_wire import decode_event

    s.handle(decode_event(json.dumps(live).encode()))
    stale = s.reconcile([order("1", filled=0.2, ts=10)])
    assert stale.deliveries == []
    assert s.orders["1"].filled == 0.6


def test_reconcile_scoped_to_symbols_and_not_found():
    s = state()
    s.reconcile([order("1")])
    scoped = s.reconcile([], symbols=["BTC/USDT"])
    assert scoped.missing == []  # ETH/BTC orders were out of scope
    plan = s.reconcile([])
    assert plan.missing == [("ETH/BTC", "1")]
    assert s.resolve([], not_found=["1"]) == [] and s.orders == {}


def test_reconcile_detects_amendments_and_balance_changes():
    s = state()
    snapshot = Balances(balances={"BTC": Balance(free=1.0, used=0.0, total=1.0)})
    s.reconcile([order("1", amount=2.0)], snapshot)
    same = s.reconcile([order("1", amount=2.0)], snapshot)
    assert same.deliveries == []
    amended = s.reconcile([order("1", amount=1.5, ts=9)], snapshot)
    assert delivered_orders(amended.deliveries) == [("1", "open", 0.0)]


def test_track_placed_orders_so_a_gap_right_after_placing_is_reconciled():
    s = state()
    s.reconcile([])
    s.track(order("9"))
    plan = s.reconcile([])
    assert plan.missing == [("ETH/BTC", "9")]


def test_balance_events_rebuild_balances():
    s = state()
    s.reconcile([], Balances(balances={"BTC": Balance(free=1.0, used=0.5, total=1.5)}))
    from ccxtpro_sync._exchanges.binance.private_wire import decode_event

    result = s.handle(decode_event(
        b'{"e":"balanceUpdate","E":2,"a":"BTC","d":"0.25","T":2}'))  # fmt: skip
    [delivery] = result.deliveries
    assert delivery.message_hash == "balance" and delivery.policy is Policy.LATEST
    assert delivery.value["BTC"].free == 1.25 and delivery.value["BTC"].total == 1.75
    assert s.handle(decode_event(b'{"e":"listenKeyExpired","E":"5"}')).listen_key_expired
    assert s.handle(decode_event(b'{"e":"eventStreamTerminated","E":5}')).terminated
    unknown_symbol = dict(EXECUTION_NEW, s="NOPE")
    assert s.handle(decode_event(json.dumps(unknown_symbol).encode())).errors


def test_futures_account_update_positions():
    s = UserDataState(Markets([usdm_market()], "usdm"))
    from ccxtpro_sync._exchanges.binance.private_wire import decode_event

    event = {"e": "ACCOUNT_UPDATE", "E": 10, "T": 10, "a": {"m": "ORDER", "B": [],
             "P": [{"s": "BTCUSDT", "pa": "0.5", "ep": "100", "cr": "0", "up": "0",
                    "mt": "cross", "iw": "0", "ps": "BOTH"}]}}  # fmt: skip
    result = s.handle(decode_event(json.dumps(event).encode()))
    hashes = [d.message_hash for d in result.deliveries]
    assert hashes == ["positions", "positions:BTC/USDT:USDT"]
    assert result.deliveries[0].value[0].side == "long"


# ------------------------------------------------------------------ listenKey timing


def test_listen_key_lifecycle():
    timer = ListenKeyTimer(keepalive_every=1800)
    assert timer.due(0) is ListenKeyAction.NONE  # not wanted yet
    assert timer.start() is ListenKeyAction.CREATE
    timer.created("KEY", now=0)
    assert timer.due(1799) is ListenKeyAction.NONE
    assert timer.next_due() == 1800
    assert timer.due(1800) is ListenKeyAction.KEEPALIVE
    timer.kept_alive(1800)
    assert timer.due(3000) is ListenKeyAction.NONE
    assert timer.on_error(-1021) is ListenKeyAction.NONE  # transient: retry later
    assert timer.on_error(-1125) is ListenKeyAction.CREATE and timer.listen_key is None
    assert timer.due(3001) is ListenKeyAction.CREATE
    timer.created("KEY2", now=3001)
    assert timer.on_expired() is ListenKeyAction.CREATE
    timer.created("KEY3", now=4000)
    assert timer.stop() is ListenKeyAction.CLOSE
    timer.closed()
    assert timer.due(10_000) is ListenKeyAction.NONE
    with pytest.raises(ValueError):
        ListenKeyTimer(0)


@pytest.mark.parametrize("price", ["abc", "1,5", "NaN", "1e400"])
def test_an_order_reply_with_a_garbled_number_is_an_error_response(hmac_creds, price):
    """Any number text that is not a finite number fails that reply with
    ``ProtocolError`` (which order calls resolve by client order id); "abc" used to
    escape ``receive`` as a bare ``ValueError``, losing the response, so the caller
    sat out its whole timeout."""
    protocol = spot_protocol(hmac_creds)
    protocol.on_open(0)
    request_id, _ = protocol.send(
        ws_requests.create_order(protocol.context, "ETH/BTC", "limit", "buy", 1, 0.1)
    )
    result = {
        "symbol": "ETHBTC", "orderId": 9, "orderListId": -1, "clientOrderId": "c9",
        "transactTime": 1, "price": price, "origQty": "1.00000000",
        "executedQty": "0.00000000", "cummulativeQuoteQty": "0.00000000", "status": "NEW",
        "timeInForce": "GTC", "type": "LIMIT", "side": "BUY", "fills": [],
    }  # fmt: skip
    inbound = protocol.receive(reply(request_id, result), 0)
    assert [r.request_id for r in inbound.responses] == [request_id]
    assert isinstance(inbound.responses[0].error, ProtocolError)
