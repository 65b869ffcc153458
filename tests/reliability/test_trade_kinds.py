"""``@trade`` and ``@aggTrade`` on one symbol: two id sequences, no false gaps.

A trade's id and an aggregate's id are different sequences (the local exchange, as
Binance, numbers them apart). A client carries one kind (``tradesStream``), so the
two kinds on one symbol means two clients on one exchange; each client's gap
counter must follow its own sequence: no gap, no backfill, no trade dropped.
Futures document no ``@trade`` stream: there a client refuses it, and ``aggTrade``
runs alone."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import NotSupported
from ccxtpro_sync.simulator import LocalExchange

from .support import make_client, signal_logs

TRADES = 40


class Collected:
    """Trade ids delivered to a callback, in order; set once ``TRADES`` have come."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.done = threading.Event()

    def __call__(self, trades: list[Any]) -> None:
        self.ids += [int(t.id) for t in trades]
        if len(self.ids) >= TRADES:
            self.done.set()


def test_trade_and_agg_trade_on_one_spot_symbol_keep_their_own_sequences(
    exchange: LocalExchange,
) -> None:
    raw = make_client(ccxtpro_sync.binance, exchange, options={"tradesStream": "trade"})
    agg = make_client(ccxtpro_sync.binance, exchange, options={"tradesStream": "aggTrade"})
    with raw, agg, signal_logs() as logs:
        raw_ids, agg_ids = Collected(), Collected()
        raw.on_trades("BTC/USDT", raw_ids)
        agg.on_trades("BTC/USDT", agg_ids)
        assert raw_ids.done.wait(30) and agg_ids.done.wait(30)
        errors = [c.protocol_errors for client in (raw, agg) for c in client.connections()]
    assert errors == [0, 0]
    for ids in (raw_ids.ids, agg_ids.ids):
        assert ids == list(range(ids[0], ids[0] + len(ids)))  # each id once, in order
    assert set(raw_ids.ids) != set(agg_ids.ids)  # two sequences, not one
    assert len(logs["trades_gap"]) == 0 and len(logs["trades_backfilled"]) == 0


def test_futures_carry_agg_trade_alone_without_false_gaps(exchange: LocalExchange) -> None:
    with pytest.raises(NotSupported):
        make_client(ccxtpro_sync.binanceusdm, exchange, options={"tradesStream": "trade"})
    with make_client(ccxtpro_sync.binanceusdm, exchange) as client, signal_logs() as logs:
        ids = Collected()
        client.on_trades("BTC/USDT:USDT", ids)
        assert ids.done.wait(30)
    assert ids.ids == list(range(ids.ids[0], ids.ids[0] + len(ids.ids)))
    assert len(logs["trades_gap"]) == 0 and len(logs["trades_backfilled"]) == 0
