"""The private side against the local exchange: WS API trading, user data, typed errors."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import (
    AuthenticationError,
    Credentials,
    InsufficientFunds,
    InvalidNonce,
    InvalidSignature,
    OrderNotFound,
    signals,
)
from ccxtpro_sync.simulator import LocalExchange

SPOT, USDM, COINM = "BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"
KINDS = {"spot": ccxtpro_sync.binance, "usdm": ccxtpro_sync.binanceusdm,
         "coinm": ccxtpro_sync.binancecoinm}  # fmt: skip


def client_for(exchange: LocalExchange, credentials: Credentials, market: str = "spot") -> Any:
    return KINDS[market](
        {"environment": "local", "local": exchange, "credentials": credentials, "timeout": 10}
    )


@pytest.fixture
def spot(exchange: LocalExchange, account: Any) -> Iterator[Any]:
    with client_for(exchange, account.credentials) as client:
        yield client


class Collector:
    """Collects batches from a handler; waits for a predicate over everything seen."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, value: Any) -> None:
        with self._cond:
            self.items.extend(value if isinstance(value, list) else [value])
            self._cond.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> list[Any]:
        with self._cond:
            assert self._cond.wait_for(lambda: predicate(self.items), timeout), self.items
            return list(self.items)


def far_price(client: Any, symbol: str, side: str) -> float:
    """A limit price far from the market on the passive side: it will rest, not fill."""
    last = client.watch_ticker(symbol).last
    precision = client.market(symbol).precision.price
    factor = 0.8 if side == "buy" else 1.2
    return round(last * factor / precision) * precision


def statuses(orders: list[Any], order_id: str) -> list[str]:
    return [o.status for o in orders if o.id == order_id]


# -- trading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["ed25519", "hmac", "rsa"])
def test_place_amend_cancel_with_every_key_type(exchange: LocalExchange, key_type: str) -> None:
    account = exchange.create_test_account(key_type)
    with client_for(exchange, account.credentials) as client:
        price = far_price(client, SPOT, "buy")
        orders = Collector()
        with client.on_orders(handler=orders):
            placed = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
            assert placed.status == "open" and placed.price == pytest.approx(price)
            assert placed.symbol == SPOT and placed.side == "buy" and placed.amount == 0.01
            assert [o.id for o in client.fetch_open_orders_ws(SPOT)] == [placed.id]
            amended = client.edit_order_ws(placed.id, SPOT, "limit", "buy", 0.005, price)
            assert amended.amount == pytest.approx(0.005)
            open_ids = [o.id for o in client.fetch_open_orders_ws(SPOT)]
            assert open_ids == [amended.id]
            cancelled = client.cancel_order_ws(amended.id, SPOT)
            assert cancelled.status == "canceled"
            assert client.fetch_open_orders_ws(SPOT) == []
            seen = orders.wait_for(lambda items: "canceled" in statuses(items, amended.id))
        assert "open" in statuses(seen, placed.id)
        # Already cancelled: not an error to the caller who wants it cancelled.
        assert client.cancel_order_ws(amended.id, SPOT).status == "canceled"
        assert exchange.orders(account.account, open_only=True) == []
        assert client.rate_limits and client.rate_limits[0].limit > 0


def test_fill_updates_orders_trades_and_balance(exchange: LocalExchange, spot: Any) -> None:
    before = spot.fetch_balance_ws()
    balances = Collector()
    trades = Collector()
    with spot.on_balance(handler=balances), spot.on_my_trades(handler=trades):
        order = spot.create_order_ws(SPOT, "market", "buy", 0.01)
        assert order.status == "closed" and order.filled == pytest.approx(0.01)
        fills = trades.wait_for(lambda items: sum(t.amount for t in items) >= 0.01 - 1e-12)
        assert all(t.symbol == SPOT and t.side == "buy" and t.order == order.id for t in fills)
        latest = balances.wait_for(lambda items: items and items[-1]["BTC"].total > 1.0)[-1]
    assert latest["BTC"].total > before["BTC"].total
    assert latest["USDT"].total < before["USDT"].total
    true = exchange.balances(spot.credentials.api_key)
    assert float(true["BTC"].free + true["BTC"].locked) == pytest.approx(latest["BTC"].total)


