"""A real Redis for the fan-out tests.

``CCXTPRO_SYNC_TEST_REDIS_URL`` names a running server (``.ci/run`` starts one);
without it a throwaway ``redis-server`` is started on a unix socket when the binary
exists. A test that cannot have Redis is skipped saying why, and fails under CI=true
(``tests/required.py``). Tests share the server through a unique key prefix each.
Tests that restart Redis get a server of their own (needs the binary).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.required import import_required, unavailable

redis = import_required("redis", "Redis", "pip install -e '.[test]'")

import pytest  # noqa: E402

ENV = "CCXTPRO_SYNC_TEST_REDIS_URL"


class RedisServer:
    """A redis-server process on a unix socket in its own directory; restartable."""

    def __init__(self, root: Path, *extra: str) -> None:
        self.root = root
        self.socket = root / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("Redis", f"{ENV} is not set and no redis-server binary was found")
        self.process = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(self.socket), "--dir", str(self.root),
             "--save", "", *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                break
            except redis.RedisError as error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    unavailable("Redis", f"redis-server did not start: {error}")
                time.sleep(0.02)  # polling a starting server; there is nothing to wait on
        client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.socket.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get(ENV)
    if url:
        try:
            redis.Redis.from_url(url).ping()
        except redis.RedisError as error:
            unavailable("Redis", f"{ENV}={url} does not answer: {error}")
        yield url
        return
    root = Path(tempfile.mkdtemp(prefix="ccxtpro_sync-redis-"))
    server = RedisServer(root)
    try:
        server.start()
        yield server.url
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own, with an append-only file so a restart keeps data."""
    root = Path(tempfile.mkdtemp(prefix="ccxtpro_sync-redis-"))
    server = RedisServer(root, "--appendonly", "yes", "--appendfsync", "always")
    try:
        server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)
