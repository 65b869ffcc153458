"""The collector's writer thread: a bounded queue drained into Redis with pipelining.

Callbacks on the client's dispatcher only append to the queue (never block), so a slow
or unreachable Redis never stalls the exchange reader. The queue's bound is the
overflow policy: past ``max_buffer`` entries the **oldest** are dropped, counted per key
(``stats()``) and signalled (``fanout_dropped``); a dropped order-book entry also asks the
collector for a fresh snapshot. While Redis is unreachable the writer keeps its batch,
waits by the tenacity policy (``close()`` cuts the wait short) and then catches up.
A batch whose write failed may be in Redis already (a lost reply looks like a lost
request): it goes back to the head of the queue and is never dropped for space (newer
entries are), so its retry resolves it, as written or refused as a duplicate, instead
of counting as ``dropped`` entries that consumers in fact receive. The queue then holds
up to ``max_buffer`` entries plus that one batch.
Entries whose id Redis refuses as not above the stream's newest were written already
(by this writer before a reconnect, or by the collector that held the shard before):
they are counted as ``duplicates`` and not retried.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
from tenacity import RetryCallState, Retrying

from .._exceptions import InvalidArgument
from .._signals import send
from .._sync.reconnect import default_reconnect_policy
from .codec import FIELD
from .signals import fanout_signals

__all__ = ["Entry", "Writer", "backoff_delay"]

_log = logging.getLogger("ccxtpro_sync.fanout")

# Sets the newest snapshot of a book only if it is newer than the stored one, so a
# standby that catches up with older views cannot move it backwards.
_SET_NEWER = """
local cur = redis.call('HGET', KEYS[1], 'nonce')
if (not cur) or tonumber(cur) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'nonce', ARGV[1], 'v', ARGV[2])
  return 1
