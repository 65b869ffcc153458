"""Incremental book sync on change ids: documented frames, gaps, and a property
test against a random true book."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccxtpro_sync._exceptions import OrderBookDesync, ProtocolError
from ccxtpro_sync._exchanges.deribit.book_sync import (
    DeribitBookSync,
    ResyncReason,
    SyncStatus,
)
from ccxtpro_sync._exchanges.deribit.rpc import Notification, decode_frame

from ..book_impls import book_levels  # noqa: F401  (the fixture: each test runs C and Python)
from ._fixtures import raw

pytestmark = pytest.mark.usefixtures("book_levels")


def _data(name: str) -> Any:
    frame = decode_frame(raw(name))
    assert isinstance(frame, Notification)
    return frame.data


def _change(change_id: int, prev: int, bids: list[Any], asks: list[Any]) -> dict[str, Any]:
    return {
        "type": "change",
        "timestamp": 1790133842703,
        "change_id": change_id,
        "prev_change_id": prev,
        "bids": bids,
        "asks": asks,
    }


def test_documented_snapshot() -> None:
    sync: DeribitBookSync[float] = DeribitBookSync("ETH/USD:ETH")
    result = sync.on_message(_data("book_snapshot.json"))
    assert result.status is SyncStatus.UPDATED and sync.synced
    assert result.book is not None
    assert result.book.bids == [[2772.65, 2700], [2772.6, 7414]]
    assert result.book.asks == [[2772.7, 53]]
    assert result.book.nonce == 136069961946 and result.book.timestamp == 1790133840638


def test_documented_change_applies_new_and_delete() -> None:
    change = _data("book_change.json")
    snapshot = {
        "type": "snapshot",
        "timestamp": 1790133842000,
        "change_id": change["prev_change_id"],
        "bids": [["new", 0.11344, 500.0], ["new", 0.11300, 20.0]],
        "asks": [["new", 0.11400, 10.0]],
    }
    sync: DeribitBookSync[float] = DeribitBookSync("ALGO/USDC:USDC")
    sync.on_message(snapshot)
    result = sync.on_message(change)
    assert result.status is SyncStatus.UPDATED
    assert result.book is not None
    assert result.book.bids == [[0.11374, 1054.0], [0.113, 20.0]]  # 0.11344 deleted
    assert result.book.nonce == 193809634213


def test_change_before_snapshot_is_a_gap_reported_once() -> None:
    sync: DeribitBookSync[float] = DeribitBookSync("ALGO/USDC:USDC")
    first = sync.on_message(_data("book_change.json"))
    assert first.status is SyncStatus.RESYNC and first.reason is ResyncReason.GAP
    assert first.needs_snapshot and sync.needs_resubscribe
    assert isinstance(first.error("ALGO/USDC:USDC"), OrderBookDesync)
    again = sync.on_message(_change(193809634300, 193809634213, [["new", 0.1, 1.0]], []))
    assert again.status is SyncStatus.IGNORED_STALE
    with pytest.raises(OrderBookDesync):
        sync.view()


def test_broken_chain_drops_the_book_until_a_new_snapshot() -> None:
    sync: DeribitBookSync[float] = DeribitBookSync("X")
    sync.on_message({"type": "snapshot", "change_id": 10, "bids": [["new", 99.0, 1.0]], "asks": []})
    assert sync.on_message(_change(12, 10, [["change", 99.0, 2.0]], [])).book is not None
    gap = sync.on_message(_change(20, 15, [["new", 98.0, 1.0]], []))
    assert gap.status is SyncStatus.RESYNC and gap.needs_snapshot
    assert "expected prev_change_id=12" in gap.detail
    assert not sync.synced and sync.nonce is None
    restart = sync.on_message(
        {"type": "snapshot", "change_id": 30, "bids": [["new", 97.0, 3.0]], "asks": []}
    )
    assert restart.status is SyncStatus.UPDATED and sync.nonce == 30
    assert sync.view().bids == [[97.0, 3.0]]
    assert sync.stats.resyncs == 1 and sync.stats.reasons == {ResyncReason.GAP: 1}


def test_duplicates_are_ignored() -> None:
    sync: DeribitBookSync[float] = DeribitBookSync("X")
    sync.on_message({"type": "snapshot", "change_id": 10, "bids": [], "asks": []})
    sync.on_message(_change(12, 10, [["new", 99.0, 1.0]], []))
    assert sync.on_message(_change(12, 10, [["new", 99.0, 5.0]], [])).status is (
        SyncStatus.IGNORED_STALE
    )
    assert sync.view().bids == [[99.0, 1.0]]


def test_a_crossed_book_is_never_shown() -> None:
    sync: DeribitBookSync[float] = DeribitBookSync("X")
    sync.on_message(
        {
            "type": "snapshot",
            "change_id": 1,
            "bids": [["new", 99.0, 1.0]],
            "asks": [["new", 100.0, 1.0]],
        }
    )
    crossed = sync.on_message(_change(2, 1, [["new", 100.5, 1.0]], []))
    assert crossed.status is SyncStatus.RESYNC and crossed.reason is ResyncReason.CROSSED
    assert crossed.book is None and crossed.needs_snapshot
    with pytest.raises(OrderBookDesync):
        sync.view()


@pytest.mark.parametrize(
    "bids",
    [
        [["new", float("nan"), 1.0]],
        [["new", 1.0, float("inf")]],
        [["new", 1.0, -1.0]],
        [["move", 1.0, 1.0]],
        [["new", 1.0]],
        "x",
    ],
)
def test_bad_levels_fail_without_touching_the_book(bids: Any) -> None:
    sync: DeribitBookSync[float] = DeribitBookSync("X")
    sync.on_message({"type": "snapshot", "change_id": 1, "bids": [["new", 5.0, 1.0]], "asks": []})
    with pytest.raises(ProtocolError):
        sync.on_message(_change(2, 1, bids, []))
    assert sync.view().bids == [[5.0, 1.0]] and sync.nonce == 1


def test_decimal_book_and_window_mode() -> None:
    sync: DeribitBookSync[Decimal] = DeribitBookSync("X", number=Decimal)
    frame = decode_frame(raw("book_snapshot.json"), exact=True)
    assert isinstance(frame, Notification)
    assert sync.on_message(frame.data).book is not None
    assert sync.view().bids[0] == [Decimal("2772.65"), Decimal(2700)]
    window: DeribitBookSync[float] = DeribitBookSync("BTC/USDC:USDC")
    result = window.on_window(_data("book_window.json"))
    assert result.book is not None
    assert result.book.bids == [[86775.8, 0.216]] and result.book.asks == [[86776.0, 0.0009]]
    assert window.on_window(_data("book_window.json")).status is SyncStatus.IGNORED_STALE


def test_invalidate_waits_for_the_next_snapshot() -> None:
    sync: DeribitBookSync[float] = DeribitBookSync("ETH/USD:ETH")
    sync.on_message(_data("book_snapshot.json"))
    result = sync.invalidate("reconnect")
    assert result.status is SyncStatus.RESYNC and result.reason is ResyncReason.INVALIDATED
    assert not sync.synced and not sync.needs_resubscribe
    assert sync.on_message(_data("book_snapshot.json")).status is SyncStatus.UPDATED


# --------------------------------------------------------------------------- property

_BID_PRICES = st.integers(1, 50)
_ASK_PRICES = st.integers(51, 100)
_STEP = st.tuples(
    st.booleans(),  # side: True = bids
    st.integers(1, 100),  # price seed
    st.integers(0, 5),  # amount (0 deletes)
    st.integers(1, 7),  # change_id increment (a shared counter: never just +1)
    st.booleans(),  # dropped on the way (a gap), if the gap budget allows
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_STEP, min_size=1, max_size=120), st.integers(0, 2**31))
def test_book_equals_the_true_book_at_every_change_id(steps: list[Any], seed: int) -> None:
    true_bids: dict[float, float] = {}
    true_asks: dict[float, float] = {}
    change_id = seed
    sync: DeribitBookSync[float] = DeribitBookSync("X")

    def snapshot() -> dict[str, Any]:
        return {
            "type": "snapshot",
            "change_id": change_id,
            "bids": [["new", p, q] for p, q in true_bids.items()],
            "asks": [["new", p, q] for p, q in true_asks.items()],
        }

    assert sync.on_message(snapshot()).status is SyncStatus.UPDATED
    lost = False
    for is_bid, price_seed, amount, increment, dropped in steps:
        price = float(price_seed % 50 + (1 if is_bid else 51))
        side = true_bids if is_bid else true_asks
        action = "new" if price not in side else "change"
        if amount == 0:
            side.pop(price, None)
            action = "delete"
        else:
            side[price] = float(amount)
        prev, change_id = change_id, change_id + increment
        level = [[action, price, float(amount)]]
        message = _change(change_id, prev, level if is_bid else [], [] if is_bid else level)
        if dropped:
            lost = True
            continue
        result = sync.on_message(message)
        if lost:
            # The chain broke: the message is not applied, the book is dropped and the
            # caller is told to resubscribe, which brings a new snapshot.
            assert result.status is SyncStatus.RESYNC and result.reason is ResyncReason.GAP
            assert result.book is None and not sync.synced and sync.needs_resubscribe
            lost = False
            assert sync.on_message(snapshot()).status is SyncStatus.UPDATED
        else:
            assert result.status is SyncStatus.UPDATED and result.book is not None
            assert result.book.bids == sync.view().bids and result.book.asks == sync.view().asks
        view = sync.view()
        assert view.nonce == change_id
        assert view.bids == sorted(([p, q] for p, q in true_bids.items()), reverse=True)
        assert view.asks == sorted([p, q] for p, q in true_asks.items())
