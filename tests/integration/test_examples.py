"""The examples run against the embedded local exchange and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(name: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--seconds", "1.5", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_callbacks_example_prints_trades() -> None:
    out = run("callbacks.py")
    assert "trade " in out


def test_blocking_loop_example_prints_tickers_and_a_candle() -> None:
    out = run("blocking_loop.py")
    assert "new trades" in out and "candle [" in out


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_order_book_printer_example(market: str) -> None:
    out = run("order_book_printer.py", "--market", market, "--depth", "3")
    assert "nonce" in out and "-" * 56 in out


def test_order_smoke_example_runs_locally_and_refuses_real_envs_without_the_flag() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "order_smoke.py")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok  ") == 6 and "clean" in result.stdout
    refused = subprocess.run(
        [sys.executable, str(EXAMPLES / "order_smoke.py"), "--env", "testnet"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "--really" in refused.stderr