def test_orders_stream_sees_a_resting_order_fill_when_the_market_moves(
    exchange: LocalExchange, spot: Any
) -> None:
    price = far_price(spot, SPOT, "buy")
    with spot.stream_orders(SPOT, timeout=10) as updates:  # subscribed from here on
        order = spot.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        assert statuses(next(updates), order.id) == ["open"]
        assert exchange.move_market("spot", "BTCUSDT", price * 0.99) == 1
        seen: list[Any] = []
        while "closed" not in statuses(seen, order.id):
            seen += next(updates)
    final = [o for o in seen if o.id == order.id][-1]
    assert final.filled == pytest.approx(0.01) and final.remaining == pytest.approx(0)


# -- typed errors ---------------------------------------------------------------------------------


def test_unknown_key_is_an_authentication_error(exchange: LocalExchange) -> None:
    stranger = Credentials("A" * 64, secret="B" * 64)
    with client_for(exchange, stranger) as client:
        with pytest.raises(AuthenticationError):
            client.fetch_balance_ws()


def test_wrong_secret_is_an_invalid_signature(exchange: LocalExchange) -> None:
    account = exchange.create_test_account("hmac")
    forged = Credentials(account.api_key, secret="not-the-secret")
    with client_for(exchange, forged) as client:
        with pytest.raises(InvalidSignature) as caught:
            client.fetch_balance_ws()
    assert caught.value.code == -1022
    assert "not-the-secret" not in str(caught.value)


def test_stale_timestamp_is_an_invalid_nonce(exchange: LocalExchange) -> None:
    account = exchange.create_test_account("hmac")
    with client_for(exchange, account.credentials) as client:
        client.fetch_balance_ws()  # connected and working
        # our clock two minutes behind
        client._private.ws_api.query(lambda p: p.set_time_offset(-120_000))
        with pytest.raises(InvalidNonce) as caught:
            client.fetch_balance_ws()
    assert caught.value.code == -1021


def test_insufficient_balance_is_typed_and_signalled(exchange: LocalExchange, spot: Any) -> None:
    rejected: list[dict[str, Any]] = []

    def on_rejected(sender: Any, **payload: Any) -> None:
        rejected.append(payload)

    signals.request_rejected.connect(on_rejected)
    try:
        with pytest.raises(InsufficientFunds):
            spot.create_order_ws(SPOT, "limit", "buy", 10, 60_000)  # 600k USDT; we have 10k
    finally:
        signals.request_rejected.disconnect(on_rejected)
    assert rejected and isinstance(rejected[0]["error"], InsufficientFunds)


def test_private_calls_without_credentials_fail_before_sending(exchange: LocalExchange) -> None:
    with ccxtpro_sync.binance({"environment": "local", "local": exchange}) as client:
        with pytest.raises(AuthenticationError, match="BINANCE_LOCAL_API_KEY"):
            client.fetch_balance_ws()
        with pytest.raises(AuthenticationError):
            client.watch_orders(timeout=1)
        assert exchange.ws_api_sessions() == []


# -- reconnects lose no order event -----------------------------------------------------


def test_fill_during_a_disconnect_is_not_lost(exchange: LocalExchange, spot: Any) -> None:
    price = far_price(spot, SPOT, "buy")
    orders = Collector()
    with spot.on_orders(handler=orders):
        order = spot.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        orders.wait_for(lambda items: "open" in statuses(items, order.id))
        # The WS API socket dies, and the exchange drops the events it would have sent.
        exchange.drop_user_data(count=100, account=spot.credentials.api_key)
        exchange.disconnect_ws_api()
        assert exchange.move_market("spot", "BTCUSDT", price * 0.99) == 1
        seen = orders.wait_for(lambda items: "closed" in statuses(items, order.id))
    final = [o for o in seen if o.id == order.id][-1]
    assert final.filled == pytest.approx(0.01)
    assert statuses(seen, order.id).count("closed") == 1  # reported once, not twice


def drop_user_data_connection(exchange: LocalExchange, market: str) -> None:
    """Abort the socket user data arrives on: the WS API (spot) or the listenKey stream."""
    if market == "spot":
        assert exchange.disconnect_ws_api() >= 1
    else:
        hit = exchange.faults.drop(lambda c: c.market == market and "private" in c.path)
        assert hit == 1


