"""The REST calls the websocket side needs: exchangeInfo, depth snapshots, listenKeys,
and the signed reads used to reconcile futures user data after a reconnect.

Every call has a timeout and fails with a typed error (Binance's error codes
mapped by ``errors.py``); the used request weight Binance reports
(``X-MBX-USED-WEIGHT-1M``) is kept so that snapshot fetching stays in budget.
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Mapping
from http.client import (
    HTTPConnection,
    HTTPException,
    HTTPResponse,
    HTTPSConnection,
    RemoteDisconnected,
    parse_headers,
)
from typing import Any
from urllib.parse import urlsplit

import msgspec

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
from ..._numbers import ascii_int
from ..._sync.dial import Dial
from ..._sync.placement import Timer
from .errors import UNTIMED_BAN, from_payload, parse_retry_after
from .redaction import redact_text, scrub_exception
from .signing import urlencode

#: Paths per product: (exchangeInfo, depth).
PATHS: dict[str, tuple[str, str]] = {
    "spot": ("/api/v3/exchangeInfo", "/api/v3/depth"),
    "usdm": ("/fapi/v1/exchangeInfo", "/fapi/v1/depth"),
    "coinm": ("/dapi/v1/exchangeInfo", "/dapi/v1/depth"),
}


_HEADERS = {"Accept": "application/json", "User-Agent": "ccxtpro_sync"}

#: Default cap on a REST answer's body: Binance's largest (spot exchangeInfo, all
#: symbols) is some MiB; a hostile or broken server cannot make us hold more.
DEFAULT_MAX_BODY = 32 * 1024 * 1024
#: Kept-alive connections held per REST client (one per concurrent caller is plenty).
_MAX_IDLE = 4
_READ_CHUNK = 64 * 1024


class _StaleConnection(Exception):
    """A kept-alive connection turned out closed before any byte of the answer."""


class _Response(HTTPResponse):
    """``http.client``'s response, stricter where a hostile server could abuse it."""

    def _read_status(self) -> tuple[str, int, str]:
        # http.client skips a 100 Continue only; any other interim 1xx (103 Early
        # Hints) would pass as the answer, leaving the real one unread on a kept-alive
        # connection, where the next call would take it as its own.
        while True:
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if status == 100 or not 100 <= status < 200:
                return version, status, reason
            parse_headers(self.fp)

    def _read_next_chunk_size(self) -> int:
        # int(..., 16) takes "-1": http.client would then read to EOF in one go,
        # past the body cap. A chunk size is never negative.
        size: int = super()._read_next_chunk_size()  # type: ignore[misc]
        if size < 0:
            raise ProtocolError(f"negative chunk size {size} in a chunked answer")
        return size


