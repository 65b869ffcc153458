"""Persistence: record raw payloads and unified structures into SQLite or PostgreSQL.

* :func:`manifest`, :func:`structure`, :func:`fields`, :func:`table`: the shipped
  machine-readable description of every unified structure and how it is stored.
* :class:`Schema`, :func:`build_metadata`, :func:`connect`: SQLAlchemy Core tables
  generated from the manifest (float64 numbers, or exact ones: :class:`ExactNumber`),
  and engines for ``sqlite:///file.db`` (the default) or ``postgresql://...`` URLs.
* :class:`Recorder`: subscribe to a client like any consumer and write, off the
  dispatcher thread, idempotently.
* :func:`replay`, :func:`read_raw`: rebuild structures from a recorded raw log.
* :func:`alembic_revision`, :func:`django_models`: generated starting points
  (``python -m ccxtpro_sync.persistence alembic|django``).

Needs the ``persistence`` extra (SQLAlchemy 2), plus ``postgresql`` for psycopg.
See docs/persistence.md.
"""

from __future__ import annotations

from ._sink import Batch
from .manifest import build_manifest, fields, manifest, structure, table
from .recorder import STREAMS, Recorder, Report, numbers_of
from .replay import Replayed, read_raw, replay
from .schema import ExactNumber, Numbers, Schema, build_metadata, connect
from .templates import alembic_revision, django_models

__all__ = [
    "STREAMS",
    "Batch",
    "ExactNumber",
    "Numbers",
    "Recorder",
    "Replayed",
    "Report",
    "Schema",
    "alembic_revision",
    "build_manifest",
    "build_metadata",
    "connect",
    "django_models",
    "fields",
    "manifest",
    "numbers_of",
    "read_raw",
    "replay",
    "structure",
    "table",
]
