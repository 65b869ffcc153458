"""CCXT compatibility of the Deribit client's public watch_* calls, against the local
Deribit (real sockets): ``newUpdates``/``tradesLimit`` and ``watchOHLCVForSymbols``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ccxtpro_sync import BadRequest, DeribitClient, InvalidArgument, RequestTimeout, deribit
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture
from .test_deribit_session import make as make_client
from .wire import WireProxy

PERP = "BTC/USD:BTC"
ETH = "ETH/USD:ETH"
PERP_TRADES = "trades.BTC-PERPETUAL.100ms"


ex = exchange_fixture(seed=5, auto_publish=False)


@pytest.fixture
def make(ex: LocalDeribit) -> Iterator[Callable[..., DeribitClient]]:
    clients: list[DeribitClient] = []

    def build(**config: Any) -> DeribitClient:
        client = deribit({"environment": "local", "local": ex, **config})
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


class Seen:
    """Trade ids (or candles) an ``on_*`` handler got, in order; the adapter caches
    an update before delivering it, so once seen here it is in the client's cache."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.cond = threading.Condition()

    def __call__(self, batch: list[Any]) -> None:
        with self.cond:
            self.items.extend(batch)
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float = 10.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self.items), timeout), self.items


def subscribed(ex: LocalDeribit, channel: str) -> None:
    ex.wait_until(
        lambda s: any(channel in c.subscriptions for c in s.connections) or None, 10, channel
    )


def trade(
    ex: LocalDeribit, direction: str, amount: float, instrument: str = "BTC-PERPETUAL"
) -> list[str]:
    """The ids of the public trades a taker of ``amount`` makes (the book is refilled
    by ticks when an earlier sweep emptied its side)."""
    for _ in range(50):
        public = ex.trade(instrument, direction, amount)
        if public:
            return [str(t["trade_id"]) for t in public]
        ex.tick()
    raise AssertionError(f"no {direction} trade")


def test_new_updates_returns_the_trades_that_arrived_between_two_calls(
    ex: LocalDeribit, make: Callable[..., DeribitClient]
) -> None:
    """CCXT's default ``newUpdates``: a sequential ``watch_trades`` loop loses nothing.
    Trades that reached the client while nobody was in ``watch_trades`` are what the
    next call returns at once (before: it waited for the trade after them)."""
    client = make()
    seen = Seen()
    client.on_trades(PERP, handler=lambda batch: seen([t.id for t in batch]))
    subscribed(ex, PERP_TRADES)
    first = trade(ex, "buy", 50)
    seen.wait_for(lambda ids: first[-1] in ids)
    assert [t.id for t in client.watch_trades(PERP, timeout=5)] == first
    # Nobody is watching now: two more batches arrive and are cached.
    second = trade(ex, "sell", 50)
    third = trade(ex, "buy", 3000)  # several levels: one batch
    seen.wait_for(lambda ids: third[-1] in ids)
    assert [t.id for t in client.watch_trades(PERP, timeout=2)] == second + third
    # ``limit`` keeps the newest of what is new; what was returned is not new any more.
    fourth = trade(ex, "sell", 3000)
    seen.wait_for(lambda ids: fourth[-1] in ids)
    assert len(fourth) >= 2
    assert [t.id for t in client.watch_trades(PERP, None, 1, timeout=2)] == fourth[-1:]
    # ``watch_trades_for_symbols`` answers from the same cache.
    fifth = trade(ex, "buy", 50)
    seen.wait_for(lambda ids: fifth[-1] in ids)
    assert [t.id for t in client.watch_trades_for_symbols([ETH, PERP], timeout=2)] == fifth


def test_without_new_updates_watch_trades_returns_the_cached_history(
    ex: LocalDeribit, make: Callable[..., DeribitClient]
) -> None:
    """``newUpdates: False``: each call waits for the next trade, then returns the cached
    trades (at most ``tradesLimit``, the newest), filtered by ``since``/``limit``."""
    client = make(newUpdates=False, tradesLimit=3)
    seen = Seen()
    client.on_trades(PERP, handler=lambda batch: seen(list(batch)))
    subscribed(ex, PERP_TRADES)
    for direction in ("buy", "sell", "buy", "sell"):
        ids = trade(ex, direction, 50)
        seen.wait_for(lambda items, last=ids[-1]: any(t.id == last for t in items))
    got: list[Any] = []
    watcher = threading.Thread(target=lambda: got.append(client.watch_trades(PERP, timeout=10)))
    watcher.start()
    while watcher.is_alive():  # a trade wakes it; until then, more trades
        trade(ex, "buy", 50)
        watcher.join(0.2)
    ids = [t.id for t in got[0]]
    newest = ids[-1]
    seen.wait_for(lambda items: any(t.id == newest for t in items))
    all_ids = [t.id for t in seen.items]
    upto = all_ids[: all_ids.index(newest) + 1]
    assert ids == upto[-3:]  # the three newest cached, not only the batch that woke it
    # ``since`` keeps the cached trades at or after it, ``limit`` the newest of those.
    stamps = [t.timestamp for t in seen.items]
    got.clear()
    watcher = threading.Thread(
        target=lambda: got.append(client.watch_trades(PERP, stamps[0], 2, timeout=10))
    )
    watcher.start()
    while watcher.is_alive():
        trade(ex, "sell", 50)
        watcher.join(0.2)
    assert len(got[0]) == 2 and all(t.timestamp >= stamps[0] for t in got[0])


