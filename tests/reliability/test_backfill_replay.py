"""Backfilled trades and candles reach the raw log: a replay of a recording made
across drops delivers every trade id (and candle) once, in order, as the live run did.

Before, backfilled pages went to consumers but never to the raw log, and the live
frames the gap held back were recorded ahead of them: the replay lost the missed
trades and showed a gap the live run did not.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import RawMessage
from ccxtpro_sync.simulator import LocalExchange

from .support import make_client, signal_logs, wait_for, wait_wire_matches
from .test_trade_backfill import Ids

DROPS = 4


@pytest.fixture
def manual_exchange() -> Iterator[LocalExchange]:
    """Moves only on ``tick()``: trades happen exactly while the client is away."""
    with LocalExchange(
        seed=21, auto_publish=False, tick_interval=0.01, rest_weight=1_000_000
    ) as ex:
        yield ex


class RawLog:
    """Every raw message the client's tap delivered, in order."""

    def __init__(self) -> None:
        self.messages: list[RawMessage] = []
        self._lock = threading.Lock()

    def __call__(self, batch: list[RawMessage]) -> None:
        with self._lock:
            self.messages.extend(batch)

    def snapshot(self) -> list[RawMessage]:
        with self._lock:
            return list(self.messages)


def _drops(ex: LocalExchange, client: Any, away: int, rounds: int = DROPS) -> None:
    """Drop the connection ``rounds`` times with ``away`` ticks of trading meanwhile."""
    for _ in range(rounds):
        ex.tick(5)
        for _attempt in range(5):  # a connection closed between settling and the drop
            wait_wire_matches(ex, [client])  # (its replacement is settled on next time)
            if ex.faults.drop() >= 1:
                break
        else:
            raise AssertionError("the drop never found a connection")
        ex.tick(away)
    wait_wire_matches(ex, [client])


def _replayed(client: Any, log: list[RawMessage], message_hash: str) -> list[Any]:
    return [item for d in client.replay(log) if d.message_hash == message_hash for item in d.value]


@pytest.mark.parametrize(
    ("symbol", "options"),
    [("BTC/USDT", {}), ("ETH/USDT", {"tradesStream": "trade"})],
    ids=["aggTrade", "trade"],
)
def test_a_replay_across_drops_delivers_every_trade_id_once_in_order_as_live(
    manual_exchange: LocalExchange, symbol: str, options: dict[str, Any]
) -> None:
    ex = manual_exchange
    client = make_client(ccxtpro_sync.binance, ex, options=options)
    ids, raw = Ids(), RawLog()
    with client, signal_logs(client) as logs, client.on_raw(raw):
        sub = client.on_trades(symbol, handler=ids)
        wait_wire_matches(ex, [client])
        ex.tick(5)
        ids.wait_ticking(ex, lambda items: len(items) > 0, 20, "the first trade")
        _drops(ex, client, away=10)
        for _ in range(3 * DROPS):  # as for candles below: until a window was missed
            if logs["trades_backfilled"].payloads:
                break
            _drops(ex, client, away=10, rounds=1)
        last = int(client.fetch_trades(symbol, limit=1)[-1].id)
        ids.wait_ticking(ex, lambda items: int(items[-1].id) >= last, 20, f"trade id {last}")
        assert logs["trades_backfilled"].payloads, "no gap was backfilled"
        live = [int(t.id) for t in ids.items]
        sub.cancel()

        # The raw log catches up with what the handler saw (both leave the same handover).
        def recorded() -> list[int] | None:
            replayed = [int(t.id) for t in _replayed(client, raw.snapshot(), f"trades:{symbol}")]
            return replayed if replayed and replayed[-1] >= live[-1] else None

        replayed = wait_for(recorded, 10, "the raw log up to the last live trade")
    assert live == list(range(live[0], live[-1] + 1))
    assert replayed[: len(live)] == live
    assert any(m.channel.startswith("backfill:") for m in raw.messages)


def test_a_replay_across_drops_rebuilds_the_candles_the_live_run_delivered(
    manual_exchange: LocalExchange,
) -> None:
    ex, symbol = manual_exchange, "BTC/USDT"
    client = make_client(ccxtpro_sync.binance, ex)
    candles, raw = Ids(), RawLog()
    with client, signal_logs(client) as logs, client.on_raw(raw):
        sub = client.on_ohlcv(symbol, "1s", handler=candles)
        wait_wire_matches(ex, [client])
        candles.wait_ticking(ex, lambda items: len(items) > 0, 20, "the first candle")
        _drops(ex, client, away=250)  # closed candles pushed to nobody
        # A reconnect can beat the ticks of one away window (a fast machine): then that
        # window's candles arrive live and nothing needs filling. Drop again until a
        # window really fell while the client was away.
        for _ in range(3 * DROPS):
            if logs["trades_backfilled"].payloads:
                break
            _drops(ex, client, away=250, rounds=1)
        more = candles.items[-1].timestamp + 2000
        candles.wait_ticking(ex, lambda items: items[-1].timestamp >= more, 20, "live candles")
        assert logs["trades_backfilled"].payloads, "no candle was backfilled"
        live = list(candles.items)
        sub.cancel()

        def recorded() -> list[Any] | None:
            replayed = _replayed(client, raw.snapshot(), f"ohlcv:{symbol}:1s")
            return replayed if len(replayed) >= len(live) else None

        replayed = wait_for(recorded, 10, "the raw log up to the last live candle")
    assert replayed[: len(live)] == live
