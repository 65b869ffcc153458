"""The listenKey timer across threads (issue 12): late replies about a replaced key
change nothing, and every transition of the shared timer runs under its lock."""

from __future__ import annotations

import threading
from typing import Any

from ccxtpro_sync._exchanges.binance.errors import INVALID_LISTEN_KEY
from ccxtpro_sync._exchanges.binance.user_data import ListenKeyAction, ListenKeyTimer
from ccxtpro_sync._exchanges.binance.user_stream import SharedListenKeyTimer


def test_a_keepalive_reply_for_a_replaced_key_changes_nothing() -> None:
    timer = ListenKeyTimer(keepalive_every=100.0)
    timer.start()
    timer.created("old", 0.0)
    # The worker's PUT for "old" is in flight when the reader sees it expire and a
    # new key is created; the PUT's success then arrives about the old key.
    timer.on_expired()
    timer.created("new", 10.0)
    timer.kept_alive(50.0, "old")
    assert timer.next_due() == 110.0  # the new key's keepalive is due from its creation
    assert timer.on_error(INVALID_LISTEN_KEY, "old") is ListenKeyAction.NONE
    assert timer.listen_key == "new"
    timer.kept_alive(60.0, "new")
    assert timer.next_due() == 160.0
    assert timer.on_error(INVALID_LISTEN_KEY, "new") is ListenKeyAction.CREATE


class _Watched:
    """A lock that notes whether it is held, for checking who takes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.held = False

    def __enter__(self) -> None:
        self._lock.acquire()
        self.held = True

    def __exit__(self, *exc: Any) -> None:
        self.held = False
        self._lock.release()


def test_every_transition_of_the_shared_timer_runs_under_its_lock() -> None:
    timer = SharedListenKeyTimer(keepalive_every=100.0)
    watched = _Watched()
    timer.lock = watched  # type: ignore[assignment]
    seen: list[tuple[str, bool]] = []
    original = ListenKeyTimer.__setattr__

    def note(self: Any, name: str, value: Any) -> None:
        seen.append((name, watched.held))
        original(self, name, value)

    SharedListenKeyTimer.__setattr__ = note  # type: ignore[method-assign,assignment]
    try:
        timer.start()
        timer.created("key", 0.0)
        timer.kept_alive(5.0, "key")
        timer.on_error(INVALID_LISTEN_KEY, "key")
        timer.created("key2", 6.0)
        timer.on_expired()
        timer.stop()
        timer.closed()
    finally:
        del SharedListenKeyTimer.__setattr__
    assert seen and all(held for _, held in seen), seen
    assert timer.current() is None
