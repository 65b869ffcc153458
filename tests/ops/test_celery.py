"""A real Celery worker (prefork pool, in a subprocess) runs tasks that read a local
exchange started here: one client per worker child, nothing in the parent."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from ccxtpro_sync.simulator import LocalExchange

from .conftest import SPOT, subprocess_env

EXAMPLE = Path(__file__).parents[2] / "examples" / "celery_app"


class Worker:
    """``celery -A market_tasks worker`` in a subprocess; output collected by a thread."""

    def __init__(self, env: dict[str, str], pool: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "market_tasks",
                "worker",
                f"--pool={pool}",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=EXAMPLE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if " ready." in line:
                self._ready.set()

    def wait_ready(self, timeout: float) -> None:
        assert self._ready.wait(timeout), "worker not ready:\n" + self.output

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> int:
        """Warm shutdown (SIGTERM), as a process manager would."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(5)
        return code


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[Celery, dict[str, str]]]:
    """A sending app and the worker's environment, sharing a filesystem broker."""
    queue, processed, results, control = (
        tmp_path / d for d in ("queue", "processed", "results", "control")
    )
    for folder in (queue, processed, results, control):
        folder.mkdir()
    app = Celery("sender")
    app.conf.update(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "processed_folder": str(processed),
            "control_folder": str(control),
            "store_processed": False,
            "polling_interval": 0.1,
        },
        result_backend=f"file://{results}",
    )
    yield app, {"CELERY_DATA_DIR": str(tmp_path)}
    app.close()


def run(app: Celery, task: str, *args: Any) -> Any:
    return app.send_task(f"market_tasks.{task}", args=args).get(timeout=30, interval=0.05)


def test_prefork_worker_uses_one_client_per_child(
    exchange: LocalExchange, broker: tuple[Celery, dict[str, str]]
) -> None:
    app, env = broker
    worker = Worker(
        subprocess_env(CCXTPRO_SYNC_URLS=json.dumps(exchange.urls("spot")), **env), "prefork"
    )
    try:
        worker.wait_ready(30)
        first = run(app, "last_price", SPOT)
        second = run(app, "last_price", SPOT)
        book = run(app, "top_of_book", SPOT)
    finally:
        code = worker.stop()
    output = worker.output
    assert code == 0, output
    assert first["symbol"] == SPOT and first["last"] > 0
    assert book["symbol"] == SPOT and book["bid"][0] < book["ask"][0]
    # Tasks ran in a forked child (not the worker's main process), all on one client.
    assert first["pid"] != worker.proc.pid and first["parent"] == worker.proc.pid
    assert (second["pid"], second["client"]) == (first["pid"], first["client"])
    created = re.findall(r"created <binance \w+ spot> in process (\d+)", output)
    assert created == [str(first["pid"])], output  # made by worker_process_init, child only
    closed = re.findall(r"closed <binance \w+ spot> in process (\d+)", output)
    assert closed == [str(first["pid"])], output  # and closed by worker_process_shutdown
    assert "Traceback" not in output, output
    exchange.wait_for_connections(0, timeout=10)
