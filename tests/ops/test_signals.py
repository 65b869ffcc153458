"""Each signal in ``signals.all()`` fires with its documented payload and sender.

Every signal is provoked for real against the local exchange: reconnects and
drops by faults, malformed frames, depth gaps, raising and stuck callbacks.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ccxtpro_sync import ExchangeNotAvailable, RateLimitExceeded, signals
from ccxtpro_sync._core.events import Inbound
from ccxtpro_sync._sync.hub import Hub
from ccxtpro_sync.simulator import LocalExchange

from .conftest import SPOT, Recorder, make

#: The payload keys documented in ``_signals.py`` and docs/telemetry.md.
PAYLOADS: dict[str, set[str]] = {
    "connection_started": {"url", "name", "attempt"},
    "connection_closed": {"url", "name", "code", "reason", "will_reconnect"},
    "reconnect_scheduled": {"url", "name", "attempt", "delay", "error"},
    "message_received": {"url", "name", "size"},
    "message_hash_resolved": {"url", "name", "message_hash", "waiters"},
    "request_resolved": {"url", "name", "request_id", "result"},
    "request_rejected": {"url", "name", "request_id", "error"},
    "callback_error": {"message_hash", "callback", "error"},
    "message_dropped": {"message_hash", "count", "reason"},
    "order_book_resync": {"symbol", "reason", "count"},
    "stream_stale": {"name", "stream", "silent_for", "limit", "strikes"},
    "protocol_error": {"url", "name", "error"},
    "trades_backfilled": {"symbol", "timeframe", "count", "first", "last"},
    "trades_gap": {"symbol", "timeframe", "first", "last"},
    "orders_cancelled_on_disconnect": {"name", "symbols", "orders", "errors"},
}
DOC = Path(__file__).parents[2] / "docs" / "telemetry.md"
Record = Callable[[str], Recorder]


def from_(client: Any) -> Callable[[Any, dict[str, Any]], bool]:
    return lambda sender, payload: sender is client


def check(event: tuple[Any, dict[str, Any]], client: Any, name: str) -> dict[str, Any]:
    sender, payload = event
    assert sender is client, f"{name} sent by {sender!r}, not the client"
    assert set(payload) == PAYLOADS[name]
    return payload


# -- one scenario per signal ---------------------------------------------------------------


def connection_started(exchange: LocalExchange, record: Record) -> None:
    started = record("connection_started")
    with make(exchange) as client:
        client.watch_ticker(SPOT)
        [info] = client.connections()
        first = check(started.wait_for(from_(client)), client, "connection_started")
        assert first["attempt"] == 1 and first["name"] == info.name
        assert first["url"].startswith(exchange.urls("spot")["ws"])
        exchange.faults.drop()
        again = started.wait_for(lambda s, p: s is client and p["attempt"] == 2)
        assert check(again, client, "connection_started")["name"] == info.name


def connection_closed(exchange: LocalExchange, record: Record) -> None:
    closed = record("connection_closed")
    with make(exchange) as client:
        client.watch_ticker(SPOT)
        exchange.faults.close(code=1008, reason="policy")
        payload = check(closed.wait_for(from_(client)), client, "connection_closed")
        assert payload["code"] == 1008 and payload["will_reconnect"] is True
        assert "1008" in payload["reason"]
        client.watch_ticker(SPOT)  # reconnected
    final = closed.wait_for(lambda s, p: s is client and not p["will_reconnect"])
    # The reason after close() is "client closed" or, when the reader sees the socket
    # shut first, the socket's own story: only ``will_reconnect`` is reliable.
    assert check(final, client, "connection_closed")["reason"]


def reconnect_scheduled(exchange: LocalExchange, record: Record) -> None:
    scheduled = record("reconnect_scheduled")
    exchange.faults.refuse_handshakes(count=1, status=503, retry_after=0)
    with make(exchange) as client:
        client.watch_ticker(SPOT)  # the second attempt gets through
        payload = check(scheduled.wait_for(from_(client)), client, "reconnect_scheduled")
        assert payload["attempt"] == 1 and 0 <= payload["delay"] <= 0.2
        assert isinstance(payload["error"], ExchangeNotAvailable)
        assert "503" in str(payload["error"])


def message_received(exchange: LocalExchange, record: Record) -> None:
    received = record("message_received")
    with make(exchange) as client:
        client.watch_ticker(SPOT)
        [info] = client.connections()
        payload = check(received.wait_for(from_(client)), client, "message_received")
        assert payload["size"] > 0 and payload["name"] == info.name
        assert payload["url"] == info.url


def message_hash_resolved(exchange: LocalExchange, record: Record) -> None:
    resolved = record("message_hash_resolved")
    with make(exchange) as client:
        client.watch_ticker(SPOT)
        [info] = client.connections()
        payload = check(resolved.wait_for(from_(client)), client, "message_hash_resolved")
        assert payload["message_hash"] == f"ticker:{SPOT}" and payload["waiters"] == 1
        assert payload["name"] == info.name
        assert payload["url"] == info.url


def request_resolved(exchange: LocalExchange, record: Record) -> None:
    resolved = record("request_resolved")
    with make(exchange) as client:
        client.watch_ticker(SPOT)  # the first stream rides in the URL
        client.watch_trades(SPOT)  # the second is a SUBSCRIBE request on the open socket
        payload = check(resolved.wait_for(from_(client)), client, "request_resolved")
        assert payload["result"] is None and payload["request_id"] is not None
        assert payload["name"] == client.connections()[0].name


def request_rejected(exchange: LocalExchange, record: Record) -> None:
    rejected = record("request_rejected")
    with LocalExchange(seed=1, speed=10.0, tick_interval=0.01, max_streams={"spot": 1}) as small:
        with make(small) as client:
            client.watch_ticker(SPOT)
            with pytest.raises(RateLimitExceeded, match="too many streams"):
                client.watch_trades(SPOT, timeout=5)
            payload = check(rejected.wait_for(from_(client)), client, "request_rejected")
            assert isinstance(payload["error"], RateLimitExceeded)
            assert payload["request_id"] is not None
            assert payload["name"] == client.connections()[0].name


def callback_error(exchange: LocalExchange, record: Record) -> None:
    errors = record("callback_error")
    boom = ValueError("boom")

    def handler(ticker: Any) -> None:
        raise boom

    with make(exchange) as client, client.on_ticker(SPOT, handler):
        payload = check(errors.wait_for(from_(client)), client, "callback_error")
        assert payload["error"] is boom and payload["callback"] is handler
        assert payload["message_hash"] == f"ticker:{SPOT}"


def message_dropped(exchange: LocalExchange, record: Record) -> None:
    dropped = record("message_dropped")
    release = threading.Event()
    with make(exchange) as client:
        # A small pending bound: the binance config has no key for it yet.
        # max_lag: the reader waits that long for the stuck callback, then drops
        client.hub = Hub(owner=client, name=f"ccxtpro_sync-{client.name}", max_items=3, max_lag=0.5)

        def stuck(trades: Any) -> None:
            release.wait(10)

        try:
            with client.on_trades(SPOT, stuck):
                payload = check(dropped.wait_for(from_(client)), client, "message_dropped")
                assert payload["message_hash"] == f"trades:{SPOT}"
                assert payload["count"] >= 1 and payload["reason"] == "callback queue full"
                assert client.connections()[0].dropped >= payload["count"]
        finally:
            release.set()


def order_book_resync(exchange: LocalExchange, record: Record) -> None:
    resyncs = record("order_book_resync")
    synced = threading.Event()
    with make(exchange) as client, client.on_order_book(SPOT, lambda book: synced.set()):
        assert synced.wait(10)
        assert exchange.faults.depth_gap("spot", "BTCUSDT") >= 1
        payload = check(resyncs.wait_for(from_(client)), client, "order_book_resync")
        assert payload["symbol"] == SPOT and payload["count"] >= 1
        assert isinstance(payload["reason"], str) and payload["reason"]
        client.watch_order_book(SPOT)  # and the book is live again


def stream_stale(exchange: LocalExchange, record: Record) -> None:
    stale = record("stream_stale")
    updates = threading.Semaphore(0)
    freshness = {"multiple": 5.0, "floor": 0.5, "minSamples": 3, "interval": 0.1}
    with (
        make(exchange, freshness=freshness) as client,
        client.on_order_book(SPOT, lambda book: updates.release()),
    ):
        for _ in range(6):  # enough diffs for the stream's pace to be known
            assert updates.acquire(timeout=10)
        stream = "btcusdt@depth@100ms"
        rest_before = exchange.stats().rest_requests
        assert exchange.faults.silence(stream) == 1
        payload = check(stale.wait_for(from_(client)), client, "stream_stale")
        assert payload["stream"] == stream and payload["strikes"] == 1
        assert payload["name"] == client.connections()[0].name
        assert payload["silent_for"] > payload["limit"] > 0
        # a book that went stale is resynced from a new snapshot (fetched over REST),
        # then live again, on the same connection
        client.watch_order_book(SPOT)
        assert exchange.stats().rest_requests > rest_before
        assert client.connections()[0].reconnects == 0


def protocol_error(exchange: LocalExchange, record: Record) -> None:
    errors = record("protocol_error")
    with make(exchange) as client:
        client.watch_ticker(SPOT)
        exchange.faults.send_malformed("invalid_json")
        payload = check(errors.wait_for(from_(client)), client, "protocol_error")
        assert isinstance(payload["error"], Exception)
        assert payload["name"] == client.connections()[0].name
        client.watch_ticker(SPOT)
        assert client.connections()[0].protocol_errors >= 1


def _miss_trades(exchange: LocalExchange, client: Any, seen: threading.Event) -> None:
    """Take the trades connection away while the exchange keeps trading."""
    assert seen.wait(10)
    assert exchange.faults.half_open() == 1  # silent until the client gives up on it
    exchange.wait_for_connections(2, timeout=10)  # the replacement is open
    exchange.faults.release()


def trades_backfilled(exchange: LocalExchange, record: Record) -> None:
    filled = record("trades_backfilled")
    seen = threading.Event()
    with make(exchange, readTimeout=0.5) as client:
        with client.on_trades(SPOT, handler=lambda trades: seen.set()):
            _miss_trades(exchange, client, seen)
            payload = check(filled.wait_for(from_(client)), client, "trades_backfilled")
            assert payload["symbol"] == SPOT and payload["timeframe"] is None
            assert payload["count"] == payload["last"] - payload["first"] + 1 >= 1


def trades_gap(exchange: LocalExchange, record: Record) -> None:
    gaps = record("trades_gap")
    seen = threading.Event()
    options = {"tradesBackfill": False}
    with make(exchange, readTimeout=0.5, options=options) as client:
        with client.on_trades(SPOT, handler=lambda trades: seen.set()):
            _miss_trades(exchange, client, seen)
            payload = check(gaps.wait_for(from_(client)), client, "trades_gap")
            assert payload["symbol"] == SPOT and payload["timeframe"] is None
            assert payload["last"] >= payload["first"]


def orders_cancelled_on_disconnect(exchange: LocalExchange, record: Record) -> None:
    cancelled = record("orders_cancelled_on_disconnect")
    account = exchange.create_test_account("ed25519")
    config = {"credentials": account.credentials, "cancelOnDisconnect": True}
    with make(exchange, **config) as client:
        price = round(client.watch_ticker(SPOT).last * 0.8, 2)
        order = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        exchange.disconnect_ws_api(account.account)
        payload = check(cancelled.wait_for(from_(client)), client, "orders_cancelled_on_disconnect")
        assert payload["symbols"] == [SPOT] and payload["errors"] == {}
        assert [o.id for o in payload["orders"]] == [order.id]


SCENARIOS: dict[str, Callable[[LocalExchange, Record], None]] = {
    f.__name__: f
    for f in (
        connection_started,
        connection_closed,
        reconnect_scheduled,
        message_received,
        message_hash_resolved,
        request_resolved,
        request_rejected,
        callback_error,
        message_dropped,
        order_book_resync,
        stream_stale,
        protocol_error,
        trades_backfilled,
        trades_gap,
        orders_cancelled_on_disconnect,
    )
}


@pytest.mark.parametrize("name", sorted(signals.all()))
def test_signal_fires_with_its_payload_and_sender(
    name: str, exchange: LocalExchange, record: Record
) -> None:
    assert name in SCENARIOS, f"new signal {name}: add a scenario and document it"
    SCENARIOS[name](exchange, record)


def test_every_signal_is_covered_and_documented() -> None:
    assert set(SCENARIOS) == set(signals.all()) == set(PAYLOADS)
    text = DOC.read_text()
    for name, keys in PAYLOADS.items():
        match = re.search(rf"^\| `{name}` \|(.*)$", text, re.MULTILINE)
        assert match, f"docs/telemetry.md lacks a table row for {name}"
        assert set(re.findall(r"`(\w+)`", match.group(1))) >= keys, name


# -- no receivers, no cost -------------------------------------------------------------------


def test_a_signal_with_no_receivers_builds_no_payload(
    exchange: LocalExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nobody listening, the hot paths never call ``send``, so no payload is built."""
    from ccxtpro_sync._sync import connection, dispatcher, hub

    listening = [n for n, s in signals.all().items() if s.receivers]
    assert not listening, f"receivers left connected by another test: {listening}"
    calls: list[str] = []

    def spy(signal: Any, sender: Any, **payload: Any) -> None:
        calls.append(signal.name)

    for module in (connection, dispatcher, hub):
        monkeypatch.setattr(module, "send", spy)
    seen = threading.Event()
    with make(exchange) as client, client.on_trades(SPOT, lambda t: seen.set()):
        client.watch_ticker(SPOT)
        client.watch_order_book(SPOT)
        assert seen.wait(10)
        exchange.faults.drop()  # a reconnect: closed, started, resubscribed
        client.watch_ticker(SPOT)
        assert client.connections()[0].reconnects == 1
    assert calls == []

    # The same run with one receiver: the spy now sees that signal, only that one.
    def receiver(sender: Any, **payload: Any) -> None:
        pass

    signals.message_received.connect(receiver)
    try:
        with make(exchange) as client:
            client.watch_ticker(SPOT)
    finally:
        signals.message_received.disconnect(receiver)
    assert calls and set(calls) == {"message-received"}


