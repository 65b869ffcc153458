"""A backfilled page enters by the frames' route and reaches the raw log (plain bytes).

The page's raw entry goes out after the items it supplied, and the live frames the
gap held back are recorded only once their items are delivered, so that a replay,
which delivers in log order, shows every trade id once and in order, as live."""

from __future__ import annotations

import json
import threading
from typing import Any

import msgspec
import pytest

from ccxtpro_sync._core.events import RAW_HASH, Delivery, Inbound, Policy, RawMessage, RawTap
from ccxtpro_sync._core.gap_raw import HeldRaw
from ccxtpro_sync._core.rotation import DeliveredKeys
from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance.backfill import (
    BACKFILL_CHANNEL,
    page_entry,
    parse_page,
    replay_page,
)
from ccxtpro_sync._exchanges.binance.market_data import GapWanted, MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets
from ccxtpro_sync._exchanges.binance.rotation import RotationRouter
from ccxtpro_sync._exchanges.binance.stream_protocol import BinanceStreamProtocol

from .test_private_parsers import spot_market

TRADES = "ethbtc@aggTrade"


def _row(trade_id: int) -> dict[str, Any]:
    return {"a": trade_id, "p": "0.05", "q": "1", "f": trade_id, "l": trade_id, "T": trade_id,
            "m": False, "M": True}  # fmt: skip


def frame(trade_id: int) -> bytes:
    data = {"e": "aggTrade", "E": trade_id, "s": "ETHBTC", **_row(trade_id)}
    return json.dumps({"stream": TRADES, "data": data}).encode()


def _deliveries(result: Any) -> list[Delivery]:
    return list(result.deliveries if isinstance(result, Inbound) else result)


def _raw(deliveries: list[Delivery]) -> list[RawMessage]:
    return [m for d in deliveries if d.message_hash == RAW_HASH for m in d.value]


def _ids(deliveries: list[Delivery]) -> list[int]:
    return [int(t.id) for d in deliveries if d.message_hash == "trades:ETH/BTC" for t in d.value]


def test_backfilled_trades_and_held_frames_reach_the_raw_log_in_delivery_order() -> None:
    markets = Markets([spot_market()], "spot")
    data = MarketData(markets, fill_gaps=True)
    tap = RawTap(lambda: 7.0)
    tap.enabled = True
    proto = BinanceStreamProtocol(
        "ws://a", RotationRouter(data, threading.Lock(), DeliveredKeys()), raw_tap=tap
    )
    proto.subscribe([TRADES])
    proto.on_open(0.0)
    out: list[Delivery] = []
    out += _deliveries(proto.receive(frame(1), 0.0))
    opened = proto.receive(frame(5), 0.0)  # 2..4 were missed: a gap opens
    assert isinstance(opened, Inbound)
    [wanted] = opened.tasks
    assert isinstance(wanted, GapWanted) and (wanted.request.first, wanted.request.last) == (2, 4)
    assert _raw(opened.deliveries) == []  # held with its trade, not recorded ahead of 2..4
    out += opened.deliveries
    out += _deliveries(proto.receive(frame(6), 0.0))  # held too
    body = json.dumps([_row(i) for i in (1, 2, 3, 4, 5)]).encode()  # overlaps both ends
    page = parse_page("aggTrades", body, markets.by_id("ethbtc"), markets.number)
    filled, follow = data.backfilled(
        "ETH/BTC", None, wanted.request.token, page, True, record=page_entry(TRADES, body, 8.0)
    )
    assert follow is None
    out += filled
    while True:
        drained, closed, again = data.drain_gap("ETH/BTC", None)
        assert again is None
        out += drained
        if closed:
            break
    out += _deliveries(proto.receive(frame(7), 0.0))
    assert _ids(out) == [1, 2, 3, 4, 5, 6, 7]
    log = _raw(out)
    assert [m.channel for m in log] == [
        TRADES, f"{BACKFILL_CHANNEL}{TRADES}:2:4", TRADES, TRADES, TRADES,
    ]  # fmt: skip
    assert log[1] == RawMessage("rest", f"{BACKFILL_CHANNEL}{TRADES}:2:4", body, 8.0)

    # The replay (market data without gap filling) delivers what the live run did.
    replay = MarketData(markets)
    replayed: list[Delivery] = []
    for message in log:
        if message.channel.startswith(BACKFILL_CHANNEL):
            replayed += replay_page(replay, message.channel, message.data)
        else:
            payload = json.loads(message.data)
            assert payload["a"] not in (2, 3, 4)
            replayed += _deliveries(replay.route(message.channel, msgspec.Raw(message.data), 0.0))
    assert _ids(replayed) == [1, 2, 3, 4, 5, 6, 7]


def test_held_raw_releases_the_entries_of_items_that_left_the_hold() -> None:
    held = HeldRaw()
    entries = [
        Delivery(RAW_HASH, [RawMessage("s", "c", bytes([i]), 0.0)], Policy.APPEND) for i in range(3)
    ]
    for entry in entries:
        held.hold("s", entry)
    assert held.release("s", 1) == entries[:2]  # the last item is still held
    assert held.release("s", 1) == []
    assert held.release("s", 0) == entries[2:]
    assert held.release("s", 0) == []


def test_a_malformed_backfill_entry_is_a_protocol_error() -> None:
    data = MarketData(Markets([spot_market()], "spot"))
    for channel in (f"{BACKFILL_CHANNEL}ethbtc@aggTrade", f"{BACKFILL_CHANNEL}x:1:y"):
        with pytest.raises(ProtocolError, match="malformed backfill entry"):
            replay_page(data, channel, b"[]")
