"""``contrib.logging`` and ``contrib.prometheus`` on a live client; optional-import errors."""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import urllib.request
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ccxtpro_sync import signals
from ccxtpro_sync.contrib.logging import format_event, log_signals
from ccxtpro_sync.contrib.prometheus import PrometheusExporter
from ccxtpro_sync.simulator import LocalExchange

from .conftest import SPOT, make, wait_until


def no_receivers() -> bool:
    return not any(s.receivers for s in signals.all().values())


# -- logging ---------------------------------------------------------------------------------


def test_log_signals_logs_structured_records_until_disconnected(
    exchange: LocalExchange, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("test.ops.signals")
    caplog.set_level(logging.INFO, logger="test.ops.signals")
    boom = ValueError("bad handler")

    def handler(ticker: Any) -> None:
        raise boom

    handle = log_signals(logger=logger)
    try:
        with make(exchange) as client, client.on_ticker(SPOT, handler):
            client.watch_ticker(SPOT)
            exchange.faults.close(code=1008, reason="policy")
            wait_until(lambda: client.connections()[0].reconnects == 1, what="reconnect")
            wait_until(
                lambda: any(
                    r.signal == "callback_error" for r in caplog.records if r.name == logger.name
                ),
                what="callback_error logged",
            )
    finally:
        handle.disconnect()
    assert no_receivers() and not handle.connected
    mine = [r for r in caplog.records if r.name == logger.name]
    by_signal = {r.signal: r for r in mine}  # type: ignore[attr-defined]
    started = by_signal["connection_started"]
    assert started.levelno == logging.INFO and started.sender == repr(client)
    assert set(started.payload) == {"url", "name", "attempt"}
    assert started.payload["name"] == "binance-spot-stream-0"
    assert started.getMessage().startswith('connection_started url="ws://127.0.0.1:')
    closed = next(r for r in mine if r.signal == "connection_closed")
    assert "code=1008" in closed.getMessage() and "will_reconnect=True" in closed.getMessage()
    error = by_signal["callback_error"]
    assert error.levelno == logging.ERROR and error.payload["error"] is boom
    assert 'error="ValueError: bad handler"' in error.getMessage()
    # Per-frame signals are DEBUG by default, so an INFO logger drops them.
    assert "message_received" not in by_signal
    count = len(mine)
    with make(exchange) as client:
        client.watch_ticker(SPOT)
    assert len([r for r in caplog.records if r.name == logger.name]) == count


def test_log_signals_options(exchange: LocalExchange, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ccxtpro_sync.signals")
    with make(exchange) as client, make(exchange) as other:
        with log_signals(level=logging.WARNING, names=["message_received"], sender=client):
            other.watch_ticker(SPOT)
            client.watch_ticker(SPOT)
        assert no_receivers()
    records = [r for r in caplog.records if r.name == "ccxtpro_sync.signals"]
    assert records and {r.signal for r in records} == {"message_received"}  # type: ignore[attr-defined]
    assert {r.levelno for r in records} == {logging.WARNING}
    assert {r.sender for r in records} == {repr(client)}  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unknown signals"):
        log_signals(names=["nope"])


def test_format_event_quotes_what_needs_quoting() -> None:
    text = format_event("x", {"a": 1, "b": "two words", "c": None, "d": 'q"uote', "e": ""})
    assert text == 'x a=1 b="two words" c=None d="q\\"uote" e=""'


# -- prometheus ------------------------------------------------------------------------------


def sampler(registry: CollectorRegistry, client: str = "binance-spot") -> Any:
    """``get(name, **labels)``: one sample's value (None if absent), labelled with ``client``."""

    def get(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(f"ccxtpro_sync_{name}", {"client": client, **labels})

    return get


def test_prometheus_exporter_reports_connections_and_signals(exchange: LocalExchange) -> None:
    registry = CollectorRegistry()
    get = sampler(registry)
    synced = threading.Event()
    with make(exchange) as client, PrometheusExporter(client, registry) as exporter:
        assert get("connections") == 0
        with client.on_order_book(SPOT, lambda book: synced.set()):
            assert synced.wait(10)
            client.watch_trades(SPOT)
            exchange.faults.drop()
            wait_until(lambda: client.connections()[0].reconnects == 1, what="reconnect")
            client.watch_order_book(SPOT)  # synced again on the new socket
            assert exchange.faults.depth_gap("spot", "BTCUSDT") >= 1
            wait_until(lambda: get("order_book_resyncs_total", symbol=SPOT), what="a resync")
            client.watch_ticker(SPOT)
            [info] = client.connections()
            conn = {"connection": info.name}
            assert get("connections") == 1
            assert get("connection_reconnects_total", **conn) == 1
            assert get("connection_connects_total", **conn) == 2
            assert (get("connection_messages_total", **conn) or 0) > 0
            assert get("connection_subscriptions", **conn) == 3
            assert (get("connection_max_gap_seconds", **conn) or -1) >= 0
            states = {
                s: get("connection_state", state=s, kind="market", url=info.url, **conn)
                for s in ("open", "closed", "reconnecting")
            }
            assert states == {"open": 1.0, "closed": 0.0, "reconnecting": 0.0}
            assert get("callbacks") == 1
            assert (get("cache_entries", cache=f"trades:{SPOT}") or 0) >= 1
            for name in ("connection_closed", "connection_started", "order_book_resync"):
                assert (get("signals_total", signal=name) or 0) >= 1, name
            # Per-frame signals are not counted unless per_message=True.
            assert get("signals_total", signal="message_received") is None
            text = generate_latest(registry).decode()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert families["ccxtpro_sync_connection_reconnects"].type == "counter"
        assert families["ccxtpro_sync_connection_state"].type == "gauge"
        assert exporter in registry._collector_to_names  # registered while open
    assert no_receivers()
    assert get("connections") is None


def test_prometheus_exporter_labels_clients_and_serves_http(exchange: LocalExchange) -> None:
    registry = CollectorRegistry()
    with make(exchange) as one, make(exchange) as two:
        exporter = PrometheusExporter([one, two], registry, namespace="md")
        try:
            one.watch_ticker(SPOT)
            two.watch_ticker(SPOT)
            server, thread = exporter.start_http_server(0)
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{server.server_port}/metrics", timeout=10
                ) as response:
                    body = response.read().decode()
            finally:
                server.shutdown()
                server.server_close()
                thread.join(5)
        finally:
            exporter.close()
            exporter.close()
    assert 'md_connections{client="binance-spot"} 1.0' in body
    assert 'md_connections{client="binance-spot#2"} 1.0' in body
    assert no_receivers()
    with pytest.raises(ValueError):
        PrometheusExporter([], registry)


# -- optional dependencies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "dependency", "extra"),
    [
        ("prometheus", "prometheus_client", "prometheus"),
        ("django", "django", "django"),
        ("celery", "celery", "celery"),
    ],
)
def test_contrib_module_without_its_dependency_says_what_to_install(
    module: str, dependency: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"ccxtpro_sync.contrib.{module}"
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, dependency, None)  # import of it now fails
    with pytest.raises(ImportError, match=rf"pip install 'ccxtpro_sync\[{extra}\]'"):
        importlib.import_module(name)
