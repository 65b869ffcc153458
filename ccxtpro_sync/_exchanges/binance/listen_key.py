"""Futures user data: the listenKey that names the user-data stream, and its upkeep.

Binance's futures user data comes over a market-stream connection subscribed to a
listenKey created over REST (``POST``), kept alive every half hour (``PUT``) and
deleted on close (``DELETE``) (protocol reference §7.3). A key the exchange reports
expired, or a keepalive refused with ``-1125``, is replaced: a new key, the stream
moved onto it, and a reconnect so that the gap is reconciled. The timing lives in
:class:`.user_stream.SharedListenKeyTimer`; the jobs run on the private client's
worker, never on a reader thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..._credentials import Credentials
from ..._exceptions import CcxtproSyncError
from ..._sync.connection import Connection
from ..._sync.worker import Worker
from .environments import Endpoints
from .errors import INVALID_LISTEN_KEY
from .rest import BinanceRest
from .user_data import ListenKeyAction
from .user_stream import SharedListenKeyTimer

__all__ = ["ListenKeys"]

_log = logging.getLogger("ccxtpro_sync")


class ListenKeys:
    """Creates, keeps alive, replaces and deletes one client's listenKey.

    ``stream`` returns the user-data connection the key is subscribed on (``None``
    when there is none: then keepalives stop and nothing is replaced).
    """

    def __init__(
        self,
        *,
        name: str,
        rest: BinanceRest,
        endpoints: Endpoints,
        credentials: Callable[[], Credentials],
        worker: Worker,
        stream: Callable[[], Connection | None],
        keepalive_every: float,
    ) -> None:
        self._name = name
        self._rest = rest
        self._endpoints = endpoints  # its listen_key_path exists on futures only
        self._credentials = credentials
        self._worker = worker
        self._stream = stream
        self.timer = SharedListenKeyTimer(keepalive_every)

    @property
    def listen_key(self) -> str | None:
        """The key in use (a secret of sorts: never logged in full)."""
        return self.timer.current()

    def start(self) -> str:
        """A new key for a new stream."""
        self.timer.start()
        return self.create()

    def stop(self) -> None:
        self.timer.stop()

    def create(self) -> str:
        answer = self._request("POST", self._credentials())
        key = str(answer["listenKey"])
        self.timer.created(key, time.monotonic())
        return key

    def _request(self, method: str, credentials: Credentials, key: str | None = None) -> Any:
        params = None if key is None else {"listenKey": key}
        return self._rest.with_api_key(method, self._endpoints.listen_key_path, credentials, params)

    def schedule_keepalive(self) -> None:
        due = self.timer.next_due()
        if due is not None:
            self._worker.submit(self._keepalive, delay=max(0.0, due - time.monotonic()))

    def _keepalive(self) -> None:
        key = self.timer.current()
        if key is None or self._stream() is None:
            return
        try:
            self._request("PUT", self._credentials(), key)
            # The key may have been replaced while the PUT was in flight (the reader
            # saw it expire): then this reply is about a key no longer in use.
            self.timer.kept_alive(time.monotonic(), key)
        except CcxtproSyncError as error:
            code = getattr(error, "code", None)
            _log.warning("%s: listenKey keepalive failed: %s", self._name, error)
            if code == INVALID_LISTEN_KEY:
                if self.timer.on_error(code, key) is ListenKeyAction.CREATE:
                    self._replace()
                return
        self.schedule_keepalive()

    def on_expired(self) -> None:
        """The stream said the key expired. Reader thread, under its protocol lock:
        only hand the work over."""
        self.timer.on_expired()
        self._worker.submit(self._replace)

    def _replace(self) -> None:
        conn = self._stream()
        if conn is None:
            return
        old = conn.query(lambda p: p.book.desired())
        key = self.create()
        conn.call(lambda p: p.unsubscribe(old), restored_on_reconnect=True)
        conn.call(lambda p: p.subscribe([key]), restored_on_reconnect=True)
        # The gap between the old key's expiry and the new subscription is reconciled.
        conn.force_reconnect("new listenKey")
        self.schedule_keepalive()

    def delete(self, key: str | None, credentials: Credentials | None) -> None:
        """Delete ``key`` (the one that was in use), best effort: it would expire on its
        own within the hour."""
        if key is None or credentials is None:
            return
        try:
            self._request("DELETE", credentials, key)
        except CcxtproSyncError as error:
            _log.debug("closing the listenKey failed: %s", error)
