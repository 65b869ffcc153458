"""CCXT's since/limit on a watch_* batch."""

from __future__ import annotations

import pytest

from ccxtpro_sync import InvalidArgument, Trade
from ccxtpro_sync._exchanges.deribit.window import window


def trades(*stamps: int | None) -> list[Trade]:
    return [Trade(id=str(i), symbol="BTC/USD:BTC", timestamp=t) for i, t in enumerate(stamps)]


def ids(items: list[Trade]) -> list[str]:
    return [t.id for t in items if t.id is not None]


def test_since_keeps_entries_at_or_after_it_and_limit_the_newest() -> None:
    batch = trades(10, 20, 20, 30, None)
    assert ids(window().apply(batch)) == ["0", "1", "2", "3", "4"]
    assert ids(window(20).apply(batch)) == ["1", "2", "3"]  # no timestamp: not "since"
    assert ids(window(None, 2).apply(batch)) == ["3", "4"]
    assert ids(window(15, 2).apply(batch)) == ["2", "3"]
    assert window(31).apply(batch) == []


@pytest.mark.parametrize(
    ("since", "limit"), [(-1, None), ("0", None), (True, None), (None, 0), (None, 1.5)]
)
def test_bad_values_are_refused_up_front(since: object, limit: object) -> None:
    with pytest.raises(InvalidArgument):
        window(since, limit)
