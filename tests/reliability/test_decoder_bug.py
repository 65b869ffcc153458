"""A bug in a bound stream's decoder on the reader (it raises what no decode should,
for one hostile frame in the middle of a burst) is reported as a typed
``ProtocolError`` (signal and log), and neither ends the reader nor loses a frame of
the burst: the frame that tripped it, and the stream after it, take the general path.

No decoder of the library raises so today; the bug is put into the bound decoder of
the live connection, the frames come from a real socket."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from ccxtpro_sync import ProtocolError
from ccxtpro_sync._signals import signals
from ccxtpro_sync.simulator import LocalExchange
from tests.unit.support import decoder_bug

from .raw_ws import RawStreamServer, agg_trade_frames
from .support import wire_connections
from .test_backpressure import Collector, burst_client, raw_server

__all__ = ["raw_server"]

STREAM = b"btcusdt@aggTrade"
#: The trade whose frame trips the decoder, mid-burst.
HOSTILE = 150


def test_a_decoder_bug_mid_burst_is_reported_and_loses_no_frame(
    raw_server: RawStreamServer, caplog: pytest.LogCaptureFixture
) -> None:
    with LocalExchange(seed=1, auto_publish=False) as ex:
        client = burst_client(ex, raw_server, readTimeout=30.0, pingInterval=5.0)
        collector = Collector()
        errors: list[BaseException] = []
        reported = threading.Event()

        def on_error(sender: Any, **payload: Any) -> None:
            errors.append(payload["error"])
            reported.set()

        with client:
            client.on_trades("BTC/USDT", handler=collector)
            raw_server.wait_subscribed("btcusdt@aggTrade", timeout=10)
            raw_server.blast(agg_trade_frames("BTCUSDT", 0, 10))  # binds the stream
            collector.wait_count(10, timeout=30)
            [conn] = wire_connections(client)
            reader = conn._thread
            with conn._lock:
                bound = conn._protocol._bound[STREAM]  # type: ignore[attr-defined]
                assert bound is not None
                stream, decode, handle, run, key = bound
                buggy = decoder_bug(decode, HOSTILE)
                # The bug in both reads of a frame: one at a time and a trades run's.
                planted = (
                    stream,
                    buggy,
                    handle,
                    run,
                    None if key is None else (key[0], buggy, key[2]),
                )
                conn._protocol._bound[STREAM] = planted  # type: ignore[attr-defined]
            signals.protocol_error.connect(on_error, weak=False)
            try:
                with caplog.at_level(logging.WARNING, logger="ccxtpro_sync"):
                    raw_server.blast(agg_trade_frames("BTCUSDT", 10, 290))  # one sendall
                    collector.wait_count(300, timeout=30)
                    assert reported.wait(10)
            finally:
                signals.protocol_error.disconnect(on_error)
            assert collector.gaps == [] and collector.expected == 300
            [error] = errors
            assert isinstance(error, ProtocolError) and isinstance(error.__cause__, KeyError)
            assert "a decoder bug" in caplog.text
            assert reader is not None and reader.is_alive() and conn._thread is reader
            assert wire_connections(client) == [conn]
