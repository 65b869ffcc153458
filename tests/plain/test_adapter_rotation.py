"""Make-before-break rotation in the generic layer: AdapterClient against a local server
whose events carry one sequence shared by every connection."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed as ServerClosed

from ccxtpro_sync import BadRequest
from ccxtpro_sync._core.events import Delivery, Policy
from ccxtpro_sync.adapters import AdapterClient

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_adapter.py"
_spec = importlib.util.spec_from_file_location("custom_adapter_rotation", EXAMPLE)
assert _spec is not None and _spec.loader is not None
example: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)


class SequencedExchange(example.MiniExchange):  # type: ignore[misc]
    """Every ``ticker`` event numbered once and sent to every connection subscribed."""

    def __init__(self) -> None:
        self.seq = 0
        self.subscribers: dict[ServerConnection, dict[str, Any]] = {}
        super().__init__(heartbeat_every=5.0)
        self._generator = asyncio.run_coroutine_threadsafe(self._generate(), self._loop)

    def close(self) -> None:
        # cancelled on the loop before it stops: a pending task would be reported as
        # destroyed whenever the collector frees the loop (in some later test)
        self._generator.cancel()
        super().close()

    async def _publish(self, ws: ServerConnection, state: dict[str, Any]) -> None:
        self.subscribers[ws] = state
        try:
            await asyncio.Event().wait()
        finally:
            self.subscribers.pop(ws, None)

    async def _generate(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.seq += 1
            for ws, state in list(self.subscribers.items()):
                for channel in sorted(state["channels"]):
                    data = {"coin": channel.split(".", 1)[1], "seq": self.seq}
                    note = {"jsonrpc": "2.0", "method": "subscription",
                            "params": {"channel": channel, "data": data}}  # fmt: skip
                    with contextlib.suppress(ServerClosed):
                        await ws.send(json.dumps(note))


class SequencedAdapter(example.MiniAdapter):  # type: ignore[misc]
    """Every numbered event is kept (``APPEND``): a ``LATEST`` value may coalesce
    behind the callback, which would hide what a rotation loses."""

    def decode(self, data: bytes, now: float) -> Any:
        decoded = super().decode(data, now)
        decoded.deliveries = [
            Delivery(d.message_hash, [d.value], Policy.APPEND) for d in decoded.deliveries
        ]
        return decoded

    def update_key(self, delivery: Delivery) -> int | None:
        value = delivery.value
        if isinstance(value, list) and value and isinstance(value[0], dict):
            seq: int | None = value[0].get("seq")
            return seq
        return None


def test_rotate_hands_over_without_loss_or_repeat() -> None:
    exchange = SequencedExchange()
    seen: dict[str, list[int]] = {"BTC": [], "ETH": []}
    lock = threading.Lock()

    def on_ticker(tickers: list[dict[str, Any]]) -> None:
        with lock:
            for ticker in tickers:
                seen[ticker["coin"]].append(ticker["seq"])

    try:
        client = AdapterClient(lambda: SequencedAdapter(exchange.url, "demo-id", "demo-secret"))
        overlap = client._planner._overlap
        catch_up = overlap.catch_up

        def catch_up_after_shared_events(old: Any, streams: list[str], timeout: float) -> None:
            # old and new both confirmed: let both receive the same events first
            before = {conn: conn.messages for conn in client._planner.connections()}
            deadline = time.monotonic() + 10
            pause = threading.Event()
            while not all(conn.messages >= n + 3 for conn, n in before.items()):
                assert time.monotonic() < deadline, "both connections receive events"
                pause.wait(0.005)  # no event exists for a message count
            catch_up(old, streams, timeout)

        overlap.catch_up = catch_up_after_shared_events
        with client:
            client.on(["ticker.BTC", "ticker.ETH"], handler=on_ticker)
            client.wait_ready(10)
            (old,) = client.connections()
            for _ in range(3):
                client.rotate(client.connections()[0].name, timeout=10)
            (new,) = client.connections()
            assert new.name != old.name
            assert len(exchange.sessions) == 4
            # delivery goes on from the last connection
            start = exchange.seq
            done = threading.Event()
            watcher = client.on(
                "ticker.BTC", handler=lambda t: t[-1]["seq"] > start + 20 and done.set()
            )
            assert done.wait(10)
            watcher.cancel()
            assert client._dedupe.keys.dropped > 0  # the overlaps were really shared
            with pytest.raises(BadRequest):
                client.rotate("nope")
        for coin, seqs in seen.items():  # none missing, none repeated, in order
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), coin
    finally:
        exchange.close()
