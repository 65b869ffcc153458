"""Deribit's public REST calls (``public/get_instruments``), cut short by ``close()``.

``urllib.request.urlopen`` bounds each socket operation, not the call, and no other
thread can end it: a ``close()`` during the markets load left the caller blocked
until the timeout (a connect that never answers: the whole of it). Here each call's
socket comes from a :class:`~ccxtpro_sync._sync.dial.Dial` registered before its TCP
connect, ``close()`` and the call's deadline shut it at any point, and the answer
body is capped. Like ``urlopen`` before it, a call goes through the proxy the
environment names (``http_proxy``/``https_proxy``, ``no_proxy``): plain HTTP asks the
proxy for the absolute URL, HTTPS tunnels through it (``CONNECT``).

Redirects: a public ``GET`` (all this transport carries today) follows at most
``MAX_REDIRECTS`` of them, within the call's one deadline, each to a URL of the same
scheme (``https`` to ``http`` would drop TLS; another host is fine: nothing secret is
sent). A call that must not be re-sent elsewhere (``redirects=0``: the client gives that
to anything but a ``public/`` method, so a private request, should one ever come this
way, is never sent to a host it was not meant for) and a redirect past the limit, to
another scheme or without a ``Location`` are an ``ExchangeError`` naming it.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
from http.client import HTTPConnection, HTTPException, HTTPResponse, HTTPSConnection
from urllib.parse import SplitResult, unquote, urljoin, urlsplit
from urllib.request import getproxies, proxy_bypass

from ..._exceptions import (
    ClientClosed,
    ExchangeError,
    ExchangeNotAvailable,
    InvalidArgument,
    ProtocolError,
    RequestTimeout,
)
from ..._sync.dial import Dial, DialCut, verified_context
from ..._sync.placement import Timer

__all__ = ["MAX_BODY", "MAX_REDIRECTS", "DeribitRest"]

#: Largest answer read (bytes); ``get_instruments`` of every currency is far below.
MAX_BODY = 32 * 1024 * 1024
#: Redirects a public ``GET`` follows (a loop ends after this many).
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _Response(HTTPResponse):
    def _read_next_chunk_size(self) -> int:
        # int(..., 16) takes "-1": http.client would then read to EOF in one go,
        # past the body cap. A chunk size is never negative.
        size: int = super()._read_next_chunk_size()  # type: ignore[misc]
        if size < 0:
            raise ProtocolError(f"negative chunk size {size} in a chunked answer")
        return size


class _Call:
    """One call's sockets: its dial, then a duplicate of the connected socket (TLS
    detaches the original before its handshake)."""

    def __init__(self) -> None:
        self.dial = Dial()
        self.expired = False
        self._lock = threading.Lock()
        self._raw: socket.socket | None = None
        self._cut = False

    def connect(
        self,
        address: tuple[str, int],
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        sock = self.dial.connect(address, timeout, source_address)
        with self._lock:
            if not self._cut:
                self._raw = sock.dup()
                return sock
        sock.close()
        raise DialCut("deribit REST call cut while connecting")

    def cut(self, expired: bool = False) -> None:
        self.expired = self.expired or expired
        self.dial.cut()
        with self._lock:
            self._cut = True
            raw = self._raw
        if raw is not None:
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_RDWR)

    def release(self) -> None:
        self.dial.release()
        with self._lock:
            self._cut = True
            raw, self._raw = self._raw, None
        if raw is not None:
            raw.close()


class DeribitRest:
    """``GET`` calls to one Deribit REST base URL; ``close()`` ends those in flight."""

    def __init__(self, base: str, *, max_body: int = MAX_BODY) -> None:
        self._base = base.rstrip("/")
        parts = urlsplit(base)
        parts.port  # noqa: B018 - a port out of range is an error here, as before
        self._scheme = parts.scheme
        self._max_body = max_body
        self._lock = threading.Lock()
        self._calls: set[_Call] = set()
        self._closed = False

    def get(
        self, target: str, timeout: float, what: str, *, redirects: int = MAX_REDIRECTS
    ) -> tuple[int, bytes]:
        """``(status, body)`` of ``GET`` base + ``target`` within ``timeout`` seconds,
        following at most ``redirects`` redirects (see the module docstring).
        ``ClientClosed`` once closed, ``RequestTimeout`` past the deadline,
        ``ExchangeNotAvailable`` when the transport fails, ``ProtocolError`` for an
        answer above the cap, ``ExchangeError`` for a redirect not followed."""
        deadline = time.monotonic() + timeout
        url = self._base + target
        for hop in range(redirects + 1):
            left = max(0.0, deadline - time.monotonic())
            status, location, body = self._get_once(urlsplit(url), left, timeout, what)
            if status not in _REDIRECTS:
                return status, body
            url = self._follow(url, status, location, what, hop < redirects, redirects)
        raise AssertionError("unreachable: the last hop returns or raises")

    def _follow(  # noqa: PLR0917 - one redirect's facts
        self, url: str, status: int, location: str | None, what: str, more: bool, limit: int
    ) -> str:
        """The URL a redirect answer sends the call to, or the ``ExchangeError`` that
        says why it is not followed."""
        text = f"{what}: HTTP {status} redirect"
        if not location:
            raise ExchangeError(f"{text} without a Location", code=status)
        target = urljoin(url, location.strip())
        shown = target[:200]
        if not more:
            why = f"more than {limit}" if limit else "a call that is never re-sent elsewhere"
            raise ExchangeError(f"{text} to {shown!r} not followed: {why}", code=status)
        parts = urlsplit(target)
        try:
            parts.port  # noqa: B018 - a port out of range raises here, not in the connect
        except ValueError as error:
            raise ExchangeError(f"{text} to {shown!r}: {error}", code=status) from None
        if parts.scheme != self._scheme:
            raise ExchangeError(
                f"{text} to {shown!r} not followed: another scheme than {self._scheme!r}",
                code=status,
            )
        return target

    def _get_once(
        self, url: SplitResult, timeout: float, total: float, what: str
    ) -> tuple[int, str | None, bytes]:
        """``(status, Location, body)`` of one ``GET`` of ``url`` within ``timeout``."""
        call = _Call()
        conn, origin, headers = self._connection(call, url, timeout)
        with self._lock:
            if self._closed:
                raise ClientClosed(f"{what}: REST client closed")
            self._calls.add(call)
        # placement.Timer: from a pinned callback it runs at home, not on the pin
        timer = Timer(max(0.0, timeout), call.cut, (True,))
        try:
            timer.start()
            path = url.path + ("?" + url.query if url.query else "")
            conn.request("GET", origin + path, headers=headers)
            response = conn.getresponse()
            body = response.read(self._max_body + 1)
            # A read of a bounded size ends quietly when the socket is shut: look why.
            if self._closed:
                raise ClientClosed(f"{what}: aborted by close()")
            if call.expired:
                raise RequestTimeout(f"{what} timed out after {total}s")
            if len(body) > self._max_body:
                raise ProtocolError(f"{what}: answer larger than {self._max_body} bytes")
            if response.length:  # fewer bytes than the Content-Length announced
                raise ExchangeNotAvailable(f"{what}: the answer was cut short")
            return response.status, response.getheader("Location"), body
        except (OSError, HTTPException) as error:
            if self._closed:
                raise ClientClosed(f"{what}: aborted by close()") from error
            if call.expired or isinstance(error, TimeoutError):
                raise RequestTimeout(f"{what} timed out after {total}s") from error
            raise ExchangeNotAvailable(f"{what} failed: {error!r}") from error
        finally:
            timer.cancel()
            with self._lock:
                self._calls.discard(call)
            call.release()
            conn.close()

    def _connection(
        self, call: _Call, url: SplitResult, timeout: float
    ) -> tuple[HTTPConnection, str, dict[str, str]]:
        """The connection of one call to ``url``, the origin its target is prefixed
        with (the proxy's absolute form) and the request's proxy headers."""
        secure = url.scheme == "https"
        target_host = url.hostname or ""
        target_port = url.port or (443 if secure else 80)  # checked by __init__ / _follow
        host, port, origin, headers = target_host, target_port, "", {}
        proxy = _proxy(secure, target_host)
        if proxy is not None:
            host, port, auth = proxy
            if not secure:
                # host[:port] as the URL spells it (brackets kept): the absolute target
                origin, headers = f"http://{url.netloc.rpartition('@')[2]}", auth
        conn: HTTPConnection
        if secure:
            # one verified context per CA configuration, not one per call
            conn = HTTPSConnection(host, port, timeout=timeout, context=verified_context())
            if proxy is not None:
                conn.set_tunnel(target_host, target_port, headers=proxy[2])
        else:
            conn = HTTPConnection(host, port, timeout=timeout)
        conn.response_class = _Response
        # http.client's own hook: the socket exists (and can be cut) before its connect.
        conn._create_connection = call.connect  # type: ignore[attr-defined]
        return conn, origin, headers

    def close(self) -> None:
        """End every call in flight (they raise ``ClientClosed``); later calls too."""
        with self._lock:
            self._closed = True
            calls = list(self._calls)
        for call in calls:
            call.cut()


def _proxy(secure: bool, host: str) -> tuple[str, int, dict[str, str]] | None:
    """(host, port, headers) of the proxy ``urlopen`` would use for ``host``, if any."""
    scheme = "https" if secure else "http"
    value = getproxies().get(scheme)
    if not value or proxy_bypass(host):
        return None
    parts = urlsplit(value if "://" in value else f"http://{value}")
    try:
        port = parts.port or 80
    except ValueError as error:
        raise InvalidArgument(f"{scheme}_proxy {value!r} in the environment: {error}") from None
    headers = {}
    if parts.username is not None:
        user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
    return parts.hostname or "", port, headers
