"""A burst read in one ``recv`` goes through the protocol in runs of data frames, under
one hold of the connection's lock per run (issue 20); frames that mean more than data
(errors, control frames) are acted on between runs with no lock held, in order."""

from __future__ import annotations

import threading
from typing import Any

import ccxtpro_sync
from ccxtpro_sync._signals import signals
from ccxtpro_sync.simulator import LocalExchange

from .raw_ws import RawStreamServer, agg_trade_frames, ws_frame
from .support import fast_config, wire_connections
from .test_backpressure import Collector


def test_a_mixed_burst_keeps_its_order_and_no_lock_is_held_while_it_is_acted_on() -> None:
    server = RawStreamServer()
    try:
        with LocalExchange(seed=1, auto_publish=False) as ex:
            config = fast_config(ex, urls={"ws": server.url}, readTimeout=30.0, pingInterval=5.0)
            client = ccxtpro_sync.binance(config)
            collector = Collector()
            errors: list[tuple[str, bool]] = []
            lock_of: list[threading.Lock] = []
            got_errors = threading.Event()

            def on_error(sender: Any, **payload: Any) -> None:
                # runs on the reader thread: the connection's lock must be free
                errors.append((str(payload["error"]), lock_of[0].locked()))
                if len(errors) == 2:
                    got_errors.set()

            with client:
                client.on_trades("BTC/USDT", handler=collector)
                server.wait_subscribed("btcusdt@aggTrade", timeout=10)
                [conn] = wire_connections(client)
                lock_of.append(conn._lock)
                signals.protocol_error.connect(on_error, weak=False)
                try:
                    burst = b"".join(
                        [
                            agg_trade_frames("BTCUSDT", 0, 100),
                            ws_frame(b'{"stream":"btcusdt@aggTrade","data":{broken'),
                            agg_trade_frames("BTCUSDT", 100, 100),
                            ws_frame(b"burst-ping", 0x9),
                            ws_frame(b'{"code":1,"msg":"something is off"}'),
                            agg_trade_frames("BTCUSDT", 200, 100),
                        ]
                    )
                    server.blast(burst)  # one sendall: read in one or a few recv calls
                    collector.wait_count(300, timeout=30)
                    server.wait_pong(b"burst-ping", timeout=10)
                    assert got_errors.wait(10)
                finally:
                    signals.protocol_error.disconnect(on_error)
                assert collector.gaps == [] and collector.expected == 300
                assert [held for _, held in errors] == [False, False]
                assert "malformed frame" in errors[0][0] and "something is off" in errors[1][0]
                assert conn.messages >= 302  # every data frame counted, the ping not
    finally:
        server.close()
