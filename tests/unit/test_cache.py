"""CCXT Pro cache semantics: bounds, eviction, replacement and ``newUpdates``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccxtpro_sync._core.cache import (
    DEFAULT_LIMIT,
    ArrayCache,
    ArrayCacheBySymbol,
    ArrayCacheBySymbolById,
    ArrayCacheBySymbolBySide,
    ArrayCacheByTimestamp,
)
from ccxtpro_sync._structures import OHLCV, Order, Position, Trade


def trade(n: int, symbol: str = "BTC/USDT", ts: int | None = None) -> Trade:
    return Trade(id=str(n), symbol=symbol, timestamp=n if ts is None else ts, price=float(n))


def candle(ts: int, close: float = 1.0) -> OHLCV:
    return OHLCV(ts, 1.0, 2.0, 0.5, close, 10.0)


def order(oid: str, symbol: str = "BTC/USDT", status: str = "open", ts: int = 0) -> Order:
    return Order(id=oid, symbol=symbol, status=status, timestamp=ts)  # type: ignore[arg-type]


def ids(items: list[Trade] | list[Order]) -> list[str]:
    return [str(i.id) for i in items]


# --------------------------------------------------------------------------- ArrayCache


def test_array_cache_is_bounded_and_evicts_oldest() -> None:
    cache: ArrayCache[Trade] = ArrayCache(3)
    for n in range(5):
        cache.append(trade(n))
    assert len(cache) == 3 and cache.maxsize == 3
    assert ids(cache.to_list()) == ["2", "3", "4"]
    assert ArrayCache[Trade]().maxsize == DEFAULT_LIMIT == 1000


def test_array_cache_rejects_bad_size() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        ArrayCache(0)


def test_new_updates_returns_only_new_entries() -> None:
    cache: ArrayCache[Trade] = ArrayCache(10)
    for n in range(3):
        cache.append(trade(n))
    assert ids(cache.read()) == ["0", "1", "2"]
    cache.append(trade(3))
    cache.append(trade(4))
    assert ids(cache.read()) == ["3", "4"]


def test_count_restarts_on_next_append_not_on_read() -> None:
    # Two readers woken by the same update both see it (CCXT Pro semantics).
    cache: ArrayCache[Trade] = ArrayCache(10)
    cache.append(trade(0))
    cache.append(trade(1))
    assert ids(cache.read()) == ["0", "1"]
    assert ids(cache.read()) == ["0", "1"]
    cache.append(trade(2))
    assert ids(cache.read()) == ["2"]


def test_new_updates_respects_limit_and_since() -> None:
    cache: ArrayCache[Trade] = ArrayCache(10)
    for n in range(6):
        cache.append(trade(n))
    assert ids(cache.read(limit=2)) == ["4", "5"]
    for n in range(6, 10):
        cache.append(trade(n))
    assert ids(cache.read(since=8)) == ["8", "9"]
    # since filters first, then the newest `limit`
    assert ids(cache.read(since=2, limit=3, new_updates=False)) == ["7", "8", "9"]


def test_new_updates_are_counted_per_symbol() -> None:
    cache: ArrayCache[Trade] = ArrayCache(10)
    cache.append(trade(0, "A"))
    cache.append(trade(1, "B"))
    cache.append(trade(2, "A"))
    assert ids(cache.read("A")) == ["0", "2"]
    cache.append(trade(3, "B"))
    cache.append(trade(4, "A"))
    assert ids(cache.read("A")) == ["4"]
    assert ids(cache.read("B")) == ["1", "3"]  # B was never read: both are new
    assert cache.get_limit("C", 7) == 7  # unknown symbol: the limit itself
    assert cache.get_limit("C", None) is None


def test_new_updates_false_returns_everything() -> None:
    cache: ArrayCache[Trade] = ArrayCache(3)
    for n in range(5):
        cache.append(trade(n))
    cache.read()
    cache.append(trade(5))
    assert ids(cache.read(new_updates=False)) == ["3", "4", "5"]
    assert ids(cache.read(new_updates=False, limit=1)) == ["5"]


def test_new_count_larger_than_buffer_is_capped() -> None:
    cache: ArrayCache[Trade] = ArrayCache(3)
    for n in range(10):
        cache.append(trade(n))
    assert cache.get_limit(None, None) == 10
    assert ids(cache.read()) == ["7", "8", "9"]


def test_reads_return_copies() -> None:
    cache: ArrayCache[Trade] = ArrayCache(3)
    cache.append(trade(0))
    snapshot = cache.read()
    everything = cache.to_list()
    iterated = list(cache)
    cache.append(trade(1))
    cache.clear()
    assert ids(snapshot) == ids(everything) == ids(iterated) == ["0"]
    assert len(cache) == 0 and cache.read() == []


@given(
    maxsize=st.integers(1, 8),
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("append"), st.sampled_from("AB")),
            st.tuples(st.just("read"), st.sampled_from(["A", "B", None])),
        ),
        max_size=60,
    ),
)
def test_array_cache_matches_model(maxsize: int, ops: list[tuple[str, str | None]]) -> None:
    """Against a plain-list model: a read returns the newest entries of the
    symbol appended since the previous read of that symbol (or all, if never read)."""
    cache: ArrayCache[Trade] = ArrayCache(maxsize)
    model: list[Trade] = []
    pending: dict[str | None, int] = {}  # appends since the count last restarted
    read_since_append: dict[str | None, bool] = {}
    for n, (op, symbol) in enumerate(ops):
        if op == "append":
            assert symbol is not None
            item = trade(n, symbol)
            cache.append(item)
            model = ([*model, item])[-maxsize:]
            for key in (symbol, None):
                if read_since_append.get(key):
                    pending[key] = 0
                    read_since_append[key] = False
                pending[key] = pending.get(key, 0) + 1
        else:
            got = cache.read(symbol)
            mine = [t for t in model if symbol is None or t.symbol == symbol]
            if symbol in pending:
                mine = mine[-pending[symbol] :] if pending[symbol] else []
            assert got == mine
            read_since_append[symbol] = True
            assert len(cache) == len(model)


# --------------------------------------------------------------------------- by timestamp


def test_ohlcv_same_timestamp_replaces_last() -> None:
    cache: ArrayCacheByTimestamp[OHLCV] = ArrayCacheByTimestamp(3)
    cache.append(candle(60, close=1.0))
    cache.append(candle(60, close=2.0))
    assert cache.to_list() == [candle(60, close=2.0)]
    cache.append(candle(120))
    cache.append(candle(180))
    cache.append(candle(240))
    assert [c.timestamp for c in cache.to_list()] == [120, 180, 240]
    # an older, still-cached candle is replaced in place
    cache.append(candle(180, close=9.0))
    assert cache.to_list()[1] == candle(180, close=9.0)
    assert len(cache) == 3


def test_ohlcv_new_updates_count_distinct_timestamps() -> None:
    cache: ArrayCacheByTimestamp[OHLCV] = ArrayCacheByTimestamp(10)
    for close in (1.0, 2.0, 3.0):
        cache.append(candle(60, close))
    assert cache.read() == [candle(60, 3.0)]
    cache.append(candle(60, 4.0))
    cache.append(candle(120, 1.0))
    cache.append(candle(120, 2.0))
    assert cache.read() == [candle(60, 4.0), candle(120, 2.0)]
    assert cache.read(limit=1) == [candle(120, 2.0)]
    assert cache.read(since=100, new_updates=False) == [candle(120, 2.0)]


def test_ohlcv_evicted_timestamp_is_new_again() -> None:
    cache: ArrayCacheByTimestamp[OHLCV] = ArrayCacheByTimestamp(2)
    for ts in (1, 2, 3):
        cache.append(candle(ts))
    cache.append(candle(1, close=5.0))  # 1 was evicted: appended as new, evicting 2
    assert [c.timestamp for c in cache.to_list()] == [3, 1]


@given(
    maxsize=st.integers(1, 6),
    stamps=st.lists(st.integers(0, 10), max_size=50),
)
def test_ohlcv_cache_matches_model(maxsize: int, stamps: list[int]) -> None:
    cache: ArrayCacheByTimestamp[OHLCV] = ArrayCacheByTimestamp(maxsize)
    model: list[OHLCV] = []
    for n, ts in enumerate(stamps):
        item = candle(ts, close=float(n))
        cache.append(item)
        positions = [i for i, c in enumerate(model) if c.timestamp == ts]
        if positions:
            model[positions[0]] = item
        else:
            model = [*model, item][-maxsize:]
        assert cache.to_list() == model
        assert len({c.timestamp for c in model}) == len(model)


# --------------------------------------------------------------------------- by id


def test_orders_update_in_place_by_id_and_move_to_newest() -> None:
    cache: ArrayCacheBySymbolById[Order] = ArrayCacheBySymbolById(3)
    for oid in ("1", "2", "3"):
        cache.append(order(oid))
    cache.append(order("1", status="closed"))
    assert ids(cache.to_list()) == ["2", "3", "1"]
    assert len(cache) == 3
    found = cache.get("BTC/USDT", "1")
    assert found is not None and found.status == "closed"
    # full: the least recently updated ("2") goes
    cache.append(order("4"))
    assert ids(cache.to_list()) == ["3", "1", "4"]
    assert cache.get("BTC/USDT", "2") is None


def test_orders_same_id_different_symbols_are_distinct() -> None:
    cache: ArrayCacheBySymbolById[Order] = ArrayCacheBySymbolById(5)
    cache.append(order("1", "A"))
    cache.append(order("1", "B"))
    assert len(cache) == 2


def test_orders_new_updates_count_distinct_ids() -> None:
    cache: ArrayCacheBySymbolById[Order] = ArrayCacheBySymbolById(10)
    cache.append(order("1", "A"))
    cache.append(order("2", "A"))
    cache.append(order("3", "B"))
    assert ids(cache.read("A")) == ["1", "2"]
    cache.append(order("1", "A", status="closed"))
    cache.append(order("1", "A", status="closed"))
    cache.append(order("9", "B"))
    latest = cache.read("A")
    assert ids(latest) == ["1"] and latest[0].status == "closed"
    assert ids(cache.read()) == ["2", "3", "1", "9"]  # nothing read overall yet: all
    cache.append(order("2", "A", status="canceled"))
    assert ids(cache.read()) == ["2"]
    assert ids(cache.read("B")) == ["3", "9"]
    assert ids(cache.read("A", new_updates=False)) == ["1", "2"]
    assert ids(cache.read(since=1, new_updates=False)) == []


@given(
    maxsize=st.integers(1, 5),
    ops=st.lists(st.tuples(st.sampled_from("AB"), st.integers(0, 6)), max_size=60),
)
def test_orders_cache_matches_model(maxsize: int, ops: list[tuple[str, int]]) -> None:
    cache: ArrayCacheBySymbolById[Order] = ArrayCacheBySymbolById(maxsize)
    model: dict[tuple[str, str], Order] = {}
    for n, (symbol, oid) in enumerate(ops):
        item = order(str(oid), symbol, ts=n)
        cache.append(item)
        key = (symbol, str(oid))
        model.pop(key, None)
        model[key] = item
        while len(model) > maxsize:
            del model[next(iter(model))]
        assert cache.to_list() == list(model.values())


# --------------------------------------------------------------------------- by side


def test_positions_keyed_by_symbol_and_side() -> None:
    cache: ArrayCacheBySymbolBySide[Position] = ArrayCacheBySymbolBySide(10)
    cache.append(Position(symbol="BTC/USDT:USDT", side="long", contracts=1.0))
    cache.append(Position(symbol="BTC/USDT:USDT", side="short", contracts=2.0))
    cache.append(Position(symbol="BTC/USDT:USDT", side="long", contracts=3.0))
    assert len(cache) == 2
    long = cache.get("BTC/USDT:USDT", "long")
    assert long is not None and long.contracts == 3.0
    assert [p.side for p in cache.read("BTC/USDT:USDT")] == ["short", "long"]
    cache.append(Position(symbol="BTC/USDT:USDT", side="short", contracts=0.0))
    assert [p.contracts for p in cache.read("BTC/USDT:USDT")] == [0.0]
    assert "ArrayCacheBySymbolBySide 2/10" in repr(cache)


def test_one_way_positions_keyed_by_symbol_only() -> None:
    cache: ArrayCacheBySymbol[Position] = ArrayCacheBySymbol(10)
    cache.append(Position(symbol="BTC/USD:BTC", side="long", contracts=1.0))
    cache.append(Position(symbol="ETH/USD:ETH", side="short", contracts=2.0))
    assert [p.symbol for p in cache.read()] == ["BTC/USD:BTC", "ETH/USD:ETH"]
    cache.append(Position(symbol="BTC/USD:BTC", side=None, contracts=0.0))  # flat
    cache.append(Position(symbol="BTC/USD:BTC", side="short", contracts=5.0))
    assert len(cache) == 2
    flipped = cache.get("BTC/USD:BTC")
    assert flipped is not None and (flipped.side, flipped.contracts) == ("short", 5.0)
    assert [(p.symbol, p.side) for p in cache.read("BTC/USD:BTC")] == [("BTC/USD:BTC", "short")]
    assert "ArrayCacheBySymbol 2/10" in repr(cache)


class _CountModel:
    """``newUpdates`` counting as CCXT Pro states it: a count per symbol and overall,
    restarted by the first append after a read."""

    def __init__(self) -> None:
        self.new: dict[str | None, int] = {}
        self.cleared: set[str | None] = set()

    def append(self, symbol: str) -> None:
        for key in (symbol, None):
            if key in self.cleared:
                self.cleared.discard(key)
                self.new[key] = 0
            self.new[key] = self.new.get(key, 0) + 1

    def get_limit(self, symbol: str | None, limit: int | None) -> int | None:
        self.cleared.add(symbol)
        new = self.new.get(symbol, 0 if symbol is None else None)
        if new is None:
            return limit
        return new if limit is None else min(new, limit)

    def has_unread(self, symbol: str | None) -> bool:
        return symbol not in self.cleared and self.new.get(symbol, 0) > 0


_OPS = st.lists(
    st.tuples(
        st.sampled_from(["append", "get_limit", "has_unread", "clear"]),
        st.sampled_from(["A", "B", "C", None]),
        st.sampled_from([None, 1, 3]),
    ),
    max_size=60,
)


@given(_OPS)
def test_new_update_counts_match_the_model_for_one_or_several_symbols(ops: list) -> None:
    # The cache counts one symbol overall and switches to per-symbol counts when a
    # second one arrives; either way its answers are the model's.
    cache: ArrayCache[Trade] = ArrayCache(5)
    model = _CountModel()
    for n, (op, symbol, limit) in enumerate(ops):
        if op == "append":
            unified = symbol or "A"
            cache.append(trade(n, symbol=unified))
            model.append(unified)
        elif op == "get_limit":
            assert cache.get_limit(symbol, limit) == model.get_limit(symbol, limit)
        elif op == "has_unread":
            assert cache.has_unread(symbol) == model.has_unread(symbol)
        else:
            cache.clear()
            model = _CountModel()


def test_a_symbol_equal_but_not_identical_still_counts_as_the_same_one() -> None:
    cache: ArrayCache[Trade] = ArrayCache(10)
    cache.append(trade(1, symbol="BTC/USDT"))
    cache.append(trade(2, symbol="".join(["BTC/", "USDT"])))
    assert cache.get_limit("BTC/USDT", None) == 2
    assert cache.get_limit(None, None) == 2
