"""Reading Deribit's JSON values: numbers are JSON numbers (not strings as on
Binance), converted to the caller's number type with NaN/infinity refused.

``number`` is ``float`` or ``Decimal`` (or their checked converters from
``_numbers``). A frame decoded with ``exact=True`` holds ``Decimal`` already;
a float converted to ``Decimal`` goes through its shortest repr, which is the
text Deribit sent for any number a float can round-trip.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from ..._exceptions import ProtocolError
from ..._numbers import Num, finite_decimal, finite_float

__all__ = ["num", "opt_int", "opt_num", "req_int", "req_num", "req_str"]


def _is_decimal(number: Callable[[str], Any]) -> bool:
    return number is Decimal or number is finite_decimal


def num(value: Any, number: Callable[[str], Any], name: str = "value") -> Num:
    """``value`` (a JSON number, or numeric text) as ``number``'s type, finite."""
    if isinstance(value, bool):
        raise ProtocolError(f"deribit {name} is a boolean, not a number")
    if _is_decimal(number):
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ProtocolError(f"deribit {name} is not a finite number")
            return value
        if isinstance(value, int | float | str):
            return finite_decimal(repr(value) if isinstance(value, float) else str(value))
    elif isinstance(value, float | int | Decimal | str):
        try:
            result = finite_float(value) if isinstance(value, str) else float(value)
        except ValueError:
            raise ProtocolError(f"deribit {name} is not a number: {str(value)[:40]!r}") from None
        if result - result:  # NaN for NaN and ±inf
            raise ProtocolError(f"deribit {name} is not a finite number")
        return result
    raise ProtocolError(f"deribit {name} is not a number ({type(value).__name__})")


def opt_num(raw: Mapping[str, Any], key: str, number: Callable[[str], Any]) -> Num | None:
    """``raw[key]`` as a number, ``None`` when absent or null."""
    value = raw.get(key)
    return None if value is None else num(value, number, key)


def req_num(raw: Mapping[str, Any], key: str, number: Callable[[str], Any]) -> Num:
    """``raw[key]`` as a number; missing is a ``ProtocolError``."""
    value = raw.get(key)
    if value is None:
        raise ProtocolError(f"deribit payload without {key!r}")
    return num(value, number, key)


def opt_int(raw: Mapping[str, Any], key: str) -> int | None:
    """``raw[key]`` as an int (timestamps, ids), ``None`` when absent or null."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ProtocolError(f"deribit {key} is a boolean, not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    raise ProtocolError(f"deribit {key} is not an integer")


def req_int(raw: Mapping[str, Any], key: str) -> int:
    """``raw[key]`` as an int; missing is a ``ProtocolError``."""
    value = opt_int(raw, key)
    if value is None:
        raise ProtocolError(f"deribit payload without {key!r}")
    return value


def req_str(raw: Mapping[str, Any], key: str) -> str:
    """``raw[key]`` as a non-empty string; anything else is a ``ProtocolError``."""
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"deribit payload without a string {key!r}")
    return value