def test_new_updates_for_candles_and_watch_ohlcv_for_symbols(
    ex: LocalDeribit, make: Callable[..., DeribitClient]
) -> None:
    """A candle update that arrived between two calls is returned at once; and
    ``watch_ohlcv_for_symbols`` takes CCXT's ``[[symbol, timeframe], ...], since, limit``
    and returns ``{symbol: {timeframe: candles}}``."""
    client = make()
    candles = Seen()
    client.on_ohlcv(PERP, "1m", handler=candles)
    ex.wait_until(lambda s: any(c.subscriptions for c in s.connections) or None, 10, "chart")
    trade(ex, "buy", 50)  # a trade updates the candle
    candles.wait_for(lambda items: len(items) >= 1)
    first = client.watch_ohlcv(PERP, "1m", timeout=5)
    assert first and first[-1] == candles.items[-1]
    count = len(candles.items)
    trade(ex, "sell", 50)  # nobody watching: the update is cached
    candles.wait_for(lambda items: len(items) > count)
    again = client.watch_ohlcv(PERP, "1m", timeout=2)
    assert again == [candles.items[-1]]
    # CCXT's shape, in and out.
    result: list[Any] = []
    watcher = threading.Thread(
        target=lambda: result.append(
            client.watch_ohlcv_for_symbols([[ETH, "1m"], [PERP, "5m"]], None, 1, timeout=10)
        )
    )
    watcher.start()
    while watcher.is_alive():
        trade(ex, "buy", 10, "ETH-PERPETUAL")
        trade(ex, "sell", 10)
        watcher.join(0.2)
    (symbol, by_timeframe), *rest = result[0].items()
    assert rest == [] and symbol in (ETH, PERP)
    ((timeframe, bars),) = by_timeframe.items()
    assert (symbol, timeframe) in ((ETH, "1m"), (PERP, "5m"))
    assert len(bars) == 1 and len(bars[0]) == 6
    subs = client.connections()[0].subscriptions
    assert {"chart.trades.ETH-PERPETUAL.1", "chart.trades.BTC-PERPETUAL.5"} <= set(subs)
    client.un_watch_ohlcv_for_symbols([[ETH, "1m"], [PERP, "5m"]])
    ex.wait_until(
        lambda s: (
            all("chart.trades.ETH-PERPETUAL.1" not in c.subscriptions for c in s.connections)
            or None
        ),
        10,
        "unsubscribed",
    )


@pytest.mark.parametrize(
    "pairs",
    [
        [PERP, "1m"],  # flat: a list of symbols, not of pairs
        [[PERP]],
        [[PERP, "1m", "extra"]],
        [[PERP, 1]],
        "BTC/USD:BTC",
        [],
        {PERP: "1m"},
    ],
)
def test_watch_ohlcv_for_symbols_refuses_a_wrong_shape(
    make: Callable[..., DeribitClient], pairs: Any
) -> None:
    client = make()
    with pytest.raises(InvalidArgument, match="symbol, timeframe"):
        client.watch_ohlcv_for_symbols(pairs, timeout=1)
    assert client.connections() == []  # refused before anything was sent


def test_watch_ohlcv_for_symbols_refuses_a_timeframe_deribit_lacks(
    make: Callable[..., DeribitClient],
) -> None:
    client = make()
    with pytest.raises(BadRequest, match="4h"):
        client.watch_ohlcv_for_symbols([[PERP, "1m"], [ETH, "4h"]], timeout=1)
    assert client.connections() == []


@pytest.mark.parametrize(
    ("key", "value"),
    [("newUpdates", "yes"), ("tradesLimit", 0), ("OHLCVLimit", "10"), ("ordersLimit", True)],
)
def test_cache_options_are_checked(ex: LocalDeribit, key: str, value: Any) -> None:
    with pytest.raises(InvalidArgument, match=key):
        deribit({"environment": "local", "local": ex, key: value})


