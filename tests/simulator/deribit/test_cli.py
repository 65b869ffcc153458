"""``ccxtpro-sync sim --exchange deribit`` serves the local Deribit until stopped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import Rpc

ROOT = Path(__file__).resolve().parents[3]


def test_cli_runs_the_local_deribit() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccxtpro_sync", "sim", "--exchange", "deribit", "--seconds", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        found = re.search(r"ws=(ws://\S+/ws/api/v2)\s+rest=(http://\S+/api/v2)", first)
        assert found, first
        key = re.search(r"client_id=(\S+) client_secret=(\S+)", proc.stdout.readline())
        assert key
        with Rpc(found.group(1)) as client:
            assert client.result("public/test") == {"version": "1.2.26"}
            auth = client.result("public/auth", {"grant_type": "client_credentials",
                                                 "client_id": key.group(1),
                                                 "client_secret": key.group(2)})  # fmt: skip
            assert auth["access_token"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0
