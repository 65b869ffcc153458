"""Careless arguments to the Deribit client: typed errors at once, nothing sent.

``symbol=None`` said "'NoneType' object is not iterable"; ``request`` with a NaN in
its params sent a frame that is not JSON, and an order request then waited out its
timeout with its outcome in doubt. Against the local Deribit exchange, real sockets.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ccxtpro_sync import ArgumentsRequired, DeribitClient, InvalidArgument, deribit
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture

ex = exchange_fixture(seed=12)
PERP = "BTC/USD:BTC"


@pytest.fixture
def client(ex: LocalDeribit) -> Any:
    client_id, secret = ex.credentials
    c = deribit(
        {"environment": "local", "local": ex, "apiKey": client_id, "secret": secret,
         "timeout": 30, "options": {"heartbeatInterval": 10.0}}
    )  # fmt: skip
    try:
        yield c
    finally:
        c.close()


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.watch_ticker(None),
        lambda c: c.watch_tickers(None),
        lambda c: c.un_watch_ticker(None),
        lambda c: c.watch_trades(None),
    ],
)
def test_a_missing_symbol_is_arguments_required(client: DeribitClient, call: Any) -> None:
    with pytest.raises(ArgumentsRequired, match="missing symbols"):
        call(client)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.watch_ticker(1),
        lambda c: c.watch_tickers([PERP, 2]),
        lambda c: c.on_ticker(b"BTC-PERPETUAL", print),
        lambda c: c.request(None),
        lambda c: c.request(5),
        lambda c: c.request("public/get_time", 5),
        lambda c: c.request("public/get_time", "x"),
    ],
)
def test_wrong_types_are_invalid_argument(client: DeribitClient, call: Any) -> None:
    with pytest.raises(InvalidArgument):
        call(client)


def test_a_request_with_nan_is_refused_before_it_is_sent(client: DeribitClient) -> None:
    assert client.request("public/get_time") > 0  # connected and restored
    started = time.monotonic()
    for bad in (float("nan"), float("inf")):
        params = {"instrument_name": "BTC-PERPETUAL", "amount": bad, "type": "market"}
        with pytest.raises(InvalidArgument, match="JSON"):
            client.request("private/buy", params)
    # At once, not after the 30 s timeout of a frame the server could not read.
    assert time.monotonic() - started < 10
    # Nothing was bought, and the session is untouched.
    position = client.request("private/get_position", {"instrument_name": "BTC-PERPETUAL"})
    assert position["size"] == 0
