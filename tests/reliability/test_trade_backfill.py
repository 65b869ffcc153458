"""Public trades and closed candles survive drops, half-open peers and the lifetime limit:
every id once, in order, the missed ones fetched over REST before the live ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import READ_TIMEOUT, make_client, signal_logs, wait_for, wait_wire_matches

DROPS = 10
HALF_OPEN = 2


@pytest.fixture
def manual_exchange() -> Iterator[LocalExchange]:
    """Moves only on ``tick()``: trades happen exactly while the client is away. The
    lifetime is short so that the exchange's own close (announced by ``serverShutdown``:
    a make-before-break rotation) happens during the run too, more than once."""
    with LocalExchange(
        seed=15,
        auto_publish=False,
        tick_interval=0.01,
        rest_weight=1_000_000,
        max_lifetime=1.5,
    ) as ex:
        yield ex


class Ids:
    """Every trade id (or candle) delivered to a handler, in delivery order."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, batch: list[Any]) -> None:
        with self._cond:
            self.items.extend(batch)
            self._cond.notify_all()

    def wait(self, predicate: Any, timeout: float, what: str) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: predicate(self.items), timeout), (
                f"timed out waiting for {what}; have {len(self.items)}"
            )

    def wait_ticking(self, ex: LocalExchange, predicate: Any, timeout: float, what: str) -> None:
        """Wait while the exchange moves on (klines are pushed per second of its time;
        a trade gap shows when the next trade arrives)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if self._cond.wait_for(lambda: predicate(self.items), 0.02):
                    return
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            ex.tick(10)


def _faults(ex: LocalExchange, client: Any, logs: Any, away: int = 10) -> int:
    """Drop the connection ``DROPS`` times and go half-open ``HALF_OPEN`` times, with
    ``away`` ticks of trading while the client is away. Returns the faults made."""
    closes = 0
    for round_ in range(DROPS + HALF_OPEN):
        ex.tick(5)
        silent = round_ % 6 == 5  # rounds 5 and 11: a silent peer
        seen = _fault_when_connected(
            ex, client, logs, ex.faults.half_open if silent else ex.faults.drop
        )
        if silent:
            ex.tick(away)  # pushes discarded: these trades reach the client only over REST
            logs["connection_closed"].wait_for(seen + 1, timeout=READ_TIMEOUT * 6)
            wait_wire_matches(ex, [client])
            ex.faults.release()
        else:
            ex.tick(away)  # most likely before the reconnect: missed live
        closes += 1
    # And the exchange's own lifetime limit, hit while trading goes on.
    lifetime = _lifetime_closes(logs)

    def lifetime_hit() -> bool:
        ex.tick(1)
        return _lifetime_closes(logs) > lifetime

    wait_for(lifetime_hit, 10, "a close at the connection lifetime")
    return closes + 1


def _fault_when_connected(ex: LocalExchange, client: Any, logs: Any, fault: Any) -> int:
    """Apply ``fault`` to a settled connection; returns the closes seen before it. The
    exchange's own lifetime close may land between settling and the fault: then the
    fault finds no connection, and we settle again and retry."""
    for _ in range(5):
        wait_wire_matches(ex, [client])
        seen = len(logs["connection_closed"])
        if fault() >= 1:
            return seen
    raise AssertionError("the fault never found a connection to act on")


def _lifetime_closes(logs: Any) -> int:
    reasons = [p["reason"] for p in logs["connection_closed"].payloads]
    return sum("shutdown" in r or "lifetime" in r for r in reasons)


@pytest.mark.parametrize(
    ("kind", "symbol", "options"),
    [
        (ccxtpro_sync.binance, "BTC/USDT", {}),
        (ccxtpro_sync.binance, "ETH/USDT", {"tradesStream": "trade"}),
        (ccxtpro_sync.binance, "ETH/USDT", {"tradesStream": "trade", "key": True}),
        (ccxtpro_sync.binanceusdm, "BTC/USDT:USDT", {}),
    ],
    ids=["spot-aggTrade", "spot-trade", "spot-trade-historicalTrades", "usdm-aggTrade"],
)
def test_every_trade_id_once_in_order_across_drops_and_half_open_peers(
    manual_exchange: LocalExchange, kind: Any, symbol: str, options: dict[str, Any]
) -> None:
    ex = manual_exchange
    keys: dict[str, str] = {}
    if options.pop("key", False):  # an API key: the @trade gap comes from historicalTrades
        keys = {"apiKey": "K" * 64, "secret": "S" * 64}
        ex.add_account(api_key=keys["apiKey"], secret=keys["secret"])
    client = make_client(kind, ex, options=options, readTimeout=READ_TIMEOUT, **keys)
    ids = Ids()
    with client, signal_logs(client) as logs:
        sub = client.on_trades(symbol, handler=ids)
        wait_wire_matches(ex, [client])
        ex.tick(5)
        ids.wait(lambda items: len(items) > 0, 10, "the first trade")
        _faults(ex, client, logs)
        ex.tick(5)
        wait_wire_matches(ex, [client])
        ex.tick(5)  # live trades after the last reconnect
        last = int(client.fetch_trades(symbol, limit=1)[-1].id)
        # A gap is seen when the next live trade arrives: the market keeps trading.
        ids.wait_ticking(ex, lambda items: int(items[-1].id) >= last, 20, f"trade id {last}")
        delivered = [int(t.id) for t in ids.items]
        first = delivered[0]
        assert delivered == list(range(first, delivered[-1] + 1)), _describe(delivered)
        assert delivered[-1] >= last
        assert len(logs["connection_closed"]) >= DROPS + HALF_OPEN + 1
        filled = logs["trades_backfilled"].payloads
        assert filled, "no gap was backfilled: the faults missed no trade"
        assert sum(p["count"] for p in filled) > 0
        assert all(p["symbol"] == symbol and p["timeframe"] is None for p in filled)
        assert not logs["trades_gap"].events, logs["trades_gap"].payloads
        # The cache agrees: each id once.
        cached = [int(t.id) for t in client.data.trades[symbol]]
        assert len(cached) == len(set(cached))
        sub.cancel()


def test_closed_candles_once_in_order_across_drops_and_half_open_peers(
    manual_exchange: LocalExchange,
) -> None:
    ex = manual_exchange
    client = make_client(ccxtpro_sync.binance, ex, readTimeout=READ_TIMEOUT)
    candles = Ids()
    symbol = "BTC/USDT"
    with client, signal_logs(client) as logs:
        sub = client.on_ohlcv(symbol, "1s", handler=candles)
        wait_wire_matches(ex, [client])
        candles.wait_ticking(ex, lambda items: len(items) > 0, 20, "the first candle")
        # Long enough away for closed candles to be pushed to nobody.
        _faults(ex, client, logs, away=250)
        wait_wire_matches(ex, [client])
        # Wait for two more closed candles to arrive live (time moves the candles on).
        start = candles.items[-1].timestamp

        more = start + 2000
        candles.wait_ticking(
            ex, lambda items: items[-1].timestamp >= more, 20, "live candles after the faults"
        )
        delivered = list(candles.items)
        opens = [c.timestamp for c in delivered]
        assert opens == sorted(opens), "a candle went back in time"
        distinct = sorted(set(opens))
        assert distinct == list(range(distinct[0], distinct[-1] + 1000, 1000)), distinct
        # The final state of each closed candle is the exchange's.
        final = {c.timestamp: c for c in delivered}
        rest = {
            c.timestamp: c for c in client.fetch_ohlcv(symbol, "1s", since=distinct[0], limit=1000)
        }
        closed = distinct[:-1]
        assert [final[t] for t in closed] == [rest[t] for t in closed]
        cached = [c.timestamp for c in client.data.ohlcvs[(symbol, "1s")]]
        assert len(cached) == len(set(cached))
        assert logs["trades_backfilled"].payloads, "no candle was backfilled"
        assert not logs["trades_gap"].events, logs["trades_gap"].payloads
        sub.cancel()


def _miss_some(ex: LocalExchange, client: Any) -> None:
    ex.tick(5)
    for _ in range(5):  # the lifetime close may beat the drop: settle on its replacement
        wait_wire_matches(ex, [client])
        if ex.faults.drop() >= 1:
            break
    else:
        raise AssertionError("the drop never found a connection")
    ex.tick(20)
    wait_wire_matches(ex, [client])
    ex.tick(5)


def test_retry_after_is_waited_out_and_the_gap_still_filled(
    manual_exchange: LocalExchange,
) -> None:
    ex, symbol = manual_exchange, "BTC/USDT"
    client = make_client(ccxtpro_sync.binance, ex)
    ids = Ids()
    with client, signal_logs(client) as logs:
        sub = client.on_trades(symbol, handler=ids)
        wait_wire_matches(ex, [client])
        ex.tick(5)
        ids.wait(lambda items: len(items) > 0, 10, "the first trade")
        ex.faults.refuse_rest(count=1, status=429, retry_after=1)
        _miss_some(ex, client)
        filled = logs["trades_backfilled"].wait_for(1, timeout=15)
        assert ex.faults.take_rest_refusal() is None  # the backfill met the 429 first
        last = filled[-1].payload["last"]
        ids.wait(lambda items: int(items[-1].id) > last, 10, "live trades after the gap")
        delivered = [int(t.id) for t in ids.items]
        assert delivered == list(range(delivered[0], delivered[-1] + 1)), _describe(delivered)
        assert not logs["trades_gap"].events, logs["trades_gap"].payloads
        sub.cancel()


def test_a_gap_that_cannot_be_filled_is_reported_and_delivery_goes_on(
    manual_exchange: LocalExchange,
) -> None:
    ex, symbol = manual_exchange, "BTC/USDT"
    client = make_client(ccxtpro_sync.binance, ex)
    ids = Ids()
    with client, signal_logs(client) as logs:
        sub = client.on_trades(symbol, handler=ids)
        wait_wire_matches(ex, [client])
        ex.tick(5)
        ids.wait(lambda items: len(items) > 0, 10, "the first trade")
        # Binance asks for two minutes' pause: longer than the backfill waits.
        ex.faults.refuse_rest(count=1, status=429, retry_after=120)
        _miss_some(ex, client)
        gap = logs["trades_gap"].wait_for(1, timeout=15)[0].payload
        assert gap["symbol"] == symbol and gap["timeframe"] is None
        ids.wait(lambda items: int(items[-1].id) > gap["last"], 10, "trades after the gap")
        delivered = [int(t.id) for t in ids.items]
        # Exactly the reported range is missing; the rest is in order, once.
        expected = [i for i in range(delivered[0], delivered[-1] + 1)]
        expected = [i for i in expected if not gap["first"] <= i <= gap["last"]]
        assert delivered == expected, _describe(delivered)
        assert gap["last"] >= gap["first"] > delivered[0]
        assert not logs["trades_backfilled"].events
        sub.cancel()


def test_trades_missed_between_two_subscriptions_are_delivered_to_the_next(
    manual_exchange: LocalExchange,
) -> None:
    ex, symbol = manual_exchange, "BTC/USDT"
    client = make_client(ccxtpro_sync.binance, ex)
    before, after = Ids(), Ids()
    with client, signal_logs(client) as logs:
        sub = client.on_trades(symbol, handler=before)
        wait_wire_matches(ex, [client])
        ex.tick(5)
        seen = int(client.fetch_trades(symbol, limit=1)[-1].id)
        # Everything so far reached the first handler: nothing is in flight on cancel.
        before.wait(lambda items: bool(items) and int(items[-1].id) >= seen, 10, f"id {seen}")
        sub.cancel()
        wait_wire_matches(ex, [client])  # unsubscribed on the wire
        ex.tick(20)  # trades nobody subscribed to
        sub = client.on_trades(symbol, handler=after)
        wait_wire_matches(ex, [client])
        ex.tick(5)
        last = int(client.fetch_trades(symbol, limit=1)[-1].id)
        after.wait_ticking(
            ex, lambda items: bool(items) and int(items[-1].id) >= last, 10, f"id {last}"
        )
        delivered = [int(t.id) for t in [*before.items, *after.items]]
        assert delivered == list(range(delivered[0], delivered[-1] + 1)), _describe(delivered)
        assert logs["trades_backfilled"].payloads
        sub.cancel()


def _describe(ids: list[int]) -> str:
    missing = sorted(set(range(ids[0], ids[-1] + 1)) - set(ids))
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    return f"missing {missing[:20]} repeated {repeated[:20]} of {len(ids)}"
