"""The order book's per-level loop in Python: the reference for ``_book_levels.c``.

``_orderbook`` uses the compiled module when it was built (``pip install`` compiles it
when a C compiler is present) and these functions otherwise, or when the environment
variable ``CCXTPRO_SYNC_PURE_PYTHON`` is set to a non-empty value other than ``0``. The
two give the same result bit for bit, errors included; ``tests/unit/test_book_levels.py``
compares them.

A side is a dict ``key -> amount`` plus the sorted list of its keys; keys are prices for
asks and negated prices for bids, so both lists are best-first. ``bound`` is the worst
key whose neighbourhood is known (``None``: the whole side is known).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from typing import Any


def apply_levels(  # noqa: PLR0917  (the C function's positional signature)
    qty: dict[Any, Any],
    keys: list[Any],
    bound: Any,
    neg: bool,
    limit: int | None,
    levels: Iterable[Sequence[Any]],
) -> Any:
    """Apply absolute ``(price, amount)`` levels in place; return the side's new bound.

    A zero amount removes the level (removing an absent level is normal: Binance says
    so); a new level beyond ``bound`` is ignored; past ``limit`` levels the far ones
    are dropped and the worst kept key becomes the bound.
    """
    for price, amount in levels:
        key = -price if neg else price
        if amount:
            if key in qty:
                qty[key] = amount
            elif bound is None or key <= bound:
                qty[key] = amount
                insort(keys, key)
        elif qty.pop(key, None) is not None:
            # Only present levels touch the key list.
            del keys[bisect_left(keys, key)]
    if limit is not None and len(keys) > limit:
        for k in keys[limit:]:
            del qty[k]
        del keys[limit:]
        return keys[-1]
    return bound


def top_levels(qty: dict[Any, Any], keys: list[Any], n: int | None, neg: bool) -> list[list[Any]]:
    """``[[price, amount], ...]`` for the best ``n`` keys (all if ``None``)."""
    if n is not None:
        keys = keys[:n]
    if neg:
        return [[-k, qty[k]] for k in keys]
    return [[k, qty[k]] for k in keys]
