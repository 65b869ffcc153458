"""Real third-party clients, unmodified, against the local exchange.

Only their configuration is touched: base URLs pointed at the local exchange and API
keys. Each client's own URL layout, signing and parsing run as they would against
Binance, so a simulator that differs from Binance's documented behaviour fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ccxtpro_sync.simulator import LocalExchange

API_KEY = "C0mpatKey" + "k" * 55
SECRET = "C0mpatSecret" + "s" * 52


@dataclass(frozen=True)
class Login:
    api_key: str
    secret: str


@pytest.fixture
def sim() -> Iterator[LocalExchange]:
    """A self-publishing local exchange (fast ticks) with one funded HMAC account."""
    exchange = LocalExchange(seed=11, tick_interval=0.01, speed=10).start()
    exchange.add_account(
        api_key=API_KEY,
        secret=SECRET,
        balances={"USDT": 100_000, "BTC": 2},
        usdm_balances={"USDT": 100_000},
    )
    try:
        yield exchange
    finally:
        exchange.close()


@pytest.fixture
def login() -> Login:
    return Login(API_KEY, SECRET)
