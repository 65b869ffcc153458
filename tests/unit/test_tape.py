"""The simulator's preallocated trade rings: order, wrap-around, rebuilt records."""

from __future__ import annotations

import pytest

from ccxtpro_sync.simulator.market import AggTrade, Trade
from ccxtpro_sync.simulator.tape import Tape


def tape(size: int) -> Tape[Trade]:
    fields = ("id", "price", "qty", "buyer_maker", "time")
    return Tape(size, fields, lambda v: Trade(v[0], v[1], v[2], bool(v[3]), v[4]))


def test_keeps_the_last_records_oldest_first() -> None:
    ring = tape(3)
    assert len(ring) == 0 and list(ring) == []
    trades = [Trade(i, 100 + i, i * 2, i % 2 == 0, 1000 + i) for i in range(1, 6)]
    ring.extend(trades[:2])
    assert list(ring) == trades[:2]
    ring.extend(trades[2:])
    assert len(ring) == 3 and list(ring) == trades[2:]  # the two oldest fell off
    assert ring[0] == trades[2] and ring[-1] == trades[4] and ring[1:] == trades[3:]
    assert [t.buyer_maker for t in ring] == [False, True, False]  # bools come back
    with pytest.raises(IndexError):
        ring[3]


def test_agg_trades_and_size_check() -> None:
    fields = ("id", "price", "qty", "first_id", "last_id", "buyer_maker", "time")
    ring: Tape[AggTrade] = Tape(
        2, fields, lambda v: AggTrade(v[0], v[1], v[2], v[3], v[4], bool(v[5]), v[6])
    )
    agg = AggTrade(7, 650_000, 12, 100, 103, True, 1_796_000_000_000)
    ring.append(agg)
    assert list(ring) == [agg]
    with pytest.raises(ValueError):
        Tape(0, fields, lambda v: v)
