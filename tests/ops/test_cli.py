"""The ``ccxtpro-sync`` command line, in-process and as processes, on the local exchange."""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import subprocess
import sys
from typing import Any

import pytest

from ccxtpro_sync._cli import build_parser, main
from ccxtpro_sync.simulator import LocalExchange

from ..ports import refused_port
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
    assert all(re.match(ISO + "  bid ", line) for line in lines[1:]), out  # a time from row 1


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
    code = main(["book", SPOT, "--seconds", "0.2"])
    err = capsys.readouterr().err
    assert code == 1 and "pip install 'ccxtpro_sync[local]'" in err


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


def test_smoke_reports_failures_and_private_runs_the_private_checks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = run(capsys, "smoke", "--symbol", "NOPE/USDT", "--timeout", "2", *FAST)
    assert code == 1 and "FAIL" in out and "BadSymbol" in out
    assert re.search(r"\d+ passed, [1-9]\d* failed", out)
    code, out = run(capsys, "smoke", "--private", *FAST)
    assert code == 0, out
    assert "private: key permissions" in out and "private: user data" in out
    assert "not implemented" not in out


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


# -- user mistakes: one line on stderr, 2 for usage, 1 at run time --------------------------


def fail(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse's own usage errors
        code = int(exit_.code or 0)
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["watch", "ticker", "NOPE/USDT", "--count", "1"], 2, "has no market 'NOPE/USDT'"),
        (["watch", "ohlcv", "--timeframe", "7x", "--count", "1"], 2, "unknown timeframe '7x'"),
        (["demo", "--symbol", "NOPE/USDT", "--seconds", "1"], 2, "has no market 'NOPE/USDT'"),
        (["watch", "ticker", "--env", "bogus"], 2, "invalid choice: 'bogus'"),
        (["smoke", "--minutes", "1"], 2, "unrecognized arguments: --minutes"),
        # numbers out of range: a usage error naming the option, before anything runs
        # (these were IndexError/OverflowError/ValueError exits 1, or runs that never end)
        (["demo", "--depth", "0"], 2, "argument --depth: must be at least 1, not 0"),
        (["watch", "book", "--depth", "0"], 2, "argument --depth: must be at least 1"),
        (["demo", "--seconds", "-1"], 2, "argument --seconds: must be 0 (no limit) or more"),
        (["demo", "--interval", "nan"], 2, "argument --interval: must be a finite number"),
        (["watch", "ticker", "--count", "-1"], 2, "argument --count: must be 0 (no limit)"),
        (["watch", "ticker", "--speed", "0"], 2, "argument --speed: must be more than 0"),
        (["watch", "ticker", "--timeout", "inf"], 2, "argument --timeout: must be a finite"),
        (["soak", "--minutes", "nan"], 2, "argument --minutes: must be a finite number"),
        (["sim", "--ws-port", "99999"], 2, "argument --ws-port: must be a port 0..65535"),
        (["sim", "--speed", "nan"], 2, "argument --speed: must be a finite number"),
        (["sim", "--seconds", "x"], 2, "argument --seconds: invalid number 'x'"),
        # an empty symbol is a mistake, not the default symbol
        (["watch", "ticker", "", "--count", "1"], 2, "argument symbol: must be a symbol"),
        (["book", " ", "--seconds", "1"], 2, "argument symbol: must be a symbol"),
        (["demo", "--symbol", "", "--seconds", "1"], 2, "argument --symbol: must be a symbol"),
        (["collect", "BTC/USDT", "", "--redis", "redis://x"], 2, "argument symbols: must be"),
    ],
)
def test_usage_mistakes_print_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, says: str
) -> None:
    found, err = fail(capsys, *argv)
    assert found == code and says in one_line(err)


def test_unreachable_network_is_one_summarised_line(capsys: pytest.CaptureFixture[str]) -> None:
    with refused_port() as port:
        urls = json.dumps({k: f"{'http' if k == 'rest' else 'ws'}://127.0.0.1:{port}"
                           for k in ("ws", "ws_api", "rest")})  # fmt: skip
        code, err = fail(capsys, "watch", "ticker", "--count", "1", "--urls", urls,
                         "--timeout", "5")  # fmt: skip
    assert code == 1
    assert one_line(err) == "ccxtpro-sync watch: cannot reach 127.0.0.1: connection refused"


def test_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, err = fail(capsys, "sim", "--rest-port", str(port), "--seconds", "0.1")
    assert code == 1
    assert one_line(err) == (
        f"ccxtpro-sync sim: cannot listen on 127.0.0.1 port {port}: address already in use"
    )


