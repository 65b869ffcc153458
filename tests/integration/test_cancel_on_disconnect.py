"""Cancel-on-disconnect against the local exchange.

Futures: Binance's countdown cancel-all is armed per symbol with open orders and
kept alive by heartbeats; when the client process is SIGKILLed the heartbeats stop
and the exchange cancels the orders. Spot: the client cancels over REST as soon
as its WS API connection is lost, before reconnecting. Off: nothing is cancelled.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import signals
from ccxtpro_sync._sync.reconnect import default_reconnect_policy
from ccxtpro_sync.simulator import LocalExchange

SPOT, USDM = "BTC/USDT", "BTC/USDT:USDT"
KINDS = {"spot": ccxtpro_sync.binance, "usdm": ccxtpro_sync.binanceusdm}
ROOT = Path(__file__).parents[2]
SECRET = "s" * 64


def client_for(exchange: LocalExchange, account: Any, market: str, **config: Any) -> Any:
    return KINDS[market](
        {
            "environment": "local",
            "local": exchange,
            "credentials": account.credentials,
            "timeout": 10,
            "reconnect": default_reconnect_policy(initial=0.05, maximum=0.2),
            **config,
        }
    )


def far_price(client: Any, symbol: str) -> float:
    """A buy price far below the market: the order rests."""
    last = client.watch_ticker(symbol).last
    precision = client.market(symbol).precision.price
    return round(last * 0.8 / precision) * precision


def open_orders(exchange: LocalExchange, account: Any, market: str) -> list[dict[str, Any]]:
    return exchange.orders(account, market, open_only=True)  # type: ignore[arg-type]


def wait_exchange(exchange: LocalExchange, check: Callable[[], bool], what: str) -> None:
    """Wait (bounded) until the exchange's state satisfies ``check``."""
    exchange.private.registry.wait(lambda _: (True,) if check() else None, 10.0, what)


