"""The fan-out writer when Redis takes a pipeline but the reply never arrives: the
entries are in the stream, so the writer must not count them as dropped when the
buffer overflows during the outage that follows (consumers would see fewer missing
entries than ``stats()["dropped"]`` and ``fanout_dropped`` said)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from tenacity import Retrying

from ccxtpro_sync.fanout import fanout_signals
from ccxtpro_sync.fanout.writer import Entry, Writer

WAIT = 30.0


class LosingProxy:
    """TCP in front of the test Redis. Passes traffic until it has forwarded an
    ``XADD``; then it drops Redis's reply to it with the connection and refuses every
    connection (Redis unreachable) until ``heal()``."""

    def __init__(self, redis_url: str) -> None:
        kwargs = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs
        self._path = kwargs.get("path")
        self._address = (kwargs.get("host", "localhost"), kwargs.get("port", 6379))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.down = False
        self.cut = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def heal(self) -> None:
        self.down = False

    def close(self) -> None:
        for sock in [self._listener, *self._sockets]:
            sock.close()

    def _upstream(self) -> socket.socket:
        if self._path:
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(self._path)
            return sock
        return socket.create_connection(self._address)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            upstream = self._upstream()
            self._sockets += [client, upstream]
            sent = threading.Event()
            threading.Thread(target=self._up, args=(client, upstream, sent), daemon=True).start()
            threading.Thread(target=self._down, args=(client, upstream, sent), daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket, sent: threading.Event) -> None:
        try:
            while data := client.recv(65536):
                if b"XADD" in data and not self.cut.is_set():
                    sent.set()
                upstream.sendall(data)
        except OSError:
            pass

    def _down(self, client: socket.socket, upstream: socket.socket, sent: threading.Event) -> None:
        try:
            while data := upstream.recv(65536):
                if sent.is_set() and not self.cut.is_set():
                    # Redis has run the XADDs; their reply is lost and Redis "goes away".
                    self.down = True
                    self.cut.set()
                    client.close()
                    upstream.close()
                    return
                client.sendall(data)
        except OSError:
            pass


@pytest.fixture
def proxy(redis_url: str) -> Iterator[LosingProxy]:
    p = LosingProxy(redis_url)
    try:
        yield p
    finally:
        p.close()


def test_a_batch_whose_reply_was_lost_is_retried_not_counted_as_dropped(
    redis_url: str, proxy: LosingProxy, prefix: str
) -> None:
    key = f"{prefix}:doubt"
    direct = redis.Redis.from_url(redis_url)
    backing_off = threading.Event()
    resume = threading.Event()

    def wait(state: Any) -> float:
        # The writer's back-off: held until the test has overflowed the buffer.
        backing_off.set()
        resume.wait(WAIT)
        return 0.0

    dropped: list[int] = []

    def on_drop(sender: Any, **payload: Any) -> None:
        dropped.append(payload["count"])

    via_proxy = redis.Redis(
        host="127.0.0.1", port=proxy.port, socket_timeout=5.0, retry=Retry(NoBackoff(), 0)
    )
    writer = Writer(
        via_proxy, name=prefix, max_buffer=5, batch_size=50, reconnect=Retrying(wait=wait)
    )
    fanout_signals.fanout_dropped.connect(on_drop)
    try:
        first = [Entry(key, f"{n}-1", b"x", maxlen=1_000) for n in (1, 2, 3)]
        writer.put(first)
        assert backing_off.wait(WAIT), "the writer never saw the lost reply"
        assert proxy.cut.is_set()
        # Redis took them: the reply was lost, not the request.
        assert [i for i, _ in direct.xrange(key)] == [b"1-1", b"2-1", b"3-1"]
        # A flush from now waits for 1-3 too: newer entries dropped meanwhile (settled,
        # though queued after the call) must not let it return before their retry.
        at_flush: list[dict[str, Any]] = []
        flusher = threading.Thread(
            target=lambda: at_flush.append({"ok": writer.flush(WAIT), **writer.stats()})
        )
        flusher.start()
        writer.put([Entry(key, f"{n}-1", b"x", maxlen=1_000) for n in range(4, 13)])
        proxy.heal()
        resume.set()
        flusher.join(WAIT)
        assert at_flush and at_flush[0]["ok"]
        assert at_flush[0]["duplicates"] == 3, "flush returned before the retry of 1-3"
        assert writer.flush(WAIT)
        stats = writer.stats()
        in_redis = [int(i.split(b"-")[0]) for i, _ in direct.xrange(key)]
    finally:
        resume.set()
        writer.close(WAIT)
        fanout_signals.fanout_dropped.disconnect(on_drop)
        via_proxy.close()
        direct.delete(key)
        direct.close()
    # 12 entries, room for 5 besides the batch in doubt: 4-7 are dropped, more than
    # were queued before the flush (1-3), which therefore waited for 1-3's retry.
    assert in_redis == [1, 2, 3, 8, 9, 10, 11, 12]
    assert stats["dropped"] == sum(dropped) == 12 - len(in_redis)
    assert stats["duplicates"] == 3  # the retry of the batch Redis had taken
