"""The order book's per-level loop in Python: the reference for ``_book_levels.c``.

``_orderbook`` uses the compiled module when it was built (``pip install`` compiles it
when a C compiler is present) and these functions otherwise, or when the environment
variable ``CCXTPRO_SYNC_PURE_PYTHON`` is set to a non-empty value other than ``0``. The
two give the same result bit for bit, errors included; ``tests/unit/test_book_levels.py``
compares them.

A side is two aligned lists: its keys in ascending order, worst level first and best
last (bid prices, and negated ask prices), and their amounts. Best last, because the
market changes the top of the book most: a level inserted or removed there moves few
list items. No dict: the hashes of prices like ``65000.01`` share their low bits, so a
dict keyed by them probes long chains; a bisect finds a level in a few comparisons.
``bound`` is the worst key whose neighbourhood is known (``None``: the whole side is).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any


def apply_levels(  # noqa: PLR0917  (the C function's positional signature)
    keys: list[Any],
    amounts: list[Any],
    bound: Any,
    neg: bool,
    limit: int | None,
    levels: Iterable[Sequence[Any]],
) -> Any:
    """Apply absolute ``(price, amount)`` levels in place; return the side's new bound.

    A zero amount removes the level (removing an absent level is normal: Binance says
    so); a new level worse than ``bound`` is ignored; past ``limit`` levels the worst
    are dropped and the worst kept key becomes the bound. A level equal to a kept one
    (``Decimal("1.10") == Decimal("1.1")``) updates it and keeps the kept key.
    """
    for price, amount in levels:
        key = -price if neg else price
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            if amount:
                amounts[i] = amount
            else:
                del keys[i]
                del amounts[i]
        elif amount and (bound is None or key >= bound):
            keys.insert(i, key)
            amounts.insert(i, amount)
    if limit is not None and len(keys) > limit:
        del keys[: len(keys) - limit]
        del amounts[: len(amounts) - limit]
        return keys[0]
    return bound


def top_levels(keys: list[Any], amounts: list[Any], n: int | None, neg: bool) -> list[list[Any]]:
    """``[[price, amount], ...]``, best first, for the ``n`` best levels (all if ``None``;
    a negative ``n`` leaves out the ``-n`` worst, as slicing a best-first list would)."""
    size = len(keys)
    if len(amounts) != size:
        raise RuntimeError("order book side out of step: keys and amounts differ in length")
    start = size - (size if n is None else len(range(size)[:n]))
    ks = keys[start:]
    ks.reverse()
    qs = amounts[start:]
    qs.reverse()
    if neg:
        return [[-k, q] for k, q in zip(ks, qs, strict=True)]
    return [[k, q] for k, q in zip(ks, qs, strict=True)]