def count_reconciles(client: Any) -> Collector:
    """A collector that gets one item each time a reconcile of ``client`` finishes
    (also one the disconnect cut short), so a test can wait for the catch-up."""
    reconciles = Collector()
    reconcile = client._private.reconciler.run

    def counted() -> None:
        try:
            reconcile()
        finally:
            reconciles(True)

    client._private.reconciler.run = counted
    return reconciles


def live_fill_barrier(
    exchange: LocalExchange, client: Any, symbol: str, trades: Collector
) -> tuple[Any, list[Any]]:
    """Stop dropping user data and fill a market order live; return it and the trades
    seen once its fill is in. It is handed to the handlers behind everything the
    reconciles delivered, so once it is seen nothing they sent can still be on its way."""
    exchange.drop_user_data(count=0)
    live = client.create_order_ws(symbol, "market", "buy", 0.01)
    got = trades.wait_for(
        lambda items: sum(t.amount for t in items if t.order == live.id) >= 0.01 - 1e-9
    )
    return live, got


@pytest.mark.parametrize(("market", "symbol"), [("spot", SPOT), ("usdm", USDM)])
def test_fills_lost_in_a_gap_reach_my_trades_exactly_once(
    exchange: LocalExchange, account: Any, market: str, symbol: str
) -> None:
    with client_for(exchange, account.credentials, market) as client:
        # Count the finished reconciles (the first subscription's, which the drop may
        # cut short, and the reconnect's).
        reconciles = count_reconciles(client)
        price = far_price(client, symbol, "buy")
        orders, trades = Collector(), Collector()
        with client.on_orders(handler=orders), client.on_my_trades(handler=trades):
            order = client.create_order_ws(symbol, "limit", "buy", 0.01, price)
            orders.wait_for(lambda items: "open" in statuses(items, order.id))
            # The order fills and every event about it is lost; then the connection
            # drops, and only a reconcile can find the fill.
            exchange.drop_user_data(count=100, account=account.api_key)
            assert exchange.move_market(market, "BTCUSDT", price * 0.99) == 1
            drop_user_data_connection(exchange, market)
            reconciles.wait_for(lambda items: len(items) >= 2)  # reconnected and caught up
            seen = orders.wait_for(lambda items: "closed" in statuses(items, order.id))
            live, got = live_fill_barrier(exchange, client, symbol, trades)
    final = [o for o in seen if o.id == order.id][-1]
    assert final.filled == pytest.approx(0.01)
    assert statuses(seen, order.id).count("closed") == 1
    gap = [t for t in got if t.order == order.id]
    assert gap, "the fill lost in the gap never reached my_trades"
    assert len({t.id for t in gap}) == len(gap)  # each trade once
    assert sum(t.amount for t in gap) == pytest.approx(final.filled)
    assert all(t.symbol == symbol and t.side == "buy" for t in gap)
    assert all(t.price == pytest.approx(price) and t.fee is not None for t in gap)
    assert len({(t.symbol, t.id) for t in got}) == len(got)  # no trade delivered twice
    assert {t.order for t in got} == {order.id, live.id}


def crossing_sell(
    exchange: LocalExchange, client: Any, market: str, symbol: str
) -> tuple[float, float]:
    """A limit sell at the second bid for half a bitcoin more than the depth down to it:
    marketable, it fills part at once and the rest rests."""
    bids = exchange.book(market, "BTCUSDT", 2).bids
    depth = sum(float(quantity) for _, quantity in bids)
    step = client.market(symbol).precision.amount
    return float(bids[-1][0]), round((depth + 0.5) / step) * step


