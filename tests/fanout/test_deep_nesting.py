"""Fan-out entries nested deeper than msgpack's decoder recurses.

The remote consumer decodes what it reads from Redis: bytes another process wrote.
msgspec refuses a value nested too deeply with ``RecursionError``, which the reader
caught only as msgspec's own errors: it ended the consumer's reader thread, and every
later entry was lost. Now such an entry is an undecodable entry (a ``fanout_gap``
signal, the log) and the reader goes on, as for any malformed entry; a malformed
latest book snapshot is skipped until a newer one comes."""

from __future__ import annotations

import threading
from typing import Any

import msgspec
import redis

from ccxtpro_sync import Trade
from ccxtpro_sync.fanout import KeySchema, fanout_signals, remote
from ccxtpro_sync.fanout.codec import FIELD, encode

SYMBOL = "BTC/USDT"
DEEP = 5_000
#: A msgpack Trade whose ``info`` is an array nested DEEP levels deep.
_MARK = "nested-here"


def _trade(number: int, info: Any = None) -> Trade:
    return Trade(id=str(number), timestamp=number, symbol=SYMBOL, price=1.0, amount=1.0, info=info)


def _nested_trade() -> bytes:
    marked = encode(_trade(9, info=_MARK))
    mark = msgspec.msgpack.encode(_MARK)
    assert marked.count(mark) == 1
    return marked.replace(mark, b"\x91" * DEEP + b"\x90")


def test_a_nested_entry_is_undecodable_and_the_reader_goes_on(redis_url: str, prefix: str) -> None:
    schema = KeySchema(prefix=prefix)
    gaps: list[dict[str, Any]] = []
    seen = threading.Event()

    def on_gap(sender: object, **payload: Any) -> None:
        if payload["key"].startswith(prefix):
            gaps.append(payload)
            seen.set()

    fanout_signals.fanout_gap.connect(on_gap, weak=False)
    store = redis.Redis.from_url(redis_url)
    try:
        store.xadd(schema.trades(SYMBOL), {FIELD: encode(_trade(1))})
        store.xadd(schema.trades(SYMBOL), {FIELD: _nested_trade()})
        store.xadd(schema.trades(SYMBOL), {FIELD: encode(_trade(2))})
        with remote(redis_url, prefix=prefix, start="earliest", timeout=10) as consumer:
            batches: list[list[Trade]] = []
            with consumer.stream_trades(SYMBOL, timeout=10) as stream:
                for batch in stream:
                    batches.append(batch)
                    if sum(len(b) for b in batches) >= 2:
                        break
        assert seen.wait(10)
    finally:
        fanout_signals.fanout_gap.disconnect(on_gap)
        store.close()
    assert [t.id for b in batches for t in b] == ["1", "2"]
    assert any("undecodable" in g["reason"] for g in gaps)


def test_a_malformed_latest_snapshot_is_skipped_and_the_reader_goes_on(
    redis_url: str, prefix: str
) -> None:
    schema = KeySchema(prefix=prefix)
    store = redis.Redis.from_url(redis_url)
    try:
        store.hset(schema.latest_snapshot(SYMBOL), mapping={"nonce": 5, "v": b"\xc1garbage"})
        with remote(redis_url, prefix=prefix, start="latest", timeout=10) as consumer:
            consumer.on_order_book(SYMBOL, lambda book: None)  # waits for a snapshot
            with consumer.stream_trades(SYMBOL, timeout=10) as stream:
                # after the follow began ("latest": only newer entries are read)
                store.xadd(schema.trades(SYMBOL), {FIELD: encode(_trade(1))})
                batch = next(iter(stream))
    finally:
        store.close()
    assert [t.id for t in batch] == ["1"]
