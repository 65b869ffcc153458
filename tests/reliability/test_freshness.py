"""The per-stream freshness watchdog over real sockets against the local exchange.

One stream is silenced on a busy connection (``faults.silence``: still listed, never
pushed): it must be found stale, resubscribed on the same connection and flow again,
while the connection's other stream never misses a trade; a stream of a market that
never trades must not be touched.
"""

from __future__ import annotations

import threading
from typing import Any

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import make_client, signal_logs, wait_for, wait_wire_matches

FRESHNESS = {"multiple": 5.0, "floor": 0.5, "minSamples": 5, "interval": 0.1}


def agg_trade(symbol_id: str, trade_id: int) -> dict[str, Any]:
    return {
        "e": "aggTrade", "E": 1_700_000_000_000 + trade_id, "s": symbol_id, "a": trade_id,
        "p": "100.00", "q": "0.001", "f": trade_id, "l": trade_id,
        "T": 1_700_000_000_000 + trade_id, "m": False, "M": True,
    }  # fmt: skip


class Ids:
    def __init__(self) -> None:
        self.ids: list[int] = []
        self.cond = threading.Condition()

    def __call__(self, batch: list[Any]) -> None:
        with self.cond:
            self.ids.extend(int(t.id) for t in batch)
            self.cond.notify_all()

    def wait_count(self, count: int, timeout: float = 10.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.ids) >= count, timeout), self.ids[-5:]


def test_a_silenced_stream_is_resubscribed_and_the_others_never_stop() -> None:
    with LocalExchange(seed=1, auto_publish=False) as ex:
        client = make_client(ccxtpro_sync.binance, ex, freshness=FRESHNESS)
        btc, eth, quiet = Ids(), Ids(), Ids()
        stop = threading.Event()
        published = {"BTCUSDT": 0, "ETHUSDT": 0}

        def publish() -> None:
            # Load generation, not synchronisation: two busy markets, one trade each per tick.
            while not stop.wait(0.01):
                for symbol_id, trade_id in list(published.items()):
                    stream = f"{symbol_id.lower()}@aggTrade"
                    ex.publish("spot", stream, agg_trade(symbol_id, trade_id))
                    published[symbol_id] = trade_id + 1

        publisher = threading.Thread(target=publish, name="test-publisher", daemon=True)
        try:
            with client, signal_logs(client) as logs:
                client.on_trades("BTC/USDT", handler=btc)
                client.on_trades("ETH/USDT", handler=eth)
                client.on_trades("SOL/USDT", handler=quiet)  # a market that never trades
                wait_wire_matches(ex, [client])
                [conn] = ex.connections()
                publisher.start()
                btc.wait_count(30)
                assert ex.faults.silence("btcusdt@aggTrade") == 1
                silenced_at = len(btc.ids)
                stale = logs["stream_stale"].wait_for(1, timeout=10)[0].payload
                assert stale["stream"] == "btcusdt@aggTrade" and stale["strikes"] == 1
                assert stale["silent_for"] > stale["limit"]
                # resubscribed on the same connection: trades flow again
                btc.wait_count(silenced_at + 30)
                eth.wait_count(len(eth.ids) + 30)
                stop.set()
                publisher.join(5)
                # the busy neighbour never missed a trade, nor was the connection cut
                wait_for(
                    lambda: len(eth.ids) == published["ETHUSDT"],
                    timeout=10,
                    what="every ETH trade to arrive",
                )
                assert eth.ids == list(range(published["ETHUSDT"]))
                assert [c.id for c in ex.connections()] == [conn.id]
                assert not logs["connection_closed"].events
                # only the silenced stream was found stale; the quiet market never was
                streams = {e.payload["stream"] for e in logs["stream_stale"].events}
                assert streams == {"btcusdt@aggTrade"}
                assert quiet.ids == []
                info = client.connections()[0]
                assert "solusdt@aggTrade" in info.subscriptions and info.reconnects == 0
        finally:
            stop.set()


def test_without_the_watchdog_a_silenced_stream_stays_dead() -> None:
    """The fault is real: with ``freshness`` off, nothing brings the stream back."""
    with LocalExchange(seed=1, auto_publish=False) as ex:
        client = make_client(ccxtpro_sync.binance, ex, freshness=False)
        btc, eth = Ids(), Ids()
        with client:
            client.on_trades("BTC/USDT", handler=btc)
            client.on_trades("ETH/USDT", handler=eth)
            wait_wire_matches(ex, [client])
            assert ex.faults.silence("btcusdt@aggTrade") == 1
            for trade_id in range(200):
                ex.publish("spot", "btcusdt@aggTrade", agg_trade("BTCUSDT", trade_id))
                ex.publish("spot", "ethusdt@aggTrade", agg_trade("ETHUSDT", trade_id))
            eth.wait_count(200)
            assert btc.ids == []


def test_a_candle_stream_that_never_sends_is_resubscribed_at_widening_intervals() -> None:
    """A stream with a declared cadence is judged from its confirmation: one that never
    sends anything is found stale without a single update, then again after twice the
    limit, each time resubscribed on the same connection."""
    with LocalExchange(seed=1, auto_publish=False) as ex:
        watchdog = {"multiple": 0.3, "floor": 0.2, "interval": 0.05}  # 1 s candles: 0.3 s
        client = make_client(ccxtpro_sync.binance, ex, freshness=watchdog)
        candles: list[Any] = []
        with client, signal_logs(client) as logs:
            client.on_ohlcv("BTC/USDT", "1s", handler=candles.append)
            wait_wire_matches(ex, [client])
            [conn] = ex.connections()
            first, second = (e.payload for e in logs["stream_stale"].wait_for(2)[:2])
            assert first["stream"] == second["stream"] == "btcusdt@kline_1s"
            assert (first["strikes"], second["strikes"]) == (1, 2)
            assert (first["limit"], second["limit"]) == (0.3, 0.6)
            assert second["silent_for"] > 0.6
            wait_wire_matches(ex, [client])
            assert [c.id for c in ex.connections()] == [conn.id]
            assert candles == [] and not logs["connection_closed"].events