@pytest.mark.parametrize(("market", "symbol"), [("spot", SPOT), ("usdm", USDM)])
def test_a_fill_shown_by_the_placement_reply_whose_events_are_lost_reaches_my_trades(
    exchange: LocalExchange, account: Any, market: str, symbol: str
) -> None:
    if market == "spot":
        exchange.deposit(account.account, "BTC", 10)  # enough for a few tries
    with client_for(exchange, account.credentials, market) as client:
        reconciles = count_reconciles(client)
        orders, trades = Collector(), Collector()
        with client.on_orders(handler=orders), client.on_my_trades(handler=trades):
            reconciles.wait_for(lambda items: len(items) >= 1)  # subscribed and seeded
            # Every event about the orders is lost: only the placement reply shows a fill.
            # The case to catch is an order whose fill never grows beyond the reply's (the
            # state tracked from it): the rest rests at the top of the book, and the flow
            # may trade it before the cancel, so try a few times.
            exchange.drop_user_data(count=200, account=account.api_key)
            placed: list[tuple[Any, Any]] = []
            for _ in range(8):
                price, amount = crossing_sell(exchange, client, market, symbol)
                order = client.create_order_ws(symbol, "limit", "sell", amount, price)
                if not (order.status == "open" and 0 < order.filled < amount):
                    # The book moved between our look and the order (a loaded machine):
                    # it filled whole or not at all, which is not the case to catch.
                    if order.status == "open":
                        with contextlib.suppress(OrderNotFound):  # or traded since
                            client.cancel_order_ws(order.id, symbol)
                    continue
                try:
                    final = client.cancel_order_ws(order.id, symbol)
                except OrderNotFound:  # the flow traded the rest first
                    final = client.fetch_order_ws(order.id, symbol)
                placed.append((order, final))
                if 0 < order.filled == placed[-1][1].filled:
                    break
            else:
                pytest.fail(f"no order kept the fill its reply showed: {placed}")
            drop_user_data_connection(exchange, market)
            reconciles.wait_for(lambda items: len(items) >= 2)  # reconnected and caught up
            _, got = live_fill_barrier(exchange, client, symbol, trades)
            seen = orders.wait_for(
                lambda items: all(c.status in statuses(items, o.id) for o, c in placed)
            )
    for order, cancelled in placed:
        assert statuses(seen, order.id).count(cancelled.status) == 1
        mine = [t for t in got if t.order == order.id]
        assert sum(t.amount for t in mine) == pytest.approx(cancelled.filled)
        assert all(t.symbol == symbol and t.side == "sell" for t in mine)
        assert all(t.price >= order.price - 1e-9 for t in mine)
    assert len({(t.symbol, t.id) for t in got}) == len(got)  # no trade delivered twice
    kept = placed[-1][0]
    assert any(t.order == kept.id for t in got), "the fill the reply showed never arrived"


@pytest.mark.parametrize(("market", "symbol"), [("spot", SPOT), ("usdm", USDM)])
def test_an_order_filled_at_placement_whose_events_are_lost_is_announced_once(
    exchange: LocalExchange, account: Any, market: str, symbol: str
) -> None:
    with client_for(exchange, account.credentials, market) as client:
        reconciles = count_reconciles(client)
        orders, trades = Collector(), Collector()
        with client.on_orders(handler=orders), client.on_my_trades(handler=trades):
            reconciles.wait_for(lambda items: len(items) >= 1)  # subscribed and seeded
            # A market order fills at once; every event about it is lost, then the
            # connection drops: only the reply and a reconcile know of the fill.
            exchange.drop_user_data(count=100, account=account.api_key)
            filled = client.create_order_ws(symbol, "market", "buy", 0.01)
            drop_user_data_connection(exchange, market)
            reconciles.wait_for(lambda items: len(items) >= 2)  # reconnected and caught up
            _, got = live_fill_barrier(exchange, client, symbol, trades)
            seen = orders.wait_for(lambda items: "closed" in statuses(items, filled.id))
    assert statuses(seen, filled.id).count("closed") == 1
    final = [o for o in seen if o.id == filled.id][-1]
    assert final.filled == pytest.approx(0.01)
    mine = [t for t in got if t.order == filled.id]
    assert mine, "the fill of the order filled at placement never reached my_trades"
    assert sum(t.amount for t in mine) == pytest.approx(0.01)
    assert all(t.symbol == symbol and t.side == "buy" for t in mine)
    assert len({(t.symbol, t.id) for t in got}) == len(got)  # no trade delivered twice


