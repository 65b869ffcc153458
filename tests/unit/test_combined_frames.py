"""One-pass frames of bound streams (issue 20): envelope and payload in one decode.

A stream bound to a handler (``MarketData.bind``) has its frames decoded whole by a
typed decoder and routed without the per-frame lookups; whatever that path cannot
take (a refused decode, a frame naming another stream, a rotation overlap, the raw
log) goes through the general path, with its errors and rules. These tests check
that both paths mean the same thing, on plain bytes."""

from __future__ import annotations

import gc
import json
import threading
import tracemalloc
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from ccxtpro_sync._core.events import RAW_HASH, Delivery, Inbound, RawTap
from ccxtpro_sync._core.rotation import DeliveredKeys
from ccxtpro_sync._exceptions import BadSymbol, ProtocolError
from ccxtpro_sync._exchanges.binance import wire
from ccxtpro_sync._exchanges.binance.market_data import GapWanted, MarketData, SnapshotWanted
from ccxtpro_sync._exchanges.binance.markets import Markets
from ccxtpro_sync._exchanges.binance.rotation import RotationRouter
from ccxtpro_sync._exchanges.binance.stream_protocol import BinanceStreamProtocol
from ccxtpro_sync._structures import Trade

from .test_private_parsers import spot_market

TRADES = "ethbtc@aggTrade"
DEPTH = "ethbtc@depth@100ms"


def agg(trade_id: int, price: str = "0.05", stream: str = TRADES, **extra: Any) -> bytes:
    data = {"e": "aggTrade", "E": 1, "s": "ETHBTC", "a": trade_id, "p": price, "q": "2",
            "f": trade_id, "l": trade_id, "T": 1_700_000_000_000, "m": False}  # fmt: skip
    data.update(extra)
    return json.dumps({"stream": stream, "data": data}, separators=(",", ":")).encode()


def diff(first: int, last: int) -> bytes:
    data = {"e": "depthUpdate", "E": 1, "s": "ETHBTC", "U": first, "u": last,
            "b": [["0.05", "1"]], "a": [["0.06", "1"]]}  # fmt: skip
    return json.dumps({"stream": DEPTH, "data": data}, separators=(",", ":")).encode()


def setup(
    *, number: Any = float, keys: DeliveredKeys[Any] | None = None, tap: bool = False
) -> tuple[BinanceStreamProtocol, MarketData, DeliveredKeys[Any]]:
    markets = Markets([spot_market(number)], "spot", number=number)
    data = MarketData(markets, fill_gaps=True)
    keys = keys if keys is not None else DeliveredKeys()
    raw_tap = RawTap(lambda: 5.0)
    raw_tap.enabled = tap
    proto = BinanceStreamProtocol(
        "ws://a", RotationRouter(data, threading.Lock(), keys), raw_tap=raw_tap
    )
    proto.subscribe([TRADES, DEPTH])
    proto.on_open(0.0)
    return proto, data, keys


def trades_of(result: Inbound | list[Delivery]) -> list[Trade]:
    deliveries = result.deliveries if isinstance(result, Inbound) else result
    return [t for d in deliveries if d.message_hash == "trades:ETH/BTC" for t in d.value]


def test_bind_decodes_a_whole_frame_in_one_pass() -> None:
    data = MarketData(Markets([spot_market()], "spot"))
    decode, handle = data.bind(TRADES)
    frame = decode(agg(7))
    assert frame.stream == TRADES
    assert isinstance(frame.data, wire.AggTradeEvent) and frame.data.agg_trade_id == 7
    [delivery] = handle(frame.data)
    assert delivery.message_hash == "trades:ETH/BTC"
    assert [t.id for t in delivery.value] == ["7"]
    # the raw-payload route and the bound one share their state: one cache
    data.route(TRADES, msgspec.Raw(json.dumps(json.loads(agg(8))["data"]).encode()), 0.0)
    assert [t.id for t in data.trades["ETH/BTC"]] == ["7", "8"]


def test_streams_without_a_typed_handler_bind_to_their_raw_payload() -> None:
    data = MarketData(Markets([spot_market()], "spot"))
    decode, _ = data.bind("ethbtc@bookTicker")
    raw = b'{"u":1,"s":"ETHBTC","b":"0.05","B":"1","a":"0.06","A":"2"}'
    frame = decode(b'{"stream":"ethbtc@bookTicker","data":%s}' % raw)
    assert isinstance(frame.data, msgspec.Raw) and bytes(frame.data) == raw


@pytest.mark.parametrize("number", [float, Decimal])
def test_bound_trades_are_what_the_general_path_makes(number: Any) -> None:
    fast, fast_data, _ = setup(number=number)
    slow, slow_data, _ = setup(number=number, tap=True)  # the raw log takes the general path
    for trade_id in range(1, 6):
        got = trades_of(fast.receive(agg(trade_id), 0.0))
        want = trades_of(slow.receive(agg(trade_id), 0.0))
        assert got == want and [t.id for t in got] == [str(trade_id)]
    assert list(fast_data.trades["ETH/BTC"]) == list(slow_data.trades["ETH/BTC"])


def test_a_malformed_payload_on_a_bound_stream_is_a_typed_error_and_the_stream_goes_on() -> None:
    proto, data, _ = setup()
    assert trades_of(proto.receive(agg(1), 0.0))
    bad = proto.receive(agg(2).replace(b'"p":"0.05"', b'"p":5'), 0.0)
    assert isinstance(bad, Inbound) and bad.deliveries == []
    [error] = bad.errors
    assert isinstance(error, ProtocolError) and "malformed Binance payload" in str(error)
    nan = proto.receive(agg(2, price="NaN"), 0.0)
    assert isinstance(nan, Inbound) and isinstance(nan.errors[0], ProtocolError)
    assert [t.id for t in trades_of(proto.receive(agg(2), 0.0))] == ["2"]
    assert [t.id for t in data.trades["ETH/BTC"]] == ["1", "2"]


