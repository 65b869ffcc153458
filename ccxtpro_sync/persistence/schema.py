"""SQLAlchemy Core tables generated from the manifest.

One ``Table`` per manifest table, named as in the manifest (optionally with a
prefix), columns named exactly as CCXT's fields (``"bidVolume"``: quote them in
PostgreSQL). Types: ``string`` → ``Text``, ``integer`` → ``BigInteger``, ``number``
→ ``Double`` (float64) or, with ``numbers="decimal"``, :class:`ExactNumber` (exact:
``NUMERIC`` on PostgreSQL, decimal text on SQLite), ``boolean`` → ``Boolean``,
``bytes`` → ``LargeBinary``, ``json`` → ``JSON`` (``JSONB`` on PostgreSQL). The
natural key is the primary key, except for the raw table whose primary key is its
arrival order (``seq``) and whose natural key is a unique constraint.

Only the structures' own numbers become exact: the arrival time of raw messages
(``received``) and of history rows (``recorded``) stay float64 wall-clock seconds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator, TypeEngine

from .._exceptions import BadRequest
from .manifest import manifest as _shipped_manifest

__all__ = [
    "ExactNumber",
    "Numbers",
    "Schema",
    "build_metadata",
    "column_type",
    "connect",
    "is_exact",
]

#: How ``number`` columns are stored: float64, or exact decimals.
Numbers = Literal["float", "decimal"]

#: BIGINT that is still SQLite's ``INTEGER PRIMARY KEY`` (the rowid) for ``seq``.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")
_JSON = (
    JSON(none_as_null=True)
    .with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
    .with_variant(sqlite.JSON(none_as_null=True), "sqlite")
)


class ExactNumber(TypeDecorator[Decimal]):
    """Exact decimal numbers: ``NUMERIC`` (no precision: any) on PostgreSQL, bound and
    read as ``Decimal`` by psycopg; on SQLite, the decimal's fixed-point text in a
    ``TEXT`` column, because a ``NUMERIC`` column there would turn the value into a
    float (SQLite keeps 15 significant digits). Reads return ``Decimal``; a ``float``
    written here is stored as its shortest repr (``0.1``, not its binary expansion).
    """

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, float):
            value = Decimal(repr(value))
        elif isinstance(value, int):
            value = Decimal(value)
        if dialect.name == "sqlite" and isinstance(value, Decimal):
            return format(value, "f")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(value if isinstance(value, str) else repr(value))


_TYPES: dict[str, TypeEngine[Any]] = {
    "string": Text(),
    "integer": BigInteger(),
    "number": Double(),
    "boolean": Boolean(),
    "bytes": LargeBinary(),
    "json": _JSON,
}


_EXACT = ExactNumber()


def column_type(kind: str, numbers: Numbers = "float") -> TypeEngine[Any]:
    """The SQLAlchemy type of a manifest column type (``number``: per ``numbers``)."""
    if kind == "number" and numbers == "decimal":
        return _EXACT
    return _TYPES[kind]


def is_exact(spec: dict[str, Any], column: dict[str, Any]) -> bool:
    """Whether a ``number`` column follows the numbers mode: the structures' numbers do,
    the wall-clock ``received`` (raw) and ``recorded`` (history) columns do not."""
    return bool(spec["kind"] != "raw" and column["source"] != "derived")


def build_metadata(
    data: dict[str, Any] | None = None,
    *,
    prefix: str = "",
    schema: str | None = None,
    numbers: Numbers = "float",
) -> MetaData:
    """A ``MetaData`` holding every manifest table (``prefix`` + manifest name)."""
    if numbers not in ("float", "decimal"):
        raise BadRequest(f"numbers must be 'float' or 'decimal', not {numbers!r}")
    data = data if data is not None else _shipped_manifest()
    metadata = MetaData(schema=schema)
    for name, spec in data["tables"].items():
        columns: list[Column[Any]] = []
        for col in spec["columns"]:
            if spec["kind"] == "raw" and col["name"] == "seq":
                columns.append(Column("seq", _SEQ, primary_key=True, autoincrement=True))
                continue
            mode: Numbers = numbers if is_exact(spec, col) else "float"
            kind = column_type(col["type"], mode)
            columns.append(Column(col["name"], kind, nullable=col["nullable"]))
        key = spec["key"]
        constraint = (
            UniqueConstraint(*key, name=f"{prefix}{name}_key")
            if spec["kind"] == "raw"
            else PrimaryKeyConstraint(*key, name=f"{prefix}{name}_pkey")
        )
        Table(f"{prefix}{name}", metadata, *columns, constraint, comment=spec["doc"])
    return metadata


class Schema:
    """The tables of one database, by manifest name: ``schema["trades"]``.

    ``numbers`` chooses the type of ``number`` columns for the tables it creates and
    the values it binds (see :class:`ExactNumber`); existing tables keep their types.
    """

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        prefix: str = "",
        schema: str | None = None,
        numbers: Numbers = "float",
    ) -> None:
        self.manifest = data if data is not None else _shipped_manifest()
        self.prefix = prefix
        #: ``"decimal"``: structures' numbers are stored exactly (:class:`ExactNumber`).
        self.numbers: Numbers = numbers
        self.metadata = build_metadata(self.manifest, prefix=prefix, schema=schema, numbers=numbers)

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
