"""Mutable structures: current state upserted forward only, every revision in history."""

from __future__ import annotations

from contextlib import ExitStack
from decimal import Decimal
from typing import Any, Literal

import pytest
import sqlalchemy as sa

import ccxtpro_sync
from ccxtpro_sync import Balance, Balances, Order, Position
from ccxtpro_sync.persistence import Numbers, Recorder, Schema
from ccxtpro_sync.simulator import LocalExchange

from .conftest import NewUrl
from .support import SPOT, Collector, column, count, make_client, rows

USDM = "BTC/USDT:USDT"
Market = Literal["spot", "usdm", "coinm"]


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


# -- live: a private client on the local exchange ---------------------------------------------

STATUS = {"NEW": "open", "PARTIALLY_FILLED": "open", "FILLED": "closed", "CANCELED": "canceled",
          "EXPIRED": "expired", "REJECTED": "rejected"}  # fmt: skip
ORDER_COLUMNS = "id, status, filled, amount, price"


def _true_orders(
    exchange: LocalExchange, account: Any, market: Market, number: Any
) -> set[tuple[Any, ...]]:
    """The exchange's own view: (id, status, filled, amount, price or None)."""

    def price(text: str) -> Any:
        return number(text) if Decimal(text) else None  # market orders: price 0

    return {
        (str(o["orderId"]), STATUS[o["status"]], number(o["executedQty"]), number(o["origQty"]),
         price(o["price"]))
        for o in exchange.orders(account.account, market)
    }  # fmt: skip


def _stored_orders(url: str, exchange: str, number: Any) -> set[tuple[Any, ...]]:
    found = rows(url, f"SELECT {ORDER_COLUMNS} FROM orders WHERE exchange = :e AND account = 'me'",
                 {"e": exchange})  # fmt: skip
    return {
        (i, s, number(f), number(a), None if p is None else number(p)) for i, s, f, a, p in found
    }


def _seen_orders(orders: list[Order]) -> set[tuple[Any, ...]]:
    return {(o.id, o.status, o.filled, o.amount, o.price) for o in orders}


def _far_price(client: Any, symbol: str) -> Any:
    """A buy price far below the market (float or Decimal, as the client's numbers)."""
    last = client.watch_ticker(symbol).last
    tick = client.market(symbol).precision.price
    return round(last * type(last)("0.8") / tick) * tick


def _status(orders: list[Order], order_id: str, status: str) -> bool:
    return any(o.id == order_id and o.status == status for o in orders)


