"""Raw frames across a collector takeover: a replay of what a consumer read rebuilds
the books after the takeover too, and repeats no trade."""

from __future__ import annotations

import json
import signal
import threading
import time
from typing import Any

from ccxtpro_sync.fanout import remote
from ccxtpro_sync.simulator import LocalExchange

from .test_fanout import SYMBOL, active_and_standby, exchange_fixture, make_client

exchange = exchange_fixture(seed=5)


def test_a_replay_of_raw_frames_survives_a_takeover(
    exchange: LocalExchange, redis_url: str, prefix: str
) -> None:
    """The active collector is killed; the standby takes over after the lease expired,
    so the raw stream misses the diffs in between, and the standby's book was synced
    long before (its snapshot is not in the stream). A consumer replaying the raw
    stream must still get books after the takeover (the collector fences the stream
    with its books' state), each one consistent, and no trade twice."""
    extra = ("--lease-ttl", "1", "--channels", "trades,orderbook,raw")
    raw: list[Any] = []
    got = threading.Condition()

    def on_raw(messages: list[Any]) -> None:
        with got:
            raw.extend(messages)
            got.notify_all()

    with active_and_standby(exchange, redis_url, prefix, *extra) as (first, second):
        with remote(redis_url, prefix=prefix, start="earliest") as consumer:
            consumer.on_raw(handler=on_raw)
            with got:
                assert got.wait_for(lambda: len(raw) >= 100, 20), "raw frames before the kill"
            first.stop(signal.SIGKILL)
            killed_at = time.time()
            second.wait_event(lambda e: e.get("event") == "lease" and e["active"])
            with got:
                at_takeover = len(raw)
                assert got.wait_for(lambda: len(raw) >= at_takeover + 200, 20), "after takeover"
                messages = list(raw)
    # the update ids the frames after the kill carry: only the standby read them
    after_kill = [
        json.loads(m.data)["u"]
        for m in messages
        if m.received > killed_at and m.channel.endswith("@depth@100ms")
    ]
    assert after_kill
    with make_client(exchange) as client:
        client.load_markets()
        deliveries = client.replay(messages)  # one replay: its state spans the log
    books = [d.value for d in deliveries if d.message_hash == f"orderbook:{SYMBOL}"]
    trades = [
        int(t.id) for d in deliveries if d.message_hash == f"trades:{SYMBOL}" for t in d.value
    ]
    after = [book for book in books if book.nonce >= min(after_kill)]
    assert after, "no book replayed from the frames after the takeover"
    assert after[-1].nonce == max(after_kill)  # it follows them to the end
    nonces = [book.nonce for book in books]
    assert nonces == sorted(nonces)
    assert all(b.bids[0][0] < b.asks[0][0] for b in after)
    assert len(trades) == len(set(trades)), "a trade was replayed twice"
    standby_trades = [
        json.loads(m.data)["a"]
        for m in messages
        if m.received > killed_at and m.channel.endswith("@aggTrade")
    ]
    assert set(standby_trades) <= set(trades), "trades after the takeover went missing"