def http_error(
    status: int, headers: Mapping[str, str], content: bytes, what: str
) -> CcxtproSyncError:
    """The typed error for a failed Binance REST response (``what``: method and path)."""
    retry_after = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        body = msgspec.json.decode(content)
    except (msgspec.DecodeError, RecursionError):  # (nested deeper than msgspec recurses)
        body = None
    if isinstance(body, dict) and "code" in body:
        return from_payload(body, status=status, retry_after_header=retry_after)
    text = f"HTTP {status} from {what}"
    seconds = parse_retry_after(header=retry_after) if retry_after else None
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
    """A small thread-safe REST client for one product's base URL.

    Every call, public or signed, goes through ``send``: one ``http.client``
    exchange whose whole answer is bounded by the call's timeout and which
    ``close()`` can cut short from another thread.
    """

    def __init__(
        self,
        base_url: str,
        product: str,
        *,
        timeout: float = 10.0,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.product = product
        self.timeout = timeout
        #: Largest answer body accepted, in bytes (more is a ``ProtocolError``).
        self.max_body = max_body
        parts = urlsplit(self.base_url)
        self._kind = HTTPSConnection if parts.scheme == "https" else HTTPConnection
        self._host = parts.hostname or ""
        self._port = parts.port
        #: scheme://host[:port], named in network errors (never a path or a query)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._prefix = parts.path
        #: Kept-alive connections ready for the next call (connection reuse).
        self._idle: list[HTTPConnection] = []
        #: Request weight Binance says this IP used in the current minute (None until known).
        self.used_weight: int | None = None
        #: Milliseconds to add to the local clock to get the server's (for signed calls).
        self.time_offset_ms = 0.0
        #: ``time.monotonic()`` before which Binance asked this IP to hold off (429/418
        #: ``Retry-After`` on any call, snapshots included); order calls honour it.
        self.held_until = 0.0
        #: Whether that hold is a 418 IP ban (then refused calls are ``IPBanned``).
        self.held_by_ban = False
        self._lock = threading.Lock()
        self._active: set[HTTPConnection] = set()
        #: Connections in ``connect()``: a duplicate of their TCP socket (see _open_socket).
        self._connecting: dict[HTTPConnection, socket.socket] = {}
        #: Connections in their TCP connect: close() and the deadline cut it short.
        self._dials: dict[HTTPConnection, Dial] = {}
        self._aborted = False
        _INSTANCES.add(self)

    def _after_fork(self) -> None:
        """In a forked child (Celery prefork): the parent's sockets are shared, so no
        pooled connection is reused and none is shut down (that would cut the parent's);
        the lock may have been held by a thread that does not exist here."""
        self._lock = threading.Lock()
        idle, self._idle = self._idle, []
        self._active = set()
        self._connecting = {}
        self._dials = {}
        for conn in idle:
            conn.close()  # this process's descriptor only: the parent's stays open

    def send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """One request; returns the body of a 200 response or raises the typed error.

        ``timeout`` bounds the whole call, connect to last body byte: a timer shuts
        the socket at the deadline, so a server trickling its answer cannot stretch
        it, and ``close()`` on another thread ends it at once (``ClientClosed``).
        Keep-alive connections are reused; the body is capped at ``max_body``.
        """
        timeout = self.timeout if timeout is None else timeout
        query = urlencode(params) if params else ""
        # The query may carry a listenKey (bearer token), timestamp and signature: what
        # leaves here names the method and path only.
        what = f"{method} {path}"
        target = f"{self._prefix}{path}?{query}" if query else f"{self._prefix}{path}"
        hidden = [str(v) for k, v in (params or {}).items() if k in _HIDDEN_PARAMS and v]
        if query:
            hidden.append(query)
        deadline = time.monotonic() + timeout
        try:
            return self._send(
                method, target, headers=headers, timeout=timeout, deadline=deadline, what=what
            )
        except ExchangeNotAvailable as error:
            scrub_exception(error, hidden)  # the chained socket error, too
            raise

    def _send(
        self,
        method: str,
        target: str,
        *,
        headers: dict[str, str] | None,
        timeout: float,
        deadline: float,
        what: str,
    ) -> bytes:
        sent_headers = {**_HEADERS, **(headers or {})}
        conn, reused = self._checkout(what, timeout)
        while True:
            try:
                response, content = self._exchange(
                    conn,
                    method,
                    target,
                    headers=sent_headers,
                    deadline=deadline,
                    what=what,
                    total=timeout,
                    reused=reused,
                )
                break
            except _StaleConnection as stale:
                # A kept-alive connection closed under us before any answer byte: only a
                # GET is sent again (once, on a fresh connection, which cannot be stale).
                # An order or a cancel never is: the server may have read it before
                # closing, so its outcome is unknown (the caller resolves it).
                if method != "GET":
                    raise ExchangeNotAvailable(
                        f"{what} to {self._origin} failed: connection closed before an answer"
                    ) from stale.__cause__
                left = max(0.001, deadline - time.monotonic())
                conn, reused = self._checkout(what, left, fresh=True)
        weight = response.getheader("X-MBX-USED-WEIGHT-1M")
        used = ascii_int(weight)  # a hostile "²" or 5,000 digits is no weight
        if used is not None:
            self.used_weight = used
        if response.status != 200:
            raise self._held(
                http_error(response.status, dict(response.getheaders()), content, what)
            )
        return content

    def _checkout(
        self, what: str, timeout: float, *, fresh: bool = False
    ) -> tuple[HTTPConnection, bool]:
        """An idle kept-alive connection still open, else a new (unconnected) one."""
        with self._lock:
            if self._aborted:
                raise ClientClosed(f"{what}: REST client closed")
            while self._idle and not fresh:
                conn = self._idle.pop()
                if _still_open(conn):
                    self._active.add(conn)
                    return conn, True
                conn.close()
            if self._kind is HTTPSConnection:
                conn = HTTPSConnection(
                    self._host, self._port, timeout=timeout, context=_tls_context()
                )
            else:
                conn = HTTPConnection(self._host, self._port, timeout=timeout)
            conn.response_class = _Response
            # http.client's own hook: the socket is registered before the TLS handshake.
            conn._create_connection = functools.partial(self._open_socket, conn)  # type: ignore[attr-defined]
            self._active.add(conn)
            return conn, False

    def _open_socket(
        self,
        conn: HTTPConnection,
        address: tuple[str, int],
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        """The TCP connection of ``conn``, set as its socket at once, so that ``close()``
        can shut it while the TLS handshake on it is still under way."""
        dial = Dial()  # registered before the TCP connect starts: close() can cut it
        with self._lock:
            if self._aborted:
                raise ClientClosed("REST client closed while connecting")
            self._dials[conn] = dial
        try:
            sock = dial.connect(address, timeout, source_address)
        except BaseException:
            with self._lock:
                self._dials.pop(conn, None)
            dial.release()
            raise
        with self._lock:
            # The duplicate is there before the dial goes: a deadline or close() in
            # between finds one or the other to shut, never neither.
            self._dials.pop(conn, None)
            aborted = self._aborted
            if not aborted:
                # TLS wraps (detaches) ``sock`` before its handshake; a duplicate of the
                # descriptor lets close() and the deadline shut it meanwhile.
                self._connecting[conn] = sock.dup()
        dial.release()
        if aborted:
            sock.close()
            raise ClientClosed("REST client closed while connecting")
        return sock

    def _connected(self, conn: HTTPConnection) -> None:
        with self._lock:
            raw = self._connecting.pop(conn, None)
        if raw is not None:
            raw.close()

    def _sockets(self, conn: HTTPConnection) -> list[socket.socket]:
        """Whatever socket ``conn`` has now, connected or still connecting."""
        with self._lock:
            raw = self._connecting.get(conn)
        return [s for s in (conn.sock, raw) if s is not None]

    def _cut(self, conn: HTTPConnection, expired: threading.Event, ended: threading.Event) -> None:
        """The deadline of a request on ``conn`` passed: end it (its reader gets an error).

        Unless the request already ended: a timer that fired as it ended (too late to
        be cancelled) must not shut ``conn``, which may now carry another call."""
        with self._lock:
            if ended.is_set():
                return
            expired.set()  # from here on, the request's end does not keep ``conn``
            dial = self._dials.get(conn)
        if dial is not None:
            dial.cut()
        _shut(self._sockets(conn))

    def _exchange(
        self,
        conn: HTTPConnection,
        method: str,
        target: str,
        *,
        headers: dict[str, str],
        deadline: float,
        what: str,
        total: float,
        reused: bool,
    ) -> tuple[HTTPResponse, bytes]:
        """Send one request on ``conn`` and read its whole answer before ``deadline``;
        ``conn`` goes back to the idle pool only when the answer was read cleanly."""
        timeout = deadline - time.monotonic()
        expired = threading.Event()
        ended = threading.Event()
        # placement.Timer: from a pinned callback it runs at home, not on the pin
        cutter = Timer(max(0.0, timeout), self._cut, (conn, expired, ended))
        keep = False
        sending = True  # a dead kept-alive connection shows before any answer byte
        try:
            if timeout <= 0:
                raise TimeoutError
            conn.timeout = timeout
            cutter.start()
            if conn.sock is None:
                try:
                    conn.connect()
                finally:
                    self._connected(conn)
            else:
                conn.sock.settimeout(timeout)
            # close() may have run while we connected, when it had no socket to shut:
            # look again now that there is one (close() shuts it if it comes later).
            with self._lock:
                aborted = self._aborted
            if aborted:
                raise ClientClosed(f"{what}: aborted by close()")
            conn.request(method, target, headers=headers)
            response = conn.getresponse()
            sending = False
            content = _read_capped(response, self.max_body, what)
            keep = not response.will_close
        except TimeoutError as error:
            raise RequestTimeout(f"{what} timed out after {total}s") from error
        except (OSError, HTTPException) as error:
            if self._aborted:
                raise ClientClosed(f"{what}: aborted by close()") from error
            if expired.is_set():
                raise RequestTimeout(f"{what} timed out after {total}s") from error
            if reused and sending and isinstance(error, RemoteDisconnected | ConnectionError):
                raise _StaleConnection from error
            raise ExchangeNotAvailable(f"{what} to {self._origin} failed: {error}") from error
        finally:
            cutter.cancel()
            with self._lock:
                ended.set()
            self._checkin(conn, keep and not expired.is_set())
        if expired.is_set():  # cut just as the answer completed: it may be partial
            raise RequestTimeout(f"{what} timed out after {total}s")
        return response, content

    def _checkin(self, conn: HTTPConnection, keep: bool) -> None:
        with self._lock:
            self._active.discard(conn)
            if keep and not self._aborted and len(self._idle) < _MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def _held(self, error: CcxtproSyncError) -> CcxtproSyncError:
        """Remember a throttling answer's ``Retry-After`` for every later call."""
        if not isinstance(error, DDoSProtection):
            return error
        seconds = error.retry_after
        if seconds is None and isinstance(error, IPBanned):
            # A ban that names no end is not forgotten: a call sent into it lengthens it.
            seconds = UNTIMED_BAN
        if seconds:
            until = time.monotonic() + seconds
            if until >= self.held_until:
                self.held_until = until
                self.held_by_ban = isinstance(error, IPBanned)
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
        """A depth snapshot (``abort()``/``close()`` cuts it short, as every call)."""
        return self.send("GET", PATHS[self.product][1], {"symbol": market_id, "limit": limit})

    def get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        """A public GET (market-data ``fetch_*``); ``headers`` adds e.g. the API key of a
        MARKET_DATA endpoint."""
        return self.send("GET", path, params, timeout=timeout, headers=headers)

    def close(self) -> None:
        """Abort requests in flight on other threads and release the connection pool."""
        with self._lock:
            self._aborted = True
            active = list(self._active)
            idle, self._idle = self._idle, []
            dials = list(self._dials.values())
        for dial in dials:
            dial.cut()
        for conn in active:
            _shut(self._sockets(conn))
        for conn in idle:
            conn.close()


#: Every REST client of this process, for the fork handler.
_INSTANCES: weakref.WeakSet[BinanceRest] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for rest in list(_INSTANCES):
        rest._after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reset_after_fork)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Certificate checks against certifi's CA bundle when present (as ``requests``
    did), else the system's."""
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def _still_open(conn: HTTPConnection) -> bool:
    """Whether an idle kept-alive connection can carry a request: readable while
    idle means the server closed it (or sent something unasked)."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        if hasattr(select, "poll"):  # select() refuses descriptors past 1023
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return not poller.poll(0)
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _read_capped(response: HTTPResponse, limit: int, what: str) -> bytes:
    """The whole body, or ``ProtocolError`` once it passes ``limit`` bytes."""
    length = response.getheader("Content-Length")
    # ASCII digits only ("²" passes isdigit()); past 20 of them int() may refuse them
    if (
        length is not None
        and length.isascii()
        and length.isdigit()
        and (len(length) > 20 or int(length) > limit)
    ):
        shown = length if len(length) <= 20 else f"{length[:20]}... ({len(length)} digits)"
        raise ProtocolError(f"{what}: answer of {shown} bytes is over the {limit}-byte limit")
    parts: list[bytes] = []
    size = 0
    while chunk := response.read(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise ProtocolError(f"{what}: answer is over the {limit}-byte limit")
        parts.append(chunk)
    return b"".join(parts)


def _shut(sockets: list[socket.socket]) -> None:
    """Shut ``sockets`` down: whoever reads or writes them gets an error at once."""
    for sock in sockets:
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
    except RecursionError:  # msgspec's answer to a value nested deeper than it recurses
        raise ProtocolError(f"{path}: response is nested too deeply") from None