def test_verbose_adds_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--verbose", "watch", "ticker", "NOPE/USDT"], ["watch", "ticker", "NOPE/USDT",
                                                                  "--verbose"]):  # fmt: skip
        code, err = fail(capsys, *argv)
        assert code == 2 and err.startswith("Traceback") and "BadSymbol" in err
        assert err.strip().splitlines()[-1].startswith("ccxtpro-sync watch: binance spot has no")


def test_smoke_stops_at_the_first_connection_failure(capsys: pytest.CaptureFixture[str]) -> None:
    with refused_port() as port:
        urls = json.dumps({k: f"{'http' if k == 'rest' else 'ws'}://127.0.0.1:{port}"
                           for k in ("ws", "ws_api", "rest")})  # fmt: skip
        code = main(["smoke", "--urls", urls, "--timeout", "5"])
    captured = capsys.readouterr()
    assert code == 1 and "0 passed, 1 failed" in captured.out
    assert "load markets" in captured.out and "ticker" not in captured.out
    assert "cannot reach 127.0.0.1: connection refused" in captured.out
    assert one_line(captured.err).endswith(
        "stopped at the first connection failure: cannot reach 127.0.0.1: connection refused"
    )


def test_help_gives_every_option_a_text_and_its_default() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        text = " ".join(command.format_help().split())
        for action in command._actions:
            if isinstance(action, argparse._HelpAction) or action.dest == "verbose":
                continue
            assert action.help, f"{name} {action.dest}: no help text"
            if action.option_strings:
                assert f"(default: {action.default})" in text, f"{name} {action.dest}: {text}"
    assert "--minutes MINUTES how long to hold the streams (default: 5.0)" in " ".join(
        commands.choices["soak"].format_help().split()
    )


# -- output: trades counted one by one, ISO times, bid/ask only when known, padded prices ---

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def test_watch_trades_count_counts_trades_not_batches(capsys: pytest.CaptureFixture[str]) -> None:
    for count in ("1", "25"):
        code, out = run(capsys, "watch", "trades", SPOT, "--count", count, *FAST)
        assert code == 0 and len(out.splitlines()) == int(count), out
        code, out = run(capsys, "watch", "trades", SPOT, "--count", count, "--json", *FAST)
        assert code == 0 and sum(len(json.loads(x)) for x in out.splitlines()) == int(count)


def test_times_are_iso_from_the_first_row(capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ("ticker", "trades", "book", "ohlcv"):
        code, out = run(capsys, "watch", kind, SPOT, "--count", "2", *FAST)
        assert code == 0
        for line in out.splitlines():
            assert re.match(ISO + "  ", line), f"{kind}: {line}"


def test_futures_ticker_omits_missing_bid_ask_and_book_pads_to_tick(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = run(capsys, "watch", "ticker", "BTC/USDT:USDT", "--count", "2", *FAST)
    assert code == 0 and "last " in out and "None" not in out, out
    code, out = run(capsys, "watch", "book", SPOT, "--count", "5", *FAST)  # tick 0.01
    prices = re.findall(r"(?:bid|ask|spread) (\S+)", out)
    assert len(prices) == 15 and all(re.fullmatch(r"\d+\.\d\d", p) for p in prices), out
    code, out = run(capsys, "book", SPOT, "--depth", "3", "--seconds", "0.3", *FAST)
    cells = re.findall(r"│ +(\d+\.\d+) +│ +(\d+\.\d+) +│", out)
    assert cells and all(re.fullmatch(r"\d+\.\d\d", p) for _, p in cells), out


def test_a_stream_that_cannot_connect_is_one_line_without_log_noise() -> None:
    # REST answers, the websocket port is closed
    with LocalExchange() as exchange, refused_port() as port:
        urls = {**exchange.urls("spot"), "ws": f"ws://127.0.0.1:{port}/spot"}
        done = subprocess.run(
            [sys.executable, "-m", "ccxtpro_sync", "watch", "ticker", "--count", "1",
             "--timeout", "3", "--urls", json.dumps(urls)],
            env=subprocess_env(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert one_line(done.stderr) == "ccxtpro-sync watch: cannot reach 127.0.0.1: connection refused"


def test_commands_leave_no_signal_receivers_behind(capsys: pytest.CaptureFixture[str]) -> None:
    from ccxtpro_sync import signals

    def receivers() -> dict[str, int]:
        return {name: len(s.receivers) for name, s in signals.all().items()}

    before = receivers()
    assert run(capsys, "watch", "ticker", SPOT, "--count", "1", *FAST)[0] == 0
    assert fail(capsys, "watch", "ticker", "NOPE/USDT")[0] == 2
    assert receivers() == before
