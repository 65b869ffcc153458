"""A TCP connect (and TLS wrap) that another thread can cut short at any moment.

``socket.create_connection``, websocket-client and ``http.client`` hand back a socket
only once it is connected: while a connect to an address that never answers is
retransmitting its SYN, there is no socket another thread could shut, so ``close()``
had to wait for the connect timeout. A :class:`Dial` registers each socket before its
connect starts and keeps it until :meth:`Dial.release`; :meth:`Dial.cut` shuts it, which
on Linux aborts a connect in progress at once (``ECONNRESET``). Where a platform does
not, the connect still ends by its own timeout, and the cut flag makes it fail then.
Name resolution (``getaddrinfo``) cannot be cut; it is bounded by the resolver.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
from collections.abc import Callable, Sequence

__all__ = ["Dial", "DialCut", "tls_wrapper", "verified_context"]

#: Contexts kept (one per CA configuration seen; a changed configuration adds one).
_MAX_CONTEXTS = 8
_contexts: dict[tuple[object, ...], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


class DialCut(ConnectionAbortedError):
    """The dial was cut (by ``close()`` or a deadline) before or while it connected."""


class Dial:
    """The socket of one connect attempt, from before its TCP connect to its release."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._cut = False

    @property
    def was_cut(self) -> bool:
        return self._cut

    def connect(
        self,
        address: tuple[str, int],
        timeout: float | None,
        source_address: tuple[str, int] | None = None,
        *,
        options: Sequence[tuple[int, int, int]] = (),
        wrap: Callable[[socket.socket], socket.socket] | None = None,
    ) -> socket.socket:
        """Connect to ``address`` (each resolved address in turn, as
        ``socket.create_connection`` does) with the socket ``options`` set, then
        ``wrap`` the socket (TLS, its handshake left to the caller). Raises
        :class:`DialCut` once cut."""
        host, port = address
        error: OSError | None = None
        for family, kind, proto, _, target in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            with self._lock:
                if self._cut:
                    sock.close()
                    raise DialCut(f"connect to {host}:{port} cut")
                self._sock = sock
            try:
                sock.settimeout(timeout)
                for level, name, value in options:
                    sock.setsockopt(level, name, value)
                if source_address is not None:
                    sock.bind(source_address)
                sock.connect(target)
                with self._lock:
                    if self._cut:
                        raise DialCut(f"connect to {host}:{port} cut")
                    if wrap is not None:  # no I/O: the TLS handshake is the caller's
                        sock = self._sock = wrap(sock)
                return sock
            except OSError as failed:
                with self._lock:
                    self._sock = None
                sock.close()
                if self._cut:
                    raise DialCut(f"connect to {host}:{port} cut") from failed
                error = failed
        raise error if error is not None else OSError(f"{host}:{port} did not resolve")

    def cut(self) -> None:
        """Shut the attempt's socket, whatever it is doing; later attempts fail at once."""
        with self._lock:
            self._cut = True
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown: ``SSLSocket.shutdown`` would also drop the
                # TLS object under a handshake running on another thread.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def release(self) -> None:
        """The attempt is over (the socket now belongs to its user): stop tracking it."""
        with self._lock:
            self._sock = None


def tls_wrapper(context: ssl.SSLContext, hostname: str) -> Callable[[socket.socket], socket.socket]:
    """A ``wrap`` for :meth:`Dial.connect`: TLS for ``hostname``, handshake not yet done."""

    def wrap(sock: socket.socket) -> socket.socket:
        return context.wrap_socket(sock, server_hostname=hostname, do_handshake_on_connect=False)

    return wrap


def _file_state(path: str | None) -> tuple[str, int, int] | None:
    """What identifies a CA file's content cheaply: its kind, mtime and size."""
    if not path:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    kind = "file" if os.path.isfile(path) else "dir" if os.path.isdir(path) else ""
    return kind, stat.st_mtime_ns, stat.st_size


def verified_context(bundle: str | None = None, *, x509_strict: bool = True) -> ssl.SSLContext:
    """The default verified client context (certificates and host names checked, SNI
    sent by each wrap), trusting ``bundle`` (a CA file, or a hashed directory) instead
    of the system's CAs when it names one; without Python 3.13's strict X.509 checks
    when ``x509_strict`` is false.

    Building one loads the CA store, milliseconds of CPU: it is built once per
    process and CA configuration and shared (a context is safe to use from several
    threads). The configuration is read on every call, so what changes is honoured on
    the next connect: the bundle named and its file's content (mtime, size),
    ``SSL_CERT_FILE``/``SSL_CERT_DIR`` and ``SSLKEYLOGFILE``."""
    state = _file_state(bundle)
    if state is not None and not state[0]:
        state = None  # neither a file nor a directory: the system's CAs, as before
    system = os.environ.get("SSL_CERT_FILE")
    key = (
        bundle if state is not None else None,
        state,
        x509_strict,
        system,
        _file_state(system),
        os.environ.get("SSL_CERT_DIR"),
        os.environ.get("SSLKEYLOGFILE"),
    )
    with _contexts_lock:
        found = _contexts.get(key)
    if found is not None:
        return found
    if state is not None and state[0] == "file":
        context = ssl.create_default_context(cafile=bundle)
    elif state is not None:
        context = ssl.create_default_context(capath=bundle)
    else:
        context = ssl.create_default_context()
    if not x509_strict:
        context.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    with _contexts_lock:
        if len(_contexts) >= _MAX_CONTEXTS:
            _contexts.clear()  # configurations that changed many times: start again
        return _contexts.setdefault(key, context)
