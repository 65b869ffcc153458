"""Rows from structures, and idempotent batched writes (shared by recorder and replay).

Every statement is SQLAlchemy's dialect ``insert(...).on_conflict_do_*`` for SQLite or
PostgreSQL: ``append``/``raw``/``history`` tables ignore a row whose natural key
exists, ``series`` tables and unversioned ``state`` tables replace it, versioned
``state`` tables replace it only when the new row is not older (``version``).

Numbers follow the schema's mode: float64 (``Decimal`` values are converted), or, for
``numbers="decimal"``, exact (values are passed through; see ``schema.ExactNumber``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from .._exceptions import NotSupported
from .._structures import _plain, _stored_info
from .schema import Schema

__all__ = ["Batch", "Sink"]

Row = dict[str, Any]
_JSON = msgspec.json.Encoder(decimal_format="number")


@dataclass(slots=True)
class Batch:
    """Values for one table: structures (or raw messages) plus the context columns."""

    table: str
    values: Sequence[Any]
    context: Mapping[str, Any]
    #: Wall-clock seconds when the batch was handed over.
    at: float

    @property
    def rows(self) -> int:
        return len(self.values)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Sink:
    """Turns ``Batch``es into rows and writes them in one transaction per call."""

    def __init__(self, engine: Engine, schema: Schema, *, info: bool = True) -> None:
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise NotSupported(f"persistence supports sqlite and postgresql, not {dialect}")
        self.engine = engine
        self.schema = schema
        self.info = info
        self._insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        self._statements: dict[str, Insert] = {}
        self._plans: dict[str, _Plan] = {}

    # -- rows -------------------------------------------------------------------------
    def plan(self, table: str) -> _Plan:
        plan = self._plans.get(table)
        if plan is None:
            exact = self.schema.numbers == "decimal"
            plan = self._plans[table] = _Plan(self.schema.spec(table), info=self.info, exact=exact)
        return plan

    def rows(self, batch: Batch) -> tuple[list[Row], int]:
        """(rows, skipped): rows lacking a key value are skipped and counted."""
        return self.plan(batch.table).rows(batch.values, batch.context)

    # -- statements ---------------------------------------------------------------------
    def statement(self, name: str) -> Insert:
        stmt = self._statements.get(name)
        if stmt is not None:
            return stmt
        spec = self.schema.spec(name)
        table = self.schema[name]
        key = spec["key"]
        base = self._insert(table)
        if spec["kind"] in ("raw", "append", "history"):
            stmt = base.on_conflict_do_nothing(index_elements=key)
        else:
            updates = {c.name: base.excluded[c.name] for c in table.columns if c.name not in key}
            version = spec["version"]
            where = None
            if version is not None:
                where = or_(
                    table.c[version].is_(None),
                    base.excluded[version].is_(None),
                    base.excluded[version] >= table.c[version],
                )
            stmt = base.on_conflict_do_update(index_elements=key, set_=updates, where=where)
        self._statements[name] = stmt
        return stmt

    # -- writing --------------------------------------------------------------------------
    def write(self, batches: Iterable[Batch]) -> tuple[dict[str, int], dict[str, int]]:
        """Write every batch in one transaction; returns (rows sent, rows skipped) by table."""
        grouped: dict[str, list[Row]] = {}
        skipped: dict[str, int] = {}
        now = time.time()
        for batch in batches:
            rows, bad = self.rows(batch)
            if bad:
                skipped[batch.table] = skipped.get(batch.table, 0) + bad
            if not rows:
                continue
            grouped.setdefault(batch.table, []).extend(rows)
            history = self.schema.spec(batch.table)["history"]
            if history is not None:
                grouped.setdefault(history, []).extend(self.plan(batch.table).history(rows, now))
        sent: dict[str, int] = {}
        if not grouped:
            return sent, skipped
        with self.engine.begin() as conn:
            for name, rows in grouped.items():
                self._execute(conn, name, self.plan(name).dedupe(rows))
                sent[name] = len(rows)
        return sent, skipped

    def _execute(self, conn: Connection, name: str, rows: list[Row]) -> None:
        conn.execute(self.statement(name), rows)


class _Plan:
    """How one table's rows are built from its structures."""

    def __init__(self, spec: Mapping[str, Any], *, info: bool, exact: bool = False) -> None:
        self.kind: str = spec["kind"]
        self.key: tuple[str, ...] = tuple(spec["key"])
        self.version: str | None = spec["version"]
        explode = spec["explode"]
        self.explode: tuple[str, str] | None = (
            (explode["field"], explode["key"]) if explode else None
        )
        self.context = [c["name"] for c in spec["columns"] if c["source"] == "context"]
        self.fields = [(c["name"], c["type"]) for c in spec["columns"] if c["source"] == "field"]
        self.inner = [(c["name"], c["type"]) for c in spec["columns"] if "." in c["source"]]
        self.info = info
        #: Keep ``Decimal`` numbers (exact columns) instead of converting them to float.
        self.exact = exact
        self.columns = [c["name"] for c in spec["columns"]]

    def rows(self, values: Sequence[Any], context: Mapping[str, Any]) -> tuple[list[Row], int]:
        if self.kind == "raw":
            return [self._raw(m, context) for m in values], 0
        out: list[Row] = []
        skipped = 0
        for value in values:
            for row in self._rows_of(value, context):
                if any(row.get(k) is None for k in self.key):
                    skipped += 1
                else:
                    out.append(row)
        return out, skipped

    def _raw(self, message: Any, context: Mapping[str, Any]) -> Row:
        data = bytes(message.data)
        return {
            "exchange": context["exchange"],
            "source": message.source,
            "channel": message.channel,
            "data": data,
            "received": float(message.received),
            "digest": _digest(data),
        }

    def _rows_of(self, value: Any, context: Mapping[str, Any]) -> Iterable[Row]:
        base: Row = {}
        for name in self.context:
            if name in context:
                base[name] = context[name]
            elif name == "positionSide":
                base[name] = value.side if value.hedged else "both"
            elif name == "symbol":
                base[name] = value.symbol
        for name, kind in self.fields:
            if name == "info":
                # As ``x["info"]`` gives it: a payload kept undecoded (msgspec.Raw) is
                # stored as its JSON object, never decoded strictly here (a payload only
                # the lax decode took would raise and stop the writer).
                info = _plain(_stored_info(value)) if self.info else None
                base[name] = _convert(info, kind, not self.info, self.exact)
                continue
            base[name] = _convert(getattr(value, name), kind, False, self.exact)
        if self.explode is None:
            yield base
            return
        field, key = self.explode
        for entry_key, entry in getattr(value, field).items():
            row = dict(base)
            row[key] = entry_key
            for name, kind in self.inner:
                row[name] = _convert(getattr(entry, name), kind, False, self.exact)
            yield row

    def history(self, rows: list[Row], now: float) -> list[Row]:
        out = []
        for row in rows:
            content = {k: v for k, v in row.items() if k != "info"}
            revision = _digest(_JSON.encode(content))
            out.append({**row, "revision": revision, "recorded": now})
        return out

    def dedupe(self, rows: list[Row]) -> list[Row]:
        """One row per key, the one the database would keep (several per batch are common)."""
        if len(rows) < 2:
            return rows
        keep_first = self.kind in ("raw", "append", "history")
        chosen: dict[tuple[Any, ...], Row] = {}
        version = self.version
        for row in rows:
            key = tuple(row[k] for k in self.key)
            old = chosen.get(key)
            if old is None:
                chosen[key] = row
            elif keep_first:
                continue
            elif version is None or _not_older(row[version], old[version]):
                chosen[key] = row
        return list(chosen.values())


def _not_older(new: Any, old: Any) -> bool:
    """The database's rule: a row replaces another unless both versions are known and
    the new one is smaller."""
    return new is None or old is None or bool(new >= old)


def _convert(value: Any, kind: str, drop: bool, exact: bool) -> Any:
    if drop or value is None:
        return None
    if kind == "number":
        return float(value) if isinstance(value, Decimal) and not exact else value
    if kind == "json":
        return msgspec.to_builtins(value)
    return value
