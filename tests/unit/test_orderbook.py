"""OrderBook (immutable view) and LocalOrderBook (the mutable book)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccxtpro_sync._orderbook import LocalOrderBook, OrderBook

from .book_impls import book_levels  # noqa: F401  (the fixture: each test runs C and Python)

pytestmark = pytest.mark.usefixtures("book_levels")


def book(limit: int | None = None) -> LocalOrderBook[float]:
    b = LocalOrderBook("BTC/USDT", limit=limit)
    b.reset([["99", "2"], ["100", "1"], ["98", "3"]], [["102", "2"], ["101", "1"]], 10, 0)
    return b


def test_reset_sorts_sides_best_first() -> None:
    s = book().snapshot()
    assert s.bids == [[100.0, 1.0], [99.0, 2.0], [98.0, 3.0]]
    assert s.asks == [[101.0, 1.0], [102.0, 2.0]]
    assert s.nonce == 10 and s.timestamp == 0 and s.datetime == "1970-01-01T00:00:00.000Z"
    assert s.symbol == "BTC/USDT"


def test_apply_upsert_delete_and_absent_removal() -> None:
    b = book()
    b.apply([["100", "5"], ["99.5", "1"], ["98", "0"], ["50", "0"]], [["101", "0"]], 11, 1000)
    s = b.snapshot()
    assert s.bids == [[100.0, 5.0], [99.5, 1.0], [99.0, 2.0]]
    assert s.asks == [[102.0, 2.0]]
    assert s.nonce == 11 and s.timestamp == 1000
    b.apply([], [], 12)  # empty diff: only the id moves; timestamp kept
    assert b.nonce == 12 and b.timestamp == 1000


def test_zero_spelled_differently_removes() -> None:
    b = book()
    b.apply([["100.00000000", "0.00000000"]], [], 11)
    assert b.best_bid() == 99.0


def test_snapshot_top_n_and_copies() -> None:
    b = book()
    s = b.snapshot(2)
    assert len(s.bids) == 2 and len(s.asks) == 2
    s.bids[0][1] = 999.0  # the caller's copy only
    s.bids.clear()
    assert b.snapshot().bids[0] == [100.0, 1.0]
    before = b.snapshot()
    b.apply([["100", "7"]], [], 11)
    assert before.bids[0] == [100.0, 1.0] and before.nonce == 10
    with pytest.raises(AttributeError):
        before.nonce = 3  # type: ignore[misc]


def test_is_crossed_and_best() -> None:
    b = book()
    assert not b.is_crossed() and b.best_bid() == 100.0 and b.best_ask() == 101.0
    b.apply([["101", "1"]], [], 11)
    assert b.is_crossed()  # locked counts as crossed
    empty: LocalOrderBook[float] = LocalOrderBook("X")
    assert not empty.is_crossed() and empty.best_bid() is None


def test_orderbook_helpers_and_ccxt_access() -> None:
    s = book().snapshot()
    assert s.best_bid == 100.0 and s.best_ask == 101.0
    assert s.spread == 1.0 and s.mid == 100.5
    assert s["bids"] is s.bids and s.get("nope", 1) == 1
    assert s.keys() == ("symbol", "bids", "asks", "timestamp", "datetime", "nonce")
    with pytest.raises(KeyError):
        s["nope"]
    one_sided = OrderBook(symbol="X", bids=[[1.0, 1.0]], asks=[])
    assert one_sided.spread is None and one_sided.mid is None and one_sided.best_ask is None
    assert msgspec.json.decode(msgspec.json.encode(s))["bids"][0] == [100.0, 1.0]


def test_decimal_numbers() -> None:
    b = LocalOrderBook("X", number=Decimal)
    b.reset([["0.10", "1"]], [["0.30", "2"]], 1)
    b.apply([["0.1", "3"], ["0.2", "1"]], [], 2)  # "0.1" is the same level as "0.10"
    s = b.snapshot()
    assert s.bids == [[Decimal("0.2"), Decimal("1")], [Decimal("0.10"), Decimal("3")]]
    assert s.mid == Decimal("0.25") and isinstance(s.spread, Decimal)


def test_limit_trims_and_bounds_the_window() -> None:
    b = LocalOrderBook("X", limit=3)
    b.reset([[str(p), "1"] for p in (100, 99, 98, 97, 96)], [["101", "1"]], 1)
    assert [p for p, _ in b.snapshot().bids] == [100.0, 99.0, 98.0]
    assert b.bid_bound == 98.0 and b.ask_bound is None  # asks side was complete
    b.apply([["97", "4"]], [], 2)  # beyond the window: unknown neighbourhood, ignored
    b.apply([["99", "0"]], [], 3)  # the view now shows 2 levels, both exact
    assert b.snapshot().bids == [[100.0, 1.0], [98.0, 1.0]]
    b.apply([["99.5", "1"], ["99.7", "1"]], [], 4)  # 4 levels > 3: far one trimmed
    assert [p for p, _ in b.snapshot().bids] == [100.0, 99.7, 99.5]
    assert b.bid_bound == 99.5
    b.apply([], [[str(p), "1"] for p in (105, 104, 103, 102)], 5)  # asks fill, then trim
    assert [p for p, _ in b.snapshot().asks] == [101.0, 102.0, 103.0]
    assert b.ask_bound == 103.0
    assert len(b.snapshot(10).bids) == 3


def test_depth_marks_truncated_snapshot_sides() -> None:
    b = LocalOrderBook("X")  # no limit, but the REST snapshot had depth=2
    b.reset([["100", "1"], ["99", "1"]], [["101", "1"]], 1, depth=2)
    assert b.bid_bound == 99.0 and b.ask_bound is None
    b.apply([["98", "1"]], [["150", "1"]], 2)
    assert b.snapshot().bids == [[100.0, 1.0], [99.0, 1.0]]
    assert b.snapshot().asks == [[101.0, 1.0], [150.0, 1.0]]


def test_clear_and_validation() -> None:
    b = book()
    b.clear()
    assert b.nonce is None and b.snapshot().bids == [] and b.bid_count == 0
    with pytest.raises(ValueError):
        LocalOrderBook("X", limit=0)


_price = st.integers(1, 60).map(lambda t: f"{t / 4:.2f}")
_qty = st.sampled_from(["0", "0.0", "1", "2.5", "3"])
_levels = st.lists(st.tuples(_price, _qty).map(list), max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    snap_b=_levels,
    snap_a=_levels,
    diffs=st.lists(st.tuples(_levels, _levels), max_size=30),
    parsed=st.booleans(),
)
def test_property_matches_naive_dict_model(
    snap_b: list[list[str]],
    snap_a: list[list[str]],
    diffs: list[tuple[list[list[str]], ...]],
    parsed: bool,
) -> None:
    # parsed=True: the levels come as floats already, as msgspec's float decoder gives them.
    def feed(levels: list[list[str]]) -> list[Any]:
        return [(float(p), float(q)) for p, q in levels] if parsed else levels

    b = LocalOrderBook("X", parsed=parsed)
    b.reset(feed(snap_b), feed(snap_a), 0)
    model = [
        {float(p): float(q) for p, q in snap_b if float(q)},
        {float(p): float(q) for p, q in snap_a if float(q)},
    ]
    for i, (db, da) in enumerate(diffs, 1):
        b.apply(feed(db), feed(da), i)
        for side, levels in zip(model, (db, da), strict=True):
            for p, q in levels:
                if float(q):
                    side[float(p)] = float(q)
                else:
                    side.pop(float(p), None)
        s = b.snapshot()
        assert s.bids == [[p, q] for p, q in sorted(model[0].items(), reverse=True)]
        assert s.asks == [[p, q] for p, q in sorted(model[1].items())]
        assert b.snapshot(3).bids == s.bids[:3]
        assert b.bid_count == len(model[0]) and b.ask_count == len(model[1])
