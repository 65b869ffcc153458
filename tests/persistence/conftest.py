"""Databases for the persistence tests: SQLite files, and a real PostgreSQL server.

PostgreSQL comes from ``CCXTPRO_SYNC_TEST_POSTGRES_URL`` (``.ci/run`` starts a server
and sets it). Without it, a throwaway server is started with ``initdb``/``pg_ctl`` on
a free port if the binaries exist; the PostgreSQL tests are skipped, saying why, only
when no server can be had, and FAIL instead under ``CI=true`` (``tests/required.py``).
Each test gets fresh PostgreSQL schemas (one per database it asks for), selected
through the URL's ``search_path``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ccxtpro_sync.simulator import LocalExchange

from ..required import import_required, unavailable

sa = import_required("sqlalchemy", "persistence", "pip install -e '.[test]'")
make_url = sa.engine.make_url

ENV = "CCXTPRO_SYNC_TEST_POSTGRES_URL"

NewUrl = Callable[[], str]


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose user may create schemas in its database."""
    import_required("psycopg", "PostgreSQL", "pip install -e '.[test]'")
    url = os.environ.get(ENV)
    if url:
        yield make_url(url).set(drivername="postgresql+psycopg").render_as_string(False)
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        unavailable(
            "PostgreSQL",
            f"{ENV} is not set and no initdb/pg_ctl was found "
            "(apt-get install postgresql, or run .ci/run)",
        )
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="ccxtpro_sync-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("PostgreSQL", f"{ENV} unset, running as root, no postgres user")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    log = root / "server.log"
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "ccxtpro_sync", "--auth=trust", "-E", "UTF8"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except (subprocess.SubprocessError, OSError) as error:
        tail = log.read_text()[-2000:] if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        unavailable("PostgreSQL", f"could not start a server ({error}) {tail}")
    base = f"postgresql+psycopg://ccxtpro_sync@127.0.0.1:{port}"
    engine = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE DATABASE ccxtpro_sync_test"))
    engine.dispose()
    try:
        yield f"{base}/ccxtpro_sync_test"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_urls(postgres_url: str) -> Iterator[NewUrl]:
    """Makes URLs of fresh, empty PostgreSQL schemas (dropped after the test)."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def new() -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        made.append(schema)
        url = make_url(postgres_url).update_query_dict(
            {"options": f"-csearch_path={schema}", "application_name": schema}
        )
        return url.render_as_string(hide_password=False)

    yield new
    with admin.connect() as conn:
        for schema in made:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> NewUrl:
    """Makes URLs of fresh databases: SQLite files, or PostgreSQL schemas."""
    if request.param == "postgresql":
        factory: NewUrl = request.getfixturevalue("pg_urls")
        return factory
    counter = iter(range(1000))
    return lambda: f"sqlite:///{tmp_path / f'db{next(counter)}.sqlite'}"


@pytest.fixture
def manual_exchange() -> Iterator[LocalExchange]:
    """An exchange that only moves on ``tick()``, so every trade can be accounted for."""
    with LocalExchange(
        seed=5, auto_publish=False, speed=10.0, tick_interval=0.01, rest_weight=1_000_000
    ) as ex:
        yield ex
