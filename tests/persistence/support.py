"""Helpers: collectors that wait on events, sentinel trades, database reads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import sqlalchemy as sa

import ccxtpro_sync
from ccxtpro_sync import default_reconnect_policy
from ccxtpro_sync.simulator import LocalExchange

SPOT = "BTC/USDT"
STREAM = "btcusdt@aggTrade"
#: Sentinel trade ids: far above anything the generator makes.
SENTINEL = 9_000_000_000


def make_client(
    exchange: LocalExchange, kind: type[ccxtpro_sync.binance] = ccxtpro_sync.binance, **extra: Any
) -> ccxtpro_sync.binance:
    """A client of the local exchange that notices a dead connection and reconnects fast."""
    config: dict[str, Any] = {
        "environment": "local",
        "local": exchange,
        "timeout": 10,
        "readTimeout": 2.0,
        "pingInterval": 0.25,
        "reconnect": default_reconnect_policy(initial=0.05, maximum=0.5),
        **extra,
    }
    return kind(config)


class Trades:
    """A live ``on_trades`` consumer: every id in arrival order; waits for one id."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._cond = threading.Condition()

    def __call__(self, trades: list[Any]) -> None:
        with self._cond:
            self.ids.extend(str(t.id) for t in trades)
            self._cond.notify_all()

    def wait_for(self, trade_id: int, timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: str(trade_id) in self.ids, timeout):
                raise AssertionError(f"trade {trade_id} never arrived ({len(self.ids)} seen)")


class RawTrades(Trades):
    """A live ``on_raw`` consumer keeping the aggTrade ids of the payloads."""

    def __call__(self, messages: list[Any]) -> None:
        with self._cond:
            for m in messages:
                if m.channel == STREAM:
                    self.ids.append(str(msgspec.json.decode(m.data)["a"]))
            self._cond.notify_all()


def publish_sentinel(exchange: LocalExchange, n: int) -> int:
    """Push a trade with a known id after everything already queued; returns the id."""
    trade_id = SENTINEL + n
    payload = {
        "e": "aggTrade", "E": 1_700_000_000_000 + n, "s": "BTCUSDT", "a": trade_id,
        "p": "65000.00", "q": "0.001", "f": trade_id, "l": trade_id,
        "T": 1_700_000_000_000 + n, "m": False, "M": True,
    }  # fmt: skip
    exchange.publish("spot", STREAM, payload)
    return trade_id


def rows(url: str, query: str, params: dict[str, Any] | None = None) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(query), params or {}).all())
    finally:
        engine.dispose()


def column(url: str, query: str) -> list[Any]:
    return [r[0] for r in rows(url, query)]


def count(url: str, table: str) -> int:
    return int(rows(url, f"SELECT count(*) FROM {table}")[0][0])


def ids_of(batches: Iterable[Any], table: str) -> list[str]:
    return [str(v.id) for b in batches if b.table == table for v in b.values]


class Collector:
    """A live handler keeping every item (lists are flattened); waits for a predicate."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, value: Any) -> None:
        with self._cond:
            self.items.extend(value if isinstance(value, list) else [value])
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[Any]], object], timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.items), timeout):
                raise AssertionError(f"never happened; seen: {self.items[-5:]}")

    def snapshot(self) -> list[Any]:
        with self._cond:
            return list(self.items)
