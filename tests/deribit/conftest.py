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
def client(ex: LocalDeribit, proxy: WireProxy) -> Iterator[DeribitClient]:
    c = make(ex, proxy, options={"heartbeatInterval": 10.0})
    try:
        yield c
    finally:
        c.close()
