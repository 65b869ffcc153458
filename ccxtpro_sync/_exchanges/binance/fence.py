"""A synced book written into the raw log at a fence, and read back by a replay.

A fan-out collector that takes over writes a fence, then each synced diff-depth book
as a depth-snapshot entry (``depthSnapshot:<id>@<depth>``): the book's levels, its
update id, and each side's *bound* (its worst price still tracked exactly, ``None``
when the whole side is known; see ``_orderbook``). The bound is the one thing the
levels do not show, and it decides which later diffs the book takes: a side cut to
``depth`` levels at reset gets its worst level as bound, which is the live one only
by chance (a bound stays where it was while removals thin a side, and a side that
was never cut has none). So the entry carries both bounds, and a replay restores
them exactly: from the fence on, the replayed book takes the diffs the live one took.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import msgspec

from ..._exceptions import ProtocolError
from ..._orderbook import LocalOrderBook

__all__ = ["fence_body", "fence_bounds"]


class _Bounds(msgspec.Struct, gc=False):
    bounds: tuple[str | None, str | None] | None = None


_decode_bounds = msgspec.json.Decoder(_Bounds).decode


def fence_body(book: LocalOrderBook[Any]) -> tuple[bytes, int]:
    """``book`` as a depth-snapshot entry's body, and the depth that keeps all its
    levels at reset (the bounds, not the depth, say where each side is cut)."""
    view = book.snapshot()
    bids = [[str(price), str(amount)] for price, amount in view.bids]
    asks = [[str(price), str(amount)] for price, amount in view.asks]
    bid, ask = book.bid_bound, book.ask_bound
    bounds = [None if bid is None else str(bid), None if ask is None else str(ask)]
    body = msgspec.json.encode(
        {"lastUpdateId": view.nonce, "bids": bids, "asks": asks, "bounds": bounds}
    )
    return body, max(len(bids), len(asks), 1)


def fence_bounds(body: bytes, number: Callable[[str], Any]) -> tuple[Any, Any] | None:
    """The side bounds a depth-snapshot entry carries (``None``: it carries none, as a
    REST snapshot does), as ``number`` values; ``ProtocolError`` if unreadable."""
    try:
        bounds = _decode_bounds(body).bounds
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as error:
        # (RecursionError: a value nested deeper than msgspec recurses)
        raise ProtocolError(f"raw log: unreadable depth snapshot: {error}") from None
    if bounds is None:
        return None
    return _price(bounds[0], number), _price(bounds[1], number)


def _price(text: str | None, number: Callable[[str], Any]) -> Any:
    if text is None:
        return None
    try:
        value = number(text)
        finite = math.isfinite(value) and value > 0
    except (ValueError, ArithmeticError, ProtocolError):  # the client's parser's own
        finite = False
    if not finite:
        raise ProtocolError(f"raw log: depth snapshot bound {text!r} is not a price")
    return value
