"""How often Binance pushes each market stream, for the freshness watchdog.

From Binance's stream documentation: candles are pushed every 2 s (every 1 s for
``kline_1s``), mark price every 3 s (``@markPrice@1s``: every 1 s), whatever the
market does. Every other stream (trades, book diffs, best bid/ask, tickers,
liquidations) is pushed when something happens, so its expected interval is the
one it has shown lately (see ``_core.freshness``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._core.freshness import Freshness, FreshnessPolicy
from ..._exceptions import BadRequest


def stream_cadence(stream: str) -> float | None:
    """Seconds between two pushes of a fixed-cadence stream; None if event-driven."""
    if "@kline_" in stream:
        return 1.0 if stream.endswith("_1s") else 2.0
    if "@markPrice" in stream:
        return 1.0 if stream.endswith("@1s") else 3.0
    return None


def freshness_policy(setting: Any) -> FreshnessPolicy | None:
    """The client's ``freshness`` setting: False to turn the watchdog off, or a dict of
    ``multiple``, ``floor``, ``minSamples``, ``interval`` (seconds)."""
    if setting is False:
        return None
    if setting is None or setting is True:
        return FreshnessPolicy()
    if not isinstance(setting, Mapping):
        raise BadRequest(f"freshness must be False or a dict, not {setting!r}")
    keys = {"multiple": "multiple", "floor": "floor", "minSamples": "min_samples"}
    keys["interval"] = "interval"
    unknown = set(setting) - set(keys)
    if unknown:
        raise BadRequest(f"unknown freshness settings {sorted(unknown)}; expected {sorted(keys)}")
    try:
        return FreshnessPolicy(**{keys[k]: v for k, v in setting.items()})
    except (TypeError, ValueError) as error:
        raise BadRequest(f"bad freshness setting: {error}") from None


def new_freshness(policy: FreshnessPolicy | None) -> Freshness | None:
    """One connection's tracker (None when the watchdog is off)."""
    return None if policy is None else Freshness(policy, stream_cadence)
