"""The fan-out writer's ``flush``: it waits for what was queued before the call, not
for a moment when nothing at all is queued (which a busy collector never reaches)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis

from ccxtpro_sync.fanout.writer import Entry, Writer

WAIT = 30.0


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    try:
        yield connection
    finally:
        connection.close()


def _entries(key: str, first: int, count: int) -> list[Entry]:
    return [Entry(key, f"{n}-1", b"x", maxlen=1_000_000) for n in range(first, first + count)]


def test_flush_returns_once_the_entries_before_it_are_in_redis_while_more_keep_coming(
    client: redis.Redis, prefix: str
) -> None:
    key = f"{prefix}:flush"
    writer = Writer(client, name=prefix, max_buffer=20_000, batch_size=500)
    stop = threading.Event()
    produced = [0]

    def publish() -> None:
        # Keeps 5,000-10,000 entries queued (never empty, never past the bound) until
        # the flush is done: a collector that is never idle.
        n = 10_000
        while not stop.is_set():
            if writer.stats()["queued"] < 10_000:
                writer.put(_entries(key, n, 200))
                n += 200
            else:
                stop.wait(0.001)
        produced[0] = n

    try:
        writer.put(_entries(key, 1, 5_000))
        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        try:
            assert writer.flush(WAIT), "flush waited for entries queued after it"
        finally:
            stop.set()
            publisher.join(WAIT)
        # Everything queued before the flush is in Redis; nothing was dropped.
        assert len(client.xrange(key, "1-1", "5000-1")) == 5_000
        stats = writer.stats()
        assert stats["dropped"] == 0 and stats["written"] >= 5_000
        assert produced[0] > 10_000  # and more kept coming meanwhile
    finally:
        writer.close(WAIT)
        client.delete(key)


def test_flush_still_times_out_while_redis_cannot_take_the_entries(
    client: redis.Redis, prefix: str
) -> None:
    """A flush that cannot complete says so (False), it does not block forever."""
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    writer = Writer(dead, name=prefix, max_buffer=100, batch_size=10)
    try:
        writer.put(_entries(f"{prefix}:dead", 1, 10))
        assert writer.flush(0.5) is False
        assert writer.stats()["written"] == 0
    finally:
        writer.close(1.0)
