"""clock4: the snapshot pool logs with its lock released (rule 1).

A refused worker start ("could not start a snapshot thread") and the start that
works after it were logged under the pool's condition lock: a logging handler is
user code, and one that needs the pool (say, a handler asking it for a snapshot)
deadlocked the caller. The recovery is also a debug record now, not a warning.
``start_thread`` is replaced to refuse once: a real refusal needs a resource limit
no test can set safely.
"""

from __future__ import annotations

import logging
import threading

import pytest

from ccxtpro_sync._core.snapshot_scheduler import SnapshotScheduler
from ccxtpro_sync._sync import snapshot_fetcher
from ccxtpro_sync._sync.snapshot_fetcher import SnapshotFetcher

from .test_atk13_thread_start_failure import _failing_once

WAIT = 5.0


class PoolLockProbe(logging.Handler):
    """Records, for each pool record, its level and whether another thread could take
    the pool's lock while the record was being handled."""

    def __init__(self, fetcher: SnapshotFetcher) -> None:
        super().__init__(logging.DEBUG)
        self.fetcher = fetcher
        self.seen: list[tuple[int, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "snapshot thread" not in record.getMessage():
            return
        took: list[bool] = []

        def probe() -> None:  # another thread: the lock is reentrant for its holder
            cond = self.fetcher._cond
            got = cond.acquire(timeout=0.5)
            if got:
                cond.release()
            took.append(got)

        other = threading.Thread(target=probe)
        other.start()
        other.join(WAIT)
        self.seen.append((record.levelno, took == [True]))


def test_refused_and_recovered_worker_starts_are_logged_with_the_lock_free(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused = _failing_once(snapshot_fetcher, monkeypatch)
    fetched = threading.Event()
    scheduler = SnapshotScheduler(weight_limit=6000, weight_of=lambda _: 1)
    fetcher = SnapshotFetcher(
        lambda symbol, limit: b"{}",
        lambda: None,
        scheduler,
        lambda *_: fetched.set(),
        rest_timeout=1,
        workers=1,
    )
    fetcher._retry_pause = 0.0  # the next ask retries the start at once
    probe = PoolLockProbe(fetcher)
    logger = logging.getLogger("ccxtpro_sync")
    logger.addHandler(probe)
    level = logger.level
    logger.setLevel(logging.DEBUG)  # (setLevel: the logger's cached levels are dropped)
    try:
        fetcher.request("BTCUSDT", 5)  # the start is refused: queued, stalled
        assert refused and fetcher.stalled
        fetcher.request("BTCUSDT", 5)  # asked again: the start works
        assert fetched.wait(WAIT) and not fetcher.stalled
    finally:
        logger.removeHandler(probe)
        logger.setLevel(level)
        fetcher.close()
    assert probe.seen == [(logging.WARNING, True), (logging.DEBUG, True)]
