"""Amounts, prices and costs to a market's precision, as the exact decimal strings Binance takes.

One implementation for both callers: the CCXT helpers a user calls
(``client.amount_to_precision``) and the order requests the WS API and REST
build, so what a user previews is byte for byte what is sent.

CCXT's TICK_SIZE mode: amounts are truncated to the lot step, prices rounded
half up to the tick, costs truncated. The arithmetic is ``Decimal`` so that no
float noise reaches the wire, and results carry no trailing zeros (``100.10``
is sent as ``100.1``; Binance takes either).
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from ..._exceptions import InvalidArgument, InvalidOrder
from ..._structures import Market

__all__ = ["amount_to_precision", "cost_to_precision", "price_to_precision", "to_precision"]


def _decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise InvalidArgument(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgument(f"{name} must be finite, got {value!r}")
        return Decimal(repr(value))  # the shortest repr: 0.1 is 0.1, not 0.1000000000000000055
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise InvalidArgument(f"{name} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise InvalidArgument(f"{name} must be finite, got {value!r}")
    return number


def _plain(number: Decimal) -> str:
    """Fixed-point text without trailing zeros (CCXT's NO_PADDING): ``100.10`` → ``100.1``."""
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def to_precision(value: object, step: object, mode: Literal["truncate", "round"], name: str) -> str:
    """``value`` as a multiple of ``step`` (TICK_SIZE mode), as ``str``.

    ``InvalidArgument`` (a ``BadRequest``) for anything that is not a finite number.
    """
    number = _decimal(value, name)
    if step is None:
        return _plain(number)
    tick = _decimal(step, "precision")
    if tick <= 0:
        return _plain(number)
    units = (number / tick).to_integral_value(
        rounding=ROUND_DOWN if mode == "truncate" else ROUND_HALF_UP
    )
    return _plain(units * tick)


def amount_to_precision(market: Market, amount: object) -> str:
    """``amount`` truncated to the market's lot step; ``InvalidOrder`` when that leaves nothing."""
    result = to_precision(amount, market.precision.amount, "truncate", "amount")
    if result == "0" and _decimal(amount, "amount") != 0:
        raise InvalidOrder(
            f"amount of {market.symbol} must be at least the amount precision "
            f"{market.precision.amount}, got {amount!r}"
        )
    return result


def price_to_precision(market: Market, price: object) -> str:
    """``price`` rounded (half up) to the market's tick size."""
    return to_precision(price, market.precision.price, "round", "price")


def cost_to_precision(market: Market, cost: object) -> str:
    """``cost`` truncated to the market's cost step (its tick size if it has none)."""
    precision = market.precision
    step = precision.cost if precision.cost is not None else precision.price
    return to_precision(cost, step, "truncate", "cost")