class Events:
    """(sender, payload) of one signal, waited on with a timeout."""

    def __init__(self, sig: Any) -> None:
        self.sig = sig
        self.items: queue.Queue[tuple[Any, dict[str, Any]]] = queue.Queue()
        sig.connect(self._receive, weak=False)

    def _receive(self, sender: Any, **payload: Any) -> None:
        self.items.put((sender, payload))

    def wait_for(self, pred: Callable[[Any, dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            sender, payload = self.items.get(timeout=10.0)
            if pred(sender, payload):
                return payload

    def close(self) -> None:
        self.sig.disconnect(self._receive)


@pytest.fixture
def record() -> Iterator[Callable[[Any], Events]]:
    made: list[Events] = []

    def make(sig: Any) -> Events:
        made.append(Events(sig))
        return made[-1]

    yield make
    for events in made:
        events.close()


# -- spot: the client cancels over REST on a detected loss -----------------------------------


@pytest.mark.parametrize("enabled", [True, False])
def test_spot_orders_cancelled_when_the_ws_api_is_lost(
    exchange: LocalExchange, record: Callable[[Any], Events], enabled: bool
) -> None:
    account = exchange.create_test_account("ed25519")
    cancelled = record(signals.orders_cancelled_on_disconnect)
    started = record(signals.connection_started)
    with client_for(exchange, account, "spot", cancelOnDisconnect=enabled) as client:
        price = far_price(client, SPOT)
        placed = [client.create_order_ws(SPOT, "limit", "buy", 0.01, price) for _ in range(2)]
        assert len(open_orders(exchange, account.account, "spot")) == 2
        state = client.cancel_on_disconnect
        assert (state.enabled, state.mode) == ((True, "rest") if enabled else (False, "off"))
        ws_api = f"{client.name}-ws-api"
        assert exchange.disconnect_ws_api(account.account) >= 1
        # The cancel runs before the reconnect: once reconnected, it is done.
        started.wait_for(lambda s, p: s is client and p["name"] == ws_api and p["attempt"] >= 2)
        still_open = open_orders(exchange, account.account, "spot")
        if not enabled:
            assert len(still_open) == 2
            assert cancelled.items.empty()
            return
        assert still_open == []
        payload = cancelled.wait_for(lambda s, p: s is client)
        assert payload["symbols"] == [SPOT] and payload["errors"] == {}
        assert sorted(o.id for o in payload["orders"]) == sorted(o.id for o in placed)
        assert {o.status for o in payload["orders"]} == {"canceled"}
        assert client.cancel_on_disconnect.cancelled == 2


# -- futures: the exchange's countdown, armed and cleared by the client ----------------------


def test_futures_countdown_armed_per_symbol_and_cleared_with_the_last_order(
    exchange: LocalExchange,
) -> None:
    account = exchange.create_test_account("ed25519")
    config = {"cancelOnDisconnect": True, "cancelOnDisconnectCountdown": 60_000}
    with client_for(exchange, account, "usdm", **config) as client:
        price = far_price(client, USDM)
        first = client.create_order_ws(USDM, "limit", "buy", 0.01, price)
        second = client.create_order(USDM, "limit", "buy", 0.01, price)  # over REST
        # armed before create_order returned
        (key,) = exchange.countdowns()
        assert key[1:] == ("usdm", "BTCUSDT")
        assert client.cancel_on_disconnect.armed == (USDM,)
        client.cancel_order_ws(first.id, USDM)
        client.cancel_order(second.id, USDM)
        # the last order closed: the client sends countdownTime=0
        wait_exchange(exchange, lambda: exchange.countdowns() == {}, "countdown cleared")


def test_futures_heartbeats_keep_the_countdown_from_expiring(exchange: LocalExchange) -> None:
    account = exchange.create_test_account("ed25519")
    config = {"cancelOnDisconnect": True, "cancelOnDisconnectCountdown": 800}
    with client_for(exchange, account, "usdm", **config) as client:
        client.create_order_ws(USDM, "limit", "buy", 0.01, far_price(client, USDM))
        (key,) = exchange.countdowns()
        calls = exchange.private.countdowns.calls
        # 8 heartbeats, a quarter countdown apart, span more than the whole 800 ms
        wait_exchange(exchange, lambda: calls[key] >= 8, "8 heartbeats")
        assert len(open_orders(exchange, account.account, "usdm")) == 1
        assert key in exchange.countdowns()
        assert client.cancel_on_disconnect.last_heartbeat is not None


def test_futures_heartbeats_stop_while_user_data_is_down(exchange: LocalExchange) -> None:
    """The process lives but has lost sight of the account: Binance's countdown fires."""
    account = exchange.create_test_account("ed25519")
    config = {"cancelOnDisconnect": True, "cancelOnDisconnectCountdown": 1000}
    with client_for(exchange, account, "usdm", **config) as client:
        client.create_order_ws(USDM, "limit", "buy", 0.01, far_price(client, USDM))
        wait_exchange(
            exchange, lambda: bool(client._private.user_stream.is_ready()), "user data up"
        )
        exchange.faults.refuse_handshakes(count=1000, status=429, retry_after=1)
        try:
            assert exchange.faults.drop() >= 1  # the user-data stream (and market data)
            wait_exchange(
                exchange,
                lambda: not open_orders(exchange, account.account, "usdm"),
                "countdown expiry while disconnected",
            )
        finally:
            exchange.faults.clear()


def test_futures_nothing_armed_when_off(exchange: LocalExchange) -> None:
    account = exchange.create_test_account("ed25519")
    with client_for(exchange, account, "usdm") as client:
        client.create_order_ws(USDM, "limit", "buy", 0.01, far_price(client, USDM))
        assert exchange.countdowns() == {}
        assert client.cancel_on_disconnect.mode == "off"


CHILD = """
import json, sys, threading
import ccxtpro_sync
cfg = json.loads(sys.argv[1])
client = ccxtpro_sync.binanceusdm(cfg)
last = client.watch_ticker("BTC/USDT:USDT").last
price = round(last * 0.8, 1)
ids = [client.create_order_ws("BTC/USDT:USDT", "limit", "buy", 0.01, price).id for _ in range(2)]
print(json.dumps({"ids": ids, "state": client.cancel_on_disconnect.mode}), flush=True)
threading.Event().wait()  # until SIGKILLed
"""


def _run_child(exchange: LocalExchange, enabled: bool, api_key: str) -> tuple[Any, list[str]]:
    config = {
        "environment": "local",
        "urls": exchange.urls("usdm"),
        "apiKey": api_key,
        "secret": SECRET,
        "timeout": 10,
        "cancelOnDisconnect": enabled,
        "cancelOnDisconnectCountdown": 1500,
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(config)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    out = child.stdout
    assert out is not None
    # readline in a thread, so a child that never reports fails the test in bounded time
    threading.Thread(target=lambda: lines.put(out.readline()), daemon=True).start()
    try:
        report = json.loads(lines.get(timeout=30.0))
    except BaseException:
        child.kill()
        child.wait(10)
        raise
    return child, report["ids"]


@pytest.mark.parametrize("enabled", [True, False])
def test_futures_orders_cancelled_by_the_exchange_when_the_process_is_killed(
    exchange: LocalExchange, enabled: bool
) -> None:
    api_key = f"c15a{int(enabled)}".ljust(64, "k")  # Binance keys are 64 alphanumerics
    account = exchange.add_account(api_key=api_key, secret=SECRET, usdm_balances={"USDT": 100_000})
    child, ids = _run_child(exchange, enabled, api_key)
    try:
        assert len(open_orders(exchange, account, "usdm")) == 2
        armed = exchange.countdowns()
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    if not enabled:
        assert armed == {}  # no switch: the exchange has nothing that would cancel them
        assert len(open_orders(exchange, account, "usdm")) == 2
        return
    assert [k[1:] for k in armed] == [("usdm", "BTCUSDT")]
    # The process is gone: no heartbeat comes, the countdown expires on the exchange.
    wait_exchange(exchange, lambda: not open_orders(exchange, account, "usdm"), "countdown expiry")
    statuses = {o["orderId"]: o["status"] for o in exchange.orders(account, "usdm")}
    assert sorted(str(i) for i in statuses) == sorted(ids)
    assert set(statuses.values()) == {"CANCELED"}
