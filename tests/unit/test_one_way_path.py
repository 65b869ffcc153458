"""The one-way data path (issue 13): socket → protocol → market data → hub, never back.

Market data asks for REST work (a depth snapshot, a backfill) by value, in the
``Inbound`` of the frame that needed it, instead of calling up into the client;
the snapshot's answer enters through the connection under its lock, as a frame
does, and leaves by the same code."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from ccxtpro_sync._core.events import RAW_HASH, Delivery, Inbound, Policy, RawMessage, RawTap
from ccxtpro_sync._core.rotation import DeliveredKeys
from ccxtpro_sync._exchanges.binance.market_data import MarketData, SnapshotWanted
from ccxtpro_sync._exchanges.binance.markets import Markets
from ccxtpro_sync._exchanges.binance.rotation import RotationRouter
from ccxtpro_sync._exchanges.binance.stream_protocol import (
    SNAPSHOT_CHANNEL,
    BinanceStreamProtocol,
)
from ccxtpro_sync._signals import signals
from ccxtpro_sync._sync.connection import Connection
from ccxtpro_sync._sync.hub import Hub

from .test_private_parsers import spot_market

DEPTH = "ethbtc@depth@100ms"
SNAPSHOT = json.dumps({"lastUpdateId": 3, "bids": [["0.05", "2"]], "asks": []}).encode()


def diff(first: int, last: int) -> bytes:
    data = {"e": "depthUpdate", "E": 1, "s": "ETHBTC", "U": first, "u": last,
            "b": [["0.05", "1"]], "a": [["0.06", "1"]]}  # fmt: skip
    return json.dumps({"stream": DEPTH, "data": data}).encode()


def protocol(clock: float | None = None) -> tuple[BinanceStreamProtocol, MarketData]:
    data = MarketData(Markets([spot_market()], "spot"))
    tap = RawTap(lambda: clock or 0.0)
    tap.enabled = clock is not None
    router = RotationRouter(data, threading.Lock(), DeliveredKeys())
    proto = BinanceStreamProtocol("ws://a", router, raw_tap=tap)
    proto.subscribe([DEPTH])
    proto.on_open(0.0)
    return proto, data


def test_a_book_without_snapshot_asks_for_one_by_value() -> None:
    proto, data = protocol()
    result = proto.receive(diff(1, 5), 0.0)
    assert isinstance(result, Inbound) and result.deliveries == []
    assert result.tasks == [SnapshotWanted("ETH/BTC")]
    assert data.tasks == []  # taken by value: nothing left behind for another connection
    # asked once: the next buffered diff asks for nothing more
    later = proto.receive(diff(6, 7), 0.0)
    assert later == [] or (isinstance(later, Inbound) and later.tasks == [])


def test_the_snapshot_enters_through_the_protocol_with_its_raw_entry() -> None:
    proto, _ = protocol(clock=42.0)
    proto.receive(diff(1, 5), 0.0)
    applied = proto.apply_snapshot(DEPTH, SNAPSHOT, 1000)
    deliveries = applied.deliveries if isinstance(applied, Inbound) else applied
    assert [d.message_hash for d in deliveries] == ["orderbook:ETH/BTC"]
    book = deliveries[0].value
    book = book.resolve() if hasattr(book, "resolve") else book
    assert book.nonce == 5 and [list(level) for level in book.bids] == [[0.05, 1.0]]
    # its raw entry leads the next diff's output (the order the book took its inputs)
    first, *_ = proto.receive(diff(6, 7), 0.0)  # type: ignore[misc]
    assert first.message_hash == RAW_HASH
    [message] = first.value
    assert message == RawMessage("rest", f"{SNAPSHOT_CHANNEL}ethbtc@1000", SNAPSHOT, 42.0)


class _Sans:
    """A sans-I/O protocol whose ``produce`` result says whether the lock was held."""

    def __init__(self, conn_lock: list[Any]) -> None:
        self.conn_lock = conn_lock
        self.held_inside: bool | None = None

    def url(self) -> str:
        return "ws://127.0.0.1:9"

    def produce(self) -> Inbound:
        self.held_inside = self.conn_lock[0].locked()
        notice = ("order_book_resync", {"symbol": "X/Y", "reason": "test", "count": 1})
        return Inbound(
            deliveries=[Delivery("ticker:X/Y", {"last": 1.0}, Policy.LATEST)],
            notices=[notice],
            tasks=["fetch something"],
        )


def test_feed_hands_over_like_a_frame_once_the_lock_is_released() -> None:
    hub = Hub(name="feed-test")
    box: list[Any] = []
    sans = _Sans(box)
    lock_held_for_tasks: list[bool] = []
    seen: list[Any] = []

    def on_tasks(tasks: list[Any]) -> None:
        lock_held_for_tasks.append(box[0].locked())
        seen.extend(tasks)

    conn = Connection(sans, hub=hub, name="feed", on_tasks=on_tasks)  # type: ignore[arg-type]
    box.append(conn._lock)
    resyncs: list[dict[str, Any]] = []

    def on_resync(sender: Any, **payload: Any) -> None:
        resyncs.append(payload)

    signals.order_book_resync.connect(on_resync)
    try:
        waiter = hub.waiter(["ticker:X/Y"])
        conn.feed(lambda p: p.produce())
        assert waiter.result(5) == {"last": 1.0}
    finally:
        signals.order_book_resync.disconnect(on_resync)
        conn.close(1.0)
        hub.close(RuntimeError("done"), 1.0)
    assert sans.held_inside is True
    assert seen == ["fetch something"] and lock_held_for_tasks == [False]
    assert resyncs == [{"symbol": "X/Y", "reason": "test", "count": 1}]


def test_market_data_takes_no_callbacks_into_the_client() -> None:
    with pytest.raises(TypeError):
        MarketData(Markets([spot_market()], "spot"), need_snapshot=lambda s: None)  # type: ignore[call-arg]
