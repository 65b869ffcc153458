"""One line per failure: what the command line prints instead of a traceback.

A user mistake (unknown symbol, bad timeframe, bad option) exits 2, like argparse's own
usage errors; anything that goes wrong at run time (network, port in use) exits 1.
Network errors name the host and the innermost reason, not the HTTP library's chain.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Iterator

from .._exceptions import BadRequest, NetworkError, RequestTimeout

USAGE = 2
RUNTIME = 1
_MAX_LINE = 300

_HOST = (
    re.compile(r"host='([^']+)'"),
    re.compile(r"\b(?:https?|wss?)://([^/:'\"\s]+)"),
    re.compile(r"address \('([^']+)'"),
)
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\"()\[\]]+)")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_LINE else text[: _MAX_LINE - 3] + "..."


def _host(chain: list[BaseException]) -> str | None:
    for pattern in _HOST:
        for error in chain:
            found = pattern.search(str(error))
            if found:
                return found.group(1)
    return None


def _reason(chain: list[BaseException]) -> str:
    for error in reversed(chain):  # innermost first
        if isinstance(error, socket.gaierror | ConnectionRefusedError) and error.strerror:
            return error.strerror.lower()
        if isinstance(error, TimeoutError) and not isinstance(error, RequestTimeout):
            return "timed out"
    for error in reversed(chain):
        found = _ERRNO.search(str(error))
        if found:
            return found.group(1).strip().lower()
    return _one_line(str(chain[-1]) or type(chain[-1]).__name__)


def describe(error: BaseException, connect_error: object = None) -> tuple[int, str]:
    """The exit status and the one line (no trailing newline) to print for ``error``.

    ``connect_error`` is the last failed connection attempt, if any: a timeout while a
    stream kept failing to connect is reported as that failure.
    """
    if isinstance(error, RequestTimeout) and isinstance(connect_error, BaseException):
        error = connect_error
    chain = list(_chain(error))
    if isinstance(error, BadRequest):
        return USAGE, _one_line(str(error))
    bind = next((e for e in chain if isinstance(e, OSError) and e.errno == errno.EADDRINUSE), None)
    if bind is not None:
        where = re.search(r"\('([^']+)', (\d+)\)", str(bind))
        address = bind.filename or (f"{where.group(1)}:{where.group(2)}" if where else "its port")
        return RUNTIME, f"cannot listen on {address}: address already in use"
    if isinstance(error, RequestTimeout):
        return RUNTIME, _one_line(f"timed out: {error}")
    if isinstance(error, NetworkError | OSError):
        host = _host(chain)
        reason = _reason(chain)
        if host is not None:
            return RUNTIME, f"cannot reach {host}: {reason}"
        return RUNTIME, _one_line(f"network error: {reason}")
    return RUNTIME, _one_line(f"{type(error).__name__}: {error}")


__all__ = ["RUNTIME", "USAGE", "describe"]
