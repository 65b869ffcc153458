"""Binance's own Python connector (``binance-connector``, unmodified) against the local exchange.

Configuration only: ``base_url`` / ``stream_url`` pointed at the local exchange and the
key. The connector signs REST and WS API requests with its own code, so the local
exchange's signature checks are exercised by a client that shares nothing with ours.
"""

from __future__ import annotations

import json
import queue
from typing import Any

import pytest

from ccxtpro_sync.simulator import LocalExchange

from .conftest import Login

pytest.importorskip("binance.spot")
from binance.error import ClientError
from binance.spot import Spot
from binance.websocket.spot.websocket_api import SpotWebsocketAPIClient
from binance.websocket.spot.websocket_stream import SpotWebsocketStreamClient

WAIT = 10.0


def test_rest_market_data_and_signed_account(sim: LocalExchange, login: Login) -> None:
    rest = Spot(api_key=login.api_key, api_secret=login.secret, base_url=sim.urls("spot")["rest"])
    book = rest.depth("BTCUSDT", limit=5)
    assert len(book["bids"]) == 5 and float(book["bids"][0][0]) < float(book["asks"][0][0])
    assert rest.avg_price("BTCUSDT")["mins"] == 5
    account = rest.account()  # SIGNED: the connector's own HMAC over its own query string
    balances = {b["asset"]: b for b in account["balances"]}
    assert balances["USDT"]["free"].startswith("100000")
    wrong = Spot(api_key=login.api_key, api_secret="x" * 64, base_url=sim.urls("spot")["rest"])
    with pytest.raises(ClientError) as err:
        wrong.account()
    assert err.value.error_code == -1022


def test_stream_client_subscribes_live(sim: LocalExchange) -> None:
    """The connector connects to ``<base>/ws`` and SUBSCRIBEs, like ccxt.pro."""
    frames: queue.Queue[Any] = queue.Queue()
    client = SpotWebsocketStreamClient(
        stream_url=sim.urls("spot")["ws"], on_message=lambda _, msg: frames.put(json.loads(msg))
    )
    try:
        client.trade(symbol="btcusdt")
        while True:
            frame = frames.get(timeout=WAIT)
            if frame.get("e") == "trade":
                break
            assert frame.get("result") is None and "id" in frame  # the SUBSCRIBE reply
    finally:
        client.stop()
    assert frame["s"] == "BTCUSDT" and float(frame["p"]) > 0


class Replies:
    """The WS API client's answers by request id."""

    def __init__(self) -> None:
        self.frames: queue.Queue[Any] = queue.Queue()
        self.by_id: dict[Any, Any] = {}

    def on_message(self, _: Any, message: str) -> None:
        self.frames.put(json.loads(message))

    def get(self, req_id: str) -> Any:
        while req_id not in self.by_id:
            frame = self.frames.get(timeout=WAIT)
            self.by_id[frame.get("id")] = frame
        return self.by_id.pop(req_id)


def test_ws_api_market_data_and_orders(sim: LocalExchange, login: Login) -> None:
    replies = Replies()
    api = SpotWebsocketAPIClient(
        stream_url=sim.urls("spot")["ws_api"],
        api_key=login.api_key,
        api_secret=login.secret,
        on_message=replies.on_message,
    )
    try:
        api.order_book(symbol="BTCUSDT", limit=5, id="depth")
        api.avg_price(symbol="BTCUSDT", id="avg")
        book = replies.get("depth")
        assert book["status"] == 200, book
        assert len(book["result"]["bids"]) == 5
        assert replies.get("avg")["result"]["mins"] == 5
        bid = float(book["result"]["bids"][0][0])
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
        price = round(bid * 0.9, 2)
        api.new_order_test(**order, quantity=0.01, price=price, id="test")
        assert replies.get("test")["result"] == {}
        api.new_order(**order, quantity=0.01, price=price, id="place")
        placed = replies.get("place")
        assert placed["status"] == 200, placed
        order_id = placed["result"]["orderId"]
        api.cancel_order(symbol="BTCUSDT", orderId=order_id, id="cancel")
        cancelled = replies.get("cancel")
        assert cancelled["status"] == 200 and cancelled["result"]["status"] == "CANCELED"
        api.account(id="account")
        assert replies.get("account")["result"]["accountType"] == "SPOT"
    finally:
        api.stop()
    (only,) = sim.orders(login.api_key, "spot")
    assert only["orderId"] == order_id and only["status"] == "CANCELED"