def test_a_frame_naming_another_stream_inside_is_routed_by_its_decoded_name() -> None:
    proto, data, _ = setup()
    proto.subscribe(["ethbtc@trade"])
    proto.receive(agg(1), 0.0)  # binds the aggTrade stream
    # Starts like a bound aggTrade frame, but its stream (the last one, as decoded) is
    # another: never taken for the bound stream.
    tricky = agg(2)[:-1] + b',"stream":"ethbtc@nope"}'
    result = proto.receive(tricky, 0.0)
    assert isinstance(result, Inbound) and isinstance(result.errors[0], ProtocolError)
    assert [t.id for t in data.trades["ETH/BTC"]] == ["1"]


def test_a_trade_gap_on_a_bound_stream_asks_for_a_backfill_by_value() -> None:
    proto, data, _ = setup()
    proto.receive(agg(1), 0.0)
    result = proto.receive(agg(5), 0.0)
    assert isinstance(result, Inbound) and trades_of(result) == []
    [task] = result.tasks
    assert isinstance(task, GapWanted) and task.request.first == 2 and task.request.last == 4
    assert data.tasks == [] and data.notices == []


def test_a_bound_book_asks_for_its_snapshot_and_reports_a_gap() -> None:
    proto, data, _ = setup()
    first = proto.receive(diff(1, 5), 0.0)
    assert isinstance(first, Inbound) and first.tasks == [SnapshotWanted("ETH/BTC")]
    snapshot = b'{"lastUpdateId":3,"bids":[["0.05","2"]],"asks":[["0.07","1"]]}'
    data.apply_snapshot("ETH/BTC", snapshot, 1000)
    assert data.books["ETH/BTC"].synced
    [update] = proto.receive(diff(6, 7), 0.0)  # type: ignore[misc]
    assert update.message_hash == "orderbook:ETH/BTC"
    gap = proto.receive(diff(9, 10), 0.0)  # 8 is missing
    assert isinstance(gap, Inbound) and gap.tasks == [SnapshotWanted("ETH/BTC")]
    assert [name for name, _ in gap.notices] == ["order_book_resync"]


def test_during_an_overlap_bound_frames_follow_the_old_first_rule() -> None:
    keys: DeliveredKeys[Any] = DeliveredKeys()
    old, data, _ = setup(keys=keys)
    old.receive(agg(1), 0.0)  # bound on the old connection
    router = RotationRouter(data, threading.Lock(), keys)
    new = BinanceStreamProtocol("ws://b", router, raw_tap=RawTap(lambda: 0.0))
    new.subscribe([TRADES])
    new.on_open(0.0)
    assert trades_of(new.receive(agg(0), 0.0)) == []  # binds it there too (and is old news)
    keys.begin([TRADES])  # the replacement's router was made first: it is the new source
    # the new connection is ahead: its trades wait while the old one catches up
    assert trades_of(new.receive(agg(3), 0.0)) == []
    assert trades_of(new.receive(agg(4), 0.0)) == []
    assert [t.id for t in trades_of(old.receive(agg(2), 0.0))] == ["2"]
    assert [t.id for t in trades_of(old.receive(agg(3), 0.0))] == ["3"]
    # handover: what the old one did not deliver is released, once
    released, more = router.release([TRADES])
    assert more and [t.id for t in trades_of(released)] == ["4"]
    assert [t.id for t in data.trades["ETH/BTC"]] == ["1", "2", "3", "4"]


def test_the_raw_log_records_bound_frames() -> None:
    proto, _, _ = setup(tap=True)
    proto.receive(agg(1), 0.0)
    result = proto.receive(agg(2), 0.0)
    deliveries = result.deliveries if isinstance(result, Inbound) else result
    [raw] = [d for d in deliveries if d.message_hash == RAW_HASH]
    [message] = raw.value
    assert message.channel == TRADES and json.loads(message.data)["a"] == 2


def test_only_subscribed_streams_are_bound_so_a_hostile_server_cannot_grow_the_table() -> None:
    proto, _, _ = setup()
    for k in range(200):  # streams nobody subscribed, each named once
        result = proto.receive(agg(k, stream=f"x{k}usdt@aggTrade"), 0.0)
        assert isinstance(result, Inbound) and isinstance(result.errors[0], BadSymbol)
    proto.receive(agg(1), 0.0)
    assert list(proto._bound) == [TRADES.encode()]
    proto.unsubscribe([TRADES])
    assert proto._bound == {}


def test_frames_of_ever_new_unwanted_streams_retain_no_memory() -> None:
    # A hostile (or confused) server naming a new stream in every frame: each gets the
    # general path's error, and nothing is kept per name (binding is for wanted streams).
    proto, _, _ = setup()
    proto.receive(agg(1), 0.0)  # a wanted stream binds

    def unwanted(i: int) -> bytes:
        return agg(2, stream=f"x{i:07d}@aggTrade")

    for i in range(200):  # warm-up: caches of the error path
        proto.receive(unwanted(i), 0.0)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        frames = 2_000
        for i in range(200, 200 + frames):
            result = proto.receive(unwanted(i), 0.0)
            assert isinstance(result, Inbound) and isinstance(result.errors[0], BadSymbol)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    kept = sum(d.size_diff for d in after.compare_to(before, "filename"))
    assert kept < frames * 4, f"{kept / frames:.1f} bytes kept per unwanted stream's frame"
    assert [t.id for t in trades_of(proto.receive(agg(2), 0.0))] == ["2"]  # still bound
