"""Amounts and prices to a market's precision, as the exact decimal strings Binance takes.

Amounts are truncated to the lot step and prices rounded half up to the tick, as
CCXT does; the arithmetic is ``Decimal`` so that no float noise reaches the wire.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..._exceptions import BadRequest, InvalidOrder
from ..._structures import Market

__all__ = ["amount_to_precision", "price_to_precision"]


def _to_decimal(value: Any, what: str) -> Decimal:
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as error:
        raise BadRequest(f"{what} {value!r} is not a number") from error
    if not result.is_finite():
        raise BadRequest(f"{what} {value!r} is not a finite number")
    return result


def _to_step(value: Decimal, step: Any, rounding: str) -> str:
    if step is None:
        return format(value.normalize(), "f")
    tick = _to_decimal(step, "precision").normalize()
    if tick <= 0:
        return format(value.normalize(), "f")
    steps = (value / tick).to_integral_value(rounding=rounding)
    exponent = tick.as_tuple().exponent
    quantized = steps * tick
    if isinstance(exponent, int) and exponent < 0:
        quantized = quantized.quantize(tick)
    return format(quantized, "f")


def amount_to_precision(market: Market, amount: Any) -> str:
    """An amount truncated to the market's step (CCXT truncates amounts), as a string."""
    value = _to_decimal(amount, "amount")
    text = _to_step(value, market.precision.amount, ROUND_DOWN)
    if value > 0 and Decimal(text) == 0:
        raise InvalidOrder(
            f"amount {amount} of {market.symbol} is below its precision {market.precision.amount}"
        )
    return text


def price_to_precision(market: Market, price: Any) -> str:
    """A price rounded to the market's tick (CCXT rounds prices), as a string."""
    return _to_step(_to_decimal(price, "price"), market.precision.price, ROUND_HALF_UP)
