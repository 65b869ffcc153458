"""BookSync: Binance's documented local order book procedure, with plain data."""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccxtpro_sync._exceptions import OrderBookDesync
from ccxtpro_sync._exchanges.binance.book_sync import (
    BookSync,
    ResyncReason,
    SyncStatus,
)

from .book_impls import book_levels  # noqa: F401  (the fixture: each test runs C and Python)

pytestmark = pytest.mark.usefixtures("book_levels")

UPDATED = SyncStatus.UPDATED
BUFFERED = SyncStatus.BUFFERED
STALE = SyncStatus.IGNORED_STALE
NEED = SyncStatus.NEED_SNAPSHOT
RESYNC = SyncStatus.RESYNC

BIDS = [["100.0", "1"], ["99.0", "2"], ["98.0", "3"]]
ASKS = [["101.0", "1"], ["102.0", "2"], ["103.0", "3"]]


def spot(**kw: object) -> BookSync[float]:
    return BookSync("BTC/USDT", futures=False, **kw)  # type: ignore[arg-type]


def fut(**kw: object) -> BookSync[float]:
    return BookSync("BTC/USDT:USDT", futures=True, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- spot


def test_spot_happy_path_buffer_snapshot_replay_live() -> None:
    s = spot()
    r = s.on_diff(101, 103, None, [["100.0", "5"]], [], 1)
    assert r.status is NEED and r.needs_snapshot
    assert s.on_diff(104, 105, None, [], [["101.0", "0"]], 2).status is BUFFERED
    assert not s.synced
    with pytest.raises(OrderBookDesync):
        s.view()
    r = s.on_snapshot(102, BIDS, ASKS)  # straddled by [101;103]
    assert r.status is UPDATED and r.book is not None
    assert r.book.nonce == 105
    assert r.book.bids[0] == [100.0, 5.0]
    assert r.book.asks[0] == [102.0, 2.0]
    assert r.book.timestamp == 2
    r = s.on_diff(106, 106, None, [["100.5", "1"]], [], 3)
    assert r.status is UPDATED and r.book is not None
    assert r.book.best_bid == 100.5 and r.book.nonce == 106
    assert s.stats.applied == 3 and s.stats.resyncs == 0


def test_spot_snapshot_older_than_buffer_asks_again() -> None:
    s = spot()
    s.on_diff(101, 103, None, [], [])
    r = s.on_snapshot(100, BIDS, ASKS)  # 100 < U=101: documented "go back to step 3"
    assert r.status is NEED and r.reason is ResyncReason.SNAPSHOT_TOO_OLD and r.needs_snapshot
    assert s.stats.snapshots_rejected == 1 and s.stats.resyncs == 0
    assert s.on_diff(104, 104, None, [], []).status is BUFFERED  # still buffering
    r = s.on_snapshot(103, BIDS, ASKS)
    assert r.status is UPDATED and r.book is not None and r.book.nonce == 104


def test_spot_snapshot_newer_than_all_buffered_events() -> None:
    s = spot()
    s.on_diff(101, 103, None, [["50", "1"]], [])
    s.on_diff(104, 105, None, [["51", "1"]], [])
    r = s.on_snapshot(110, BIDS, ASKS)
    assert r.status is UPDATED and r.book is not None and r.book.nonce == 110
    assert r.book.bids == [[100.0, 1.0], [99.0, 2.0], [98.0, 3.0]]  # stale events dropped
    assert s.on_diff(106, 110, None, [["52", "1"]], []).status is STALE  # u <= X
    r = s.on_diff(109, 112, None, [["97", "1"]], [])  # straddles X=110
    assert r.status is UPDATED and r.book is not None and r.book.nonce == 112
    assert s.on_diff(113, 113, None, [], []).status is UPDATED


def test_spot_first_live_event_may_be_next_id() -> None:
    s = spot()
    assert s.on_snapshot(100, BIDS, ASKS).status is UPDATED  # nothing buffered yet
    assert s.on_diff(101, 101, None, [], []).status is UPDATED


def test_spot_first_live_event_after_snapshot_with_gap() -> None:
    s = spot()
    s.on_snapshot(100, BIDS, ASKS)
    r = s.on_diff(102, 103, None, [], [])
    assert r.status is RESYNC and r.reason is ResyncReason.GAP and r.needs_snapshot


def test_spot_gap_discards_book_keeps_buffering_and_recovers() -> None:
    s = spot()
    s.on_diff(101, 101, None, [], [])
    s.on_snapshot(101, BIDS, ASKS)
    r = s.on_diff(103, 104, None, [["100.0", "7"]], [])  # 102 missed
    assert r.status is RESYNC and r.reason is ResyncReason.GAP and r.needs_snapshot
    assert "U<=102" in r.detail
    err = r.error(s.symbol)
    assert isinstance(err, OrderBookDesync) and err.symbol == "BTC/USDT"
    assert not s.synced and s.nonce is None and s.buffered == 1
    # Once asked, later events only buffer.
    assert s.on_diff(105, 105, None, [], []).status is BUFFERED
    r = s.on_snapshot(104, [["100.0", "7"]], ASKS)
    assert r.status is UPDATED and r.book is not None and r.book.nonce == 105
    assert s.stats.resyncs == 1 and s.stats.reasons[ResyncReason.GAP] == 1


def test_spot_duplicate_events_are_stale() -> None:
    s = spot()
    s.on_diff(101, 102, None, [["100.0", "5"]], [])
    assert s.on_diff(101, 102, None, [["100.0", "5"]], []).status is STALE  # in buffer
    s.on_snapshot(101, BIDS, ASKS)
    assert s.on_diff(101, 102, None, [["100.0", "9"]], []).status is STALE  # live
    assert s.view().bids[0] == [100.0, 5.0]
    assert s.stats.stale == 2


def test_empty_diff_advances_nonce_and_absent_removal_is_normal() -> None:
    s = spot()
    s.on_snapshot(100, BIDS, ASKS)
    r = s.on_diff(101, 101, None, [], [])
    assert r.status is UPDATED and r.book is not None and r.book.nonce == 101
    r = s.on_diff(102, 102, None, [["42", "0"]], [["4242", "0"]])  # absent levels
    assert r.status is UPDATED and r.book is not None
    assert r.book.bids == [[100.0, 1.0], [99.0, 2.0], [98.0, 3.0]]


def test_overlapping_spot_event_is_applied() -> None:
    # Quantities are absolute, so an event covering ids the book already has is safe.
    s = spot()
    s.on_snapshot(100, BIDS, ASKS)
    s.on_diff(101, 102, None, [], [])
    r = s.on_diff(102, 104, None, [["100.0", "4"]], [])
    assert r.status is UPDATED and r.book is not None and r.book.nonce == 104


# --------------------------------------------------------------------------- futures


def test_futures_drop_u_below_x_keep_u_equal_x() -> None:
    s = fut()
    s.on_diff(150, 155, 149, [["1", "1"]], [])
    s.on_diff(157, 160, 155, [["100.0", "8"]], [])
    s.on_diff(162, 170, 160, [["99.0", "0"]], [])
    r = s.on_snapshot(160, BIDS, ASKS)  # drop u=155 (< 160); u=160 is kept and applied
    assert r.status is UPDATED and r.book is not None and r.book.nonce == 170
    assert r.book.bids == [[100.0, 8.0], [98.0, 3.0]]
    assert s.on_diff(171, 175, 170, [], []).status is UPDATED
    r = s.on_diff(180, 181, 176, [], [])  # pu must equal previous u
    assert r.status is RESYNC and r.reason is ResyncReason.GAP
    assert "pu=175" in r.detail


def test_futures_snapshot_in_id_hole_bridges_on_pu() -> None:
    # Futures ids are not consecutive per symbol: X can fall between pu and U.
    s = fut()
    s.on_diff(150, 155, 149, [], [])
    s.on_diff(160, 165, 155, [["100.0", "2"]], [])
    r = s.on_snapshot(157, BIDS, ASKS)  # 155 dropped; first kept has pu=155 <= 157
    assert r.status is UPDATED and r.book is not None and r.book.nonce == 165


def test_futures_live_bridge_after_snapshot_with_empty_buffer() -> None:
    s = fut()
    assert s.on_snapshot(157, BIDS, ASKS).status is UPDATED
    assert s.on_diff(150, 157, 149, [], []).status is STALE
    assert s.on_diff(160, 165, 155, [], []).status is UPDATED  # pu <= X < u
    s2 = fut()
    s2.on_snapshot(157, BIDS, ASKS)
    r = s2.on_diff(160, 165, 158, [], [])  # pu > X: something between X and pu is missing
    assert r.status is RESYNC and r.reason is ResyncReason.GAP


def test_futures_requires_pu() -> None:
    with pytest.raises(ValueError):
        fut().on_diff(1, 2, None, [], [])


def test_gap_inside_buffer_drops_older_events() -> None:
    s = fut()
    s.on_diff(10, 12, 9, [], [])
    s.on_diff(20, 22, 15, [], [])  # pu != 12: events before it can never be bridged
    assert s.buffered == 1 and s.stats.buffer_dropped == 1
    assert s.on_snapshot(12, BIDS, ASKS).reason is ResyncReason.SNAPSHOT_TOO_OLD
    assert s.on_snapshot(21, BIDS, ASKS).status is UPDATED


def test_buffer_overflow_drops_oldest_and_stays_correct() -> None:
    s = spot(max_buffer=3)
    for i in range(1, 6):  # events 1..5, one id each
        s.on_diff(i, i, None, [[f"{90 + i}", "1"]], [])
    assert s.buffered == 3 and s.stats.buffer_dropped == 2
    r = s.on_snapshot(2, BIDS, ASKS)  # 2 < first kept U=3
    assert r.status is NEED and r.reason is ResyncReason.SNAPSHOT_TOO_OLD
    r = s.on_snapshot(3, BIDS, ASKS)
    assert r.status is UPDATED and r.book is not None and r.book.nonce == 5
    assert [p for p, _ in r.book.bids[:3]] == [100.0, 99.0, 98.0]
    assert [95.0, 1.0] in r.book.bids and [94.0, 1.0] in r.book.bids
    assert [93.0, 1.0] not in r.book.bids  # event 3 is covered by the snapshot


# --------------------------------------------------------------------------- crossing


def test_crossed_after_update_is_a_desync_and_never_exposed() -> None:
    s = spot()
    s.on_snapshot(100, BIDS, ASKS)
    r = s.on_diff(101, 101, None, [["101.5", "1"]], [])  # bid above best ask
    assert r.status is RESYNC and r.reason is ResyncReason.CROSSED and r.book is None
    assert r.needs_snapshot and not s.synced
    with pytest.raises(OrderBookDesync):
        s.view()
    assert s.on_diff(102, 102, None, [], []).status is BUFFERED
    assert s.on_snapshot(102, BIDS, ASKS).status is UPDATED
    assert s.stats.reasons[ResyncReason.CROSSED] == 1


def test_crossed_snapshot_and_crossed_replay() -> None:
    s = spot()
    r = s.on_snapshot(100, [["105", "1"]], ASKS)
    assert r.status is RESYNC and r.reason is ResyncReason.CROSSED
    s = spot()
    s.on_diff(101, 102, None, [], [["99.5", "1"]])
    r = s.on_snapshot(101, BIDS, ASKS)
    assert r.status is RESYNC and r.reason is ResyncReason.CROSSED


def test_locked_book_counts_as_crossed() -> None:
    s = spot()
    s.on_snapshot(100, BIDS, ASKS)
    assert s.on_diff(101, 101, None, [["101.0", "1"]], []).reason is ResyncReason.CROSSED


# --------------------------------------------------------------------------- misc


def test_late_snapshot_while_synced_is_ignored() -> None:
    s = spot()
    s.on_snapshot(100, BIDS, ASKS)
    s.on_diff(101, 101, None, [["100.0", "9"]], [])
    assert s.on_snapshot(120, [["1", "1"]], [["2", "1"]]).status is STALE
    assert s.view().bids[0] == [100.0, 9.0]


def test_invalidate_starts_over() -> None:
    s = spot()
    s.on_snapshot(100, BIDS, ASKS)
    r = s.invalidate("reconnected")
    assert r.status is RESYNC and r.reason is ResyncReason.INVALIDATED
    assert not r.needs_snapshot  # ask once the new stream has buffered an event
    assert s.on_diff(500, 501, None, [], []).status is NEED
    assert s.stats.reasons[ResyncReason.INVALIDATED] == 1


def test_depth_limit_and_view_limit() -> None:
    bids = [[str(100 - i), "1"] for i in range(10)]
    asks = [[str(101 + i), "1"] for i in range(10)]
    s = spot(limit=5, view_limit=3)
    r = s.on_snapshot(1, bids, asks, depth=10)
    assert r.book is not None and len(r.book.bids) == 3 and len(r.book.asks) == 3
    assert len(s.view(5).bids) == 5
    assert s.book.bid_bound == 96.0 and s.book.ask_bound == 105.0
    r = s.on_diff(2, 2, None, [["90", "4"]], [["103", "0"]])  # 90 is outside the window
    assert r.book is not None
    assert [p for p, _ in s.view(10).bids] == [100.0, 99.0, 98.0, 97.0, 96.0]
    assert [p for p, _ in s.view(10).asks] == [101.0, 102.0, 104.0, 105.0]


def test_decimal_mode() -> None:
    s = BookSync("BTC/USDT", futures=False, number=Decimal)
    r = s.on_snapshot(1, [["0.10", "1.5"]], [["0.20", "2"]])
    assert r.book is not None
    assert r.book.bids == [[Decimal("0.10"), Decimal("1.5")]]
    assert r.book.spread == Decimal("0.10")


# --------------------------------------------------------------------------- partial


def test_partial_spot_replace_mode() -> None:
    s = spot(partial=True)
    r = s.on_partial(160, [["0.0024", "10"]], [["0.0026", "100"]])
    assert r.status is UPDATED and r.book is not None and r.book.nonce == 160
    assert s.on_partial(160, [["0.0024", "11"]], [["0.0026", "100"]]).status is STALE
    r = s.on_partial(170, [["0.0023", "5"]], [["0.0027", "1"]], 1234)
    assert r.book is not None and r.book.bids == [[0.0023, 5.0]] and r.book.timestamp == 1234
    with pytest.raises(ValueError):
        s.on_diff(1, 2, None, [], [])
    with pytest.raises(ValueError):
        s.on_snapshot(1, [], [])
    with pytest.raises(ValueError):
        spot().on_partial(1, [], [])


def test_partial_crossed_needs_no_snapshot() -> None:
    s = fut(partial=True, limit=5)
    r = s.on_partial(10, [["2", "1"]], [["1", "1"]])
    assert r.status is RESYNC and r.reason is ResyncReason.CROSSED and not r.needs_snapshot
    assert s.on_partial(11, [["1", "1"]], [["2", "1"]]).status is UPDATED


# --------------------------------------------------------------------------- property test


@dataclass
class _Ev:
    U: int
    u: int
    pu: int
    b: list[list[str]]
    a: list[list[str]]


@dataclass
class _Market:
    """The "true" exchange book: integer price ticks -> quantities, with history."""

    futures: bool
    rng: random.Random
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    uid: int = 1000
    ids: list[int] = field(default_factory=list)
    states: list[tuple[dict[int, int], dict[int, int]]] = field(default_factory=list)
    last_u: int = 1000

    def __post_init__(self) -> None:
        for p in self.rng.sample(range(1, 50), 12):
            self.bids[p] = self.rng.randint(1, 9)
        for p in self.rng.sample(range(51, 100), 12):
            self.asks[p] = self.rng.randint(1, 9)
        self._record()

    def _record(self) -> None:
        self.ids.append(self.uid)
        self.states.append((dict(self.bids), dict(self.asks)))

    def state_at(self, x: int) -> tuple[dict[int, int], dict[int, int]]:
        return self.states[bisect_right(self.ids, x) - 1]

    def step(self) -> tuple[int, dict[tuple[str, int], int]]:
        """One engine update (new id) touching 1-3 levels, never crossing the book."""
        self.uid += self.rng.randint(1, 3) if self.futures else 1
        touched: dict[tuple[str, int], int] = {}
        for _ in range(self.rng.randint(1, 3)):
            best_bid = max(self.bids, default=0)
            best_ask = min(self.asks, default=101)
            if self.rng.random() < 0.5:
                side, book = "b", self.bids
                p = self.rng.randint(1, best_ask - 1)
            else:
                side, book = "a", self.asks
                p = self.rng.randint(best_bid + 1, 100)
            q = 0 if self.rng.random() < 0.35 else self.rng.randint(1, 9)
            if q:
                book[p] = q
            else:
                book.pop(p, None)  # may remove an absent level
            touched[(side, p)] = q
        self._record()
        return self.uid, touched

    def event(self) -> _Ev:
        first = 0
        merged: dict[tuple[str, int], int] = {}
        for i in range(self.rng.randint(1, 3)):
            uid, touched = self.step()
            if i == 0:
                first = uid
            merged.update(touched)
        ev = _Ev(
            first,
            self.uid,
            self.last_u,
            [[_px(p), str(q)] for (s, p), q in merged.items() if s == "b"],
            [[_px(p), str(q)] for (s, p), q in merged.items() if s == "a"],
        )
        self.last_u = self.uid
        return ev


def _px(tick: int) -> str:
    return f"{tick / 100:.2f}"


def _expected(side: dict[int, int], reverse: bool) -> list[list[float]]:
    return [[float(_px(p)), float(q)] for p, q in sorted(side.items(), reverse=reverse)]


def _truncate(levels: dict[int, int], depth: int | None, reverse: bool) -> list[list[str]]:
    items = sorted(levels.items(), reverse=reverse)
    if depth is not None:
        items = items[:depth]
    return [[_px(p), str(q)] for p, q in items]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    # A real Random seeded by Hypothesis: each draw through a Hypothesis-controlled one
    # costs a choice-sequence entry (thousands per example), for shrinking we do not need.
    rng=st.randoms(use_true_random=True),
    futures=st.booleans(),
    n_events=st.integers(10, 120),
    p_drop=st.sampled_from([0.0, 0.05, 0.2]),
    p_dup=st.sampled_from([0.0, 0.1]),
    limit=st.sampled_from([None, None, 6]),
    depth=st.sampled_from([None, None, 4, 10]),
    parsed=st.booleans(),
)
def test_property_synced_book_always_equals_true_book(
    rng: random.Random,
    futures: bool,
    n_events: int,
    p_drop: float,
    p_dup: float,
    limit: int | None,
    depth: int | None,
    parsed: bool,
) -> None:
    # parsed=True: levels arrive as floats, as the live float decoder hands them over.
    def feed(levels: list[list[str]]) -> list[Any]:
        return [(float(p), float(q)) for p, q in levels] if parsed else levels

    mkt = _Market(futures, rng)
    events = [mkt.event() for _ in range(n_events)]
    sync = BookSync("X/Y", futures=futures, limit=limit, parsed=parsed)
    chaos_until = int(n_events * 0.6)

    buf_start: int | None = None  # U of the oldest event the sync should still hold
    dropped = False  # an event was dropped since the last one the sync accepted
    snapshot_due: int | None = None  # deliver a snapshot before event index snapshot_due

    def check(book: object) -> None:
        from ccxtpro_sync._orderbook import OrderBook

        assert isinstance(book, OrderBook)
        assert book.nonce is not None
        tb, ta = mkt.state_at(book.nonce)
        eb, ea = _expected(tb, True), _expected(ta, False)
        if limit is None and depth is None:
            assert book.bids == eb and book.asks == ea
        else:  # a limited view is always an exact prefix of the true book
            assert book.bids == eb[: len(book.bids)] and book.asks == ea[: len(book.asks)]
            if limit is not None:
                assert len(book.bids) <= limit and len(book.asks) <= limit
        if book.bids and book.asks:
            assert book.bids[0][0] < book.asks[0][0]

    def deliver_snapshot(i: int, *, clean: bool, at: int | None = None) -> None:
        nonlocal buf_start, snapshot_due
        # The server answers at some update id near "now" (before or after what the
        # stream has delivered so far), possibly mid-event.
        lo = events[max(0, i - 3)].U - 1
        hi = events[min(n_events - 1, i + 3)].u
        if clean and buf_start is not None:
            lo = max(lo, buf_start)
        cands = [x for x in mkt.ids if lo <= x <= hi] or [lo]
        x = rng.choice(cands) if at is None else at
        tb, ta = mkt.state_at(x)
        r = sync.on_snapshot(
            x, feed(_truncate(tb, depth, True)), feed(_truncate(ta, depth, False)), depth=depth
        )
        if buf_start is not None and x < buf_start:
            assert r.status is NEED and r.reason is ResyncReason.SNAPSHOT_TOO_OLD
            snapshot_due = i + rng.randint(0, 2)
        else:
            # After a gap, the next snapshot that covers the buffer recovers the book.
            assert r.status is UPDATED, (r, x, buf_start)
            check(r.book)
            buf_start = None
            snapshot_due = None

    prev: _Ev | None = None
    for i, ev in enumerate(events):
        chaos = i < chaos_until
        if snapshot_due is not None and i >= snapshot_due:
            deliver_snapshot(i, clean=not chaos)
        if chaos and rng.random() < p_drop:
            dropped = True
            continue
        batch = [ev]
        if chaos and prev is not None and rng.random() < p_dup:
            batch.insert(0, prev)  # a replayed older event
        for e in batch:
            r = sync.on_diff(e.U, e.u, e.pu if futures else None, feed(e.b), feed(e.a), e.u)
            st_ = r.status
            if st_ is UPDATED:
                check(r.book)
                dropped = False
            elif st_ is RESYNC:
                assert r.reason is ResyncReason.GAP and dropped and r.needs_snapshot
                assert r.book is None
                buf_start, dropped = e.U, False
                snapshot_due = i + rng.randint(0, 3)
            elif st_ in (BUFFERED, NEED):
                if buf_start is None or dropped:
                    buf_start = e.U
                dropped = False
                if st_ is NEED:
                    snapshot_due = i + rng.randint(0, 3)
            else:
                assert st_ is STALE
        prev = ev

    if not sync.synced:
        assert sync.needs_snapshot
        deliver_snapshot(n_events, clean=True, at=mkt.uid)
    assert sync.synced
    final = sync.view()
    assert final.nonce == mkt.uid
    check(final)
    assert sync.stats.resyncs == sync.stats.reasons.get(ResyncReason.GAP, 0)
