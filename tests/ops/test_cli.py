"""The ``ccxtpro-sync`` command line, in-process and as processes, on the local exchange."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from typing import Any

import pytest

from ccxtpro_sync._cli import build_parser, main

from .conftest import SPOT, subprocess_env

FAST = ["--speed", "10"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_demo_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "demo", "--seconds", "0.6", "--interval", "0.1", "--depth", "3")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("local exchange at ws://127.0.0.1:")
    assert len(lines) >= 3 and all(" bid " in line and " ask " in line for line in lines[1:])


def test_demo_as_a_module_without_rich() -> None:
    script = (
        "import sys; sys.modules['rich'] = None\n"  # as if rich were not installed
        "sys.argv = ['ccxtpro-sync', 'demo', '--seconds', '0.5', '--interval', '0.1']\n"
        "import runpy; runpy.run_module('ccxtpro_sync', run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "local exchange at ws://" in done.stdout and " spread " in done.stdout


@pytest.mark.parametrize("kind", ["ticker", "trades", "book", "ohlcv"])
def test_watch_prints_updates(capsys: pytest.CaptureFixture[str], kind: str) -> None:
    code, out = run(capsys, "watch", kind, SPOT, "--count", "2", *FAST)
    lines = out.splitlines()
    assert code == 0 and len(lines) >= 2 and all(SPOT in line for line in lines), out


def test_watch_json_and_futures_symbol(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "watch", "ticker", "BTC/USDT:USDT", "--count", "2", "--json", *FAST)
    documents = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [d["symbol"] for d in documents] == ["BTC/USDT:USDT"] * 2


def test_live_book_view(capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    code, out = run(capsys, "book", SPOT, "--depth", "3", "--seconds", "0.5", *FAST)
    assert code == 0 and "bid size" in out and SPOT in out and "updates" in out
    from ccxtpro_sync._cli import watch

    monkeypatch.setattr(watch, "HAVE_RICH", False)
    code, out = run(capsys, "book", SPOT, "--seconds", "0.2")
    assert code == 2 and "pip install 'ccxtpro_sync[cli]'" in out


def test_sim_runs_until_ctrl_c_and_serves_other_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccxtpro_sync", "sim", *FAST],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        assert lines[0].startswith("spot") and lines[4].strip() == "Ctrl-C to stop."
        urls = re.fullmatch(r"export CCXTPRO_SYNC_URLS='(.*)'\n", lines[3])
        assert urls, lines
        assert set(json.loads(urls.group(1))) == {"spot", "usdm", "coinm"}
        code, out = run(capsys, "watch", "ticker", "--count", "1", "--urls", urls.group(1))
        assert code == 0 and SPOT in out
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopping." in rest and "Traceback" not in err


def test_smoke_passes_on_spot_and_futures(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "smoke", *FAST)
    assert code == 0 and "6 passed, 0 failed" in out and "order book" in out, out
    code, out = run(capsys, "smoke", "--symbol", "BTC/USDT:USDT", *FAST)
    assert code == 0 and "8 passed, 0 failed" in out and "funding rate" in out, out


def test_smoke_reports_failures_and_private_is_not_yet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = run(capsys, "smoke", "--symbol", "NOPE/USDT", "--timeout", "2", *FAST)
    assert code == 1 and "FAIL" in out and "BadSymbol" in out
    assert re.search(r"\d+ passed, [1-9]\d* failed", out)
    code = main(["smoke", "--private"])
    captured = capsys.readouterr()
    assert code == 2 and "not implemented yet" in captured.err


def test_soak_reports_latency_gaps_reconnects_and_drops(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = run(capsys, "soak", "--minutes", "0.04", "--chaos", "0.8", *FAST)
    assert code == 0, out
    for column in ("first update", "max gap", "reconnects", "dropped"):
        assert column in out
    assert re.search(r"events: .*connection_closed [1-9]", out), out
    assert re.search(r"updates: ticker [1-9]\d* +trades [1-9]\d* +book [1-9]\d*", out), out


def test_soak_plain_output_without_rich(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ccxtpro_sync._cli import output, soak

    monkeypatch.setattr(output, "HAVE_RICH", False)
    monkeypatch.setattr(soak, "HAVE_RICH", False)
    code, out = run(capsys, "soak", "--minutes", "0.04", "--chaos", "1.2", *FAST)
    assert code == 0, out
    header, row = out.splitlines()[1:3]
    cells = re.split(r"\s{2,}", row.strip())
    figures = dict(zip(re.split(r"\s{2,}", header.strip()), cells, strict=True))
    assert figures["state"] == "open" and int(figures["reconnects"]) >= 1
    assert figures["first update"].endswith("s") and figures["max gap"].endswith("s")
    assert int(figures["dropped"]) == 0


def test_target_options_parse() -> None:
    args = build_parser().parse_args(["watch", "ohlcv", "ETH/USDT", "--env", "prod"])
    assert (args.env, args.kind, args.symbol, args.timeframe) == ("prod", "ohlcv", "ETH/USDT", "1m")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["watch", "depth", SPOT])
