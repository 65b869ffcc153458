"""Replay a recorded raw log through a client's parsers, for backtests and bug reports.

``replay(source, client)`` reads raw payloads (a database URL or engine holding a
``raw_messages`` table, or any iterable of :class:`~ccxtpro_sync.RawMessage`), feeds
them through ``client.replay`` (the same parsers live data goes through) and returns
the structures rebuilt, by table. With ``to=`` it also writes them, and the raw
payloads, into another database, idempotently: replaying one log twice adds no row.

Use a client of the same kind and markets as the one that recorded (``client.replay``
has state of its own: the client's live caches and books are not touched). The whole
log goes through one ``client.replay`` call, so state that spans the log survives:
order books are rebuilt from the depth diffs and the REST snapshots the raw tap
records (channel ``depthSnapshot:<id>@<limit>``), candles and caches carry on. Every
rebuilt book (top ``order_book_depth`` levels) is in the result; ``order_books=True``
also writes them to ``to``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import Engine, select

from .._core.events import RawMessage
from ._sink import Batch, Sink
from .recorder import numbers_of
from .schema import Numbers, Schema, connect

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
    order_book_depth: int = 10,
    order_books: bool = False,
    numbers: Numbers | None = None,
    prefix: str = "",
    chunk: int = 5000,
) -> Replayed:
    """Rebuild structures from a raw log (see the module docstring).

    ``order_book_depth`` levels per side are kept of every rebuilt book;
    ``order_books`` writes them (one row per book update) to ``to``. ``numbers``
    (default: the client's) chooses the number columns of the tables created in
    ``to``. ``chunk`` messages (and structures) are written per transaction.
    """
    exchange = exchange or type(client).__name__
    if isinstance(source, str | Engine):
        messages: Iterable[RawMessage] = read_raw(source, exchange=exchange, prefix=prefix)
    else:
        messages = source
    sink = None
    if to is not None:
        schema = Schema(prefix=prefix, numbers=numbers or numbers_of(client))
        sink = Sink(connect(to, schema=schema), schema)
    base = {"exchange": exchange, "account": account}
    result = Replayed()

    def write(batches: list[Batch]) -> None:
        if sink is not None and batches:
            sent, _ = sink.write(batches)
            for table, n in sent.items():
                result.written[table] = result.written.get(table, 0) + n

    def fed() -> Iterator[RawMessage]:
        """The messages, counted and (with ``copy_raw``) copied as the parsers read them."""
        pending: list[RawMessage] = []
        for message in messages:
            result.messages += 1
            yield message
            if copy_raw and sink is not None:
                pending.append(message)
                if len(pending) >= chunk:
                    write([Batch("raw_messages", pending, base, 0.0)])
                    pending = []
        if pending:
            write([Batch("raw_messages", pending, base, 0.0)])

    try:
        batches: list[Batch] = []
        rows = 0
        for delivery in client.replay(fed()):
            found = table_of(delivery.message_hash)
            if found is None:
                continue
            table, context = found
            values = delivery.value if isinstance(delivery.value, list) else [delivery.value]
            if table == "order_books":
                values = [_top(book, order_book_depth) for book in values]
            result.structures.setdefault(table, []).extend(values)
            if table == "order_books" and not order_books:
                continue
            batches.append(Batch(table, values, {**base, **context}, 0.0))
            rows += len(values)
            if rows >= chunk:
                write(batches)
                batches, rows = [], 0
        write(batches)
    finally:
        if sink is not None and not isinstance(to, Engine):
            sink.engine.dispose()
    return result


def _top(book: Any, depth: int) -> Any:
    return msgspec.structs.replace(book, bids=book.bids[:depth], asks=book.asks[:depth])
