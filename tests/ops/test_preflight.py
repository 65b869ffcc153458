"""The release preflight (issue 17): each check passes on a healthy run and fails when
its failure is real: a missing permission, a stream that never updates, a gap above the
threshold, an order that cannot be cancelled, a leaked connection; Ctrl-C still cancels."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync._cli import main
from ccxtpro_sync.preflight import CheckResult, PreflightConfig, PreflightReport, run_preflight
from ccxtpro_sync.simulator import LocalExchange

from .conftest import SPOT, subprocess_env


def _factory(
    exchange: LocalExchange, credentials: Any = None, cls: Any = None, **extra: Any
) -> Callable[[], Any]:
    config: dict[str, Any] = {"environment": "local", "local": exchange, "timeout": 10.0, **extra}
    if credentials is not None:
        config["credentials"] = credentials

    def make() -> Any:
        return (cls or ccxtpro_sync.binance)(dict(config))

    return make


def _row(report: PreflightReport, name: str) -> CheckResult:
    found = [r for r in report.results if r.name == name]
    assert found, [r.name for r in report.results]
    return found[0]


def test_the_ci_command_passes_and_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "preflight",
            "--env",
            "local",
            "--private",
            "--order-smoke",
            "--soak-minutes",
            "0.02",
            "--json",
            "--speed",
            "10",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 0, [c for c in document["checks"] if not c["ok"]]
    assert document["ok"] is True
    names = [c["name"] for c in document["checks"]]
    for expected in (
        "public: order book",
        "private: key permissions",
        "private: user data",
        "order: place and confirm",
        "order: cancelled, cleanup confirmed",
        "soak: trades",
        "telemetry: signals seen",
        "shutdown: clean",
    ):
        assert expected in names
    assert all(c["ok"] for c in document["checks"])


def test_a_missing_permission_fails_and_withdrawals_warn(exchange: LocalExchange) -> None:
    reader = exchange.create_test_account("hmac", permissions=["USER_DATA", "USER_STREAM"])
    config = PreflightConfig(SPOT, private=True, require=frozenset({"TRADE", "USER_DATA"}))
    report = run_preflight(_factory(exchange, reader.credentials), config)
    row = _row(report, "private: key permissions")
    assert not row.ok and "lacks TRADE" in row.detail and not report.ok
    # the same key passes when the app needs only reading
    config.require = frozenset({"USER_DATA"})
    assert _row(
        run_preflight(_factory(exchange, reader.credentials), config), "private: key permissions"
    ).ok
    withdrawer = exchange.create_test_account(
        "hmac", permissions=["USER_DATA", "USER_STREAM", "TRADE", "WITHDRAW"]
    )
    report = run_preflight(_factory(exchange, withdrawer.credentials), config)
    row = _row(report, "private: key permissions")
    assert row.ok and row.warning is not None and "WITHDRAW" in row.warning


def test_missing_permission_through_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "preflight",
            "--private",
            "--require",
            "TRADE,USER_DATA",
            "--local-permissions",
            "USER_DATA,USER_STREAM",
            "--json",
            "--speed",
            "10",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 1 and document["ok"] is False
    [row] = [c for c in document["checks"] if c["name"] == "private: key permissions"]
    assert row["ok"] is False and "TRADE" in row["detail"]


def test_a_stream_that_stops_updating_fails_the_soak(exchange: LocalExchange) -> None:
    def silence_after_public(result: CheckResult) -> None:
        if result.name == "public: order book":
            exchange.faults.delay_messages(120.0)  # nothing more reaches the client

    config = PreflightConfig(SPOT, soak_seconds=1.0, max_gap=0.8, max_first_update=0.5)
    try:
        report = run_preflight(_factory(exchange), config, progress=silence_after_public)
    finally:
        exchange.faults.clear()
    soak = [r for r in report.results if r.name.startswith("soak: ")]
    assert len(soak) == 3 and not any(r.ok for r in soak), soak
    assert not report.ok


def test_a_gap_above_the_threshold_fails_the_soak(exchange: LocalExchange) -> None:
    config = PreflightConfig(SPOT, soak_seconds=0.5, max_gap=1e-6)
    report = run_preflight(_factory(exchange), config)
    soak = [r for r in report.results if r.name.startswith("soak: ")]
    assert soak and all(not r.ok and "max gap" in r.detail for r in soak), soak
    assert _row(report, "public: ticker").ok and not report.ok


def test_an_order_that_cannot_be_cancelled_fails_and_is_reported_open(
    exchange: LocalExchange,
) -> None:
    account = exchange.create_test_account("hmac")
    # every cancel is lost before it reaches the matching engine
    exchange.faults.order_outcome("none", execute=False, count=100, methods=["order.cancel"])
    config = PreflightConfig(SPOT, private=True, order_smoke=True, timeout=3.0)
    # A lost cancel is resolved once its recvWindow has passed: a 1 s window instead
    # of the 5 s default gets there sooner, by the same lookup.
    factory = _factory(exchange, account.credentials, recvWindow=1000)
    try:
        report = run_preflight(factory, config)
    finally:
        exchange.faults.clear()
    assert _row(report, "order: place and confirm").ok
    row = _row(report, "order: cancelled, cleanup confirmed")
    assert not row.ok and "STILL OPEN" in row.detail and not report.ok
    assert [o["status"] for o in exchange.orders(account.account, open_only=True)] == ["NEW"]


def test_a_leaked_connection_fails_the_shutdown_check(exchange: LocalExchange) -> None:
    made: list[Any] = []

    class Leaky(ccxtpro_sync.binance):
        def close(self, timeout: float = 5.0) -> None:
            """An application bug: its shutdown forgets the client."""

    def make() -> Any:
        made.append(Leaky({"environment": "local", "local": exchange, "timeout": 10.0}))
        return made[-1]

    try:
        report = run_preflight(make, PreflightConfig(SPOT))
    finally:
        ccxtpro_sync.binance.close(made[0])
    row = _row(report, "shutdown: clean")
    assert not row.ok and "still open after close()" in row.detail and not report.ok


def test_ctrl_c_during_the_order_smoke_still_cancels_the_order(exchange: LocalExchange) -> None:
    api_key, secret = "P17" + "k" * 61, "s" * 64
    account = exchange.add_account(api_key=api_key, secret=secret, balances={"USDT": 10_000})
    # the order's "open" update is lost, so the smoke waits on it: Ctrl-C lands there
    exchange.drop_user_data(count=1000, account=account)
    env = subprocess_env(BINANCE_LOCAL_API_KEY=api_key, BINANCE_LOCAL_API_SECRET=secret)
    urls = json.dumps({"spot": exchange.urls("spot")})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ccxtpro_sync",
            "preflight",
            "--private",
            "--order-smoke",
            "--urls",
            urls,
            "--timeout",
            "60",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            assert "FAIL" not in line, line
            if "order: placed" in line:
                break
        assert exchange.orders(account, open_only=True), "the order should be open now"
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, rest
    assert "order: cancelled, cleanup confirmed" in rest
    assert exchange.orders(account, open_only=True) == []
    assert [o["status"] for o in exchange.orders(account)] == ["CANCELED"]


def test_usage_mistakes_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preflight", "--private", "--require", "TRADING"]) == 2
    assert "unknown permission TRADING" in capsys.readouterr().err
    assert main(["preflight", "--order-smoke"]) == 2
    assert "--order-smoke needs --private" in capsys.readouterr().err
    assert main(["preflight", "--env", "prod", "--private", "--order-smoke"]) == 2
    assert "without --really" in capsys.readouterr().err
