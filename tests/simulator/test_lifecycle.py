"""Start/close, URLs, configuration, observability helpers and the CLI."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from websockets.exceptions import ConnectionClosed

from ccxtpro_sync.simulator import LocalExchange, SymbolSpec

from .conftest import Factory, request, ws_connect

ROOT = Path(__file__).resolve().parents[2]


def _sim_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ccxtpro-sim")]


def test_context_manager_closes_everything() -> None:
    before = len(_sim_threads())
    ex = LocalExchange(auto_publish=True).start()
    urls = ex.urls("spot")
    session = requests.Session()
    with ws_connect(urls["ws"] + "/ws") as ws:
        with ex:
            ex.wait_for_connections(1)
            assert session.get(urls["rest"] + "/api/v3/ping", timeout=5).status_code == 200
            assert len(_sim_threads()) == before + 2
        with pytest.raises(ConnectionClosed):  # open clients are disconnected
            ws.recv(timeout=3)
    assert len(_sim_threads()) == before  # both server threads joined
    with pytest.raises(requests.ConnectionError):  # keep-alive socket closed too
        session.get(urls["rest"] + "/api/v3/ping", timeout=5)
    ex.close()  # idempotent
    with pytest.raises(RuntimeError):
        ex.start()


def test_start_close_explicit() -> None:
    ex = LocalExchange(auto_publish=False)
    assert ex.start() is ex and ex.start() is ex  # idempotent
    ex.close()
    ex.close()


def test_url_layout(ex: LocalExchange) -> None:
    spot, um, cm = ex.urls("spot"), ex.urls("usdm"), ex.urls("coinm")
    port = ex.ws.port
    assert spot["ws"] == f"ws://127.0.0.1:{port}/spot"
    assert um["ws"] == f"ws://127.0.0.1:{port}/usdm"
    assert cm["ws_api"] == f"ws://127.0.0.1:{port}/coinm/ws-dapi/v1"
    assert spot["ws_api"].endswith("/spot/ws-api/v3")
    assert spot["rest"] == um["rest"] == f"http://127.0.0.1:{ex.rest.port}"
    with pytest.raises(ValueError):
        ex.urls("options")  # type: ignore[arg-type]


def test_fixed_ports(make_exchange: Factory) -> None:
    free = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        free.append(s.getsockname()[1])
        s.close()
    ex = make_exchange(auto_publish=False, ws_port=free[0], rest_port=free[1])
    assert ex.urls("spot")["ws"] == f"ws://127.0.0.1:{free[0]}/spot"
    assert ex.urls("spot")["rest"] == f"http://127.0.0.1:{free[1]}"


def test_configurable_symbols(make_exchange: Factory) -> None:
    custom = SymbolSpec(
        "DOGEUSDT",
        "DOGE",
        "USDT",
        tick_size=Decimal("0.00001"),
        step_size=Decimal(1),
        start_price=Decimal("0.15"),
        typical_qty=Decimal(500),
        min_qty=Decimal(1),
        max_qty=Decimal(10**6),
        min_notional=Decimal(1),
    )
    ex = make_exchange(auto_publish=False, symbols={"spot": ["BTCUSDT", custom]})
    info = requests.get(ex.urls("spot")["rest"] + "/api/v3/exchangeInfo", timeout=5).json()
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "DOGEUSDT"]
    assert ex.book("spot", "DOGEUSDT").bids[0][0].startswith("0.1")
    with ws_connect(ex.urls("spot")["ws"] + "/ws") as ws:
        reply = request(ws, {"method": "SUBSCRIBE", "params": ["ethusdt@trade"], "id": 1})
        assert reply["error"]["code"] == 2  # not listed any more
    # futures untouched
    assert ex.book("usdm", "BTCUSDT").bids
    with pytest.raises(ValueError):
        LocalExchange(symbols={"spot": ["NOPE"]})
    with pytest.raises(ValueError):
        LocalExchange(ping_interval={"options": 1.0})


def test_stats_and_connection_listing(ex: LocalExchange) -> None:
    with ws_connect(ex.urls("spot")["ws"] + "/stream?streams=btcusdt@trade") as ws:
        (info,) = ex.wait_for_connections(1)
        assert (info.market, info.path, info.combined) == (
            "spot",
            "/spot/stream?streams=btcusdt@trade",
            True,
        )
        assert info.subscriptions == ("btcusdt@trade",)
        request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 1})
        ex.publish("spot", "btcusdt@trade", {"x": 1})
        ws.recv(timeout=3)
        stats = ex.wait_until(lambda s: s if s.messages_sent == 2 else None, what="2 sent")
        conn = stats.connections[0]
        assert (conn.messages_sent, conn.messages_received) == (2, 1)
        assert stats.handshakes_accepted == 1 and stats.messages_received == 1
        assert ex.connections("usdm") == []
    ex.wait_for_connections(0)
    assert ex.stats().connections_closed == 1


def test_waits_time_out(ex: LocalExchange) -> None:
    with pytest.raises(TimeoutError):
        ex.wait_for_connections(1, timeout=0.1)
    with pytest.raises(TimeoutError):
        ex.wait_for_subscription("btcusdt@trade", timeout=0.1)
    with pytest.raises(TimeoutError):
        ex.wait_for_handshakes(1, timeout=0.1)


def test_wait_for_handshakes_counts_reconnects(ex: LocalExchange) -> None:
    url = ex.urls("spot")["ws"] + "/ws"
    for _ in range(3):
        with ws_connect(url):
            pass
    assert ex.wait_for_handshakes(3) == 3


def test_cli_prints_urls_and_serves() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccxtpro_sync.simulator", "--seed", "5"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        assert lines[0].startswith("spot") and lines[3].startswith("Ctrl-C")
        rest = re.search(r"rest=(\S+)", lines[0])
        assert rest is not None
        r = requests.get(rest.group(1) + "/fapi/v1/exchangeInfo", timeout=5)
        assert r.status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
