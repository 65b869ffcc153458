"""Number handling shared by the unified structures and the parsers.

Binance sends every price and quantity as a JSON string, so the parsers never
see a float they did not make themselves. Which type they make is the
caller's choice: ``float`` (fast, the default) or ``decimal.Decimal`` (exact).
A parser receives that choice as a *converter*, a callable from ``str`` to the
number type, and uses it for every numeric field it fills.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias, TypeVar

from ._exceptions import ProtocolError

__all__ = [
    "ASCII_INT_DIGITS",
    "N",
    "Num",
    "NumberConverter",
    "ascii_int",
    "finite",
    "finite_decimal",
    "finite_float",
    "number_type",
    "opt_num",
    "same_ascii_number",
]

#: A number in a unified structure: ``float`` by default, ``Decimal`` in exact mode.
Num: TypeAlias = float | Decimal

#: One concrete number type per parse call; mypy checks arithmetic for each.
N = TypeVar("N", float, Decimal)

#: ``float`` or ``Decimal`` (or anything with the same signature).
NumberConverter: TypeAlias = Callable[[str], Num]


def opt_num(value: str | None, number: Callable[[str], N]) -> N | None:
    """Convert a wire string, mapping ``None`` and ``""`` to ``None``.

    Binance uses ``""`` for "not applicable" (e.g. the funding rate of a
    COIN-M delivery contract), which neither ``float`` nor ``Decimal`` accept.
    """
    if not value:
        return None
    return number(value)


# -- finiteness: "NaN", "Infinity" and friends never leave a parser ------------------------
# float() and Decimal() accept them, and one in an order book can never be removed (NaN
# equals nothing) or sorts above every real price (inf). The checked converters below are
# what the parsers use; a non-finite value fails the whole message with ProtocolError.


def finite_float(text: str) -> float:
    """``float(text)``, refusing NaN, ±infinity and text that is no number at all
    with ``ProtocolError`` (a bare ``ValueError`` would escape the parsers' handling)."""
    try:
        value = float(text)
    except ValueError:
        raise _non_finite(text) from None
    if value - value:  # 0.0 for every finite value; NaN for NaN and ±inf
        raise _non_finite(text)
    return value


def finite_decimal(text: str) -> Decimal:
    """``Decimal(text)``, refusing NaN, sNaN, ±Infinity and malformed text with
    ``ProtocolError`` (instead of ``decimal.InvalidOperation``)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _non_finite(text) from None
    if not value.is_finite():
        raise _non_finite(text)
    return value


def finite(number: Callable[[str], Any]) -> Callable[[str], Any]:
    """The checked converter for ``float`` or ``Decimal``; any other converter as is."""
    if number is float:
        return finite_float
    if number is Decimal:
        return finite_decimal
    return number


def number_type(number: Callable[[str], Any]) -> Callable[[str], Any]:
    """``float`` or ``Decimal`` for a plain or checked converter (fast-path choices)."""
    if number is finite_float:
        return float
    if number is finite_decimal:
        return Decimal
    return number


#: Digits ``ascii_int`` reads: ids and counters (int64 is 19), far below the 4,300 past
#: which ``int()`` refuses a string.
ASCII_INT_DIGITS = 30


def ascii_int(text: Any, most: int = ASCII_INT_DIGITS) -> int | None:
    """The value of ``text`` when it is a str of 1 to ``most`` ASCII digits, else None.

    ``str.isdigit()`` is no such test: it is true for ``"²"`` (which ``int()`` refuses)
    and for other scripts' digits (which ``int()`` takes), and for any number of digits
    (``int()`` refuses over 4,300). A server's text must never reach ``int()`` unchecked.
    """
    if type(text) is not str or not 0 < len(text) <= most:
        return None
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def same_ascii_number(a: str, b: str) -> bool:
    """Whether two texts of ASCII digits (any length) spell the same number
    (``"0123"`` and ``"123"``); False if either is anything else."""
    for text in (a, b):
        if not (text and text.isascii() and text.isdigit()):
            return False
    return (a.lstrip("0") or "0") == (b.lstrip("0") or "0")


def _non_finite(text: str) -> ProtocolError:
    return ProtocolError(f"not a finite number: {str(text)[:40]!r}")
