"""Number handling shared by the unified structures and the parsers.

Binance sends every price and quantity as a JSON string, so the parsers never
see a float they did not make themselves. Which type they make is the
caller's choice: ``float`` (fast, the default) or ``decimal.Decimal`` (exact).
A parser receives that choice as a *converter*, a callable from ``str`` to the
number type, and uses it for every numeric field it fills.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeAlias, TypeVar

__all__ = ["N", "Num", "NumberConverter", "opt_num"]

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
