"""One parser for Binance's LONG request parameters (ids, ``startTime``/``endTime``,
``limit``), shared by every route so that they all accept and refuse the same text.

Binance reads these as a signed 64-bit integer written in ASCII digits; anything
else — letters, unicode digits, ``1_000``, ``+5``, or a number past the 64-bit range
such as ``10**30`` — is ``-1100`` ILLEGAL_CHARS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["long_param"]

_LONG: Final = re.compile(r"-?[0-9]{1,20}")
_MIN, _MAX = -(2**63), 2**63 - 1


def long_param(params: Mapping[str, Any], name: str) -> int | None:
    """``params[name]`` as an int, None when absent or empty; ``-1100`` otherwise."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    text = raw if isinstance(raw, str) else (str(raw) if type(raw) is int else "?")
    if _LONG.fullmatch(text) is not None:
        value = int(text)
        if _MIN <= value <= _MAX:
            return value
    from .rest import ApiError  # rest imports the route modules that import this

    raise ApiError(
        -1100,
        f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.",
    )
