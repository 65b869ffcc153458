"""Mutable structures: current state upserted forward only, every revision in history."""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync import Balance, Balances, Order, Position
from ccxtpro_sync.persistence import Recorder

from .conftest import NewUrl
from .support import count, rows


def _order(status: str, filled: float, updated: int) -> Order:
    return Order(
        id="42", symbol="BTC/USDT", side="buy", type="limit", price=100.0, amount=1.0,
        filled=filled, remaining=1.0 - filled, status=status,  # type: ignore[arg-type]
        timestamp=1000, lastUpdateTimestamp=updated, info={"i": 42},
    )  # fmt: skip


def _writer(url: str) -> Recorder:
    return Recorder(None, url, exchange="binance", account="main", markets=False, raw=False,
                    streams=())  # fmt: skip


def test_orders_move_forward_only_and_keep_every_revision(new_url: NewUrl) -> None:
    url = new_url()
    updates = [_order("open", 0.0, 1000), _order("open", 0.5, 2000), _order("closed", 1.0, 3000)]
    with _writer(url) as recorder:
        recorder.offer("orders", updates[:2])
        assert recorder.flush(10)
        recorder.offer("orders", [updates[2], updates[1]])  # a late, older duplicate
        assert recorder.flush(10)
        recorder.offer("orders", updates)  # a replay of everything
    state = rows(url, "SELECT exchange, account, id, status, filled FROM orders")
    assert [tuple(r) for r in state] == [("binance", "main", "42", "closed", 1.0)]
    history = rows(url, 'SELECT status, filled FROM orders_history ORDER BY "lastUpdateTimestamp"')
    assert [tuple(r) for r in history] == [("open", 0.0), ("open", 0.5), ("closed", 1.0)]


def test_balances_are_one_row_per_currency(new_url: NewUrl) -> None:
    url = new_url()
    first = Balances(
        balances={"BTC": Balance(free=1.0, used=0.0, total=1.0), "USDT": Balance(free=5.0)},
        timestamp=1,
    )
    second = Balances(balances={"BTC": Balance(free=0.5, used=0.5, total=1.0)}, timestamp=2)
    with _writer(url) as recorder:
        recorder.offer("balances", [first])
        recorder.offer("balances", [second])
        recorder.offer("balances", [first])  # older: ignored by the current state
    state = rows(url, "SELECT currency, free, used FROM balances ORDER BY currency")
    assert [tuple(r) for r in state] == [("BTC", 0.5, 0.5), ("USDT", 5.0, None)]
    assert count(url, "balances_history") == 3


@pytest.mark.parametrize(("hedged", "expected"), [(False, ["both"]), (True, ["long", "short"])])
def test_positions_keep_one_row_per_position_side(
    new_url: NewUrl, hedged: bool, expected: list[str]
) -> None:
    url = new_url()

    def position(side: Any, contracts: float, ts: int) -> Position:
        return Position(symbol="BTC/USDT:USDT", side=side, contracts=contracts, hedged=hedged,
                        timestamp=ts)  # fmt: skip

    with _writer(url) as recorder:
        recorder.offer("positions", [position("long", 1.0, 1), position("short", 2.0, 2)])
    sides = [r[0] for r in rows(url, 'SELECT "positionSide" FROM positions ORDER BY 1')]
    assert sides == expected


def test_structures_without_a_key_are_counted_not_written(new_url: NewUrl) -> None:
    from ccxtpro_sync import Trade

    url = new_url()
    with _writer(url) as recorder:
        recorder.offer(
            "trades", [Trade(symbol="BTC/USDT", id=None), Trade(symbol="BTC/USDT", id="1")]
        )
    report = recorder.close()
    assert report.skipped == {"trades": 1} and count(url, "trades") == 1


def test_orders_from_the_private_client_match_the_exchange() -> None:
    pytest.skip(
        "pending the private client: binance has no on_orders/create_order yet "
        "(the recorder subscribes on_orders/on_my_trades/on_balance/on_positions once they exist)"
    )
