"""A real part that cannot be had is a skip locally and a failure under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
from tests.required import import_required, unavailable

def test_needs_a_server():
    unavailable("Thing", "no server here")

def test_needs_a_module():
    import_required("ccxtpro_sync_no_such_module", "Thing", "pip install it")
"""


def _run(tmp_path: Path, ci: str | None, *options: str) -> subprocess.CompletedProcess[str]:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly", "-p", "no:cacheprovider",
         *options, str(probe)],
        check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_without_ci_a_missing_real_part_is_a_skip_saying_why(tmp_path: Path) -> None:
    run = _run(tmp_path, None)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 skipped" in run.stdout and "Thing tests cannot run: no server here" in run.stdout


# The suite runs on pytest-xdist workers (pyproject addopts): a worker's failure must
# fail the run as well.
@pytest.mark.parametrize("options", [(), ("-n", "2")], ids=["one-process", "xdist"])
@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_missing_real_part_fails_the_run(
    tmp_path: Path, ci: str, options: tuple[str, ...]
) -> None:
    run = _run(tmp_path, ci, *options)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "2 failed" in run.stdout and "skipped" not in run.stdout
    assert "a real part is required under CI=true" in run.stdout
    assert "ccxtpro_sync_no_such_module is not installed" in run.stdout
    assert ("[gw0]" in run.stdout or "[gw1]" in run.stdout) == bool(options)  # on workers
