"""``python -m ccxtpro_sync.persistence manifest|alembic|django``: print generated files."""

from __future__ import annotations

import argparse
import sys

from .manifest import build_manifest, dumps
from .templates import alembic_revision, django_models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ccxtpro_sync.persistence",
        description="Print the structure manifest, an Alembic revision or Django models.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("manifest", help="the manifest, rebuilt from the Structs")
    alembic = commands.add_parser("alembic", help="an Alembic revision creating the tables")
    alembic.add_argument("--revision", default="ccxtpro_sync_0001")
    alembic.add_argument("--down-revision", default=None)
    alembic.add_argument("--prefix", default="", help="table name prefix")
    django = commands.add_parser("django", help="unmanaged Django models (Django 5.2+)")
    django.add_argument("--app-label", default=None)
    django.add_argument("--prefix", default="", help="table name prefix")
    args = parser.parse_args(argv)
    if args.command == "manifest":
        text = dumps(build_manifest())
    elif args.command == "alembic":
        text = alembic_revision(
            revision=args.revision, down_revision=args.down_revision, prefix=args.prefix
        )
    else:
        text = django_models(app_label=args.app_label, prefix=args.prefix)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
