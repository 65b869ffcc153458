"""The structure schema manifest: every unified structure, its fields and how it is stored.

The manifest is plain JSON shipped with the package (``structures.json``) so that tools
in any language can read it. It has three parts:

* ``structures``: each unified ``msgspec.Struct`` (``Trade``, ``Order`` ...) with its
  fields in CCXT's order: ``type`` (``string``, ``integer``, ``number``, ``boolean``,
  ``bytes``, ``any``, ``struct``, ``list``, ``map``), ``nullable`` and, for
  ``Literal`` fields, ``enum``.
* ``context``: columns the recorder adds that the structure does not carry
  (``exchange``, ``account``, ``timeframe`` ...).
* ``tables``: how each structure is stored. ``kind`` is ``append`` (immutable events,
  a duplicate is ignored), ``series`` (one row per key, the newest value wins: the
  candle in progress) or ``state`` (mutable: a current-state table upserted only
  forward by ``version``, plus a ``history`` table appending every distinct
  revision). ``key`` is the natural key (the primary key); ``columns`` is the flat
  column list with SQL-level types (nested values are ``json``).

The file is generated from the Structs by :func:`build_manifest`
(``python -m ccxtpro_sync.persistence manifest``); a test checks that the shipped
file equals a fresh build, so a field added to a Struct cannot go unrecorded.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any

import msgspec
from msgspec import inspect as mi

from .._core.events import RawMessage
from .._orderbook import OrderBook
from .._structures import (
    OHLCV,
    Balance,
    Balances,
    Fee,
    FundingRate,
    Limits,
    Liquidation,
    MarginModes,
    Market,
    MinMax,
    Order,
    Position,
    Precision,
    Ticker,
    Trade,
)

__all__ = [
    "FORMAT",
    "STRUCTS",
    "build_manifest",
    "dumps",
    "fields",
    "manifest",
    "structure",
    "table",
]

#: Version of the manifest's own layout.
FORMAT = 1

#: Every unified structure, by the name the manifest uses.
STRUCTS: dict[str, type[msgspec.Struct]] = {
    "RawMessage": RawMessage,
    "Ticker": Ticker,
    "Trade": Trade,
    "Fee": Fee,
    "OHLCV": OHLCV,
    "OrderBook": OrderBook[Decimal],
    "FundingRate": FundingRate,
    "Liquidation": Liquidation,
    "Order": Order,
    "Balance": Balance,
    "Balances": Balances,
    "Position": Position,
    "Market": Market,
    "Precision": Precision,
    "Limits": Limits,
    "MinMax": MinMax,
    "MarginModes": MarginModes,
}

#: Columns the recorder supplies (they are not fields of the structures).
CONTEXT: dict[str, dict[str, str]] = {
    "exchange": {"type": "string", "doc": "the client's CCXT id (binance, binanceusdm, ...)"},
    "account": {"type": "string", "doc": "the account label the recorder was given"},
    "symbol": {"type": "string", "doc": "the candle's unified symbol (OHLCV does not carry it)"},
    "timeframe": {"type": "string", "doc": "the candle's timeframe (1m, 1h, ...)"},
    "currency": {"type": "string", "doc": "the key of Balances.balances"},
    "positionSide": {
        "type": "string",
        "doc": "long/short for hedged positions, both for one-way ones (a one-way "
        "position keeps one row while its side flips)",
    },
}

#: Columns derived from the value itself, used by raw and history tables.
DERIVED: dict[str, dict[str, Any]] = {
    "seq": {"type": "integer", "doc": "arrival order in this database (autoincrement)"},
    "digest": {"type": "string", "doc": "BLAKE2b-128 of data, hex: part of the raw key"},
    "revision": {
        "type": "string",
        "doc": "BLAKE2b-128 of the row's other columns (info excluded): one history row "
        "per distinct revision, so a replayed update is not recorded twice",
    },
    "recorded": {"type": "number", "doc": "wall-clock seconds when the row was first written"},
}


@dataclass(frozen=True)
class _Table:
    structure: str
    kind: str  # raw | append | series | state
    context: tuple[str, ...]
    key: tuple[str, ...]
    stream: str
    doc: str
    version: str | None = None
    history: bool = False
    explode: tuple[str, str] | None = None  # (map field, key column)
    derived: tuple[str, ...] = field(default=())


#: Storage policy, by table. Edit here, then regenerate ``structures.json``.
TABLES: dict[str, _Table] = {
    "raw_messages": _Table(
        "RawMessage", "raw", ("exchange",), ("exchange", "channel", "received", "digest"),
        "raw", "every payload as received (client.on_raw)", derived=("seq", "digest"),
    ),
    "trades": _Table(
        "Trade", "append", ("exchange",), ("exchange", "symbol", "id"),
        "trades", "public trades",
    ),
    "ohlcv": _Table(
        "OHLCV", "series", ("exchange", "symbol", "timeframe"),
        ("exchange", "symbol", "timeframe", "timestamp"),
        "ohlcv", "candles; the candle in progress is updated in place",
    ),
    "tickers": _Table(
        "Ticker", "series", ("exchange",), ("exchange", "symbol", "timestamp"),
        "ticker", "24 h tickers, one row per ticker timestamp",
    ),
    "order_books": _Table(
        "OrderBook", "append", ("exchange",), ("exchange", "symbol", "nonce"),
        "order_book", "top-N order book snapshots (bids/asks as JSON)",
    ),
    "funding_rates": _Table(
        "FundingRate", "series", ("exchange",), ("exchange", "symbol", "timestamp"),
        "funding_rate", "funding rates from the mark price stream",
    ),
    "liquidations": _Table(
        "Liquidation", "append", ("exchange",),
        ("exchange", "symbol", "timestamp", "side", "price", "contracts"),
        "liquidations", "liquidations (Binance gives them no id)",
    ),
    "my_trades": _Table(
        "Trade", "append", ("exchange", "account"), ("exchange", "account", "symbol", "id"),
        "my_trades", "the account's own trades",
    ),
    "orders": _Table(
        "Order", "state", ("exchange", "account"), ("exchange", "account", "id"),
        "orders", "orders: current state, and every revision in orders_history",
        version="lastUpdateTimestamp", history=True,
    ),
    "balances": _Table(
        "Balances", "state", ("exchange", "account", "currency"),
        ("exchange", "account", "currency"),
        "balance", "one row per currency (Balances.balances exploded)",
        version="timestamp", history=True, explode=("balances", "currency"),
    ),
    "positions": _Table(
        "Position", "state", ("exchange", "account", "positionSide"),
        ("exchange", "account", "symbol", "positionSide"),
        "positions", "futures positions",
        version="timestamp", history=True,
    ),
    "markets": _Table(
        "Market", "state", ("exchange",), ("exchange", "symbol"),
        "markets", "markets as loaded when recording started",
    ),
}  # fmt: skip


# --------------------------------------------------------------------------- building


def _type(info: mi.Type) -> tuple[dict[str, Any], bool]:
    """(type descriptor, nullable) of a msgspec type."""
    if isinstance(info, mi.UnionType):
        members = [t for t in info.types if not isinstance(t, mi.NoneType)]
        nullable = len(members) != len(info.types)
        if all(isinstance(t, mi.FloatType | mi.DecimalType) for t in members):
            return {"type": "number"}, nullable
        if len(members) == 1:
            return _type(members[0])[0], nullable
        raise TypeError(f"no manifest type for the union {info}")
    if isinstance(info, mi.StrType):
        return {"type": "string"}, False
    if isinstance(info, mi.BoolType):
        return {"type": "boolean"}, False
    if isinstance(info, mi.IntType):
        return {"type": "integer"}, False
    if isinstance(info, mi.FloatType | mi.DecimalType):
        return {"type": "number"}, False
    if isinstance(info, mi.BytesType):
        return {"type": "bytes"}, False
    if isinstance(info, mi.LiteralType):
        return {"type": "string", "enum": sorted(str(v) for v in info.values)}, False
    if isinstance(info, mi.StructType):
        return {"type": "struct", "struct": _name_of(info.cls)}, False
    if isinstance(info, mi.ListType):
        return {"type": "list", "items": _type(info.item_type)[0]}, False
    if isinstance(info, mi.DictType):
        return {"type": "map", "values": _type(info.value_type)[0]}, False
    if isinstance(info, mi.AnyType):
        return {"type": "any"}, True
    raise TypeError(f"no manifest type for {info}")


def _name_of(cls: type) -> str:
    origin = getattr(cls, "__origin__", cls)
    for name, struct in STRUCTS.items():
        if issubclass(getattr(struct, "__origin__", struct), origin):  # or a subclass of it
            return name
    raise TypeError(f"{cls!r} is not a structure in the manifest")


def _structure(name: str, cls: type[msgspec.Struct]) -> dict[str, Any]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    out: list[dict[str, Any]] = []
    for f in info.fields:
        descriptor, nullable = _type(f.type)
        out.append({"name": f.name, **descriptor, "nullable": nullable, "required": f.required})
    origin = getattr(cls, "__origin__", cls)
    doc = (origin.__doc__ or "").strip().split("\n")[0]
    return {"python": f"ccxtpro_sync.{origin.__name__}", "doc": doc, "fields": out}


def _column(name: str, descriptor: dict[str, Any], nullable: bool, source: str) -> dict[str, Any]:
    kind = descriptor["type"]
    sql = kind if kind in ("string", "integer", "number", "boolean", "bytes") else "json"
    column: dict[str, Any] = {"name": name, "type": sql, "nullable": nullable, "source": source}
    if "enum" in descriptor:
        column["enum"] = descriptor["enum"]
    return column


def _columns(spec: _Table, structures: dict[str, Any]) -> list[dict[str, Any]]:
    columns = [_column(c, CONTEXT[c], False, "context") for c in spec.context]
    explode = spec.explode
    for f in structures[spec.structure]["fields"]:
        if explode is not None and f["name"] == explode[0]:
            value = structures[f["values"]["struct"]]
            for g in value["fields"]:
                columns.append(_column(g["name"], g, g["nullable"], f"{f['name']}.*"))
            continue
        columns.append(_column(f["name"], f, f["nullable"], "field"))
    for d in spec.derived:
        columns.append(_column(d, DERIVED[d], False, "derived"))
    for column in columns:
        if column["name"] in spec.key:
            column["nullable"] = False
    names = [c["name"] for c in columns]
    missing = set(spec.key) - set(names)
    if missing or len(set(names)) != len(names):
        raise ValueError(f"table of {spec.structure}: bad key {missing} or duplicate columns")
    if spec.kind == "raw":  # the surrogate arrival order comes first
        columns.sort(key=lambda c: c["name"] != "seq")
    return columns


def build_manifest() -> dict[str, Any]:
    """Build the manifest from the Structs and the storage policy (what ships as JSON)."""
    structures = {name: _structure(name, cls) for name, cls in STRUCTS.items()}
    tables: dict[str, Any] = {}
    for name, spec in TABLES.items():
        entry: dict[str, Any] = {
            "structure": spec.structure,
            "kind": spec.kind,
            "doc": spec.doc,
            "stream": spec.stream,
            "key": list(spec.key),
            "version": spec.version,
            "history": f"{name}_history" if spec.history else None,
            "explode": {"field": spec.explode[0], "key": spec.explode[1]} if spec.explode else None,
            "columns": _columns(spec, structures),
        }
        tables[name] = entry
        if spec.history:
            history = dict(entry)
            history["kind"] = "history"
            history["doc"] = f"every distinct revision of {name}"
            history["key"] = [*spec.key, "revision"]
            history["history"] = None
            history["columns"] = [
                *entry["columns"],
                _column("revision", DERIVED["revision"], False, "derived"),
                _column("recorded", DERIVED["recorded"], False, "derived"),
            ]
            tables[f"{name}_history"] = history
    return {
        "format": FORMAT,
        "generated_by": "python -m ccxtpro_sync.persistence manifest",
        "context": CONTEXT,
        "derived": DERIVED,
        "structures": structures,
        "tables": tables,
    }


def dumps(data: dict[str, Any]) -> str:
    """The manifest as the shipped file spells it (stable, diff-friendly)."""
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


# --------------------------------------------------------------------------- runtime access


@functools.cache
def _load() -> str:
    return resources.files(__package__).joinpath("structures.json").read_text("utf-8")


def manifest() -> dict[str, Any]:
    """The shipped manifest (a fresh copy: mutate it freely)."""
    data: dict[str, Any] = json.loads(_load())
    return data


def structure(name: str) -> dict[str, Any]:
    """One structure's entry (``structure("Trade")``); ``KeyError`` names the known ones."""
    structures = manifest()["structures"]
    if name not in structures:
        raise KeyError(f"no structure {name!r}; known: {sorted(structures)}")
    entry: dict[str, Any] = structures[name]
    return entry


def fields(name: str) -> list[dict[str, Any]]:
    """A structure's fields, in CCXT's order."""
    found: list[dict[str, Any]] = structure(name)["fields"]
    return found


def table(name: str) -> dict[str, Any]:
    """One table's entry (``table("orders")``)."""
    tables = manifest()["tables"]
    if name not in tables:
        raise KeyError(f"no table {name!r}; known: {sorted(tables)}")
    entry: dict[str, Any] = tables[name]
    return entry
