"""Structures from live streams behave like CCXT's dicts: ``in``, keys, ``dict(x)``,
``x["info"][<Binance key>]`` and JSON, on spot, USD-M and COIN-M against the local exchange."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

KINDS = {
    "spot": (ccxtpro_sync.binance, "BTC/USDT"),
    "usdm": (ccxtpro_sync.binanceusdm, "BTC/USDT:USDT"),
    "coinm": (ccxtpro_sync.binancecoinm, "BTC/USD:BTC"),
}


@pytest.fixture(params=list(KINDS))
def client(request: pytest.FixtureRequest, exchange: LocalExchange) -> Iterator[Any]:
    kind, _ = KINDS[request.param]
    config = {"environment": "local", "local": exchange, "timeout": 10, "numbers": "decimal"}
    with kind(config) as c:
        yield c


def _dict_like(x: Any) -> dict[str, Any]:
    keys = list(x)
    assert keys == list(x.keys()) and len(x) == len(keys)
    assert all(k in x for k in keys) and "no such key" not in x
    assert dict(x) == dict(x.items()) and list(dict(x).values()) == list(x.values())
    plain = x.to_dict()
    assert json.loads(json.dumps(plain)) == plain  # JSON-ready builtins
    assert json.loads(json.dumps(x, default=ccxtpro_sync.to_jsonable)) == plain
    return plain


def test_live_structures_are_dict_like(client: Any) -> None:
    symbol = KINDS[client.product][1]
    market = client.market(symbol)

    ticker = client.watch_ticker(symbol)
    plain = _dict_like(ticker)
    assert "last" in ticker and ticker["info"]["s"] == market.id
    assert ticker["info"]["c"] == plain["info"]["c"] == plain["last"]  # Decimal -> exact str
    assert not isinstance(ticker.info, dict)  # the attribute stays the wire struct, unconverted

    trades = client.watch_trades(symbol)
    trade = trades[-1]
    plain = _dict_like(trade)
    assert trade["info"]["a"] == int(trade["id"]) and plain["info"]["p"] == plain["price"]

    book = client.watch_order_book(symbol, 5)
    plain = _dict_like(book)
    assert "bids" in book and plain["bids"] and all(isinstance(p, str) for p, _ in plain["bids"])

    candles = client.watch_ohlcv(symbol, "1m")
    assert json.loads(json.dumps(candles, default=ccxtpro_sync.to_jsonable))[-1][0] == (
        candles[-1].timestamp
    )

    _dict_like(market)
    assert market["info"]["symbol"] == market.id  # markets keep the exchangeInfo entry


def test_futures_mark_price_info(exchange: LocalExchange) -> None:
    with ccxtpro_sync.binanceusdm({"environment": "local", "local": exchange}) as usdm:
        rate = usdm.watch_funding_rate("BTC/USDT:USDT", timeout=10)
        plain = _dict_like(rate)
        assert rate["info"]["e"] == "markPriceUpdate" and plain["info"]["r"] == rate["info"]["r"]


def test_private_order_and_balance(exchange: LocalExchange) -> None:
    account = exchange.create_test_account("ed25519")
    config = {"environment": "local", "local": exchange, "credentials": account.credentials}
    with ccxtpro_sync.binance({**config, "timeout": 10}) as spot:
        order = spot.create_order_ws("BTC/USDT", "market", "buy", 0.01)
        plain = _dict_like(order)
        assert order["info"]["orderId"] == int(order["id"]) and plain["symbol"] == "BTC/USDT"
        assert all(isinstance(t, dict) for t in plain["trades"])
        balances = spot.fetch_balance_ws()
        assert "BTC" in balances and "free" in balances and "total" in balances["BTC"]
        out = json.loads(json.dumps(balances, default=ccxtpro_sync.to_jsonable))
        assert out["BTC"]["total"] == out["total"]["BTC"]
        assert isinstance(out["info"], dict) and "balances" in out["info"]
