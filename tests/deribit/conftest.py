"""Fixtures shared by the Deribit client tests: a recording proxy in front of the
module's local exchange (``ex``, defined per module with its own seed) and a client
that connects through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ccxtpro_sync import DeribitClient
from ccxtpro_sync.simulator import LocalDeribit

from .test_deribit_session import make
from .wire import WireProxy


@pytest.fixture
def proxy(ex: LocalDeribit) -> Iterator[WireProxy]:
    p = WireProxy(ex.url)
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def client(
    ex: LocalDeribit, proxy: WireProxy, request: pytest.FixtureRequest
) -> Iterator[DeribitClient]:
    # A module may shorten the order window (``ORDER_VALID_FOR`` ms, the client's
    # ``orderValidFor``): a lost reply is then resolved in about 2 s instead of 6.
    options = {"heartbeatInterval": 10.0}
    valid_for = getattr(request.module, "ORDER_VALID_FOR", None)
    if valid_for is not None:
        options["orderValidFor"] = valid_for
    c = make(ex, proxy, options=options)
    try:
        yield c
    finally:
        c.close()
