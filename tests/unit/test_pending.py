import pytest

from ccxtpro_sync._core.events import Policy
from ccxtpro_sync._core.pending import PendingUpdates


def test_latest_keeps_only_newest_value_in_first_arrival_order():
    pending = PendingUpdates()
    pending.put("ticker:A", 1, Policy.LATEST)
    pending.put("ticker:B", 10, Policy.LATEST)
    pending.put("ticker:A", 2, Policy.LATEST)
    assert pending.coalesced == 1
    assert pending.pop() == ("ticker:A", 2)
    assert pending.pop() == ("ticker:B", 10)
    assert pending.pop() is None


def test_append_concatenates_and_drops_oldest_beyond_bound():
    pending = PendingUpdates(max_items=5)
    assert pending.put("trades:A", [1, 2, 3], Policy.APPEND) == 0
    assert pending.put("trades:A", [4, 5, 6, 7], Policy.APPEND) == 2
    assert pending.dropped == 2
    assert pending.pop() == ("trades:A", [3, 4, 5, 6, 7])
    assert len(pending) == 0


def test_memory_is_bounded_by_hash_count_whatever_the_rate():
    pending = PendingUpdates(max_items=100)
    for i in range(100_000):
        pending.put(f"ticker:{i % 7}", i, Policy.LATEST)
        pending.put("trades:X", [i], Policy.APPEND)
    assert len(pending) == 8
    assert pending.coalesced == 100_000 - 7
    assert pending.dropped == 100_000 - 100
    items = dict(iter(pending.pop, None))
    assert items["trades:X"] == list(range(99_900, 100_000))


def test_rejects_nonsense_bound():
    with pytest.raises(ValueError):
        PendingUpdates(max_items=0)


def test_block_leaves_the_entry_over_the_bound_for_the_producer_to_wait_on() -> None:
    from ccxtpro_sync._core.pending import Overflow

    store = PendingUpdates(max_items=3)
    assert store.put("trades:A", [0, 1], Policy.APPEND, Overflow.BLOCK, now=10.0) == 0
    assert store.put("trades:A", [2, 3, 4], Policy.APPEND, Overflow.BLOCK, now=11.0) == 0
    assert store.excess("trades:A") == 2 and store.size("trades:A") == 5
    assert store.dropped == 0
    assert store.since("trades:A") == 10.0  # the entry's oldest item, not the latest put
    assert store.lag(12.5) == 2.5
    assert store.trim("trades:A") == 2 and store.dropped == 2
    assert store.pop() == ("trades:A", [2, 3, 4])
    assert store.since("trades:A") is None and store.lag(20.0) == 0.0


def test_latest_overflow_coalesces_an_append_stream() -> None:
    from ccxtpro_sync._core.pending import Overflow

    store = PendingUpdates(max_items=3)
    store.put("ohlcv:A:1m", [1], Policy.APPEND, Overflow.LATEST)
    store.put("ohlcv:A:1m", [2], Policy.APPEND, Overflow.LATEST)
    assert store.coalesced == 1 and store.excess("ohlcv:A:1m") == 0
    assert store.pop() == ("ohlcv:A:1m", [2])


def test_extend_is_a_blocking_append_that_reports_the_entry_size():
    """``extend`` (the dispatcher's hot path for BLOCK streams) never drops: the entry
    may go past the bound for the producer to wait on, and its size comes back."""
    pending = PendingUpdates(max_items=3)
    pending.put("trades:A", 1, Policy.LATEST)  # a LATEST value is replaced, not extended
    first = [1, 2]
    assert pending.extend("trades:A", first, now=5.0) == 2
    assert pending.extend("trades:A", [3, 4], now=6.0) == 4
    assert first == [1, 2]  # the producer's list is copied, never grown
    assert pending.excess("trades:A") == 1 and pending.dropped == 0
    assert pending.since("trades:A") == 5.0
    assert pending.trim("trades:A") == 1
    assert pending.pop() == ("trades:A", [2, 3, 4])


def test_latest_is_put_of_a_latest_update():
    """``latest`` (the dispatcher's hot path for tickers and books) keeps only the
    newest value, counts each replaced one, and keeps first-arrival order."""
    pending = PendingUpdates()
    pending.latest("book:A", 1)
    pending.latest("book:B", 10)
    pending.latest("book:A", 2)
    assert pending.coalesced == 1
    assert pending.pop() == ("book:A", 2)
    assert pending.pop() == ("book:B", 10)
    assert pending.pop() is None
