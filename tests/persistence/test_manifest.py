"""The shipped manifest stays in step with the msgspec Structs."""

from __future__ import annotations

import configparser
from pathlib import Path

import msgspec
import pytest

from ccxtpro_sync import OHLCV, Order, Trade
from ccxtpro_sync.persistence import build_manifest, fields, manifest, structure, table
from ccxtpro_sync.persistence.manifest import FORMAT, STRUCTS, dumps

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "ccxtpro_sync" / "persistence" / "structures.json"


def test_shipped_manifest_equals_a_fresh_build_from_the_structs() -> None:
    assert SHIPPED.read_text("utf-8") == dumps(build_manifest()), (
        "structures.json is stale: regenerate it with "
        "`python -m ccxtpro_sync.persistence manifest > ccxtpro_sync/persistence/structures.json`"
    )


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_every_struct_field_is_described(name: str) -> None:
    struct = STRUCTS[name]
    names = [f.name for f in msgspec.structs.fields(struct)]
    assert [f["name"] for f in fields(name)] == names
    for f, info in zip(fields(name), msgspec.structs.fields(struct), strict=True):
        assert f["required"] == (info.required)


def test_a_field_added_to_a_struct_changes_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    class Wider(Trade, kw_only=True):
        venueLatency: int | None = None

    monkeypatch.setitem(STRUCTS, "Trade", Wider)
    built = build_manifest()
    assert dumps(built) != SHIPPED.read_text("utf-8")
    assert any(c["name"] == "venueLatency" for c in built["tables"]["trades"]["columns"])


def test_every_field_of_a_stored_structure_is_a_column() -> None:
    data = manifest()
    for name, spec in data["tables"].items():
        columns = {c["name"] for c in spec["columns"]}
        explode = spec["explode"]
        for f in data["structures"][spec["structure"]]["fields"]:
            if explode and f["name"] == explode["field"]:
                continue
            assert f["name"] in columns, (name, f["name"])
        assert set(spec["key"]) <= columns
        assert all(not c["nullable"] for c in spec["columns"] if c["name"] in spec["key"])


def test_keys_and_kinds() -> None:
    assert table("trades")["key"] == ["exchange", "symbol", "id"]
    assert table("ohlcv")["key"] == ["exchange", "symbol", "timeframe", "timestamp"]
    assert table("orders")["key"] == ["exchange", "account", "id"]
    for mutable in ("orders", "balances", "positions"):
        assert table(mutable)["kind"] == "state"
        assert table(mutable)["history"] == f"{mutable}_history"
        assert table(f"{mutable}_history")["key"][-1] == "revision"
    for append in ("trades", "liquidations", "my_trades", "order_books"):
        assert table(append)["kind"] == "append"
    assert table("ohlcv")["kind"] == "series"


def test_runtime_access() -> None:
    assert structure("Order")["python"] == "ccxtpro_sync.Order"
    assert [f["name"] for f in fields("Order")] == list(Order.__struct_fields__)
    assert [f["name"] for f in fields("OHLCV")] == list(OHLCV.__struct_fields__)
    side = next(f for f in fields("Trade") if f["name"] == "side")
    assert side == {
        "name": "side", "type": "string", "enum": ["buy", "sell"], "nullable": True,
        "required": False,
    }  # fmt: skip
    with pytest.raises(KeyError, match="known"):
        structure("Nope")
    first = manifest()
    first["tables"].clear()  # a copy: the next caller is unaffected
    assert manifest()["tables"]
    assert manifest()["format"] == FORMAT


def test_manifest_ships_as_package_data() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert "*.json" in config["options.package_data"]["ccxtpro_sync.persistence"]
