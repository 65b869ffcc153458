"""``private/get_order_history_by_instrument`` and ``..._by_currency``, as Deribit
documents them (docs.deribit.com, "private/get_order_history_by_instrument",
"..._by_currency", and the article "Accessing Historical Trades and Orders").

* The history holds orders that are no longer open. A closed order that never
  filled (cancelled or rejected with ``filled_amount`` 0) is left out unless
  ``include_unfilled`` is true.
* ``count``: 1 to 1000, default 20; ``offset``: default 0, for paging.
* Newest first (by last update), so ``offset`` pages back in time. **[NOTE]** the
  documentation shows one-item replies only; newest-first is how its paging by
  ``offset`` reads.
* ``include_old`` (orders older than 2 days) and ``historical`` (archived records)
  are accepted as booleans; every order of the local exchange is recent, so
  neither changes what is listed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from .accounts import OPEN_STATES, Order
from .errors import bad_param

__all__ = ["DEFAULT_COUNT", "order_history"]

#: Deribit's default ``count`` of the order-history methods.
DEFAULT_COUNT: Final = 20
MAX_COUNT: Final = 1000


def _flag(params: dict[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise bad_param(name, "must be a boolean")
    return value


def _non_negative(params: dict[str, Any], name: str, default: int, most: int | None) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad_param(name, "must be a non-negative integer")
    if most is not None and not 1 <= value <= most:
        raise bad_param(name, f"must be an integer from 1 to {most}")
    return value


def order_history(orders: Iterable[Order], params: dict[str, Any]) -> list[dict[str, Any]]:
    """One page of the order history of ``orders`` (already narrowed to the instrument,
    or to the currency and kind), as the reply's list."""
    count = _non_negative(params, "count", DEFAULT_COUNT, MAX_COUNT)
    offset = _non_negative(params, "offset", 0, None)
    unfilled = _flag(params, "include_unfilled")
    _flag(params, "include_old")
    _flag(params, "historical")
    closed = [o for o in orders if o.state not in OPEN_STATES and (unfilled or o.filled > 0)]
    closed.sort(key=lambda o: (o.updated or o.created, o.order_id), reverse=True)
    return [o.to_json() for o in closed[offset : offset + count]]
