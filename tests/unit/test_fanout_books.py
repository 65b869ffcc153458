"""Sans-I/O parts of the fan-out: book diffs and rebuilds, shard assignment, codec."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from ccxtpro_sync import InvalidArgument, OrderBook, Trade
from ccxtpro_sync.fanout import BookDiffer, BookReplica, parse_shard, shard_of
from ccxtpro_sync.fanout.codec import decode_book, decode_trade, encode


def random_books(seed: int, n: int) -> list[OrderBook[float]]:
    rng = random.Random(seed)
    bids = {100.0 - i: float(rng.randint(1, 9)) for i in range(20)}
    asks = {101.0 + i: float(rng.randint(1, 9)) for i in range(20)}
    out = []
    for nonce in range(1, n + 1):
        for side, base, sign in ((bids, 100.0, -1), (asks, 101.0, 1)):
            for _ in range(rng.randint(1, 4)):
                price = base + sign * rng.randint(0, 30)
                if rng.random() < 0.3:
                    side.pop(price, None)
                else:
                    side[price] = float(rng.randint(1, 9))
        out.append(
            OrderBook(
                symbol="BTC/USDT",
                bids=[[p, bids[p]] for p in sorted(bids, reverse=True)],
                asks=[[p, asks[p]] for p in sorted(asks)],
                timestamp=1_700_000_000_000 + nonce,
                nonce=nonce * 3,
            )
        )
    return out


def test_diffs_rebuild_the_exact_book_at_each_update_id() -> None:
    differ, replica = BookDiffer(snapshot_every=7), BookReplica("BTC/USDT")
    for book in random_books(1, 200):
        entry = differ.entry(book)
        assert entry is not None
        rebuilt = replica.apply(decode_book(encode(entry)))
        assert rebuilt is not None
        assert (rebuilt.nonce, rebuilt.bids, rebuilt.asks) == (book.nonce, book.bids, book.asks)


def test_a_lost_diff_desyncs_until_the_next_snapshot() -> None:
    differ, replica = BookDiffer(snapshot_every=10), BookReplica("BTC/USDT")
    books = random_books(2, 30)
    entries = [differ.entry(b) for b in books]
    assert replica.apply(entries[0]) is not None  # type: ignore[arg-type]
    assert replica.apply(entries[2]) is None  # entries[1] lost: never a wrong book
    assert not replica.synced
    assert all(replica.apply(e) is None for e in entries[3:10])  # type: ignore[arg-type]
    assert entries[10] is not None and entries[10].snapshot
    rebuilt = replica.apply(entries[10])
    assert rebuilt is not None and rebuilt.bids == books[10].bids


def test_reset_makes_the_next_entry_a_snapshot() -> None:
    differ = BookDiffer()
    books = random_books(3, 3)
    assert differ.entry(books[0]).snapshot  # type: ignore[union-attr]
    assert not differ.entry(books[1]).snapshot  # type: ignore[union-attr]
    differ.reset()
    assert differ.entry(books[2]).snapshot  # type: ignore[union-attr]
    assert differ.entry(books[2]) is None  # not newer


def test_structures_round_trip_with_their_number_type() -> None:
    trade = Trade(symbol="BTC/USDT", id="7", price=Decimal("0.10"), amount=1.5, info={"a": 1})
    assert decode_trade(encode(trade)) == trade


def test_shards_are_stable_and_cover_every_symbol() -> None:
    symbols = [f"S{i}/USDT" for i in range(200)]
    shards = [shard_of(s, 4) for s in symbols]
    assert shards == [shard_of(s, 4) for s in symbols]
    assert set(shards) == {0, 1, 2, 3}
    assert shard_of("BTC/USDT", 1) == 0
    assert parse_shard("2/3") == (1, 3)
    for bad in ("0/3", "4/3", "x", "1/0", "1"):
        with pytest.raises(InvalidArgument):
            parse_shard(bad)