def test_a_notice_with_no_receivers_is_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Notices (a backfilled gap, a book resync) reach the reader by value; like every
    other signal they are sent only when someone listens. A reconnect that happened to
    miss trades sent ``trades-backfilled`` to nobody, and the no-receivers test above
    failed now and then."""
    from ccxtpro_sync._core.plain import PlainProtocol
    from ccxtpro_sync._sync import connection

    assert not signals.trades_backfilled.receivers
    calls: list[str] = []
    monkeypatch.setattr(connection, "send", lambda signal, sender, **_: calls.append(signal.name))
    conn = connection.Connection(PlainProtocol("ws://127.0.0.1:9/never"), name="notices")
    try:
        payload = {"symbol": SPOT, "timeframe": None, "count": 2, "first": 1, "last": 2}
        conn._deliver(Inbound(notices=[("trades_backfilled", payload)]))
        assert calls == []
        signals.trades_backfilled.connect(receiver := lambda sender, **_: None)
        try:
            conn._deliver(Inbound(notices=[("trades_backfilled", payload)]))
        finally:
            signals.trades_backfilled.disconnect(receiver)
        assert calls == ["trades-backfilled"]
    finally:
        conn.close()


def test_a_receiver_filtered_by_sender_sees_only_its_client(
    exchange: LocalExchange,
) -> None:
    mine: list[dict[str, Any]] = []

    def receiver(sender: Any, **payload: Any) -> None:
        mine.append(payload)

    with make(exchange) as client, make(exchange) as other:
        signals.connection_started.connect(receiver, sender=client)
        try:
            other.watch_ticker(SPOT)
            client.watch_ticker(SPOT)
            [info] = client.connections()
        finally:
            signals.connection_started.disconnect(receiver)  # not sender=: see telemetry.md
    assert [p["name"] for p in mine] == [info.name]


def test_a_raising_receiver_is_logged_and_ignored(
    exchange: LocalExchange, caplog: pytest.LogCaptureFixture
) -> None:
    def receiver(sender: Any, **payload: Any) -> None:
        raise RuntimeError("receiver bug")

    signals.connection_started.connect(receiver)
    try:
        with make(exchange) as client:
            assert client.watch_ticker(SPOT).symbol == SPOT
    finally:
        signals.connection_started.disconnect(receiver)
    assert any("receiver bug" in (r.exc_text or "") for r in caplog.records)


def test_a_backfill_notice_for_a_stream_no_connection_carries_is_not_sent_to_nobody(
    exchange: LocalExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfill that finishes after its stream was unsubscribed is delivered by the
    client itself, not by a connection: the same rule holds there."""
    from ccxtpro_sync import _signals

    assert not signals.trades_backfilled.receivers
    calls: list[str] = []
    monkeypatch.setattr(_signals, "send", lambda signal, sender, **_: calls.append(signal.name))
    payload = {"symbol": SPOT, "timeframe": None, "count": 2, "first": 1, "last": 2}
    with make(exchange) as client:
        client._deliver([], [("trades_backfilled", payload)], [])
        assert calls == []
        signals.trades_backfilled.connect(receiver := lambda sender, **_: None)
        try:
            client._deliver([], [("trades_backfilled", payload)], [])
        finally:
            signals.trades_backfilled.disconnect(receiver)
    assert calls == ["trades-backfilled"]
