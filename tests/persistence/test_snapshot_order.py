"""A REST snapshot is applied on the snapshot fetcher's thread and its results were
handed over once the data lock was released, so diffs the reader applied in between
could reach the hub first. This was the cause of the rare
``test_replay_rebuilds_order_books_...`` failure, two ways:

* the raw log held those diffs before the snapshot, so the replay buffered them and
  published one book where the live client had published one per diff;
* the snapshot's book was a copy taken under the lock, published after newer books:
  consumers (and the recorder) went back to an older book the replay never rebuilds.

Now the snapshot's raw entry goes out ahead of the symbol's next diff, on the reader
that applies it, and its book is a view built when it is handed over.
"""

from __future__ import annotations

import threading
from typing import Any

import msgspec

from ccxtpro_sync import RawMessage
from ccxtpro_sync._core.events import RAW_HASH, Deferred, Delivery, Inbound, Policy
from ccxtpro_sync._exchanges.binance.client import SNAPSHOT_CHANNEL
from ccxtpro_sync._exchanges.binance.market_data import MarketData
from ccxtpro_sync.simulator import LocalExchange

from .support import SPOT, make_client

DEPTH = "btcusdt@depth@100ms"


def _diff(first: int, last: int, price: str) -> bytes:
    body = {"e": "depthUpdate", "E": last, "s": "BTCUSDT", "U": first, "u": last,
            "b": [[price, "1.0"]], "a": [["70000.00", "2.0"]]}  # fmt: skip
    return msgspec.json.encode(body)


SNAPSHOT = msgspec.json.encode(
    {"lastUpdateId": 100, "bids": [["60000.00", "1.0"]], "asks": [["70000.00", "1.0"]]}
)
#: A diff buffered before the snapshot, and one applied after it.
BEFORE, AFTER = _diff(95, 105, "60001.00"), _diff(106, 110, "60002.00")


def _book(value: Any) -> Any:
    return value.resolve() if type(value) is Deferred else value


def _levels(book: Any) -> tuple[int, list[Any], list[Any]]:
    return book.nonce, [list(b) for b in book.bids], [list(a) for a in book.asks]


def test_a_snapshot_handed_over_after_a_newer_diff_is_not_an_older_book(
    exchange: LocalExchange,
) -> None:
    with make_client(exchange) as client:
        markets = client.data.markets
    live = MarketData(markets, lock=threading.RLock(), defer_views=True)
    buffered = live.route(DEPTH, msgspec.Raw(BEFORE), 0.0)  # no snapshot yet
    assert isinstance(buffered, Inbound) and buffered.deliveries == []
    assert [type(task).__name__ for task in buffered.tasks] == ["SnapshotWanted"]
    # the snapshot fetcher applies the snapshot (under the data lock) ...
    [from_snapshot] = live.apply_snapshot(SPOT, SNAPSHOT, 1000)
    # ... and before it hands the result over, the reader applies the next diff
    [from_diff] = live.route(DEPTH, msgspec.Raw(AFTER), 0.0)
    newest = _book(from_diff.value)
    assert newest.nonce == 110
    # handed over last, the snapshot's update must not take consumers back to 105
    late = _book(from_snapshot.value)
    assert late is not None and _levels(late) == _levels(newest)

    # The raw log of that interleaving (the diff recorded before the snapshot) replays
    # to the very book the live client published.
    log = [
        RawMessage("spot", DEPTH, BEFORE, 1.0),
        RawMessage("spot", DEPTH, AFTER, 2.0),
        RawMessage("rest", f"{SNAPSHOT_CHANNEL}btcusdt@1000", SNAPSHOT, 3.0),
    ]
    replayed = [d.value for d in client.replay(log) if d.message_hash.startswith("orderbook:")]
    assert [_levels(b) for b in replayed] == [_levels(newest)]


def test_the_snapshot_raw_entry_goes_out_ahead_of_the_next_diff(exchange: LocalExchange) -> None:
    """The raw log's order is the order in which the book took its inputs."""
    with make_client(exchange) as client:
        markets = client.data.markets
    live = MarketData(markets, lock=threading.RLock(), defer_views=True)
    message = RawMessage("rest", f"{SNAPSHOT_CHANNEL}btcusdt@1000", SNAPSHOT, 2.0)
    raw = Delivery(RAW_HASH, [message], Policy.APPEND)
    buffered = live.route(DEPTH, msgspec.Raw(BEFORE), 0.0)
    assert isinstance(buffered, Inbound) and buffered.deliveries == []
    # applied now, but not handed over by the snapshot's thread ...
    assert all(d.message_hash != RAW_HASH for d in live.apply_snapshot(SPOT, SNAPSHOT, 1000, raw))
    # ... it leads the output of the next diff, which the book took after it
    first, *rest = live.route(DEPTH, msgspec.Raw(AFTER), 0.0)
    assert first is raw and [d.message_hash for d in rest] == ["orderbook:BTC/USDT"]
    # and only once
    later = live.route(DEPTH, msgspec.Raw(_diff(111, 112, "60003.00")), 0.0)
    assert [d.message_hash for d in later] == ["orderbook:BTC/USDT"]
    # a snapshot for a book no longer there is recorded all the same
    assert live.apply_snapshot("ETH/USDT", SNAPSHOT, 1000, raw) == [raw]
