"""The Django example for real: settings, AppConfig guard, a view, the management command,
and ``runserver`` with its autoreloader (the client lives only in the serving process)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ccxtpro_sync.contrib.django import management_command, should_start_client
from ccxtpro_sync.simulator import LocalExchange

from .conftest import SPOT, subprocess_env

PROJECT = Path(__file__).parents[2] / "examples" / "django_project"


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["gunicorn", "project.wsgi"], {}, True),
        (["/x/manage.py", "runserver"], {}, False),  # the autoreloader's watcher
        (["/x/manage.py", "runserver"], {"RUN_MAIN": "true"}, True),  # its serving child
        (["/x/manage.py", "runserver", "--noreload"], {}, True),
        (["/x/manage.py", "migrate"], {}, False),
        (["/x/manage.py", "shell", "--verbosity", "2"], {}, False),
        (["/usr/bin/django-admin", "test"], {}, False),
        (["/lib/django/__main__.py", "check"], {}, False),
    ],
)
def test_should_start_client(argv: list[str], environ: dict[str, str], expected: bool) -> None:
    assert should_start_client(argv, environ) is expected


def test_management_command_parsing() -> None:
    assert management_command(["manage.py", "migrate", "-v", "2"]) == "migrate"
    assert management_command(["manage.py"]) is None
    assert management_command(["/venv/bin/pytest", "tests"]) is None


@pytest.fixture
def django_app(exchange: LocalExchange, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``django.setup()`` with the example's settings, its client on ``exchange``."""
    import django
    from django.conf import settings

    monkeypatch.syspath_prepend(str(PROJECT))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "project.settings")
    monkeypatch.setenv("CCXTPRO_SYNC_URLS", json.dumps(exchange.urls("spot")))
    library_logger = logging.getLogger("ccxtpro_sync")
    monkeypatch.setattr(library_logger, "handlers", list(library_logger.handlers))
    monkeypatch.setattr(library_logger, "level", library_logger.level)  # LOGGING changes both
    django.setup()
    from markets.client import market_client

    # Settings are per process: point them at this test's exchange, make a fresh client.
    market_client.close()
    monkeypatch.setattr(
        settings,
        "CCXTPRO_SYNC",
        {"environment": "local", "urls": exchange.urls("spot"), "timeout": 10},
    )
    try:
        yield market_client
    finally:
        market_client.close()


def test_view_uses_the_process_client(django_app: Any) -> None:
    from django.test import Client

    response = Client().get("/ticker/", {"symbol": SPOT})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["symbol"] == SPOT and body["last"] > 0
    client = django_app.get()
    assert django_app.started and client.connections()[0].subscriptions == ["btcusdt@ticker"]
    assert Client().get("/ticker/", {"symbol": SPOT}).json()["symbol"] == SPOT
    assert django_app.get() is client  # the same client for every request
    bad = Client().get("/ticker/", {"symbol": "NOPE/USDT"})
    assert bad.status_code == 400 and bad.json()["error"] == "BadSymbol"  # the caller's mistake


def test_management_command_in_process(django_app: Any) -> None:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("watch_ticker", SPOT, count=2, stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(f"  {SPOT}  last " in line for line in lines)


def test_management_command_as_a_process(exchange: LocalExchange) -> None:
    env = subprocess_env(CCXTPRO_SYNC_URLS=json.dumps(exchange.urls("spot")))
    done = subprocess.run(
        [sys.executable, "manage.py", "watch_ticker", SPOT, "--count", "2", "-v", "2"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "app client started: False"  # the AppConfig guard held
    assert len(lines) == 3 and all(SPOT in line for line in lines[1:])
    exchange.wait_for_connections(0, timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_runserver_with_autoreloader_starts_one_client_in_the_serving_process(
    exchange: LocalExchange,
) -> None:
    port = free_port()
    env = subprocess_env(CCXTPRO_SYNC_URLS=json.dumps(exchange.urls("spot")))
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the reloader and its child
    )
    try:
        deadline = time.monotonic() + 30
        body: dict[str, Any] = {}
        while not body:
            assert time.monotonic() < deadline, "runserver did not answer"
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/ticker/?symbol=BTC/USDT", timeout=10
                ) as response:
                    body = json.load(response)
            except OSError:
                time.sleep(0.1)  # not listening yet
        assert body["symbol"] == SPOT
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
    created = re.findall(r"created <binance \w+ spot> in process (\d+)", output)
    assert len(created) == 1, output  # the serving child only, not the reloader
    assert int(created[0]) != proc.pid
    exchange.wait_for_connections(0, timeout=10)
