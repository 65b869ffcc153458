"""Validation of the arguments that enter the public API, in one place.

Every check raises :class:`~ccxtpro_sync._exceptions.InvalidArgument` (a
``BadRequest`` that is also a ``TypeError`` and a ``ValueError``) naming the
argument (a missing symbol: ``ArgumentsRequired``), before anything is sent
or registered, so a wrong call fails at the call site instead of deep inside a
socket or ``threading`` call.

The rules:

* **Timeouts** are seconds: an ``int`` or ``float`` (not ``bool``), finite, > 0
  and at most :data:`MAX_TIMEOUT` (one million seconds, about 11.6 days: longer
  waits are surely unit mistakes, e.g. milliseconds, and ``threading`` rejects
  values past ``threading.TIMEOUT_MAX`` with ``OverflowError``). Where a method
  takes ``timeout=None`` it means the client's default ``timeout`` (itself a
  valid timeout), never an unbounded wait.
* **Symbols** are ``str`` (``bytes`` included in the error message as the type);
  ``None`` where a symbol is needed raises ``ArgumentsRequired``, as in CCXT.
* **Handlers** are callables. ``on_*`` methods take the symbol(s) first and the
  handler last (or as ``handler=``); a callable where a symbol goes, or a ``str``
  where the handler goes, says exactly that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ._exceptions import ArgumentsRequired, InvalidArgument

__all__ = [
    "MAX_TIMEOUT",
    "check_handler",
    "check_limit",
    "check_params",
    "check_since",
    "check_symbol",
    "check_symbols",
    "check_timeout",
]

#: The longest timeout accepted, in seconds.
MAX_TIMEOUT: Final = 1_000_000.0

_ORDER_HINT: Final = (
    "on_* methods take the symbol(s) first and the handler last, e.g. "
    "on_trades('BTC/USDT', handler=print)"
)


def check_timeout(value: object, name: str = "timeout") -> float:
    """``value`` as seconds if it is a valid timeout (see module docstring)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(
            f"{name} must be a number of seconds (int or float), got {type(value).__name__} "
            f"{value!r}"
        )
    seconds = float(value)
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
        raise InvalidArgument(f"{name} must be > 0 and <= {MAX_TIMEOUT:.0f} seconds, got {value!r}")
    return seconds


def check_limit(value: object, name: str = "limit") -> int | None:
    """``None`` or an ``int`` >= 1 (a cache or book read's ``limit``)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise InvalidArgument(
        f"{name} must be None or an int >= 1, got {type(value).__name__} {value!r}"
    )


def check_params(value: object, name: str = "params") -> dict[str, Any]:
    """A copy of ``value`` as a ``dict``: ``None`` or a mapping of extra request params."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    raise InvalidArgument(
        f"{name} must be a dict of extra request params, got {type(value).__name__} {value!r:.40}"
    )


def check_since(value: object, name: str = "since") -> int | None:
    """``None`` or a timestamp in milliseconds (an ``int`` >= 0)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise InvalidArgument(
        f"{name} must be None or a timestamp in ms (int >= 0), got {type(value).__name__} {value!r}"
    )


def check_symbol(value: object, name: str = "symbol", example: str = "'BTC/USDT'") -> str:
    """``value`` if it is a ``str``; ``ArgumentsRequired`` for ``None`` (as CCXT says
    when a method needs a symbol), else ``InvalidArgument`` saying what it got."""
    if isinstance(value, str):
        return value
    if value is None:
        raise ArgumentsRequired(f"missing {name}: a str such as {example} is required")
    if callable(value):
        raise InvalidArgument(
            f"{name} must be a str such as {example}, got a callable: {_ORDER_HINT}"
        )
    raise InvalidArgument(
        f"{name} must be a str such as {example}, got {type(value).__name__} {value!r}"
    )


def check_symbols(value: object, name: str = "symbols") -> list[str]:
    """One symbol or a sequence of them, as a list of ``str``."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [check_symbol(s, f"{name}[{i}]") for i, s in enumerate(value)]
    return [check_symbol(value, name)]


def check_handler(value: object, name: str = "handler") -> Callable[[Any], object]:
    """``value`` if it is callable; a missing or misplaced handler says so."""
    if callable(value):
        return value
    if value is None:
        raise InvalidArgument(f"{name} is required (a callable): {_ORDER_HINT}")
    if isinstance(value, str):
        raise InvalidArgument(f"{name} must be callable, got the str {value!r}: {_ORDER_HINT}")
    raise InvalidArgument(f"{name} must be callable, got {type(value).__name__} {value!r}")
