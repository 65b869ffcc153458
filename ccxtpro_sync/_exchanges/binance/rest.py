"""The REST calls the websocket side needs: exchangeInfo, depth snapshots, listenKeys,
and the signed reads used to reconcile futures user data after a reconnect.

Every call has a timeout and fails with a typed error (Binance's error codes
mapped by ``errors.py``); the used request weight Binance reports
(``X-MBX-USED-WEIGHT-1M``) is kept so that snapshot fetching stays in budget.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Mapping
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import Any
from urllib.parse import urlsplit

import msgspec
import requests

from ..._credentials import Credentials
from ..._exceptions import (
    AuthenticationError,
    BadRequest,
    CcxtproSyncError,
    ClientClosed,
    DDoSProtection,
    ExchangeError,
    ExchangeNotAvailable,
    IPBanned,
    ProtocolError,
    RateLimitExceeded,
    RequestTimeout,
)
from .errors import from_payload
from .redaction import redact_text, scrub_exception
from .signing import urlencode

#: Paths per product: (exchangeInfo, depth).
PATHS: dict[str, tuple[str, str]] = {
    "spot": ("/api/v3/exchangeInfo", "/api/v3/depth"),
    "usdm": ("/fapi/v1/exchangeInfo", "/fapi/v1/depth"),
    "coinm": ("/dapi/v1/exchangeInfo", "/dapi/v1/depth"),
}


_HEADERS = {"Accept": "application/json", "User-Agent": "ccxtpro_sync"}


def http_error(
    status: int, headers: Mapping[str, str], content: bytes, what: str
) -> CcxtproSyncError:
    """The typed error for a failed Binance REST response (``what``: method and path)."""
    retry_after = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        body = msgspec.json.decode(content)
    except msgspec.DecodeError:
        body = None
    if isinstance(body, dict) and "code" in body:
        return from_payload(body, status=status, retry_after_header=retry_after)
    text = f"HTTP {status} from {what}"
    seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
    if status == 418:
        return IPBanned(text, retry_after=seconds)
    if status == 429:
        return RateLimitExceeded(text, retry_after=seconds)
    if status >= 500:
        return ExchangeNotAvailable(text)
    if status in (401, 403):
        return AuthenticationError(text, code=status)
    if 400 <= status < 500:
        return BadRequest(text, code=status)
    return ExchangeError(text, code=status)


class BinanceRest:
    """A small thread-safe REST client for one product's base URL."""

    def __init__(self, base_url: str, product: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.product = product
        self.timeout = timeout
        self._session = requests.Session()
        #: Request weight Binance says this IP used in the current minute (None until known).
        self.used_weight: int | None = None
        #: Milliseconds to add to the local clock to get the server's (for signed calls).
        self.time_offset_ms = 0.0
        #: ``time.monotonic()`` before which Binance asked this IP to hold off (429/418
        #: ``Retry-After`` on any call, snapshots included); order calls honour it.
        self.held_until = 0.0
        self._lock = threading.Lock()
        self._active: set[HTTPConnection] = set()
        self._aborted = False

    def send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """One request; returns the body of a 200 response or raises the typed error."""
        timeout = self.timeout if timeout is None else timeout
        url = self.base_url + path
        query = urlencode(params) if params else ""
        # The query may carry a listenKey (bearer token), timestamp and signature: what
        # leaves here names the method and path only, and the chained original is
        # scrubbed of its URL (redaction.py).
        hidden = [str(v) for k, v in (params or {}).items() if k in _HIDDEN_PARAMS and v]
        if query:
            hidden.append(query)
        try:
            response = self._session.request(
                method,
                f"{url}?{query}" if query else url,
                headers=headers,
                timeout=timeout,
            )
        except requests.Timeout as error:
            scrub_exception(error, hidden)
            raise RequestTimeout(f"{method} {path} timed out after {timeout}s") from error
        except requests.RequestException as error:
            scrub_exception(error, hidden)
            reason = redact_text(str(error), hidden)
            raise ExchangeNotAvailable(f"{method} {path} failed: {reason}") from error
        weight = response.headers.get("X-MBX-USED-WEIGHT-1M")
        if weight is not None and weight.isdigit():
            self.used_weight = int(weight)
        if response.status_code != 200:
            raise self._held(
                http_error(
                    response.status_code, response.headers, response.content, f"{method} {path}"
                )
            )
        return response.content

    def _held(self, error: CcxtproSyncError) -> CcxtproSyncError:
        """Remember a throttling answer's ``Retry-After`` for every later call."""
        if isinstance(error, DDoSProtection) and error.retry_after:
            self.held_until = max(self.held_until, time.monotonic() + error.retry_after)
        return error

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return _json(self.send("GET", path, params), path)

    def signed_raw(
        self,
        method: str,
        path: str,
        credentials: Credentials,
        params: dict[str, Any] | None = None,
        *,
        recv_window: int | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """A SIGNED request: ``timestamp`` (+ ``recvWindow``) and ``signature`` over the
        percent-encoded query string, in the order sent, key in ``X-MBX-APIKEY``."""
        query: dict[str, Any] = {k: v for k, v in (params or {}).items() if v is not None}
        query["timestamp"] = int(time.time() * 1000 + self.time_offset_ms)
        if recv_window is not None:
            query["recvWindow"] = recv_window
        query["signature"] = credentials.sign(urlencode(query))
        headers = {"X-MBX-APIKEY": credentials.api_key}
        return self.send(method, path, query, headers=headers, timeout=timeout)

    def with_api_key(
        self,
        method: str,
        path: str,
        credentials: Credentials,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """A USER_STREAM request: the API key in ``X-MBX-APIKEY``, no signature."""
        body = self.send(method, path, params, headers={"X-MBX-APIKEY": credentials.api_key})
        return _json(body, path)

    def exchange_info(self) -> bytes:
        return self.send("GET", PATHS[self.product][0])

    def depth(self, market_id: str, limit: int) -> bytes:
        """A depth snapshot, fetched so that ``abort()`` can cut it short (see below)."""
        path = PATHS[self.product][1]
        return self._abortable_get(path, {"symbol": market_id, "limit": limit})

    def get(self, path: str, params: dict[str, Any] | None = None, *, timeout: float) -> bytes:
        """A public GET that ``close()`` can cut short (market-data ``fetch_*``)."""
        return self._abortable_get(path, params or {}, timeout=timeout)

    def _abortable_get(
        self, path: str, params: dict[str, Any], *, timeout: float | None = None
    ) -> bytes:
        """GET over ``http.client``: unlike a ``requests`` call, another thread can end it
        by shutting its socket, so ``close()`` never waits for a slow snapshot."""
        timeout = self.timeout if timeout is None else timeout
        parts = urlsplit(self.base_url)
        kind = HTTPSConnection if parts.scheme == "https" else HTTPConnection
        conn = kind(parts.hostname or "", parts.port, timeout=timeout)
        what = f"GET {path}"
        with self._lock:
            if self._aborted:
                raise ClientClosed(f"{what}: REST client closed")
            self._active.add(conn)
        # The socket timeout bounds each read only: a server trickling its answer would
        # hold the call for as long as it likes. The timer cuts the socket at the deadline.
        expired = threading.Event()
        cutter = threading.Timer(timeout, _cut, (conn, expired))
        cutter.daemon = True
        try:
            conn.connect()
            cutter.start()
            # close() may have run while we connected, when it had no socket to shut:
            # look again now that there is one (close() shuts it if it comes later).
            with self._lock:
                aborted = self._aborted
            if aborted:
                raise ClientClosed(f"{what}: aborted by close()")
            query = f"?{urlencode(params)}" if params else ""
            conn.request("GET", f"{parts.path}{path}{query}", headers=_HEADERS)
            response = conn.getresponse()
            content = response.read()
        except TimeoutError as error:
            raise RequestTimeout(f"{what} timed out after {timeout}s") from error
        except (OSError, HTTPException) as error:
            if self._aborted:
                raise ClientClosed(f"{what}: aborted by close()") from error
            if expired.is_set():
                raise RequestTimeout(f"{what} timed out after {timeout}s") from error
            raise ExchangeNotAvailable(f"{what} failed: {error}") from error
        finally:
            cutter.cancel()
            with self._lock:
                self._active.discard(conn)
            conn.close()
        if expired.is_set():  # cut just as the answer completed: it may be partial
            raise RequestTimeout(f"{what} timed out after {timeout}s")
        weight = response.getheader("X-MBX-USED-WEIGHT-1M")
        if weight is not None and weight.isdigit():
            self.used_weight = int(weight)
        if response.status != 200:
            raise self._held(
                http_error(response.status, dict(response.getheaders()), content, what)
            )
        return content

    def close(self) -> None:
        """Abort requests in flight on other threads and release the connection pool."""
        with self._lock:
            self._aborted = True
            active = list(self._active)
        for conn in active:
            sock = conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._session.close()


def _cut(conn: HTTPConnection, expired: threading.Event) -> None:
    """The deadline of a request on ``conn`` passed: end it (its reader gets an error)."""
    expired.set()
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


#: Query parameters whose values never appear in an error.
_HIDDEN_PARAMS = frozenset({"listenKey", "signature"})


def redact(text: str, values: list[str]) -> str:
    """``text`` with each of ``values`` (tokens, signatures) and any query string
    replaced by a marker."""
    return redact_text(text, values)


def _json(body: bytes, path: str) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise ProtocolError(f"{path}: response is not JSON: {error}") from error
