"""CCXT's exchange attributes on the three Binance clients, against the local exchange:
id, has, timeframes, markets_by_id, *_to_precision, milliseconds, iso8601."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import BadRequest, InvalidArgument, InvalidOrder, NotSupported
from ccxtpro_sync._exchanges.binance.surface import _method_name
from ccxtpro_sync.simulator import LocalExchange

KINDS = {
    "spot": (ccxtpro_sync.binance, "BTC/USDT", "binance"),
    "usdm": (ccxtpro_sync.binanceusdm, "BTC/USDT:USDT", "binanceusdm"),
    "coinm": (ccxtpro_sync.binancecoinm, "BTC/USD:BTC", "binancecoinm"),
}


def make(kind: type, exchange: LocalExchange, **config: Any) -> Any:
    return kind({"environment": "local", "local": exchange, "timeout": 10, **config})


@pytest.fixture(params=list(KINDS))
def client(request: pytest.FixtureRequest, exchange: LocalExchange) -> Iterator[Any]:
    kind, _, _ = KINDS[request.param]
    with make(kind, exchange) as c:
        yield c


def _symbol(client: Any) -> str:
    return KINDS[client.product][1]


def test_id_names_the_product(client: Any, exchange: LocalExchange) -> None:
    assert client.id == KINDS[client.product][2]
    with make(ccxtpro_sync.binance, exchange, options={"defaultType": "future"}) as usdm:
        assert usdm.id == "binanceusdm"


def test_has_claims_only_what_works(client: Any) -> None:
    has = client.has
    assert has["ws"] is True and has["watchTicker"] is True and has["watchOHLCV"] is True
    assert has["spot"] is (client.product == "spot") and has["swap"] is (client.product != "spot")
    assert set(has.values()) <= {True, False, "emulated"}
    for capability, value in has.items():
        if value and capability not in ("ws", "spot", "swap", "future"):
            assert callable(getattr(client, _method_name(capability))), capability
    futures_only = ["watchMarkPrice", "watchFundingRate", "watchLiquidations", "watchPositions"]
    if client.product == "spot":
        assert not any(has[c] for c in futures_only)
        with pytest.raises(NotSupported):
            client.watch_mark_price("BTC/USDT", timeout=1)
        assert has["fetchOpenOrdersWs"] is True
    else:
        assert all(has[c] for c in futures_only)
        assert has["fetchOpenOrdersWs"] is False and has["cancelAllOrdersWs"] is False


def test_has_follows_the_methods_that_exist(exchange: LocalExchange) -> None:
    class WithRest(ccxtpro_sync.binance):
        def fetch_ticker(self, symbol: str) -> None:
            """A REST method landing later flips its capability without editing a table."""

    with make(ccxtpro_sync.binance, exchange) as plain, make(WithRest, exchange) as rest:
        assert plain.has["fetchTicker"] is hasattr(plain, "fetch_ticker")
        assert rest.has["fetchTicker"] is True


def test_timeframes_per_product(client: Any) -> None:
    frames = client.timeframes
    assert frames["1m"] == "1m" and frames["1M"] == "1M" and "4h" in frames
    assert ("1s" in frames) is (client.product == "spot")
    if client.product != "spot":
        with pytest.raises(BadRequest, match="unknown timeframe '1s'"):
            client.watch_ohlcv(_symbol(client), "1s", timeout=1)
        assert client.connections() == []


def test_markets_by_id(client: Any) -> None:
    by_id = client.markets_by_id
    market = client.market(_symbol(client))
    assert by_id[market.id] == [market]
    assert sum(len(v) for v in by_id.values()) == len(client.markets)


def test_precision_on_spot(exchange: LocalExchange) -> None:
    with make(ccxtpro_sync.binance, exchange) as spot:
        # BTC/USDT on the local exchange: stepSize 0.00001, tickSize 0.01.
        assert spot.market("BTC/USDT").precision.price == 0.01
        assert spot.amount_to_precision("BTC/USDT", 0.123456789) == "0.12345"  # truncated
        assert spot.amount_to_precision("BTC/USDT", "1.999999") == "1.99999"
        assert spot.amount_to_precision("BTC/USDT", 2) == "2"
        assert spot.price_to_precision("BTC/USDT", 16602.255) == "16602.26"  # rounded
        assert spot.price_to_precision("BTC/USDT", 16602.254) == "16602.25"
        assert spot.price_to_precision("BTC/USDT", Decimal("100.10")) == "100.1"
        assert spot.price_to_precision("BTC/USDT", 0.1 + 0.2) == "0.3"  # no float noise
        assert spot.cost_to_precision("BTC/USDT", 12.3456) == "12.34"  # truncated to the tick
        with pytest.raises(InvalidOrder, match="amount"):
            spot.amount_to_precision("BTC/USDT", 0.000001)
        for bad in (float("nan"), float("inf"), "abc", None, True):
            with pytest.raises(InvalidArgument, match="price"):
                spot.price_to_precision("BTC/USDT", bad)


def test_precision_on_futures(exchange: LocalExchange) -> None:
    with make(ccxtpro_sync.binanceusdm, exchange) as usdm:
        assert usdm.amount_to_precision("BTC/USDT:USDT", 0.0129) == "0.012"  # step 0.001
        assert usdm.price_to_precision("BTC/USDT:USDT", 30000.06) == "30000.1"  # tick 0.1
    with make(ccxtpro_sync.binancecoinm, exchange) as coinm:
        assert coinm.amount_to_precision("BTC/USD:BTC", 3.7) == "3"  # whole contracts


def test_milliseconds_and_iso8601(client: Any) -> None:
    before = time.time_ns() // 1_000_000
    now = client.milliseconds()
    after = time.time_ns() // 1_000_000
    assert isinstance(now, int) and before <= now <= after
    assert client.iso8601(0) == "1970-01-01T00:00:00.000Z"
    assert client.iso8601(1672515782136) == "2022-12-31T19:43:02.136Z"
    assert client.iso8601(None) is None and client.iso8601(-1) is None
    assert ccxtpro_sync.binance.iso8601(1000) == "1970-01-01T00:00:01.000Z"
    with pytest.raises(InvalidArgument):
        client.iso8601("2023")
