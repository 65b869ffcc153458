"""Signals, connections, the recorder (with replay) and the CLI for Deribit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ccxtpro_sync import DeribitClient, deribit
from ccxtpro_sync._cli import main
from ccxtpro_sync._signals import signals
from ccxtpro_sync.persistence import Recorder
from ccxtpro_sync.persistence.replay import replay
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture

PERP = "BTC/USD:BTC"


ex = exchange_fixture(seed=9, tick_interval=0.05)


@pytest.fixture
def client(ex: LocalDeribit) -> Iterator[DeribitClient]:
    c = deribit({"environment": "local", "local": ex})
    try:
        yield c
    finally:
        c.close()


def test_signals_and_connections(ex: LocalDeribit, client: DeribitClient) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    closed = threading.Event()

    def started(sender: Any, **payload: Any) -> None:
        seen.append(("started", payload))

    def ended(sender: Any, **payload: Any) -> None:
        seen.append(("closed", payload))
        closed.set()

    signals.connection_started.connect(started, sender=client)
    signals.connection_closed.connect(ended, sender=client)
    try:
        client.watch_ticker(PERP, timeout=10)
        [info] = client.connections()
        assert info.url == ex.url and info.state == "open"
        assert info.subscriptions == ["ticker.BTC-PERPETUAL.100ms"]
        assert client.connection_info()["heartbeat_interval"] == 30.0
        ex.faults.drop()
        assert closed.wait(10)
        client.watch_ticker(PERP, timeout=10)
        assert client.connections()[0].reconnects == 1
    finally:
        signals.connection_started.disconnect(started)
        signals.connection_closed.disconnect(ended)
    assert [kind for kind, _ in seen][:3] == ["started", "closed", "started"]


def test_recorder_and_replay(ex: LocalDeribit, client: DeribitClient, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deribit.db'}"
    recorder = Recorder(
        client, url, symbols=[PERP], streams=["trades", "ticker", "order_book"], exchange="deribit"
    )
    trades = client.stream_trades(PERP, timeout=10)
    next(iter(trades))
    trades.close()
    report = recorder.close()
    assert report.clean and report.written.get("raw_messages", 0) > 0
    with recorder.engine.connect() as db:
        counts = {
            table: db.execute(text(f"select count(*) from {table}")).scalar_one()
            for table in ("markets", "tickers", "trades", "order_books", "raw_messages")
        }
        recorded = {row[0] for row in db.execute(text("select id from trades"))}
    assert all(counts.values()), counts
    rebuilt = replay(url, client, exchange="deribit")
    assert rebuilt.messages == counts["raw_messages"]
    # the raw log may hold a frame or two more than the trades callback saw before close
    assert recorded <= {t.id for t in rebuilt.structures["trades"]}
    assert rebuilt.structures["order_books"]


@pytest.mark.parametrize("kind", ["ticker", "trades", "book", "ohlcv"])
def test_cli_watch(capsys: pytest.CaptureFixture[str], kind: str) -> None:
    code = main(["watch", kind, "--exchange", "deribit", "--count", "2"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) >= 2 and all(PERP in line for line in lines), lines


def test_cli_smoke_demo_book(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["smoke", "--exchange", "deribit"]) == 0
    assert "6 passed, 0 failed" in capsys.readouterr().out
    assert main(["demo", "--exchange", "deribit", "--seconds", "0.6", "--interval", "0.1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("local exchange at ws://127.0.0.1:") and "/ws/api/v2" in out[0]
    assert len(out) >= 2 and all(" bid " in line for line in out[1:])
    assert main(["book", "--exchange", "deribit", "--seconds", "0.5"]) == 0
    assert PERP in capsys.readouterr().out
