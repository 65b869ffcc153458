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
    "N",
    "Num",
    "NumberConverter",
    "finite",
    "finite_decimal",
    "finite_float",
    "number_type",
    "opt_num",
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


def _non_finite(text: str) -> ProtocolError:
    return ProtocolError(f"not a finite number: {str(text)[:40]!r}")
