"""User-data events passed once across a rotation's overlap (sans-I/O, plain bytes)."""

from __future__ import annotations

import json
from typing import Any

from ccxtpro_sync._exchanges.binance.private_wire import decode_event
from ccxtpro_sync._exchanges.binance.user_overlap import GRACE, UserEventOverlap, event_key

from .test_private_parsers import EXECUTION_NEW, ORDER_TRADE_UPDATE


def event(base: dict[str, Any], **changes: Any) -> Any:
    return decode_event(json.dumps({**base, **changes}).encode())


def balance_update(delta: str, time: int = 1) -> Any:
    raw = {"e": "balanceUpdate", "E": time, "a": "USDT", "d": delta, "T": time}
    return decode_event(json.dumps(raw).encode())


def test_a_repeat_is_dropped_only_during_an_overlap() -> None:
    overlap = UserEventOverlap()
    new = event(EXECUTION_NEW)
    assert not overlap.repeat(new, 0.0)
    assert not overlap.repeat(new, 0.0)  # no overlap: never dropped
    overlap.begin()
    assert overlap.repeat(event(EXECUTION_NEW), 1.0)
    assert overlap.dropped == 1


def test_distinct_order_events_are_never_taken_for_repeats() -> None:
    overlap = UserEventOverlap()
    overlap.begin()
    updates = [
        event(EXECUTION_NEW),
        event(EXECUTION_NEW, x="TRADE", X="PARTIALLY_FILLED", t=7, l="0.5", z="0.5"),
        event(EXECUTION_NEW, x="TRADE", X="FILLED", t=8, l="0.5", z="1.0"),
        event(EXECUTION_NEW, i=4293154),  # another order, same millisecond
        event(EXECUTION_NEW, E=EXECUTION_NEW["E"] + 1),
    ]
    assert [overlap.repeat(u, 0.0) for u in updates] == [False] * 5
    assert [overlap.repeat(u, 0.0) for u in updates] == [True] * 5


def test_balance_deltas_and_futures_events_have_identities() -> None:
    overlap = UserEventOverlap()
    overlap.begin()
    assert not overlap.repeat(balance_update("100"), 0.0)
    assert not overlap.repeat(balance_update("100", time=2), 0.0)  # a second deposit
    assert overlap.repeat(balance_update("100"), 0.0)  # the first, delivered twice
    futures = event(ORDER_TRADE_UPDATE)
    assert event_key(futures) is not None
    assert not overlap.repeat(futures, 0.0)
    assert overlap.repeat(event(ORDER_TRADE_UPDATE), 0.0)


def test_repeats_are_dropped_for_a_grace_period_after_the_overlap() -> None:
    """The new connection's reader may lag: an event the old one delivered just before
    closing can arrive on the new one after the overlap ended."""
    overlap = UserEventOverlap()
    overlap.begin()
    first = balance_update("5")
    assert not overlap.repeat(first, 0.0)
    overlap.end(10.0)
    assert overlap.repeat(balance_update("5"), 10.0 + GRACE / 2)
    assert not overlap.repeat(balance_update("5"), 10.0 + GRACE)  # over: a new deposit


def test_memory_is_bounded() -> None:
    overlap = UserEventOverlap(memory=3)
    overlap.begin()
    for time in range(10):
        overlap.repeat(balance_update("1", time), 0.0)
    assert len(overlap._seen) == 3
    assert not overlap.repeat(balance_update("1", 0), 0.0)  # forgotten, not a repeat
    assert overlap.repeat(balance_update("1", 9), 0.0)


def test_events_without_an_identity_pass() -> None:
    overlap = UserEventOverlap()
    overlap.begin()
    terminated = decode_event(b'{"e":"eventStreamTerminated","E":1}')
    assert event_key(terminated) is None
    assert not overlap.repeat(terminated, 0.0) and not overlap.repeat(terminated, 0.0)
