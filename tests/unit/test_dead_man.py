"""The cancel-on-disconnect schedule (sans-I/O): arm at once, refresh while healthy, clear."""

from __future__ import annotations

import pytest

from ccxtpro_sync import InvalidArgument
from ccxtpro_sync._exchanges.binance.dead_man import CountdownPlan


def test_new_symbols_are_armed_at_once_even_when_unhealthy() -> None:
    plan = CountdownPlan(4000)  # refresh every 1 s
    assert plan.due({"BTC/USDT:USDT"}, healthy=False, now=0.0) == (["BTC/USDT:USDT"], [])


def test_armed_symbols_are_refreshed_only_when_due_and_healthy() -> None:
    plan = CountdownPlan(4000)
    plan.beaten("A", 10.0)
    assert plan.due({"A"}, healthy=True, now=10.5) == ([], [])
    assert plan.due({"A"}, healthy=True, now=11.0) == (["A"], [])
    # lost sight of the account: no heartbeat, so the exchange's countdown runs out
    assert plan.due({"A"}, healthy=False, now=13.9) == ([], [])


def test_a_symbol_without_open_orders_is_cleared() -> None:
    plan = CountdownPlan(4000)
    plan.beaten("A", 0.0)
    plan.beaten("B", 0.0)
    assert plan.due({"B"}, healthy=True, now=0.1) == ([], ["A"])
    plan.cleared("A")
    assert plan.armed.keys() == {"B"}


@pytest.mark.parametrize("bad", [0, -1, 1.5, "120000", True])
def test_countdown_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(InvalidArgument, match="positive"):
        CountdownPlan(bad)  # type: ignore[arg-type]