# -- futures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("market", "symbol", "amount"), [("usdm", USDM, 0.01), ("coinm", COINM, 1)]
)
def test_futures_orders_positions_and_balance(
    exchange: LocalExchange, account: Any, market: str, symbol: str, amount: float
) -> None:
    with client_for(exchange, account.credentials, market) as client:
        orders, positions = Collector(), Collector()
        with client.on_orders(handler=orders), client.on_positions(handler=positions):
            resting = client.create_order_ws(
                symbol, "limit", "buy", amount, far_price(client, symbol, "buy")
            )
            orders.wait_for(lambda items: "open" in statuses(items, resting.id))
            client.cancel_order_ws(resting.id, symbol)
            orders.wait_for(lambda items: "canceled" in statuses(items, resting.id))
            filled = client.create_order_ws(symbol, "market", "buy", amount)
            orders.wait_for(lambda items: "closed" in statuses(items, filled.id))
            moved = positions.wait_for(lambda items: any(p.contracts for p in items))
        assert moved[-1].symbol == symbol and moved[-1].side == "long"
        [position] = [p for p in client.fetch_positions_ws([symbol]) if p.contracts]
        assert position.contracts == pytest.approx(amount)
        balance = client.fetch_balance_ws()
        assert balance.total


def test_futures_listen_key_expiry_is_survived(exchange: LocalExchange, account: Any) -> None:
    with client_for(exchange, account.credentials, "usdm") as client:
        orders = Collector()
        with client.on_orders(handler=orders):
            first = client.create_order_ws(
                USDM, "limit", "buy", 0.01, far_price(client, USDM, "buy")
            )
            orders.wait_for(lambda items: "open" in statuses(items, first.id))
            old_key = client._private.listen_keys.listen_key
            assert exchange.expire_listen_key(old_key)
            second = client.create_order_ws(
                USDM, "limit", "buy", 0.01, far_price(client, USDM, "buy")
            )
            orders.wait_for(lambda items: "open" in statuses(items, second.id))
            assert client._private.listen_keys.listen_key not in (None, old_key)
            for order in (first, second):
                client.cancel_order_ws(order.id, USDM)


def test_credentials_come_from_this_environment_only(
    exchange: LocalExchange,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key, secret = "K" * 64, "s3cr3t-" + "x" * 57
    exchange.add_account(api_key=key, secret=secret)
    for name in ("API_KEY", "API_SECRET"):
        monkeypatch.delenv(f"BINANCE_LOCAL_{name}", raising=False)
    # another environment's variables are never used
    monkeypatch.setenv("BINANCE_PROD_API_KEY", key)
    monkeypatch.setenv("BINANCE_PROD_API_SECRET", secret)
    with ccxtpro_sync.binance({"environment": "local", "local": exchange}) as client:
        assert client.credentials is None
    # this environment's, from a .env file
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"BINANCE_LOCAL_API_KEY={key}\nBINANCE_LOCAL_API_SECRET={secret}\n")
    config = {"environment": "local", "local": exchange, "dotenv": str(dotenv)}
    with ccxtpro_sync.binance(config) as client:
        assert isinstance(client.fetch_balance_ws(), ccxtpro_sync.Balances)  # signed OK
        assert client.credentials is not None
        shown = f"{client.credentials!r} {client.credentials} {client!r}"
        client._private.ws_api.query(lambda p: p.set_time_offset(-120_000))
        with caplog.at_level("DEBUG", logger="ccxtpro_sync"), pytest.raises(InvalidNonce) as err:
            client.fetch_balance_ws()
    assert secret not in shown and secret not in str(err.value)
    assert secret not in caplog.text


def test_rate_limited_requests_fail_fast_until_retry_after() -> None:
    from ccxtpro_sync import RateLimitExceeded
    from ccxtpro_sync.simulator.private import PrivateOptions

    options = PrivateOptions(spot_ws_api_weight=60, ban_after=100)
    with LocalExchange(seed=2, private=options) as exchange:
        account = exchange.create_test_account("hmac")
        with client_for(exchange, account.credentials) as client:
            with pytest.raises(RateLimitExceeded) as first:
                for _ in range(100):  # account.status weighs 20: the 4th call is over 60
                    client.fetch_balance_ws()
            assert first.value.retry_after and first.value.retry_after > 0
            answers: list[Any] = []

            def on_answer(sender: Any, **payload: Any) -> None:
                answers.append(payload)

            signals.request_rejected.connect(on_answer)
            signals.request_resolved.connect(on_answer)
            try:
                with pytest.raises(RateLimitExceeded, match="wait"):
                    client.fetch_balance_ws()  # refused locally, never sent
            finally:
                signals.request_rejected.disconnect(on_answer)
                signals.request_resolved.disconnect(on_answer)
            assert answers == []  # the server neither answered nor refused anything
            assert any(limit.rateLimitType == "REQUEST_WEIGHT" for limit in client.rate_limits)
