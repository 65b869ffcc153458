"""The examples run against the embedded local exchange and print what they promise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def test_notebook_runs_in_a_real_kernel_and_is_stored_without_outputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import nbformat
    from nbclient import NotebookClient

    path = EXAMPLES / "notebook.ipynb"
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip outputs"
    root = str(EXAMPLES.parent)  # the kernel imports this checkout
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    )
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
    ).execute()

    def text(cell: Any) -> str:
        parts = []
        for output in cell.outputs:
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
        return "".join(parts)

    ticker, trades, book, close = (text(c) for c in code[1:])
    assert re.search(r"BTC/USDT last \d", ticker), ticker
    # the callback's handle was updated in place from the dispatcher thread
    assert re.search(r"'\d+ trades so far; last (buy|sell) ", trades), trades
    assert re.search(r"received (\d\d+) trades", trades), trades
    assert len(re.findall(r"nonce \d+ +bid \d", book)) == 3, book
    assert close.strip() == "closed"
