"""SQLAlchemy Core tables generated from the manifest.

One ``Table`` per manifest table, named as in the manifest (optionally with a
prefix), columns named exactly as CCXT's fields (``"bidVolume"``: quote them in
PostgreSQL). Types: ``string`` → ``Text``, ``integer`` → ``BigInteger``, ``number``
→ ``Double`` (float64; see docs/persistence.md on Decimal), ``boolean`` → ``Boolean``,
``bytes`` → ``LargeBinary``, ``json`` → ``JSON`` (``JSONB`` on PostgreSQL). The
natural key is the primary key, except for the raw table whose primary key is its
arrival order (``seq``) and whose natural key is a unique constraint.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeEngine

from .manifest import manifest as _shipped_manifest

__all__ = ["Schema", "build_metadata", "column_type", "connect"]

#: BIGINT that is still SQLite's ``INTEGER PRIMARY KEY`` (the rowid) for ``seq``.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")
_JSON = (
    JSON(none_as_null=True)
    .with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
    .with_variant(sqlite.JSON(none_as_null=True), "sqlite")
)

_TYPES: dict[str, TypeEngine[Any]] = {
    "string": Text(),
    "integer": BigInteger(),
    "number": Double(),
    "boolean": Boolean(),
    "bytes": LargeBinary(),
    "json": _JSON,
}


def column_type(kind: str) -> TypeEngine[Any]:
    """The SQLAlchemy type of a manifest column type."""
    return _TYPES[kind]


def build_metadata(
    data: dict[str, Any] | None = None, *, prefix: str = "", schema: str | None = None
) -> MetaData:
    """A ``MetaData`` holding every manifest table (``prefix`` + manifest name)."""
    data = data if data is not None else _shipped_manifest()
    metadata = MetaData(schema=schema)
    for name, spec in data["tables"].items():
        columns: list[Column[Any]] = []
        for col in spec["columns"]:
            if spec["kind"] == "raw" and col["name"] == "seq":
                columns.append(Column("seq", _SEQ, primary_key=True, autoincrement=True))
                continue
            columns.append(Column(col["name"], column_type(col["type"]), nullable=col["nullable"]))
        key = spec["key"]
        constraint = (
            UniqueConstraint(*key, name=f"{prefix}{name}_key")
            if spec["kind"] == "raw"
            else PrimaryKeyConstraint(*key, name=f"{prefix}{name}_pkey")
        )
        Table(f"{prefix}{name}", metadata, *columns, constraint, comment=spec["doc"])
    return metadata


class Schema:
    """The tables of one database, by manifest name: ``schema["trades"]``."""

    def __init__(
        self, data: dict[str, Any] | None = None, *, prefix: str = "", schema: str | None = None
    ) -> None:
        self.manifest = data if data is not None else _shipped_manifest()
        self.prefix = prefix
        self.metadata = build_metadata(self.manifest, prefix=prefix, schema=schema)

    def __getitem__(self, name: str) -> Table:
        key = (
            f"{self.metadata.schema}.{self.prefix}{name}"
            if self.metadata.schema
            else (f"{self.prefix}{name}")
        )
        return self.metadata.tables[key]

    def spec(self, name: str) -> dict[str, Any]:
        """The manifest entry of table ``name``."""
        spec: dict[str, Any] = self.manifest["tables"][name]
        return spec

    @property
    def names(self) -> list[str]:
        """Manifest table names."""
        return list(self.manifest["tables"])


def connect(url: str | Engine, *, create: bool = True, schema: Schema | None = None) -> Engine:
    """An engine for ``url`` (``sqlite:///file.db`` or ``postgresql+psycopg://...``).

    SQLite files get WAL journaling (readers do not block the writer) and a busy
    timeout; every engine pings pooled connections before use, so a connection the
    server dropped is replaced instead of failing a write. With ``create``, missing
    tables are created (existing ones are left alone: migrate them with Alembic).
    """
    engine = url if isinstance(url, Engine) else _engine(url)
    if create:
        (schema or Schema()).metadata.create_all(engine, checkfirst=True)
    return engine


def _engine(url: str) -> Engine:
    if url.startswith("postgresql://"):  # psycopg 3 unless a driver is named
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = sa_create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

    return engine
