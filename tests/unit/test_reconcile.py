"""Reconciler: what a reconcile asks its source for, and what it delivers, in which order."""

from ccxtpro_sync._core.events import Delivery
from ccxtpro_sync._exceptions import ExchangeNotAvailable, OrderNotFound
from ccxtpro_sync._exchanges.binance.markets import Markets
from ccxtpro_sync._exchanges.binance.reconcile import Reconciler
from ccxtpro_sync._exchanges.binance.user_stream import SharedUserData
from ccxtpro_sync._structures import Balance, Balances, Order, Position, Trade

from .test_private_parsers import spot_market

SYMBOL = "ETH/BTC"


def order(order_id: str, status: str = "open", filled: float = 0.0, ts: int = 1) -> Order:
    return Order(
        id=order_id, symbol=SYMBOL, status=status, filled=filled, amount=1.0,
        remaining=1.0 - filled, lastUpdateTimestamp=ts, price=0.1,
    )  # fmt: skip


class Account:
    """An account as the exchange would answer for it, and the questions it was asked."""

    def __init__(self) -> None:
        self.open: list[Order] = []
        self.finished: dict[str, Order] = {}
        self.trades: dict[str, list[Trade]] = {}
        self.trades_down = False
        self.asked: list[tuple[str, str]] = []

    def open_orders(self) -> list[Order]:
        return list(self.open)

    def balances(self) -> Balances:
        return Balances(balances={"BTC": Balance(free=1.0, used=0.0, total=1.0)})

    def positions(self) -> list[Position] | None:
        return None

    def order(self, symbol: str, order_id: str) -> Order:
        self.asked.append(("order", order_id))
        if order_id not in self.finished:
            raise OrderNotFound(f"order {order_id} does not exist")
        return self.finished[order_id]

    def order_trades(self, symbol: str, order_id: str) -> list[Trade]:
        self.asked.append(("trades", order_id))
        if self.trades_down:
            raise ExchangeNotAvailable("trades unavailable")
        return self.trades.get(order_id, [])


def reconciler(account: Account) -> tuple[Reconciler, list[Delivery]]:
    state = SharedUserData(Markets([spot_market()], "spot"))
    delivered: list[Delivery] = []
    run = Reconciler(
        name="test",
        source=account,
        state=lambda: state,
        deliver=lambda delivery, origin: delivered.append(delivery),
    )
    return run, delivered


def test_fills_are_delivered_before_the_orders_that_moved_on() -> None:
    account = Account()
    account.open = [order("1"), order("2"), order("3")]
    run, delivered = reconciler(account)
    run.run()  # seeds what is open; nothing to fetch yet
    assert ("trades", "1") not in account.asked
    delivered.clear()
    # In the gap: 2 filled partly, 3 filled and closed, 4 never existed for us.
    account.open = [order("1"), order("2", filled=0.4, ts=5)]
    account.finished["3"] = order("3", "closed", 1.0, ts=7)
    account.trades = {
        "2": [Trade(id="20", order="2", symbol=SYMBOL, amount=0.4, price=0.1)],
        "3": [Trade(id="30", order="3", symbol=SYMBOL, amount=1.0, price=0.1)],
    }
    run.run()
    assert ("order", "3") in account.asked
    assert {("trades", "2"), ("trades", "3")} <= set(account.asked)
    hashes = [d.message_hash for d in delivered]
    first_order = next(i for i, h in enumerate(hashes) if h.startswith("orders"))
    trade_at = [i for i, h in enumerate(hashes) if h.startswith("myTrades")]
    assert trade_at and max(trade_at) < first_order  # whoever sees a fill has its trades
    trades = [t.id for d in delivered if d.message_hash == "myTrades" for t in d.value]
    assert sorted(set(trades)) == ["20", "30"]
    orders = {o.id: o for d in delivered if d.message_hash == "orders" for o in d.value}
    assert orders["3"].status == "closed" and orders["2"].filled == 0.4


def test_trades_that_could_not_be_fetched_are_asked_for_again() -> None:
    account = Account()
    account.open = [order("1")]
    run, delivered = reconciler(account)
    run.run()
    account.open = [order("1", filled=0.3, ts=5)]
    account.trades_down = True
    delivered.clear()
    run.run()  # the order update is still delivered
    orders = [o for d in delivered if d.message_hash == "orders" for o in d.value]
    assert [o.filled for o in orders if o.id == "1"] == [0.3]
    account.trades_down = False
    account.trades["1"] = [Trade(id="10", order="1", symbol=SYMBOL, amount=0.3, price=0.1)]
    account.asked.clear()
    delivered.clear()
    run.run()  # nothing new on the order, but its trades are still owed
    assert account.asked == [("trades", "1")]
    trades = [t.id for d in delivered if d.message_hash == "myTrades" for t in d.value]
    assert trades == ["10"]
