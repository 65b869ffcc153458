"""Replay a recorded raw log through a client's parsers, for backtests and bug reports.

``replay(source, client)`` reads raw payloads (a database URL or engine holding a
``raw_messages`` table, or any iterable of :class:`~ccxtpro_sync.RawMessage`), feeds
them through ``client.replay`` (the same parsers live data goes through) and returns
the structures rebuilt, by table. With ``to=`` it also writes them, and the raw
payloads, into another database, idempotently: replaying one log twice adds no row.

Use a fresh client (no live subscriptions) of the same kind and markets as the one
that recorded. Order books need REST depth snapshots, which the raw log does not
hold: books are rebuilt only where the log itself makes them (spot partial depth).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from .._core.events import RawMessage
from ._sink import Batch, Sink
from .schema import Schema, connect

__all__ = ["Replayed", "read_raw", "replay", "table_of"]


@dataclass
class Replayed:
    """What a replay rebuilt: structures by table, and their context columns."""

    messages: int = 0
    structures: dict[str, list[Any]] = field(default_factory=dict)
    #: Rows sent to ``to`` by table (before the database dropped duplicates).
    written: dict[str, int] = field(default_factory=dict)

    def count(self, table: str) -> int:
        return len(self.structures.get(table, []))


def read_raw(
    source: str | Engine,
    *,
    exchange: str | None = None,
    channels: Iterable[str] | None = None,
    prefix: str = "",
    chunk: int = 5000,
) -> Iterator[RawMessage]:
    """The raw messages of a database in arrival order (``seq``), streamed in chunks."""
    schema = Schema(prefix=prefix)
    engine = connect(source, create=False)
    table = schema["raw_messages"]
    query = select(table.c.seq, table.c.source, table.c.channel, table.c.data, table.c.received)
    if exchange is not None:
        query = query.where(table.c.exchange == exchange)
    if channels is not None:
        query = query.where(table.c.channel.in_(list(channels)))
    last = None
    try:
        while True:
            page = query.order_by(table.c.seq).limit(chunk)
            if last is not None:
                page = page.where(table.c.seq > last)
            with engine.connect() as conn:
                rows = conn.execute(page).all()
            for row in rows:
                yield RawMessage(row.source, row.channel, bytes(row.data), row.received)
            if len(rows) < chunk:
                return
            last = rows[-1].seq
    finally:
        if not isinstance(source, Engine):
            engine.dispose()


def table_of(message_hash: str) -> tuple[str, dict[str, Any]] | None:
    """The table a delivery's message hash fills, with its context; None if not stored."""
    kind, _, rest = message_hash.partition(":")
    if kind == "ohlcv":
        symbol, _, timeframe = rest.rpartition(":")
        return "ohlcv", {"symbol": symbol, "timeframe": timeframe}
    if ":" in message_hash and kind in ("orders", "myTrades", "positions"):
        return None  # the per-symbol copy of an account-wide delivery
    table = {
        "trades": "trades",
        "ticker": "tickers",
        "orderbook": "order_books",
        "fundingRate": "funding_rates",
        "liquidations": "liquidations",
        "orders": "orders",
        "myTrades": "my_trades",
        "balance": "balances",
        "positions": "positions",
    }.get(kind)
    return None if table is None else (table, {})


def replay(
    source: str | Engine | Iterable[RawMessage],
    client: Any,
    *,
    to: str | Engine | None = None,
    exchange: str | None = None,
    account: str = "default",
    copy_raw: bool = True,
    prefix: str = "",
    chunk: int = 5000,
) -> Replayed:
    """Rebuild structures from a raw log (see the module docstring)."""
    exchange = exchange or type(client).__name__
    if isinstance(source, str | Engine):
        messages: Iterable[RawMessage] = read_raw(source, exchange=exchange, prefix=prefix)
    else:
        messages = source
    sink = None
    if to is not None:
        schema = Schema(prefix=prefix)
        sink = Sink(connect(to, schema=schema), schema)
    base = {"exchange": exchange, "account": account}
    result = Replayed()
    pending: list[RawMessage] = []
    try:
        for message in messages:
            pending.append(message)
            if len(pending) >= chunk:
                _replay_chunk(pending, client, base, sink, result, copy_raw=copy_raw)
                pending = []
        if pending:
            _replay_chunk(pending, client, base, sink, result, copy_raw=copy_raw)
    finally:
        if sink is not None and not isinstance(to, Engine):
            sink.engine.dispose()
    return result


def _replay_chunk(
    messages: list[RawMessage],
    client: Any,
    base: dict[str, Any],
    sink: Sink | None,
    result: Replayed,
    *,
    copy_raw: bool,
) -> None:
    result.messages += len(messages)
    batches: list[Batch] = []
    if copy_raw:
        batches.append(Batch("raw_messages", messages, base, 0.0))
    for delivery in client.replay(messages):
        found = table_of(delivery.message_hash)
        if found is None:
            continue
        table, context = found
        values = delivery.value if isinstance(delivery.value, list) else [delivery.value]
        result.structures.setdefault(table, []).extend(values)
        batches.append(Batch(table, values, {**base, **context}, 0.0))
    if sink is not None:
        sent, _ = sink.write(batches)
        for table, n in sent.items():
            result.written[table] = result.written.get(table, 0) + n
