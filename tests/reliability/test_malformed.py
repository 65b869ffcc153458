"""Bad frames from the exchange: reported, typed, and the stream goes on (or reconnects)."""

from __future__ import annotations

import logging

import pytest

import ccxtpro_sync
from ccxtpro_sync import ProtocolError
from ccxtpro_sync.simulator import LocalExchange

from .support import make_client, signal_logs, wait_wire_matches

SYMBOL = "BTC/USDT"


@pytest.mark.parametrize("kind", ["invalid_json", "unknown_event", "binary"])
def test_bad_frame_is_reported_and_the_stream_goes_on(
    exchange: LocalExchange, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    client = make_client(ccxtpro_sync.binance, exchange)
    caplog.set_level(logging.WARNING, logger="ccxtpro_sync")
    with client, signal_logs(client) as logs:
        sub = client.on_trades(SYMBOL, lambda batch: None)
        wait_wire_matches(exchange, [client])
        for round_ in range(1, 4):
            assert exchange.faults.send_malformed(kind) == 1
            errors = logs["protocol_error"].wait_for(round_, timeout=5)
            assert all(isinstance(e.payload["error"], ProtocolError) for e in errors)
            assert client.watch_trades(SYMBOL, timeout=5)  # data still flows
        assert not logs["connection_closed"].events  # the socket survived
        logged = [r for r in caplog.records if r.name == "ccxtpro_sync"]
        assert len([r for r in logged if r.levelno >= logging.WARNING]) >= 3
        sub.cancel()


@pytest.mark.parametrize("kind", ["truncated_frame", "bad_opcode"])
def test_frame_that_breaks_the_socket_reconnects_cleanly(
    exchange: LocalExchange, kind: str
) -> None:
    client = make_client(ccxtpro_sync.binance, exchange)
    with client, signal_logs(client) as logs:
        subs = [client.on_trades(SYMBOL, lambda b: None), client.on_ticker(SYMBOL, lambda t: None)]
        wanted = wait_wire_matches(exchange, [client])
        for round_ in range(1, 3):
            assert exchange.faults.send_malformed(kind) == 1
            [*_, closed] = logs["connection_closed"].wait_for(round_, timeout=5)
            assert closed.payload["will_reconnect"] is True
            assert closed.payload["reason"]  # says why
            logs["connection_started"].wait_for(round_ + 1, timeout=5)
            assert wait_wire_matches(exchange, [client]) == wanted
            assert client.watch_trades(SYMBOL, timeout=5)
        assert len(exchange.stats().connections) == 1
        for sub in subs:
            sub.cancel()
    exchange.wait_for_connections(0, timeout=5)
