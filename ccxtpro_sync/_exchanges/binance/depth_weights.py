"""Binance's REST depth weights and budgets: the exchange table the generic
``SnapshotScheduler`` is configured with."""

from __future__ import annotations

from typing import Any

from ..._core.snapshot_scheduler import SnapshotScheduler

__all__ = [
    "FUTURES_DEPTH_LIMITS",
    "binance_scheduler",
    "futures_depth_weight",
    "spot_depth_weight",
]

#: Limits ``/fapi/v1/depth`` and ``/dapi/v1/depth`` accept.
FUTURES_DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)


def spot_depth_weight(limit: int | None) -> int:
    """Weight of ``GET /api/v3/depth`` (default limit 100, max 5000)."""
    n = 100 if limit is None else limit
    if n < 1 or n > 5000:
        raise ValueError(f"spot depth limit must be 1..5000, got {n}")
    if n <= 100:
        return 5
    if n <= 500:
        return 25
    if n <= 1000:
        return 50
    return 250


_FUTURES_WEIGHTS = {5: 2, 10: 2, 20: 2, 50: 2, 100: 5, 500: 10, 1000: 20}


def futures_depth_weight(limit: int | None) -> int:
    """Weight of ``GET /fapi/v1/depth`` (default limit 500; only the listed limits)."""
    n = 500 if limit is None else limit
    try:
        return _FUTURES_WEIGHTS[n]
    except KeyError:
        raise ValueError(f"futures depth limit must be one of {FUTURES_DEPTH_LIMITS}") from None


def binance_scheduler(*, futures: bool = False, **options: Any) -> SnapshotScheduler:
    """A scheduler with Binance's budget (spot 6000/min; futures 2400/min, shared by
    USD-M and COIN-M) and depth weights; ``options`` override any of them."""
    options.setdefault("weight_limit", 2400 if futures else 6000)
    options.setdefault("weight_of", futures_depth_weight if futures else spot_depth_weight)
    return SnapshotScheduler(**options)
