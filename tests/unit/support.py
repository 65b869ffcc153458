"""Helpers for the tests of the trades fast paths: the compiled parts and their
pure-Python switch, and a decoder bug planted in a bound stream."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.required import unavailable

ROOT = Path(__file__).resolve().parents[2]
PURE_PYTHON = "CCXTPRO_SYNC_PURE_PYTHON"


def compiled_missing(part: str, module: str) -> None:
    """Skip where the compiled modules are ruled out on purpose; else, they must be built."""
    if os.environ.get(PURE_PYTHON, "") not in ("", "0"):
        pytest.skip(f"{part} is ruled out ({PURE_PYTHON})")
    unavailable(part, f"{module} is not built")


def printed_in_child(value: str | None, code: str) -> str:
    """What ``code`` prints in a fresh interpreter with ``CCXTPRO_SYNC_PURE_PYTHON``
    set to ``value`` (unset for None): the choice is made at import time."""
    env = {k: v for k, v in os.environ.items() if k != PURE_PYTHON}
    if value is not None:
        env[PURE_PYTHON] = value
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def decoder_bug(decode: Callable[[bytes], Any], trade_id: int) -> Callable[[bytes], Any]:
    """``decode`` with a bug: it raises what no decode should (``KeyError``) for the
    aggTrade frame of ``trade_id``, and decodes every other frame."""
    marker = b'"a":%d,' % trade_id

    def buggy(frame: bytes) -> Any:
        if marker in frame:
            raise KeyError("a decoder bug")
        return decode(frame)

    return buggy
