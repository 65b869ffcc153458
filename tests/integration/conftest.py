"""Fixtures of the integration tests: the test account the trading tests sign with
(the ``exchange`` fixture is the suite's, ``tests/conftest.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync.simulator import LocalExchange


@pytest.fixture
def account(exchange: LocalExchange) -> Any:
    """A fresh ed25519 test account on the local exchange."""
    return exchange.create_test_account("ed25519")
