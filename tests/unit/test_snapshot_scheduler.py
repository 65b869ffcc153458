"""SnapshotScheduler with a fake clock: budget, FIFO, dedup, back-off, wake-ups."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccxtpro_sync._exchanges.binance.depth_weights import (
    binance_scheduler,
    futures_depth_weight,
    spot_depth_weight,
)


def test_weight_tables() -> None:
    assert [spot_depth_weight(n) for n in (None, 1, 100, 101, 500, 501, 1000, 1001, 5000)] == [
        5, 5, 5, 25, 25, 50, 50, 250, 250,
    ]  # fmt: skip
    assert [futures_depth_weight(n) for n in (None, 5, 10, 20, 50, 100, 500, 1000)] == [
        10, 2, 2, 2, 2, 5, 10, 20,
    ]  # fmt: skip
    for bad in (0, 5001):
        with pytest.raises(ValueError):
            spot_depth_weight(bad)
    for bad in (1, 200, 5000):
        with pytest.raises(ValueError):
            futures_depth_weight(bad)


def test_startup_burst_respects_budget_fifo() -> None:
    s = binance_scheduler(headroom=0.1)  # spot: 6000 * 0.9 = 5400
    assert s.budget == 5400
    symbols = [f"S{i:03d}" for i in range(200)]
    for sym in symbols:
        assert s.request(sym, 1000)  # weight 50 each: 10,000 in total
    first = s.due(0.0)
    assert [x for x, _ in first] == symbols[:108]  # 108 * 50 = 5400
    assert all(limit == 1000 for _, limit in first)
    assert s.due(30.0) == []
    assert s.next_ready_at(30.0) == 60.0
    second = s.due(60.0)
    assert [x for x, _ in second] == symbols[108:]


def test_rolling_window_frees_weight_gradually() -> None:
    s = binance_scheduler(weight_limit=100, headroom=0.0)
    s.request("A", 1000)  # 50
    assert s.due(0.0) == [("A", 1000)]
    s.request("B", 1000)
    assert s.due(10.0) == [("B", 1000)]
    s.request("C", 1000)
    assert s.due(20.0) == []
    assert s.next_ready_at(20.0) == 60.0  # A's weight leaves the window first
    assert s.due(59.9) == []
    assert s.due(60.0) == [("C", 1000)]


def test_dedup_queued_and_in_flight() -> None:
    s = binance_scheduler()
    assert s.request("A", 100)
    assert not s.request("A", 1000)  # already queued: larger limit wins
    assert s.pending == ["A"]
    assert s.due(0.0) == [("A", 1000)]
    assert not s.request("A", 100)  # in flight: its answer will do
    s.completed("A")
    assert s.request("A", 100)


def test_strict_fifo_heavy_request_is_not_starved() -> None:
    s = binance_scheduler(weight_limit=300, headroom=0.0)
    s.request("A", 5000)  # 250
    s.request("B", 5000)  # 250: does not fit after A
    s.request("C", 10)  # 5: would fit, but must not jump ahead of B
    assert s.due(0.0) == [("A", 5000)]
    assert s.due(1.0) == []
    assert s.due(60.0) == [("B", 5000), ("C", 10)]


def test_retry_after_pauses_everything_and_requeues_at_front() -> None:
    s = binance_scheduler()
    for sym in ("A", "B", "C"):
        s.request(sym)
    assert [x for x, _ in s.due(0.0)] == ["A", "B", "C"]
    s.request("D")
    s.failed("B", 1.0, retry_after=30)  # 429
    assert s.pending == ["B", "D"]
    assert s.due(10.0) == []
    assert s.next_ready_at(10.0) == 31.0
    assert [x for x, _ in s.due(31.0)] == ["B", "D"]


def test_failure_without_retry_after_backs_off_only_that_symbol() -> None:
    s = binance_scheduler(retry_base=1.0, retry_max=4.0)
    s.request("A")
    s.request("B")
    s.due(0.0)
    s.failed("A", 0.0)  # timeout: A waits 1 s
    s.request("C")
    assert s.due(0.5) == [("C", None)]  # A is not eligible yet and keeps its place
    assert s.pending == ["A"]
    assert s.next_ready_at(0.5) == 1.0
    assert s.due(1.0) == [("A", None)]
    s.failed("A", 1.0)
    assert s.next_ready_at(1.0) == 3.0  # 2 s
    s.due(3.0)
    s.failed("A", 3.0)
    s.due(7.0)
    s.failed("A", 7.0)
    assert s.next_ready_at(7.0) == 11.0  # capped at retry_max
    s.due(11.0)
    s.completed("A")
    assert s.next_ready_at(11.0) is None


def test_used_weight_header_counts_foreign_weight() -> None:
    s = binance_scheduler(weight_limit=1000, headroom=0.0)
    s.request("A", 1000)  # 50
    s.due(0.0)
    s.used_weight(990, 1.0)  # other calls used 940 more
    assert s.spent == 990
    s.request("B", 1000)
    assert s.due(2.0) == []
    assert s.next_ready_at(2.0) == 60.0  # A leaves at 60: 940 + 50 fits
    s.used_weight(10, 3.0)  # lower than our own count: ignored
    assert s.spent == 990


def test_max_in_flight() -> None:
    s = binance_scheduler(max_in_flight=2)
    for sym in "ABC":
        s.request(sym)
    assert len(s.due(0.0)) == 2
    assert s.next_ready_at(0.0) is None  # wake on completion
    s.completed("A")
    assert s.due(0.1) == [("C", None)]


def test_cancel_and_validation() -> None:
    s = binance_scheduler(futures=True)
    assert s.budget == 2160
    s.request("A", 1000)
    s.cancel("A")
    assert s.pending == [] and s.next_ready_at(0.0) is None
    with pytest.raises(ValueError):
        s.request("A", 200)  # not a futures limit
    with pytest.raises(ValueError):
        binance_scheduler(weight_limit=100).request("A", 5000)  # 250 > 90
    with pytest.raises(ValueError):
        binance_scheduler(headroom=1.0)


@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["req", "tick", "done", "fail", "429"]),
            st.integers(0, 15),
            st.sampled_from([None, 100, 500, 1000, 5000]),
            st.floats(0, 20),
        ),
        max_size=120,
    )
)
def test_property_budget_never_exceeded(
    ops: list[tuple[str, int, int | None, float]],
) -> None:
    s = binance_scheduler(weight_limit=1000, headroom=0.1)
    now = 0.0
    sent: list[tuple[float, int]] = []
    for op, n, limit, dt in ops:
        sym = f"S{n}"
        now += dt
        if op == "req":
            s.request(sym, limit)
        elif op == "done":
            s.completed(sym)
        elif op == "fail":
            s.failed(sym, now)
        elif op == "429":
            s.failed(sym, now, retry_after=dt)
        wake = s.next_ready_at(now)
        got = s.due(now)
        if wake is not None and wake > now:
            assert got == []  # next_ready_at is never later than the truth
        for _sym, lim in got:
            sent.append((now, spot_depth_weight(lim)))
        in_window = sum(w for t, w in sent if t > now - 60.0)
        assert in_window <= s.budget
        assert len(set(s.pending)) == len(s.pending)
        assert not set(s.pending) & set(s.in_flight)


def test_direct_calls_share_the_window_and_may_use_the_headroom() -> None:
    s = binance_scheduler(weight_limit=100, headroom=0.2)  # snapshots: 80, direct: 100
    assert s.admit(70, 0.0) == 0.0 and s.spent == 70
    s.request("A", 1000)  # weight 50: does not fit beside the direct call's 70
    assert s.due(1.0) == []
    assert s.admit(30, 5.0) == 0.0  # up to the whole limit, headroom included
    assert s.admit(1, 6.0) == 60.0 - 6.0  # the first charge leaves the window at 60
    assert s.spent == 100  # a refused call is not charged
    assert s.due(60.0) == [("A", 1000)]
    lone = binance_scheduler(weight_limit=10, headroom=0.0)
    assert lone.admit(25, 0.0) == 0.0 and lone.spent == 25  # sent and charged, not lost


def test_pause_stops_direct_calls_and_snapshots() -> None:
    s = binance_scheduler()
    s.request("A", 100)
    s.pause(30.0, 10.0)
    assert s.admit(1, 20.0) == 20.0  # seconds left of the pause
    assert s.due(20.0) == [] and s.next_ready_at(20.0) == 40.0
    s.pause(5.0, 20.0)  # a shorter pause never shortens a longer one
    assert s.paused_until == 40.0
    assert s.admit(1, 40.0) == 0.0 and s.due(40.0) == [("A", 100)]


def test_due_hands_out_at_most_what_a_worker_asks_for() -> None:
    s = binance_scheduler(max_in_flight=3)
    for sym in "ABCDE":
        s.request(sym, 100)
    assert s.due(0.0, most=1) == [("A", 100)]
    assert s.due(0.0, most=1) == [("B", 100)]
    assert s.due(0.0) == [("C", 100)]  # the cap of three in flight is reached
    assert s.due(0.0, most=1) == []
    s.completed("A")
    s.failed("B", 0.0, retry_after=5.0)  # a 429: nothing is handed out during the pause
    assert s.due(1.0, most=1) == []
    assert s.next_ready_at(1.0) == 5.0
    assert s.due(5.0, most=3) == [("B", 100), ("D", 100)]  # B again first; then the cap
    assert s.due(5.0, most=1) == []
    s.completed("C")
    assert s.due(5.0, most=2) == [("E", 100)]
