"""The Celery and Django example variants that read from Redis: their workers and views
get live data published by a collector, and open no exchange socket themselves."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ccxtpro_sync.fanout import Collector
from ccxtpro_sync.simulator import LocalExchange

from ..ops.conftest import subprocess_env
from .test_fanout import SYMBOL, make_client

pytest.importorskip("celery", reason="the Celery example needs celery: pip install -e '.[test]'")
pytest.importorskip("django", reason="the Django example needs django: pip install -e '.[test]'")

from celery import Celery

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def published(redis_url: str, prefix: str) -> Iterator[LocalExchange]:
    """A local exchange whose BTC/USDT a collector (in this process) publishes."""
    with (
        LocalExchange(seed=3, speed=10.0, tick_interval=0.01) as exchange,
        make_client(exchange) as client,
        Collector(client, redis_url, [SYMBOL], prefix=prefix) as collector,
    ):
        assert collector.wait_active(10)
        yield exchange


def test_celery_workers_read_from_redis(
    published: LocalExchange, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    folders = {d: tmp_path / d for d in ("queue", "processed", "results", "control")}
    for folder in folders.values():
        folder.mkdir()
    sender = Celery("sender")
    sender.conf.update(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": str(folders["queue"]),
            "data_folder_out": str(folders["queue"]),
            "processed_folder": str(folders["processed"]),
            "control_folder": str(folders["control"]),
            "store_processed": False,
            "polling_interval": 0.1,
        },
        result_backend=f"file://{folders['results']}",
    )
    # The collector's own connection, once its streams are on the wire (it may still be
    # opening when the lease is won): the view must add none of its own.
    [before] = published.wait_until(
        lambda s: (ids := {c.id for c in s.connections if c.subscriptions}) and (ids,),
        timeout=10,
        what="the collector's streams subscribed",
    )
    env = subprocess_env(
        CELERY_DATA_DIR=str(tmp_path),
        CCXTPRO_SYNC_REDIS=redis_url,
        CCXTPRO_SYNC_FANOUT_PREFIX=prefix,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "redis_tasks", "worker", "--pool=prefork",
         "--concurrency=2", "--loglevel=INFO", "--without-heartbeat", "--without-mingle",
         "--without-gossip"],
        cwd=EXAMPLES / "celery_app", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert worker.stdout is not None
        for line in worker.stdout:
            lines.append(line)
            if " ready." in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(60), "worker not ready:\n" + "".join(lines)

        def run(task: str) -> Any:
            result = sender.send_task(f"redis_tasks.{task}", args=(SYMBOL,))
            return result.get(timeout=30, interval=0.05)

        price = run("last_price")
        book = run("top_of_book")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        reader.join(5)
        sender.close()
    output = "".join(lines)
    assert price["symbol"] == SYMBOL and price["last"] > 0
    assert price["parent"] == worker.pid  # a prefork child ran it
    assert book["symbol"] == SYMBOL and book["bid"][0] < book["ask"][0]
    assert {c.id for c in published.connections()} == before, "a worker opened a socket"
    assert "Traceback" not in output, output


DJANGO_CLIENT = """
import json, django
django.setup()
from django.test import Client
response = Client().get("/redis/ticker/", {"symbol": "BTC/USDT"})
print(json.dumps({"status": response.status_code, "body": response.json()}))
from markets.client import remote_client
remote_client.close()
"""


def test_django_view_reads_from_redis(
    published: LocalExchange, redis_url: str, prefix: str
) -> None:
    # The collector's own connection, once its streams are on the wire (it may still be
    # opening when the lease is won): the view must add none of its own.
    [before] = published.wait_until(
        lambda s: (ids := {c.id for c in s.connections if c.subscriptions}) and (ids,),
        timeout=10,
        what="the collector's streams subscribed",
    )
    env = subprocess_env(
        DJANGO_SETTINGS_MODULE="project.settings",
        CCXTPRO_SYNC_REDIS=redis_url,
        CCXTPRO_SYNC_FANOUT_PREFIX=prefix,
    )
    done = subprocess.run(
        [sys.executable, "-c", DJANGO_CLIENT],
        check=False, cwd=EXAMPLES / "django_project", env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200, answer
    assert answer["body"]["symbol"] == SYMBOL and answer["body"]["last"] > 0
    assert {c.id for c in published.connections()} == before