def user_subscribed(ex: LocalDeribit, *channels: str) -> None:
    ex.wait_until(
        lambda s: any(set(channels) <= set(c.subscriptions) for c in s.connections) or None,
        10,
        "user channels",
    )


def test_new_updates_for_orders_and_my_trades(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    """``watch_orders``/``watch_my_trades`` answer from the account's caches: with
    ``newUpdates`` what changed since the previous call (an order once, in its latest
    state), without it the cached orders up to ``ordersLimit``."""
    history = make_client(ex, proxy, newUpdates=False, ordersLimit=2)
    try:
        check_orders_and_my_trades(ex, client, history)
    finally:
        history.close()


def check_orders_and_my_trades(
    ex: LocalDeribit, client: DeribitClient, history: DeribitClient
) -> None:
    orders, trades, later = Seen(), Seen(), Seen()
    client.on_orders(handler=orders)
    client.on_my_trades(handler=trades)
    history.on_orders(handler=later)
    user_subscribed(ex, "user.orders.any.any.raw", "user.trades.any.any.raw")
    low = ex.book("BTC-PERPETUAL").bids[-1][0] - 100
    first = client.create_order_ws(PERP, "limit", "buy", 10, low)
    orders.wait_for(lambda items: any(o.id == first.id for o in items))
    assert [o.id for o in client.watch_orders(PERP, timeout=5)] == [first.id]
    # Nobody watching: a resting order and a market order that fills arrive.
    second = client.create_order_ws(PERP, "limit", "buy", 10, low - 1)
    third = client.create_order_ws(PERP, "market", "buy", 20)
    orders.wait_for(lambda items: any(o.id == third.id and o.status == "closed" for o in items))
    trades.wait_for(lambda items: sum(t.amount for t in items) == 20)
    got = client.watch_orders(PERP, timeout=2)  # the counters are per symbol (CCXT's)
    assert [(o.id, o.status) for o in got] == [(second.id, "open"), (third.id, "closed")]
    fills = client.watch_my_trades(PERP, timeout=2)
    assert [t.id for t in fills] == [t.id for t in trades.items]
    assert {t.order for t in fills} == {third.id}
    # Without newUpdates: the next change wakes the call, which returns the cache.
    later.wait_for(lambda items: any(o.id == third.id and o.status == "closed" for o in items))
    result: list[Any] = []
    watcher = threading.Thread(target=lambda: result.append(history.watch_orders(timeout=10)))
    watcher.start()
    placed: list[str] = []
    while watcher.is_alive():
        placed.append(client.create_order_ws(PERP, "limit", "buy", 10, low - 2).id)
        watcher.join(0.2)
    ids = [o.id for o in result[0]]
    assert len(ids) == 2  # ``ordersLimit``: the two orders updated last
    assert ids[-1] in placed and ids[0] in [third.id, *placed]


def after(client: DeribitClient, ms: int) -> None:
    """Return once the exchange's clock is past ``ms`` (so the next order or fill has a
    timestamp of its own)."""
    while int(client.request("public/get_time", {})) <= ms:
        pass


def sent(proxy: WireProxy, method: str) -> list[dict[str, Any]]:
    with proxy.cond:
        return [f["params"] for s in proxy.sessions for f in s if f.get("method") == method]


def test_fetch_my_trades_ws_takes_ccxts_symbol_since_limit_params(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    """``fetch_my_trades_ws(symbol, since, limit, params)``: ``since`` →
    ``start_timestamp``, ``limit`` → ``count``, ``until`` → ``end_timestamp``; without a
    symbol, every settlement currency (or ``params["currency"]``); CCXT's rule on the
    result: the first ``limit`` from ``since``, else the newest ``limit``."""
    fills = []
    for _ in range(3):
        order = client.create_order_ws(PERP, "market", "buy", 10)
        assert len(order.trades) == 1
        fills.append(order.trades[0])
        after(client, fills[-1].timestamp)
    eth = client.create_order_ws(ETH, "market", "sell", 1).trades
    ids = [t.id for t in fills]
    assert [t.id for t in client.fetch_my_trades_ws(PERP, None, 2)] == ids[1:]
    second = fills[1].timestamp
    assert [t.id for t in client.fetch_my_trades_ws(PERP, second, 1)] == [ids[1]]
    until = {"until": fills[1].timestamp}
    assert [t.id for t in client.fetch_my_trades_ws(PERP, fills[0].timestamp, 5, until)] == ids[:2]
    everything = client.fetch_my_trades_ws(None, None, 10)
    assert [t.id for t in everything] == ids + [t.id for t in eth]  # oldest first
    assert [t.id for t in client.fetch_my_trades_ws(None, None, 10, {"currency": "ETH"})] == [
        t.id for t in eth
    ]
    asked = sent(proxy, "private/get_user_trades_by_instrument")
    assert {"start_timestamp": second, "count": 1, "sorting": "asc"}.items() <= asked[1].items()
    assert asked[2]["end_timestamp"] == fills[1].timestamp
    by_currency = sent(proxy, "private/get_user_trades_by_currency")
    assert [p["currency"] for p in by_currency] == ["BTC", "ETH", "USDC", "ETH"]


def test_fetch_orders_ws_open_closed_and_one(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    """``fetch_open_orders_ws``/``fetch_closed_orders_ws``/``fetch_orders_ws`` take
    ``(symbol, since, limit, params)``; closed orders come from Deribit's order history
    (``limit`` → ``count``), open ones are filtered by ``since``/``limit`` after the
    reply (Deribit's open-order lists take neither); ``fetch_order_ws(id, symbol,
    params)``."""
    low = ex.book("BTC-PERPETUAL").bids[-1][0] - 100
    resting = []
    for step in range(3):
        resting.append(client.create_order_ws(PERP, "limit", "buy", 10, low - step))
        after(client, resting[-1].timestamp or 0)
    filled = client.create_order_ws(PERP, "market", "buy", 10)
    after(client, filled.timestamp or 0)
    cancelled = client.cancel_order_ws(resting[0].id)
    open_ids = [o.id for o in resting[1:]]
    assert [o.id for o in client.fetch_open_orders_ws(PERP)] == open_ids
    assert [o.id for o in client.fetch_open_orders_ws(PERP, None, 1)] == open_ids[-1:]
    assert [o.id for o in client.fetch_open_orders_ws(PERP, resting[1].timestamp, 1)] == [
        resting[1].id
    ]
    assert client.fetch_open_orders_ws(None, None, None, {"currency": "ETH"}) == []
    closed = client.fetch_closed_orders_ws(PERP)
    assert [(o.id, o.status) for o in closed] == [
        (cancelled.id, "canceled"),
        (filled.id, "closed"),
    ]
    # ``count`` 1: Deribit's newest closed order, the one cancelled last.
    assert [o.id for o in client.fetch_closed_orders_ws(None, None, 1)] == [cancelled.id]
    history = sent(proxy, "private/get_order_history_by_currency")
    assert {(p["currency"], p["count"], p["include_unfilled"]) for p in history} == {
        (c, 1, True) for c in ("BTC", "ETH", "USDC")
    }
    everything = client.fetch_orders_ws(PERP)
    assert sorted(o.id for o in everything) == sorted([*open_ids, cancelled.id, filled.id])
    assert [o.id for o in client.fetch_orders_ws(PERP, filled.timestamp)] == [filled.id]
    assert client.fetch_order_ws(filled.id, PERP, {}).status == "closed"


def test_replay_leaves_the_live_caches_alone(
    ex: LocalDeribit, make: Callable[..., DeribitClient]
) -> None:
    """``replay`` decodes with state of its own: replayed trades are not news to
    ``watch_trades`` (before, they landed in the live cache and came back as new)."""
    client = make()
    raw: list[Any] = []
    seen = Seen()
    client.on_raw(raw.extend)
    client.on_trades(PERP, handler=lambda batch: seen([t.id for t in batch]))
    subscribed(ex, PERP_TRADES)
    ids = trade(ex, "buy", 50)
    seen.wait_for(lambda got: ids[-1] in got)
    assert [t.id for t in client.watch_trades(PERP, timeout=5)] == ids  # read: not new now
    replayed = client.replay(list(raw))
    assert [t.id for d in replayed if d.message_hash == f"trades:{PERP}" for t in d.value] == ids
    with pytest.raises(RequestTimeout):
        client.watch_trades(PERP, timeout=0.5)  # nothing new arrived


def test_new_updates_for_positions(ex: LocalDeribit, client: DeribitClient) -> None:
    """``watch_positions`` answers from a cache with one position per instrument (a
    Deribit account is one-way): a change between two calls is returned at once, and
    a long turned short replaces itself."""
    positions = Seen()
    client.on_positions(handler=positions)
    user_subscribed(ex, "user.changes.any.any.raw")
    client.create_order_ws(PERP, "market", "buy", 20)
    positions.wait_for(lambda items: any(p.symbol == PERP and p.side == "long" for p in items))
    assert [(p.symbol, p.side) for p in client.watch_positions([PERP], timeout=5)] == [
        (PERP, "long")
    ]
    client.create_order_ws(PERP, "market", "sell", 40)  # through flat to short
    positions.wait_for(lambda items: items[-1].side == "short")
    assert [(p.symbol, p.side) for p in client.watch_positions([PERP], timeout=2)] == [
        (PERP, "short")
    ]