def select(url: str, query: Any) -> list[tuple[Any, ...]]:
    """Rows of a SQLAlchemy query (typed columns: exact numbers come back as Decimal)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(query).all()]
    finally:
        engine.dispose()


def _restate(url: str, exchange: str, table: str, values: list[Any]) -> None:
    """Offer structures again, as a reconnect or a replay would."""
    with Recorder(None, url, exchange=exchange, account="me", markets=False, raw=False,
                  streams=()) as again:  # fmt: skip
        again.offer(table, values)
    assert again.close().clean


def test_orders_and_balances_from_the_private_client_match_the_exchange(
    exchange: LocalExchange, new_url: NewUrl
) -> None:
    url = new_url()
    account = exchange.create_test_account("ed25519")
    orders, balances, trades = Collector(), Collector(), Collector()
    with make_client(exchange, credentials=account.credentials) as client, ExitStack() as stack:
        recorder = Recorder(client, url, streams=["orders", "my_trades", "balance"], account="me")
        stack.callback(recorder.close)
        # Registered after the recorder: what they have seen, the recorder has seen too.
        stack.enter_context(client.on_orders(handler=orders))
        stack.enter_context(client.on_balance(handler=balances))
        stack.enter_context(client.on_my_trades(handler=trades))
        price = _far_price(client, SPOT)
        placed = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        amended = client.edit_order_ws(placed.id, SPOT, "limit", "buy", 0.005, price)
        client.cancel_order_ws(amended.id, SPOT)
        resting = client.create_order_ws(SPOT, "limit", "buy", 0.002, price)
        bought = client.create_order_ws(SPOT, "market", "buy", 0.01)
        ended = {placed.id: "canceled", amended.id: "canceled", bought.id: "closed",
                 resting.id: "open"}  # fmt: skip
        orders.wait_for(lambda seen: all(_status(seen, i, s) for i, s in ended.items()))
        trades.wait_for(lambda seen: any(t.order == bought.id for t in seen))
        # The WS API connection dies and the events of the fill are lost in the gap:
        # only the reconcile after reconnecting can tell the recorder.
        exchange.drop_user_data(count=100, account=account.api_key)
        exchange.disconnect_ws_api()
        assert exchange.move_market("spot", "BTCUSDT", price * 0.99) == 1
        orders.wait_for(lambda seen: _status(seen, resting.id, "closed"))

        def settled(seen: list[Balances]) -> bool:
            true = exchange.balances(account.account)
            return bool(seen) and all(
                seen[-1][c].free == float(b.free) and seen[-1][c].used == float(b.locked)
                for c, b in true.items()
            )

        balances.wait_for(settled)
        report = recorder.close()
    assert report.clean, report
    assert {"orders", "orders_history", "balances", "my_trades"} <= set(report.written)
    stored = _stored_orders(url, "binance", float)
    assert stored == _true_orders(exchange, account, "spot", float)
    assert {o[0] for o in stored} == {placed.id, amended.id, resting.id, bought.id}
    # every revision the client delivered, the fill found by the reconcile included
    history = "SELECT id, status, filled, amount, price FROM orders_history WHERE account = 'me'"
    assert set(map(tuple, rows(url, history))) == _seen_orders(orders.snapshot())
    assert _status(orders.snapshot(), placed.id, "open")  # each order's life, not just its end
    # the fill was lost in the gap: its row comes from the reconcile (order.status), not
    # from an executionReport
    info = rows(url, "SELECT info FROM orders WHERE id = :id", {"id": resting.id})[0][0]
    assert "orderId" in str(info) and "executionReport" not in str(info)
    true = exchange.balances(account.account)
    state = rows(url, "SELECT currency, free, used FROM balances WHERE account = 'me'")
    assert {r[0]: (r[1], r[2]) for r in state} == {
        c: (float(b.free), float(b.locked)) for c, b in true.items()
    }
    assert set(column(url, "SELECT id FROM my_trades")) == {str(t.id) for t in trades.snapshot()}
    # Idempotent: the same updates again (a replay, a repeated reconnect) add no row.
    tables = ("orders", "orders_history", "balances", "balances_history", "my_trades")
    before = {t: count(url, t) for t in tables}
    _restate(url, "binance", "orders", orders.snapshot())
    _restate(url, "binance", "balances", balances.snapshot())
    _restate(url, "binance", "my_trades", trades.snapshot())
    assert {t: count(url, t) for t in tables} == before
    assert _stored_orders(url, "binance", float) == stored


def test_futures_orders_and_positions_are_recorded_exactly(
    exchange: LocalExchange, new_url: NewUrl
) -> None:
    url = new_url()
    account = exchange.create_test_account("ed25519")
    orders, positions = Collector(), Collector()
    config = {"credentials": account.credentials, "numbers": "decimal"}
    with make_client(exchange, ccxtpro_sync.binanceusdm, **config) as client, ExitStack() as stack:
        recorder = Recorder(client, url, streams=["orders", "positions", "balance"], account="me")
        stack.callback(recorder.close)
        stack.enter_context(client.on_orders(handler=orders))
        stack.enter_context(client.on_positions(handler=positions))
        resting = client.create_order_ws(USDM, "limit", "buy", "0.01", _far_price(client, USDM))
        client.cancel_order_ws(resting.id, USDM)
        bought = client.create_order_ws(USDM, "market", "buy", "0.003")
        orders.wait_for(
            lambda seen: (
                _status(seen, resting.id, "canceled") and _status(seen, bought.id, "closed")
            )
        )
        positions.wait_for(lambda seen: any(p.contracts for p in seen))
        report = recorder.close()
    assert report.clean, report
    assert recorder.numbers == "decimal"
    assert _stored_orders(url, "binanceusdm", Decimal) == _true_orders(
        exchange, account, "usdm", Decimal
    )
    [true] = exchange.positions(account.account, "usdm").values()
    table = Schema(numbers="decimal")["positions"]
    columns = [table.c[c] for c in ("symbol", "positionSide", "side", "contracts", "entryPrice")]
    stored = select(url, sa.select(*columns))
    assert stored == [(USDM, "both", "long", true.amount, true.entry_price)]
    assert all(isinstance(v, Decimal) for v in stored[0][3:])


EXACT = Decimal("65000.123456789012345678")  # 24 significant digits: float64 keeps ~16


@pytest.mark.parametrize("numbers", ["decimal", "float"])
def test_decimal_numbers_round_trip_exactly_in_decimal_mode(
    new_url: NewUrl, numbers: Numbers
) -> None:
    url = new_url()
    order = Order(
        id="7", symbol="BTC/USDT", side="buy", type="limit", price=EXACT,
        amount=Decimal("0.00000001"), filled=Decimal("0E-8"), status="open",
        timestamp=1, lastUpdateTimestamp=1, info={"p": str(EXACT)},
    )  # fmt: skip
    balance = Balances(balances={"BTC": Balance(free=Decimal("1.10"), total=EXACT)}, timestamp=1)
    with Recorder(None, url, exchange="binance", markets=False, raw=False, streams=(),
                  numbers=numbers) as recorder:  # fmt: skip
        recorder.offer("orders", [order])
        recorder.offer("balances", [balance])
    engine = sa.create_engine(url)
    table = Schema(numbers=numbers)["orders"]
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.select(table.c.price, table.c.amount, table.c.filled)).one()
            history = conn.execute(sa.text("SELECT price FROM orders_history")).scalar_one()
            free, total = conn.execute(sa.text("SELECT free, total FROM balances")).one()
    finally:
        engine.dispose()
    if numbers == "decimal":
        assert tuple(stored) == (EXACT, Decimal("0.00000001"), Decimal(0))
        assert all(isinstance(v, Decimal) for v in stored)
        # read back without the type: PostgreSQL NUMERIC, SQLite the exact text
        assert Decimal(str(history)) == EXACT and Decimal(str(total)) == EXACT
        assert Decimal(str(free)) == Decimal("1.1")
    else:
        assert tuple(stored) == (float(EXACT), 1e-08, 0.0)
        assert isinstance(history, float) and history == float(EXACT) != EXACT


# -- the database's own guard: an older row arriving in a LATER transaction -------------------


def _position(contracts: float, ts: int) -> Position:
    return Position(symbol=USDM, side="long", contracts=contracts, hedged=False, timestamp=ts)


def _balances(free: float, ts: int) -> Balances:
    return Balances(balances={"BTC": Balance(free=free, used=0.0, total=free)}, timestamp=ts)


#: (table, newer, older, query of the state, state the newer one leaves)
_GUARDED: list[tuple[str, Any, Any, str, tuple[Any, ...]]] = [
    ("orders", _order("closed", 1.0, 3000), _order("open", 0.5, 2000),
     "SELECT status, filled FROM orders", ("closed", 1.0)),
    ("balances", _balances(0.5, 2), _balances(1.0, 1),
     "SELECT free, total FROM balances", (0.5, 0.5)),
    ("positions", _position(2.0, 20), _position(1.0, 10),
     "SELECT contracts, timestamp FROM positions", (2.0, 20)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("table", "newer", "older", "query", "expected"), _GUARDED, ids=[g[0] for g in _GUARDED]
)
def test_an_older_row_in_a_later_transaction_leaves_the_state_alone(
    new_url: NewUrl, table: str, newer: Any, older: Any, query: str, expected: tuple[Any, ...]
) -> None:
    """One batch per transaction, so the in-memory dedupe never sees both rows: only the
    upsert's version condition in the database can keep the newer state."""
    url = new_url()
    with _writer(url) as recorder:
        recorder.offer(table, [newer])
        assert recorder.flush(10)
        assert [tuple(r) for r in rows(url, query)] == [expected]
        recorder.offer(table, [older])  # a late, older revision: its own transaction
        assert recorder.flush(10)
    assert recorder.close().clean
    assert [tuple(r) for r in rows(url, query)] == [expected]
    # history keeps both revisions all the same
    assert count(url, f"{table}_history") == 2


@pytest.mark.parametrize(
    ("table", "newer", "older", "query", "expected"), _GUARDED, ids=[g[0] for g in _GUARDED]
)
def test_a_newer_row_in_a_later_transaction_replaces_the_state(
    new_url: NewUrl, table: str, newer: Any, older: Any, query: str, expected: tuple[Any, ...]
) -> None:
    """The guard only holds back older rows: the usual forward update still lands."""
    url = new_url()
    with _writer(url) as recorder:
        recorder.offer(table, [older])
        assert recorder.flush(10)
        recorder.offer(table, [newer])
        assert recorder.flush(10)
    assert [tuple(r) for r in rows(url, query)] == [expected]
