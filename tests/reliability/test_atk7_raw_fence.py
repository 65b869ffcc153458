"""Attacks on the raw-log fence: replays of a raw log with the fence in odd places
and hostile snapshot entries give correct books or typed errors, never a silently
wrong book. The log is recorded from a real client against the local exchange."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import ProtocolError, RawMessage
from ccxtpro_sync.simulator import LocalExchange

SYMBOL = "BTC/USDT"


@dataclass
class Log:
    before: list[RawMessage]  # frames logged before the fence was taken
    fence: list[RawMessage]  # the fence, then each synced book as a snapshot
    after: list[RawMessage]  # frames logged after it


def config(exchange: LocalExchange) -> dict[str, Any]:
    return {"environment": "local", "local": exchange, "timeout": 10}


@pytest.fixture(scope="module")
def log() -> Iterator[Log]:
    raw: list[RawMessage] = []
    cond = threading.Condition()

    def on_raw(messages: list[RawMessage]) -> None:
        with cond:
            raw.extend(messages)
            cond.notify_all()

    with LocalExchange(seed=5, speed=10.0, tick_interval=0.01) as exchange:
        with ccxtpro_sync.binance(config(exchange)) as client:
            client.on_raw(on_raw)
            client.watch_order_book(SYMBOL, timeout=10)
            client.watch_trades(SYMBOL, timeout=10)
            with cond:
                assert cond.wait_for(lambda: len(raw) >= 150, 20)
                at = len(raw)
            fence = client._raw_fence("atk7")
            with cond:
                assert cond.wait_for(lambda: len(raw) >= at + 150, 20)
                frames = list(raw)
        yield Log(frames[:at], fence, frames[at:])


@pytest.fixture(scope="module")
def replayer() -> Iterator[ccxtpro_sync.binance]:
    with LocalExchange(seed=5) as exchange, ccxtpro_sync.binance(config(exchange)) as client:
        client.load_markets()
        yield client


def books(deliveries: list[Any]) -> list[Any]:
    return [d.value for d in deliveries if d.message_hash == f"orderbook:{SYMBOL}"]


def last_diff_id(messages: list[RawMessage]) -> int:
    return max(json.loads(m.data)["u"] for m in messages if "@depth" in m.channel)


def test_atk7_a_log_that_starts_at_a_fence_rebuilds_its_books(
    log: Log, replayer: ccxtpro_sync.binance
) -> None:
    """A consumer that reads the raw stream from the takeover on (or a stream trimmed
    to it) replays a log whose first entries are the fence and its snapshots: the
    books restart from them and follow the diffs to the end, as from the full log."""
    whole = books(replayer.replay([*log.before, *log.fence, *log.after]))
    rebuilt = books(replayer.replay([*log.fence, *log.after]))
    assert rebuilt, "no book from a log that starts at a fence"
    assert rebuilt[-1].nonce == last_diff_id(log.after) == whole[-1].nonce
    assert rebuilt[-1].bids == whole[-1].bids
    assert rebuilt[-1].asks == whole[-1].asks


@pytest.mark.parametrize("suffix", ["", "@", "@x", "@-5", "@0", "@1.5", "@²"])
def test_atk7_a_snapshot_entry_with_a_bad_depth_is_a_typed_error(
    log: Log, replayer: ccxtpro_sync.binance, suffix: str
) -> None:
    """A depth that is no positive int would truncate the book at reset (``@0`` and
    ``@-5`` empty its sides, and the replay goes on with a wrong book): refused."""
    [fence, snapshot, *_] = log.fence
    market_id = snapshot.channel.removeprefix("depthSnapshot:").partition("@")[0]
    bad = RawMessage(snapshot.source, f"depthSnapshot:{market_id}{suffix}", snapshot.data, 0.0)
    with pytest.raises(ProtocolError, match="depth snapshot"):
        replayer.replay([*log.before, fence, bad, *log.after])


def test_atk7_a_snapshot_for_a_partial_depth_book_is_a_typed_error(
    replayer: ccxtpro_sync.binance,
) -> None:
    """A partial-depth stream (``@depth5``) has no snapshots: a log that gives one to
    its book is inconsistent, a ``ProtocolError``, not a ValueError from the book."""
    body = b'{"lastUpdateId":10,"bids":[["100","1"]],"asks":[["101","1"]]}'
    partial = RawMessage("atk7", "btcusdt@depth5@100ms", body, 0.0)
    [book] = books(replayer.replay([partial]))
    assert book.nonce == 10
    snapshot = RawMessage("atk7", "depthSnapshot:btcusdt@5", body, 0.0)
    with pytest.raises(ProtocolError, match="partial"):
        replayer.replay([partial, snapshot])


def test_atk7_a_decimal_client_replays_a_log_that_starts_at_a_fence(log: Log) -> None:
    """The fence of a float client, replayed by a Decimal client: the same book, in
    Decimal (the fence writes levels as strings)."""
    from decimal import Decimal

    with (
        LocalExchange(seed=5) as exchange,
        ccxtpro_sync.binance({**config(exchange), "numbers": "decimal"}) as client,
    ):
        client.load_markets()
        rebuilt = books(client.replay([*log.fence, *log.after]))
        whole = books(client.replay([*log.before, *log.fence, *log.after]))
    assert rebuilt and rebuilt[-1].nonce == whole[-1].nonce == last_diff_id(log.after)
    assert all(isinstance(v, Decimal) for level in rebuilt[-1].bids for v in level)
    assert rebuilt[-1].bids == whole[-1].bids
    assert rebuilt[-1].asks == whole[-1].asks


def test_atk7_an_old_snapshot_for_a_synced_book_changes_nothing(
    log: Log, replayer: ccxtpro_sync.binance
) -> None:
    """A snapshot entry (no fence before it) older than the diffs the book applied,
    with other levels: a synced book keeps its chain, the replay is as without it."""
    [_, snapshot, *_] = log.fence
    first = min(json.loads(m.data)["U"] for m in log.before if "@depth" in m.channel)
    body = json.dumps({"lastUpdateId": first, "bids": [["1", "9"]], "asks": [["2", "9"]]})
    old = RawMessage("rest", snapshot.channel, body.encode(), 0.0)
    plain = books(replayer.replay([*log.before, *log.after]))
    hostile = books(replayer.replay([*log.before, old, *log.after]))
    assert [b.nonce for b in hostile] == [b.nonce for b in plain]
    assert hostile[-1].bids == plain[-1].bids
    assert hostile[-1].asks == plain[-1].asks
