"""An order's reply that no JSON decode can read still leaves a resolved outcome.

The order reaches the exchange; the reply the client gets instead is valid HTTP whose
body msgspec refuses with something other than its ``DecodeError``: a value nested
deeper than it recurses (``RecursionError``), or, in an error body, a number beyond a
float (``ValidationError``). Those escaped ``create_order`` untyped: the order was on
the book and the caller was told nothing about it. Now such a reply is a
``ProtocolError``, an unknown outcome, which the client resolves by looking the order
up (it is never sent twice). A relay on 127.0.0.1 in front of the local exchange
forwards the order and replaces its answer."""

from __future__ import annotations

import contextlib
import threading
from http.client import HTTPConnection
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .test_rest_hostile import Peer, Scripted

SPOT = "BTC/USDT"
DEEP = 5_000
NESTED = b"[" * DEEP + b"]" * DEEP


class ReplacingRelay:
    """A keep-alive relay to the local exchange that forwards the first ``POST`` order
    (or the first request to ``prefix``) and answers it with ``status`` and ``body``
    instead of the exchange's answer."""

    def __init__(
        self, upstream: tuple[str, int], status: str, body: bytes, prefix: str = "/api/v3/order?"
    ) -> None:
        self._upstream = upstream
        self._prefix = prefix
        self._status = status
        self._body = body
        self.replaced = threading.Event()
        self.api_key = ""
        self.server = Scripted(self._handle)

    def _handle(self, peer: Peer) -> None:
        upstream = HTTPConnection(*self._upstream, timeout=10)
        with contextlib.closing(upstream):
            while (request := peer.request()) is not None:
                method, target = request
                upstream.request(method, target, headers={"X-MBX-APIKEY": self.api_key})
                answer = upstream.getresponse()
                content = answer.read()
                order = method == "POST" or self._prefix != "/api/v3/order?"
                if order and target.startswith(self._prefix) and not self.replaced.is_set():
                    self.replaced.set()
                    peer.answer(self._body, status=self._status)
                    continue
                peer.answer(content, status=f"{answer.status} {answer.reason}")


def _relayed(
    exchange: LocalExchange, status: str, body: bytes, prefix: str = "/api/v3/order?"
) -> tuple[Any, ReplacingRelay, dict[str, Any]]:
    """A test account, a relay in front of the local spot REST and a client config through it."""
    account: Any = exchange.create_test_account("ed25519")
    host, port = exchange.urls("spot")["rest"].removeprefix("http://").split(":")
    relay = ReplacingRelay((host, int(port)), status, body, prefix)
    relay.api_key = account.credentials.api_key
    config = {
        "environment": "local",
        "local": exchange,
        "credentials": account.credentials,
        "urls": {"rest": relay.server.url},
    }
    return account, relay, config


@pytest.mark.parametrize(
    ("status", "body"),
    [
        ("200 OK", b'{"symbol":"BTCUSDT","x":' + NESTED + b"}"),
        ("503 Service Unavailable", b'{"code":-1000,"msg":"x","x":' + NESTED + b"}"),
        ("503 Service Unavailable", b'{"code":-1000,"msg":"x","x":1e400}'),
    ],
    ids=["200-nested", "503-nested", "503-huge-number"],
)  # fmt: skip
def test_an_unreadable_order_reply_is_resolved_to_the_placed_order(
    exchange: LocalExchange, status: str, body: bytes
) -> None:
    account, relay, config = _relayed(exchange, status, body)
    try:
        with ccxtpro_sync.binance(config) as client:
            client.load_markets()
            price = round(client.fetch_ticker(SPOT)["last"] * 0.8, 2)
            order = client.create_order(SPOT, "limit", "buy", 0.01, price, timeout=10)
            assert order.status == "open"
            held = exchange.orders(account.account, "spot")
            assert [o["clientOrderId"] for o in held] == [order.clientOrderId]
    finally:
        relay.server.close()
    assert relay.replaced.is_set()
    posts = [t for _, m, t in relay.server.seen if m == "POST" and t.startswith("/api/v3/order?")]
    assert len(posts) == 1  # sent once


@pytest.mark.parametrize("call", ["fetch_ticker", "fetch_balance"])
def test_a_market_or_account_answer_nested_too_deep_is_a_protocol_error(
    exchange: LocalExchange, call: str
) -> None:
    prefix = {"fetch_ticker": "/api/v3/ticker", "fetch_balance": "/api/v3/account"}[call]
    _, relay, config = _relayed(exchange, "200 OK", b'{"x":' + NESTED + b"}", prefix)
    try:
        with ccxtpro_sync.binance(config) as client:
            client.load_markets()
            with pytest.raises(ccxtpro_sync.ProtocolError):
                client.fetch_ticker(SPOT) if call == "fetch_ticker" else client.fetch_balance()
            assert relay.replaced.is_set()
            # the next call is answered by the exchange again
            assert client.fetch_ticker(SPOT)["symbol"] == SPOT
    finally:
        relay.server.close()
