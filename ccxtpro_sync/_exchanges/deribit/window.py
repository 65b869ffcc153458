"""CCXT's ``since``/``limit`` on what a ``watch_*`` call returns.

A Deribit ``watch_trades``/``watch_ohlcv``/``watch_orders``/``watch_my_trades`` returns
the batch that woke it; ``since`` keeps the entries at or after that time (ms) and
``limit`` the newest ``limit`` of those, oldest first, as CCXT's
``filter_by_since_limit`` does. The arguments are checked before anything is sent.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from ..._arguments import check_limit, check_since

__all__ = ["Window", "window"]


class _Stamped(Protocol):
    @property
    def timestamp(self) -> int | None: ...


T = TypeVar("T", bound=_Stamped)


class Window:
    """A checked ``since``/``limit`` pair (``InvalidArgument`` for bad values)."""

    __slots__ = ("limit", "since")

    def __init__(self, since: object = None, limit: object = None) -> None:
        self.since = check_since(since)
        self.limit = check_limit(limit)

    def apply(self, items: list[T]) -> list[T]:
        since, limit = self.since, self.limit
        if since is not None:
            items = [i for i in items if i.timestamp is not None and i.timestamp >= since]
        if limit is not None and len(items) > limit:
            items = items[-limit:]
        return items


def window(since: object = None, limit: object = None) -> Window:
    """Check ``since`` and ``limit`` now; apply them to the batch later."""
    return Window(since, limit)
