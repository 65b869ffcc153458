"""Requests of the Deribit client's ``fetch_*_ws`` lists: CCXT's ``(symbol, since,
limit, params)`` as Deribit's JSON-RPC params, sans-I/O.

* Own trades (``private/get_user_trades_by_instrument``, ``..._by_currency``; protocol
  reference §7): ``since`` → ``start_timestamp``, ``limit`` → ``count`` (at most 1000;
  Deribit's default is 10), CCXT's ``until`` → ``end_timestamp``, ``sorting: asc``.
* Open orders (``private/get_open_orders*``): Deribit takes no time or count, so
  ``since``/``limit`` apply to the reply.
* Closed orders (``private/get_order_history_by_instrument``, ``..._by_currency``):
  ``limit`` → ``count`` (newest first on Deribit) and ``include_unfilled: true`` (a
  cancelled order is a closed order to CCXT); with ``since``, the newest 1000 are
  asked and ``since`` applies to the reply, as Deribit's history has no time filter.
* Without a symbol: ``params["currency"]`` (or CCXT's ``code``) picks one settlement
  currency, else every one (BTC, ETH, USDC) is asked.

Other ``params`` go to Deribit as given (``historical``, ``kind``, ``type``, ...).
:func:`since_limit` is CCXT's rule for the merged result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol, TypeVar

from ..._arguments import check_limit, check_params, check_since
from ..._exceptions import InvalidArgument
from ..._structures import Market
from .markets import SETTLE_CURRENCIES

__all__ = [
    "MAX_COUNT",
    "Requests",
    "history_requests",
    "open_orders_requests",
    "since_limit",
    "trades_requests",
]

#: Deribit's largest ``count``.
MAX_COUNT: Final = 1000

Requests = list[tuple[str, dict[str, Any]]]


class _Stamped(Protocol):
    @property
    def timestamp(self) -> int | None: ...


T = TypeVar("T", bound=_Stamped)


def _count(limit: int | None) -> int | None:
    limit = check_limit(limit)
    if limit is not None and limit > MAX_COUNT:
        raise InvalidArgument(f"limit must be at most {MAX_COUNT} on deribit, got {limit}")
    return limit


def _currencies(extra: dict[str, Any]) -> list[str]:
    """The settlement currencies asked about, taking ``currency``/``code`` out of
    ``extra``."""
    code = extra.pop("currency", None)
    alias = extra.pop("code", None)
    code = code if code is not None else alias
    if code is None:
        return list(SETTLE_CURRENCIES)
    if not isinstance(code, str) or code.upper() not in SETTLE_CURRENCIES:
        raise InvalidArgument(
            f"currency must be one of {', '.join(SETTLE_CURRENCIES)}, not {code!r}"
        )
    return [code.upper()]


def _target(market: Market | None, extra: dict[str, Any], kind: str) -> Requests:
    """``{prefix}_by_instrument`` for a market, else ``{prefix}_by_currency`` per currency."""
    if market is not None:
        return [(f"{kind}_by_instrument", {"instrument_name": market.id, **extra})]
    return [(f"{kind}_by_currency", {"currency": c, **extra}) for c in _currencies(extra)]


def trades_requests(
    market: Market | None,
    since: int | None = None,
    limit: int | None = None,
    params: Mapping[str, Any] | None = None,
) -> Requests:
    """Own trades: one request per instrument or settlement currency (see module doc)."""
    since, count = check_since(since), _count(limit)
    extra = check_params(params)
    until = check_since(extra.pop("until", None), "until")
    query: dict[str, Any] = {"sorting": "asc"}
    if since is not None:
        query["start_timestamp"] = since
    if until is not None:
        query["end_timestamp"] = until
    if count is not None:
        query["count"] = count
    return _target(market, {**query, **extra}, "private/get_user_trades")


def open_orders_requests(
    market: Market | None, params: Mapping[str, Any] | None = None
) -> Requests:
    """Open orders: of the instrument, of the currency asked, or every open order."""
    extra = check_params(params)
    if market is None and "currency" not in extra and "code" not in extra:
        return [("private/get_open_orders", extra)]
    return _target(market, extra, "private/get_open_orders")


def history_requests(
    market: Market | None,
    since: int | None = None,
    limit: int | None = None,
    params: Mapping[str, Any] | None = None,
) -> Requests:
    """Closed orders (see module doc)."""
    since, count = check_since(since), _count(limit)
    extra = check_params(params)
    query: dict[str, Any] = {
        "count": MAX_COUNT if since is not None or count is None else count,
        "include_unfilled": True,
    }
    return _target(market, {**query, **extra}, "private/get_order_history")


def since_limit(items: Iterable[T], since: int | None, limit: int | None) -> list[T]:
    """CCXT's rule for a fetched list: oldest first; ``since`` keeps what is at or after
    it; ``limit`` then keeps the first ``limit`` from ``since``, or without ``since`` the
    newest ``limit``."""
    ordered = sorted(items, key=lambda i: i.timestamp or 0)
    if since is not None:
        ordered = [i for i in ordered if i.timestamp is not None and i.timestamp >= since]
    if limit is not None:
        ordered = ordered[:limit] if since is not None else ordered[-limit:]
    return ordered
