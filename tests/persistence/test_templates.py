"""Generated Alembic revision and Django models: valid, and equal to the recorder's schema."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ccxtpro_sync.persistence import Recorder, Schema, alembic_revision, django_models, manifest

from ..required import import_required, unavailable
from .conftest import NewUrl
from .support import count

ROOT = Path(__file__).resolve().parents[2]


def _shape(engine: sa.Engine) -> dict[str, Any]:
    inspector = sa.inspect(engine)
    return {
        name: (
            [(c["name"], c["nullable"]) for c in inspector.get_columns(name)],
            inspector.get_pk_constraint(name)["constrained_columns"],
        )
        for name in sorted(inspector.get_table_names())
        if name != "alembic_version"
    }


def test_alembic_revision_creates_the_recorders_tables(new_url: NewUrl) -> None:
    import_required("alembic", "Alembic template", "pip install -e '.[test]'")
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    source = alembic_revision()
    ast.parse(source)
    migrated, created = sa.create_engine(new_url()), sa.create_engine(new_url())
    try:
        module: dict[str, Any] = {}
        with migrated.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            exec(compile(source, "ccxtpro_sync_0001.py", "exec"), module)
            module["upgrade"]()
        Schema().metadata.create_all(created)
        assert _shape(migrated) == _shape(created) and len(_shape(migrated)) == 15
        with migrated.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            module["downgrade"]()
        assert _shape(migrated) == {}
    finally:
        migrated.dispose()
        created.dispose()


def _undated(text: str) -> str:
    """The text without its creation time (the one line that differs between runs)."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("Create Date:"))


def test_command_line_prints_the_templates() -> None:
    def run(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "ccxtpro_sync.persistence", *args],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout  # fmt: skip

    for command, expected in (("alembic", alembic_revision()), ("django", django_models())):
        out = run(command)
        ast.parse(out)
        assert _undated(out) == _undated(expected)
    # the manifest is the shipped file, byte for byte (what the regenerate hint relies on)
    out = run("manifest")
    assert out == (ROOT / "ccxtpro_sync" / "persistence" / "structures.json").read_text("utf-8")
    assert json.loads(out) == manifest() and set(manifest()["structures"]) >= {"Trade", "Order"}
    prefixed = run("alembic", "--prefix", "rec_", "--revision", "r9")
    assert _undated(prefixed) == _undated(alembic_revision(revision="r9", prefix="rec_"))
    assert "Revision ID: r9" in prefixed and "rec_trades" in prefixed


def test_django_models_load_and_read_recorded_rows(tmp_path: Path) -> None:
    django = import_required("django", "Django template", "pip install -e '.[test]'")
    if django.VERSION < (5, 2):
        unavailable(
            "Django template",
            f"the models need Django 5.2+ (CompositePrimaryKey), not {django.__version__}",
        )
    from ccxtpro_sync import Trade

    db = tmp_path / "recorded.sqlite"
    with Recorder(None, f"sqlite:///{db}", exchange="binance", markets=False, raw=False,
                  streams=()) as recorder:  # fmt: skip
        recorder.offer("trades", [Trade(id=str(i), symbol="BTC/USDT", price=1.0) for i in range(3)])
    assert count(f"sqlite:///{db}", "trades") == 3
    models = tmp_path / "recorded_models.py"
    models.write_text(django_models(app_label="recorded"))
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import django
        from django.conf import settings
        settings.configure(
            DATABASES={{
                "default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {str(db)!r}}}
            }},
            INSTALLED_APPS=["django.contrib.contenttypes"],
            DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        )
        django.setup()
        import recorded_models as m
        from django.core import checks
        errors = [e for e in checks.run_checks() if e.level >= checks.ERROR]
        assert not errors, errors
        assert m.Trades.objects.count() == 3
        trade = m.Trades.objects.order_by("ccxt_id").first()
        assert trade.ccxt_id == "0" and trade.exchange == "binance" and trade.fees == []
        assert m.Orders.objects.count() == 0 and m.RawMessages.objects.count() == 0
        print("ok")
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]
