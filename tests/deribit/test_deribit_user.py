"""User data of the Deribit client against the local Deribit exchange: live user
channels and the reconcile after a reconnect (exactly once)."""

from __future__ import annotations

import threading
import time
from typing import Any

from ccxtpro_sync import DeribitClient
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture
from .wire import WireProxy

PERP = "BTC/USD:BTC"


ex = exchange_fixture(seed=8, auto_publish=False, min_heartbeat=1.0)


class Collector:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.cond = threading.Condition()

    def __call__(self, batch: list[Any]) -> None:
        with self.cond:
            self.items.extend(batch)
            self.cond.notify_all()

    def wait(self, predicate: Any, timeout: float = 10.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self.items), timeout), self.items


def inside_bid(ex: LocalDeribit) -> float:
    book = ex.book("BTC-PERPETUAL")
    price = book.bids[0][0] + 0.5
    assert price < book.asks[0][0]
    return price


def test_watch_orders_trades_positions_balance(ex: LocalDeribit, client: DeribitClient) -> None:
    orders, trades, positions = Collector(), Collector(), Collector()
    client.on_orders(handler=orders)
    client.on_my_trades(PERP, handler=trades)
    client.on_positions(handler=positions)
    balance = client.stream_balance(timeout=10)
    client.wait_ready(10)
    ex.wait_until(
        lambda s: any(len(c.subscriptions) >= 6 for c in s.connections) or None, 10, "user subs"
    )
    order = client.create_order_ws(PERP, "market", "buy", 20, params={"clientOrderId": "u-1"})
    orders.wait(lambda items: any(o.id == order.id and o.status == "closed" for o in items))
    trades.wait(lambda items: sum(t.amount for t in items) == 20)
    assert {t.order for t in trades.items} == {order.id}
    positions.wait(lambda items: any(p.symbol == PERP and p.side == "long" for p in items))
    update = next(iter(balance))
    assert set(update.balances) <= {"BTC", "ETH", "USDC"}
    balance.close()
    per_symbol = client.stream_orders(PERP, timeout=10)
    limit = client.create_order_ws(PERP, "limit", "buy", 10, 40000)
    assert [o.id for o in next(iter(per_symbol))] == [limit.id]
    per_symbol.close()


