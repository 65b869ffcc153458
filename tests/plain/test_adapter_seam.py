"""The generic layer under every exchange (issue 13): ``AdapterClient`` has the same
connection handling as Binance's clients because both run on ``StreamClient``."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import pytest

from ccxtpro_sync import BadRequest, ConnectionClosed
from ccxtpro_sync._sync.stream_client import StreamClient
from ccxtpro_sync.adapters import AdapterClient

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_adapter.py"
_spec = importlib.util.spec_from_file_location("custom_adapter_seam", EXAMPLE)
assert _spec is not None and _spec.loader is not None
example: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)


def test_binance_and_adapters_share_one_implementation_of_the_faces() -> None:
    import ccxtpro_sync

    for cls in (ccxtpro_sync.binance, AdapterClient):
        assert issubclass(cls, StreamClient)
        for name in ("_watch", "_on", "_stream", "_unwatch", "rotate", "close_connection",
                     "connections", "replay"):  # fmt: skip
            owner = next(k for k in cls.__mro__ if name in vars(k))
            assert owner is StreamClient or name == "rotate", (cls, name, owner)


def test_close_connection_fails_its_consumers_and_the_next_call_opens_a_new_one() -> None:
    exchange = example.MiniExchange(heartbeat_every=5.0)
    try:
        with AdapterClient(
            lambda: example.MiniAdapter(exchange.url, "demo-id", "demo-secret")
        ) as client:
            failed = threading.Event()
            errors: list[BaseException] = []
            stream = client.stream("ticker.BTC", timeout=10)
            assert next(iter(stream))  # the connection is up and delivering
            (info,) = client.connections()

            def drain() -> None:
                try:
                    for _ in stream:
                        pass
                except ConnectionClosed as error:
                    errors.append(error)
                    failed.set()

            reader = threading.Thread(target=drain)
            reader.start()
            client.close_connection(info.name, timeout=5)
            assert failed.wait(10), "the stream on the closed connection fails"
            reader.join(5)
            assert errors and errors[0].reason == "closed"
            assert client.connections() == []  # forgotten, not restored
            assert client.watch("ticker.ETH", timeout=10)["coin"] == "ETH"
            (fresh,) = client.connections()
            assert fresh.subscriptions == ["ticker.ETH"]
            with pytest.raises(BadRequest):
                client.close_connection("no-such-connection")
    finally:
        exchange.close()
