"""A replay that restarts at a raw-log fence rebuilds the live book exactly, also when
the book's two sides are cut at different places.

The fence wrote one depth for both sides (the longer side's level count), and a
replay cut each side at reset by it: a shorter side got no bound where the live one
had one (so the replay took diffs beyond it that the live book ignored), the longer
side got its worst level as bound where the live one's lay further out or was none.
The books then differed from the first diff that touched such a price on. Recorded
from a real client against the local exchange, with shallow REST snapshots (10 levels)
so that removals thin the sides unevenly within a few seconds.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import ProtocolError, RawMessage
from ccxtpro_sync.simulator import LocalExchange

SYMBOL = "BTC/USDT"


def config(exchange: LocalExchange) -> dict[str, Any]:
    return {
        "environment": "local",
        "local": exchange,
        "timeout": 10,
        "options": {"snapshotLimit": 10},
    }


def books(deliveries: list[Any]) -> list[Any]:
    return [d.value for d in deliveries if d.message_hash == f"orderbook:{SYMBOL}"]


def test_a_replay_from_a_fence_follows_the_live_book_with_uneven_sides() -> None:
    raw: list[RawMessage] = []
    live: dict[int, Any] = {}  # the live book's views by update id
    cond = threading.Condition()

    def on_raw(messages: list[RawMessage]) -> None:
        with cond:
            raw.extend(messages)
            cond.notify_all()

    def on_book(book: Any) -> None:
        with cond:
            live[book.nonce] = book
            cond.notify_all()

    with LocalExchange(seed=5, speed=10.0, tick_interval=0.01) as exchange:
        with ccxtpro_sync.binance(config(exchange)) as client:
            client.on_raw(on_raw)
            client.on_order_book(SYMBOL, on_book)
            client.watch_order_book(SYMBOL, timeout=10)

            def fence_when_uneven() -> bool:
                # a fence taken while the book's sides hold different level counts
                # (called under ``cond``: frames logged from here on come after it)
                nonlocal at, fence
                at = len(raw)
                fence = client._raw_fence("test")
                body = json.loads(fence[1].data)
                return len(body["bids"]) != len(body["asks"])

            at, fence = 0, []
            with cond:
                assert cond.wait_for(fence_when_uneven, 20), "the sides never differed"
                assert cond.wait_for(lambda: len(raw) >= at + 200, 20)
                after = raw[at:]
            last = max(json.loads(m.data)["u"] for m in after if "@depth" in m.channel)
            with cond:
                assert cond.wait_for(lambda: max(live) >= last, 10)
                views = dict(live)
    bounds = json.loads(fence[1].data)["bounds"]
    assert bounds[0] is not None or bounds[1] is not None  # the snapshot cut the book

    with LocalExchange(seed=5) as other, ccxtpro_sync.binance(config(other)) as replayer:
        replayer.load_markets()
        deliveries = replayer.replay([*fence, *after])
    replayed = books(deliveries)
    assert replayed and replayed[-1].nonce == last
    compared = [(book, views[book.nonce]) for book in replayed if book.nonce in views]
    assert len(compared) >= 10
    for book, seen in compared:
        assert (book.nonce, book.bids, book.asks) == (seen.nonce, seen.bids, seen.asks)


@pytest.mark.parametrize(
    "bounds",
    [
        ["101", None],  # a bid bound above a kept bid
        [None, "100.5"],  # an ask bound below a kept ask
        ["x", None],
        [None, "nan"],
        ["-1", None],
        ["100"],
        "100",
    ],
)
def test_a_fence_snapshot_with_bad_bounds_is_a_typed_error(bounds: Any) -> None:
    """Bounds that are no prices, or that would hide kept levels (a replayed book that
    ignores diffs the live one took): refused, never applied."""
    body = {"lastUpdateId": 10, "bids": [["100", "1"], ["99", "1"]], "asks": [["101", "1"]]}
    with LocalExchange(seed=5) as exchange, ccxtpro_sync.binance(config(exchange)) as replayer:
        replayer.load_markets()
        good = json.dumps({**body, "bounds": ["99", None]}).encode()
        [book] = books(replayer.replay([RawMessage("t", "depthSnapshot:btcusdt@2", good, 0.0)]))
        assert book.bids == [[100.0, 1.0], [99.0, 1.0]]
        bad = json.dumps({**body, "bounds": bounds}).encode()
        with pytest.raises(ProtocolError, match="depth snapshot"):
            replayer.replay([RawMessage("t", "depthSnapshot:btcusdt@2", bad, 0.0)])
