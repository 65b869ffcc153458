"""Instruments → unified markets: CCXT symbols, precision, limits, filters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ccxtpro_sync._exceptions import BadSymbol, ProtocolError
from ccxtpro_sync._exchanges.deribit.markets import (
    instruments_requests,
    parse_market,
    parse_markets,
    price_tick,
)

from ._fixtures import (
    FUTURE,
    JUN27,
    LINEAR_OPTION,
    LINEAR_PERP,
    OPTION,
    SPOT,
    instrument,
    perpetual,
)


def test_documented_perpetual_is_an_inverse_swap() -> None:
    market = parse_market(perpetual())
    assert market is not None
    assert market.symbol == "BTC/USD:BTC"
    assert (market.id, market.base, market.quote, market.settle) == (
        "BTC-PERPETUAL",
        "BTC",
        "USD",
        "BTC",
    )
    assert market.type == "swap" and market.swap and not market.future
    assert market.inverse is True and market.linear is False and market.subType == "inverse"
    assert market.contractSize == 10
    assert market.precision.price == 0.5 and market.precision.amount == 10
    assert market.limits.amount.min == 10 and market.limits.leverage.max == 50
    assert market.taker == 0.0005 and market.maker == 0
    assert market.expiry is None  # the 3000-01-01 placeholder is not an expiry
    assert market.created == 1534167754000


@pytest.mark.parametrize(
    ("raw", "symbol", "kind"),
    [
        (FUTURE, "BTC/USD:BTC-250627", "future"),
        (OPTION, "BTC/USD:BTC-250627-70000-C", "option"),
        (LINEAR_PERP, "BTC/USDC:USDC", "swap"),
        (LINEAR_OPTION, "XRP/USDC:USDC-260410-1.35-P", "option"),
        (SPOT, "BTC/USDC", "spot"),
    ],
)
def test_ccxt_symbols(raw: dict[str, object], symbol: str, kind: str) -> None:
    market = parse_market(raw)
    assert market is not None
    assert market.symbol == symbol
    assert market.type == kind


def test_option_fields_and_quote_from_counter_currency() -> None:
    market = parse_market(OPTION)
    assert market is not None
    # quote_currency is BTC on inverse options; the unified quote is counter_currency.
    assert market.quote == "USD" and market.inverse is True
    assert market.strike == 70000 and market.optionType == "call"
    assert market.expiry == JUN27 and market.expiryDatetime == "2025-06-27T08:00:00.000Z"


def test_linear_perpetual_is_linear() -> None:
    market = parse_market(LINEAR_PERP)
    assert market is not None
    assert market.linear is True and market.inverse is False and market.contractSize == 0.001


def test_tick_size_steps() -> None:
    market = parse_market(OPTION)
    assert market is not None
    assert price_tick(market, 0.001) == 0.0001
    assert price_tick(market, 0.005) == 0.0001  # "above" is strict
    assert price_tick(market, 0.02) == 0.0005


def test_filters_expired_combos_and_other_settle_currencies() -> None:
    usdt = instrument(instrument_name="BTC_USDT-PERPETUAL", settlement_currency="USDT")
    combo = instrument(instrument_name="BTC-FS-27JUN25_PERP", kind="future_combo")
    inactive = instrument(instrument_name="BTC-28MAR25", is_active=False)
    markets = parse_markets([perpetual(), FUTURE, usdt, combo, inactive])
    assert markets.symbols == ["BTC/USD:BTC", "BTC/USD:BTC-250627"]
    later = parse_markets([perpetual(), FUTURE], now_ms=JUN27)
    assert later.symbols == ["BTC/USD:BTC"]  # expired by then


def test_lookup_and_bad_symbol() -> None:
    markets = parse_markets([perpetual(), LINEAR_PERP])
    assert markets.market("BTC/USD:BTC").id == "BTC-PERPETUAL"
    assert markets.market("BTC-PERPETUAL").symbol == "BTC/USD:BTC"
    assert markets.by_id("BTC_USDC-PERPETUAL").symbol == "BTC/USDC:USDC"
    assert "BTC/USDC:USDC" in markets and "ETH/USD:ETH" not in markets
    with pytest.raises(BadSymbol, match="did you mean 'BTC/USD:BTC'"):
        markets.market("BTC/USD:BTX")
    with pytest.raises(BadSymbol):
        markets.by_id("BTC-PERP")


def test_decimal_mode_and_malformed_entries() -> None:
    markets = parse_markets([perpetual()], number=Decimal)
    assert markets.market("BTC/USD:BTC").precision.price == Decimal("0.5")
    with pytest.raises(ProtocolError):
        parse_markets([instrument(tick_size="NaN")])
    with pytest.raises(ProtocolError):
        parse_markets([instrument(min_trade_amount=None)])
    with pytest.raises(ProtocolError):
        parse_markets([instrument(instrument_name="BTC-X-C", kind="option", strike=None)])


def test_instruments_requests_name_each_currency() -> None:
    assert instruments_requests() == [
        ("public/get_instruments", {"currency": c, "expired": False})
        for c in ("BTC", "ETH", "USDC")
    ]