def test_order_filled_during_disconnect_arrives_exactly_once(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    orders, trades = Collector(), Collector()
    client.on_orders(handler=orders)
    client.on_my_trades(handler=trades)
    client.wait_ready(10)
    ex.wait_until(
        lambda s: any(len(c.subscriptions) >= 2 for c in s.connections) or None, 10, "user subs"
    )
    order = client.create_order_ws(PERP, "limit", "buy", 10, inside_bid(ex))
    orders.wait(lambda items: any(o.id == order.id and o.status == "open" for o in items))
    # The outage: the client cannot get back in while the order fills.
    proxy.block.set()
    proxy.drop()
    ex.wait_until(lambda s: not s.connections or None, 10, "client gone")
    fills = ex.trade("BTC-PERPETUAL", "sell", 10)
    assert fills and fills[0]["price"] == order.price
    reconciles = client.reconcile_count
    proxy.block.clear()
    orders.wait(lambda items: any(o.id == order.id and o.status == "closed" for o in items))
    trades.wait(lambda items: any(t.order == order.id for t in items))
    # Nothing more for the gap: a second reconcile and a later update bring no repeats.
    client.reconcile(timeout=10)
    assert client.reconcile_count >= reconciles + 2
    marker = client.create_order_ws(PERP, "limit", "buy", 10, 40000)
    orders.wait(lambda items: any(o.id == marker.id for o in items))
    client.close()
    alive = [t.name for t in threading.enumerate() if "deribit-reconcile" in t.name]
    assert alive == []  # close() stops the reconcile thread
    filled = [o for o in orders.items if o.id == order.id and o.status == "closed"]
    assert len(filled) == 1
    mine = [t for t in trades.items if t.order == order.id]
    assert len(mine) == len({t.id for t in mine}) == 1


def test_fill_during_disconnect_reconciles_balance_and_positions_once(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    balances, positions, orders = Collector(), Collector(), Collector()
    client.on_balance(handler=lambda b: balances([b]))
    client.on_positions(handler=positions)
    client.on_orders(handler=orders)
    client.wait_ready(10)
    ex.wait_until(
        lambda s: any(len(c.subscriptions) >= 5 for c in s.connections) or None, 10, "user subs"
    )
    client.create_order_ws(PERP, "market", "buy", 10)
    positions.wait(lambda items: any(p.symbol == PERP and p.contracts for p in items))
    book = ex.book("BTC-PERPETUAL")
    ask = book.asks[0][0] - 0.5
    assert ask > book.bids[0][0]
    resting = client.create_order_ws(PERP, "limit", "sell", 10, ask)
    orders.wait(lambda items: any(o.id == resting.id for o in items))
    before = client.fetch_balance_ws(["BTC"])["BTC"]
    seen_balances, seen_positions = len(balances.items), len(positions.items)
    proxy.block.set()
    proxy.drop()
    ex.wait_until(lambda s: not s.connections or None, 10, "client gone")
    assert ex.trade("BTC-PERPETUAL", "buy", 10)  # closes our position while we are away
    proxy.block.clear()
    orders.wait(lambda items: any(o.id == resting.id and o.status == "closed" for o in items))
    after = client.fetch_balance_ws(["BTC"])["BTC"]
    state = (after.free, after.used, after.total)
    assert state != (before.free, before.used, before.total)
    assert client.fetch_positions_ws([PERP]) == []
    balances.wait(
        lambda items: any(
            (b["BTC"].free, b["BTC"].used, b["BTC"].total) == state for b in items[seen_balances:]
        )
    )
    positions.wait(lambda items: any(p.symbol == PERP for p in items[seen_positions:]))
    # Another reconcile, then a live marker: the gap's states arrived exactly once.
    client.reconcile(timeout=10)
    marker = client.create_order_ws(PERP, "limit", "buy", 10, 40000)
    orders.wait(lambda items: any(o.id == marker.id for o in items))
    flat = [p for p in positions.items[seen_positions:] if p.symbol == PERP]
    assert len(flat) == 1 and not flat[0].contracts and flat[0].side is None
    late = [
        (b["BTC"].free, b["BTC"].used, b["BTC"].total)
        for b in balances.items[seen_balances:]
        if "BTC" in b.balances
    ]
    assert late.count(state) == 1


def test_watch_orders_and_my_trades_take_ccxt_since_and_limit(
    ex: LocalDeribit, client: DeribitClient
) -> None:
    """``watch_orders(symbol, since, limit)``, ``watch_my_trades(symbol, since, limit)``
    and ``watch_positions(symbols, since, limit)`` in CCXT's argument order: ``since``
    drops what is older, ``limit`` keeps the newest."""
    client.wait_ready(10)
    later = int(time.time() * 1000) + 3_600_000  # an hour from now
    results: dict[str, list[Any]] = {}
    calls = {
        "orders": lambda: client.watch_orders(PERP, later, None, timeout=20),
        "trades": lambda: client.watch_my_trades(PERP, None, 1, timeout=20),
        "positions": lambda: client.watch_positions([PERP], None, 1, timeout=20),
    }
    watchers = [
        threading.Thread(target=lambda n=name: results.__setitem__(n, calls[n]())) for name in calls
    ]
    for watcher in watchers:
        watcher.start()
    ex.wait_until(
        lambda s: any(len(c.subscriptions) >= 3 for c in s.connections) or None, 10, "user subs"
    )
    fills: list[int] = []
    for _ in range(10):  # until each watcher has had an update
        order = client.create_order_ws(PERP, "market", "buy", 500)  # over two ask levels
        fills.append(len(order.trades))
        for watcher in watchers:
            watcher.join(1.0)
        if not any(w.is_alive() for w in watchers):
            break
    assert fills[0] >= 2  # the first order's fills came as one batch of trades
    assert results["orders"] == []  # every update is older than ``since``
    assert len(results["trades"]) == 1
    assert [(p.symbol, p.side) for p in results["positions"]] == [(PERP, "long")]


def test_updates_right_after_a_slow_login_are_not_taken_for_history(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    """User data counts from the server's time when it was first watched; that time
    comes from ``public/get_time``. A login that takes seconds (here 3 s of latency on
    ``public/auth``) must not push the estimate of the server's clock ahead of it, or
    the first updates after watching would be dropped as older than the start."""
    proxy.delay = ("public/auth", 3.0)
    orders = Collector()
    client.on_orders(handler=orders)
    ex.wait_until(
        lambda s: any("user.orders.any.any.raw" in c.subscriptions for c in s.connections) or None,
        15,
        "user.orders subscribed",
    )
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000)
    orders.wait(lambda items: any(o.id == order.id and o.status == "open" for o in items))