end
return 0
"""

_DUPLICATE = "equal or smaller than the target stream top item"


def backoff_delay(policy: Retrying, attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1``, by the tenacity policy's wait."""
    state = RetryCallState(retry_object=policy, fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    return float(policy.wait(state))


@dataclass(slots=True)
class Entry:
    """One stream entry to write. ``entry_id`` is ``"<n>-1"`` for ids derived from the
    exchange (idempotent) or ``"*"``; ``latest`` names the hash that keeps a book's
    newest snapshot (snapshots only), ``symbol`` the book an entry belongs to."""

    key: str
    entry_id: str
    data: bytes
    maxlen: int
    symbol: str | None = None
    latest: str | None = None
    nonce: int = 0


class Writer:
    """Drains entries into Redis on thread ``ccxtpro_sync-fanout-writer-<name>``."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        name: str,
        max_buffer: int = 100_000,
        batch_size: int = 500,
        reconnect: Retrying | None = None,
        on_book_lost: Callable[[str], None] | None = None,
    ) -> None:
        if max_buffer < 1 or batch_size < 1:
            raise InvalidArgument("max_buffer and batch_size must be positive")
        self._redis = client
        self._set_newer = client.register_script(_SET_NEWER)
        self.max_buffer = max_buffer
        self.batch_size = batch_size
        self._policy = reconnect or default_reconnect_policy(initial=0.05, maximum=2.0)
        self._on_book_lost = on_book_lost
        self._queue: deque[Entry] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._failures = 0
        # Entries at the queue's head from a failed write (Redis may have taken them):
        # kept for their retry, never dropped for space; and how many of them the batch
        # being written holds. At most one batch in all.
        self._in_doubt = 0
        self._in_doubt_writing = 0
        # Entries ever queued, and entries done with (written, refused or dropped); the
        # queue is FIFO, so ``_settled >= n`` means the first ``n`` are all done, once
        # no entry in doubt (older than any other) is left.
        self._queued_total = 0
        self._settled = 0
        self.written = 0
        self.duplicates = 0
        self.errors = 0
        self.dropped: Counter[str] = Counter()
        self._thread = threading.Thread(
            target=self._run, name=f"ccxtpro_sync-fanout-writer-{name}", daemon=True
        )
        self._thread.start()

    # -- producer side ----------------------------------------------------------------
    def put(self, entries: Iterable[Entry], *, report: bool = True) -> list[Entry]:
        """Queue entries; never blocks. Past the bound the oldest entries are dropped:
        they are reported (counted, signalled) here, or, with ``report=False``, returned
        for the caller to pass to :meth:`report_dropped` once it holds no lock."""
        dropped: list[Entry] = []
        with self._cond:
            if self._closing:
                return []
            before = len(self._queue)
            self._queue.extend(entries)
            self._queued_total += len(self._queue) - before
            dropped = self._overflow()
            self._cond.notify()
        if dropped and report:
            self.report_dropped(dropped)
        return dropped

    def _overflow(self) -> list[Entry]:
        """Drop the oldest entries past the bound, sparing the head in doubt (under
        ``_cond``)."""
        queue = self._queue
        excess = len(queue) - self._in_doubt - self.max_buffer
        if excess <= 0:
            return []
        head = [queue.popleft() for _ in range(self._in_doubt)]
        dropped = [queue.popleft() for _ in range(excess)]
        queue.extendleft(reversed(head))
        self._settled += len(dropped)
        return dropped

    def report_dropped(self, entries: list[Entry], reason: str = "buffer full") -> None:
        """Count and signal entries dropped by :meth:`put`."""
        if entries:
            self._count_dropped(entries, reason)

    def _count_dropped(self, entries: list[Entry], reason: str) -> None:
        per_key = Counter(e.key for e in entries)
        with self._cond:
            self.dropped.update(per_key)
        for key, count in per_key.items():
            _log.warning("fanout: dropped %d entries of %s (%s)", count, key, reason)
            send(fanout_signals.fanout_dropped, self, key=key, count=count, reason=reason)
        if self._on_book_lost is not None:
            for symbol in {e.symbol for e in entries if e.symbol is not None}:
                self._on_book_lost(symbol)

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {
                "queued": len(self._queue),
                "written": self.written,
                "duplicates": self.duplicates,
                "errors": self.errors,
                "dropped": sum(self.dropped.values()),
                "dropped_by_key": dict(self.dropped),
                "redis_failures": self._failures,
            }

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued before this call is written (or refused, or
        dropped); False on timeout. Entries queued meanwhile are not waited for, so a
        busy collector's flush returns as soon as its past is in Redis."""
        with self._cond:
            target = self._queued_total
            return self._cond.wait_for(
                lambda: self._settled >= target and not (self._in_doubt or self._in_doubt_writing),
                timeout,
            )

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (up to ``timeout`` seconds), then stop. Idempotent;
        entries still queued after that are counted as dropped."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:
            self._closing = True
            left = list(self._queue)
            self._queue.clear()
            self._in_doubt = self._in_doubt_writing = 0
            self._settled += len(left)
            self._failures = -1  # makes a thread still in back-off leave at once
            self._cond.notify_all()
        if left:
            self._count_dropped(left, "closed before Redis took them")
        self._thread.join(1.0)

    # -- writer thread ----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.notify_all()
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue or self._failures < 0:
                    return
                batch = [
                    self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))
                ]
                self._in_doubt_writing = min(self._in_doubt, len(batch))
                self._in_doubt -= self._in_doubt_writing
            try:
                results = self._write(batch)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
                self._requeue(batch)
                if not self._back_off(error):
                    return
                continue
            self._settle(batch, results)

    def _write(self, batch: list[Entry]) -> list[Any]:
        pipe = self._redis.pipeline(transaction=False)
        for entry in batch:
            pipe.xadd(
                entry.key, {FIELD: entry.data}, id=entry.entry_id,
                maxlen=entry.maxlen, approximate=True,
            )  # fmt: skip
            if entry.latest is not None:
                self._set_newer(keys=[entry.latest], args=[entry.nonce, entry.data], client=pipe)
        return list(pipe.execute(raise_on_error=False))

    def _settle(self, batch: list[Entry], results: list[Any]) -> None:
        written = duplicates = errors = 0
        lost_books: set[str] = set()
        index = 0
        for entry in batch:
            result = results[index]
            index += 2 if entry.latest is not None else 1
            if not isinstance(result, Exception):
                written += 1
            elif _DUPLICATE in str(result):
                duplicates += 1
                if entry.symbol is not None:
                    lost_books.add(entry.symbol)  # the chain now differs from the stream's
            else:
                errors += 1
                _log.error("fanout: Redis refused an entry of %s: %s", entry.key, result)
                if entry.symbol is not None:
                    lost_books.add(entry.symbol)
        with self._cond:
            self.written += written
            self.duplicates += duplicates
            self.errors += errors
            self._settled += len(batch)
            self._in_doubt_writing = 0
            self._failures = min(self._failures, 0)
            self._cond.notify_all()
        if self._on_book_lost is not None:
            for symbol in lost_books:
                self._on_book_lost(symbol)

    def _requeue(self, batch: list[Entry]) -> None:
        with self._cond:
            self._queue.extendleft(reversed(batch))
            # Sent, perhaps taken: only the retry can tell.
            self._in_doubt += len(batch)
            self._in_doubt_writing = 0
            dropped = self._overflow()
        if dropped:
            self._count_dropped(dropped, "buffer full while Redis was unreachable")

    def _back_off(self, error: BaseException) -> bool:
        """Wait before the next attempt; False when closing gave up on Redis."""
        with self._cond:
            if self._failures < 0:
                return False
            self._failures += 1
            attempt = self._failures
        _log.warning("fanout: Redis unreachable (attempt %d): %s", attempt, error)
        send(fanout_signals.fanout_redis_error, self, error=error)
        delay = backoff_delay(self._policy, attempt)
        with self._cond:
            self._cond.wait_for(lambda: self._failures < 0, delay)
            return self._failures >= 0
