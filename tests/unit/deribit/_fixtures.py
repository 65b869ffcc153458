"""Loading the documented Deribit payloads in ``tests/fixtures/deribit/``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from ccxtpro_sync._exchanges.deribit.markets import DeribitMarkets, parse_markets

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "deribit"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def load(name: str) -> Any:
    return json.loads(raw(name))


def perpetual() -> dict[str, Any]:
    """The documented BTC-PERPETUAL instrument (reference §5)."""
    item: dict[str, Any] = load("get_instruments_result.json")["result"][0]
    return item


def instrument(**changes: Any) -> dict[str, Any]:
    """A copy of the documented instrument with fields changed."""
    item = copy.deepcopy(perpetual())
    item.update(changes)
    return item


# 2025-06-27 08:00 UTC, the expiry of Deribit's June 2025 quarterly contracts.
JUN27 = 1751011200000

LINEAR_PERP = instrument(
    instrument_name="BTC_USDC-PERPETUAL",
    instrument_type="linear",
    quote_currency="USDC",
    counter_currency="USDC",
    settlement_currency="USDC",
    contract_size=0.001,
    min_trade_amount=0.001,
    tick_size=1,
)
ETH_PERP = instrument(
    instrument_name="ETH-PERPETUAL",
    base_currency="ETH",
    settlement_currency="ETH",
    min_trade_amount=1,
    tick_size=0.05,
    contract_size=1,
)
ALGO_PERP = instrument(
    instrument_name="ALGO_USDC-PERPETUAL",
    instrument_type="linear",
    base_currency="ALGO",
    quote_currency="USDC",
    counter_currency="USDC",
    settlement_currency="USDC",
    contract_size=1,
    min_trade_amount=1,
    tick_size=0.00001,
)
ETH_LINEAR = instrument(
    instrument_name="ETH_USDC-PERPETUAL",
    instrument_type="linear",
    base_currency="ETH",
    quote_currency="USDC",
    counter_currency="USDC",
    settlement_currency="USDC",
    contract_size=0.001,
    min_trade_amount=0.001,
    tick_size=0.05,
)
FUTURE = instrument(
    instrument_name="BTC-27JUN25", settlement_period="month", expiration_timestamp=JUN27
)
OPTION = instrument(
    instrument_name="BTC-27JUN25-70000-C",
    kind="option",
    settlement_period="month",
    expiration_timestamp=JUN27,
    quote_currency="BTC",
    counter_currency="USD",
    strike=70000.0,
    option_type="call",
    contract_size=1,
    min_trade_amount=0.1,
    tick_size=0.0001,
    tick_size_steps=[{"above_price": 0.005, "tick_size": 0.0005}],
)
LINEAR_OPTION = instrument(
    instrument_name="XRP_USDC-10APR26-1.35-P",
    kind="option",
    instrument_type="linear",
    base_currency="XRP",
    quote_currency="USDC",
    counter_currency="USDC",
    settlement_currency="USDC",
    settlement_period="week",
    expiration_timestamp=1775808000000,  # 2026-04-10 08:00 UTC
    strike=1.35,
    option_type="put",
)
SPOT = instrument(
    instrument_name="BTC_USDC",
    kind="spot",
    quote_currency="USDC",
    counter_currency="USDC",
    settlement_currency=None,
    settlement_period=None,
)


def markets() -> DeribitMarkets:
    return parse_markets(
        [perpetual(), LINEAR_PERP, ETH_PERP, ALGO_PERP, ETH_LINEAR, FUTURE, OPTION, LINEAR_OPTION]
    )
