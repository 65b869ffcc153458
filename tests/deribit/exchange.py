"""The local Deribit exchange as a module's ``ex`` fixture: each test module picks its
own seed and options (``ex = exchange_fixture(seed=6, ...)``), the start and close
live here once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ccxtpro_sync.simulator import LocalDeribit


def exchange_fixture(**options: Any) -> Any:
    """A function-scoped fixture named ``ex``: a started ``LocalDeribit(**options)``,
    closed after the test."""

    @pytest.fixture(name="ex")
    def ex() -> Iterator[LocalDeribit]:
        exchange = LocalDeribit(**options).start()
        try:
            yield exchange
        finally:
            exchange.close()

    return ex
