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

``pack_levels`` turns a depth diff's JSON level array into pairs of native doubles (a
``bytes``, 16 bytes a level) and ``apply_levels`` takes such bytes as well as pairs: the
compiled versions read the frame's text straight into the book without a tuple or a
float object per level. The live book uses them only where the C module is built; these
are the reference the tests compare it with.
"""

from __future__ import annotations

import math
import re
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any

#: Numbers longer than this are left to the caller's general decoder.
PACK_MAX_NUMBER = 64
_WS = r"[ \t\n\r]*"
# A quoted plain decimal: no sign, exponent, leading zero or bare point.
_NUMBER = r'"((?:0|[1-9][0-9]*)(?:\.[0-9]+)?)"'
_OPEN = re.compile(rf"{_WS}\[{_WS}")
_LEVEL = re.compile(rf"\[{_WS}{_NUMBER}{_WS},{_WS}{_NUMBER}{_WS}\]{_WS}")
_COMMA = re.compile(rf",{_WS}")
_CLOSE = re.compile(rf"\]{_WS}")


def pack_levels(text: Any) -> bytes | None:
    """``text`` (bytes-like, ``[["price","amount"], ...]`` of quoted plain decimals) as
    pairs of native doubles, 16 bytes a level; ``None`` when it is anything else (the
    caller's general decoder then accepts it or says what is wrong)."""
    data = bytes(memoryview(text)).decode("latin-1")
    opened = _OPEN.match(data)
    if opened is None:
        return None
    at = opened.end()
    values: list[float] = []
    if _CLOSE.match(data, at) is None:  # not empty
        while True:
            level = _LEVEL.match(data, at)
            if level is None:
                return None
            for number in level.groups():
                if len(number) > PACK_MAX_NUMBER:
                    return None
                value = float(number)
                if not math.isfinite(value):
                    return None
                values.append(value)
            comma = _COMMA.match(data, level.end())
            if comma is None:
                at = level.end()
                break
            at = comma.end()
    closed = _CLOSE.match(data, at)
    if closed is None or closed.end() != len(data):
        return None
    return array("d", values).tobytes()


def _unpack(packed: bytes) -> list[tuple[float, float]]:
    if len(packed) % 16:
        raise ValueError("packed levels: length not a multiple of 16")
    numbers = array("d")
    numbers.frombytes(packed)
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def apply_levels(  # noqa: PLR0917  (the C function's positional signature)
    keys: list[Any],
    amounts: list[Any],
    bound: Any,
    neg: bool,
    limit: int | None,
    levels: Iterable[Sequence[Any]] | bytes,
) -> Any:
    """Apply absolute ``(price, amount)`` levels in place; return the side's new bound.

    A zero amount removes the level (removing an absent level is normal: Binance says
    so); a new level worse than ``bound`` is ignored; past ``limit`` levels the worst
    are dropped and the worst kept key becomes the bound. A level equal to a kept one
    (``Decimal("1.10") == Decimal("1.1")``) updates it and keeps the kept key.
    ``levels`` may be ``pack_levels``' bytes.
    """
    pairs = _unpack(levels) if isinstance(levels, bytes) else levels
    for price, amount in pairs:
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
