"""The connection engine against the local exchange, over real sockets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ccxtpro_sync import (
    BadRequest,
    ClientClosed,
    RateLimitExceeded,
    RequestTimeout,
    default_reconnect_policy,
    signals,
)
from ccxtpro_sync._exchanges.binance.stream_protocol import BinanceStreamProtocol
from ccxtpro_sync._sync.connection import Connection
from ccxtpro_sync._sync.hub import Hub
from ccxtpro_sync.simulator import LocalExchange

TRADES = "btcusdt@aggTrade"
TICKER = "ethusdt@ticker"
#: Callback calls a delivery test waits for: enough that losing one in ten would show.
CALLS = 30


class Recorder:
    """Collects signal payloads and lets a test wait for a count, without sleeping."""

    def __init__(self, signal: Any, sender: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._signal = signal
        signal.connect(self._on, weak=False)

    def _on(self, sender: Any, **payload: Any) -> None:
        with self._cond:
            self.events.append(payload)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.events) >= count, timeout), (
                f"expected {count} events, got {self.events}"
            )
            return list(self.events)

    def close(self) -> None:
        self._signal.disconnect(self._on)


@pytest.fixture
def recorders() -> Iterator[dict[str, Recorder]]:
    made = {name: Recorder(sig) for name, sig in signals.all().items()}
    yield made
    for recorder in made.values():
        recorder.close()


def connect(exchange: LocalExchange, streams: list[str], **options: Any) -> Connection:
    protocol = BinanceStreamProtocol(exchange.urls("spot")["ws"])
    options.setdefault("read_timeout", 5.0)
    options.setdefault("ping_interval", 1.0)
    conn = Connection(protocol, name="test", **options)
    conn.call(lambda p: p.subscribe(streams))
    conn.start()
    conn.wait_ready(10)
    return conn


def next_value(conn: Connection, stream: str, timeout: float = 10.0) -> Any:
    return conn.hub.wait(conn.hub.waiter([f"stream:{stream}"]), timeout, stream)


def subscriptions(conn: Connection) -> list[str]:
    return sorted(conn.request("LIST_SUBSCRIPTIONS", timeout=10))


def test_callbacks_and_waiters_receive_messages(exchange: LocalExchange) -> None:
    conn = connect(exchange, [TRADES])
    try:
        received: list[dict[str, Any]] = []
        calls = [0]
        enough = threading.Event()

        def on_trades(batch: list[dict[str, Any]]) -> None:
            calls[0] += 1
            received.extend(batch)
            if calls[0] >= CALLS:
                enough.set()

        conn.hub.add_callback(f"stream:{TRADES}", on_trades)
        # several waiters on one hash all resolve with the same update
        futures = [conn.hub.waiter([f"stream:{TRADES}"]) for _ in range(3)]
        values = [conn.hub.wait(f, 10, TRADES) for f in futures]
        assert all(v is values[0] for v in values)
        assert values[0][0]["e"] == "aggTrade" and values[0][0]["s"] == "BTCUSDT"
        assert enough.wait(20)
        # every callback call arrived: the generator numbers aggTrades one by one, so a
        # lost call shows as a gap
        ids = [t["a"] for t in received]
        assert ids == list(range(ids[0], ids[0] + len(ids)))
    finally:
        conn.close()


def test_live_subscribe_and_list(exchange: LocalExchange) -> None:
    conn = connect(exchange, [TRADES])
    try:
        conn.call(lambda p: p.subscribe([TICKER]), timeout=10)
        assert subscriptions(conn) == sorted([TRADES, TICKER])
        assert next_value(conn, TICKER)[0]["e"] == "24hrTicker"
        conn.call(lambda p: p.unsubscribe([TICKER]), timeout=10)
        assert subscriptions(conn) == [TRADES]
    finally:
        conn.close()


def test_reconnect_after_drop_restores_every_subscription(
    exchange: LocalExchange, recorders: dict[str, Recorder]
) -> None:
    conn = connect(exchange, [TRADES])
    try:
        conn.call(lambda p: p.subscribe([TICKER, "bnbusdt@bookTicker"]), timeout=10)
        before = subscriptions(conn)
        assert exchange.faults.drop() == 1
        closed = recorders["connection_closed"].wait_for(1)
        assert closed[0]["will_reconnect"] is True
        recorders["connection_started"].wait_for(2)
        conn.wait_ready(10)
        assert subscriptions(conn) == before
        for stream in before:
            assert next_value(conn, stream)
        assert conn.reconnects == 1
    finally:
        conn.close()


def test_half_open_server_is_detected_and_left(
    exchange: LocalExchange, recorders: dict[str, Recorder]
) -> None:
    conn = connect(exchange, [TRADES], read_timeout=1.0, ping_interval=0.25)
    try:
        assert exchange.faults.half_open() == 1
        closed = recorders["connection_closed"].wait_for(1)
        assert "silent peer" in closed[0]["reason"]
        recorders["connection_started"].wait_for(2)
        assert next_value(conn, TRADES)
    finally:
        conn.close()


def test_raising_callback_does_not_stop_delivery(
    exchange: LocalExchange, recorders: dict[str, Recorder]
) -> None:
    conn = connect(exchange, [TRADES])
    try:
        calls = {"bad": 0}
        good = threading.Event()
        good_count = [0]

        def bad(batch: Any) -> None:
            calls["bad"] += 1
            raise ValueError("user bug")

        def fine(batch: Any) -> None:
            good_count[0] += 1
            if good_count[0] >= 3:
                good.set()

        conn.hub.add_callback(f"stream:{TRADES}", bad)
        conn.hub.add_callback(f"stream:{TRADES}", fine)
        assert good.wait(10)
        errors = recorders["callback_error"].wait_for(2)
        assert isinstance(errors[0]["error"], ValueError)
        assert errors[0]["message_hash"] == f"stream:{TRADES}"
        assert calls["bad"] >= 2  # called again after raising
    finally:
        conn.close()


def test_slow_callback_never_stalls_the_reader(exchange: LocalExchange) -> None:
    conn = connect(exchange, [TRADES, TICKER])
    release = threading.Event()
    try:
        entered = threading.Event()

        def stuck(value: Any) -> None:
            entered.set()
            release.wait(30)

        conn.hub.add_callback(f"stream:{TICKER}", stuck)
        conn.hub.add_callback(f"stream:{TRADES}", lambda batch: None)
        assert entered.wait(10)
        # the dispatcher is blocked, yet waiters keep resolving from the reader
        for _ in range(3):
            assert next_value(conn, TRADES)
        stats = conn.hub.stats()
        assert stats["queued"] >= 1  # updates wait, bounded, for the stuck dispatcher
    finally:
        release.set()
        conn.close()


def test_close_wakes_every_waiter_and_leaves_no_thread(exchange: LocalExchange) -> None:
    conn = connect(exchange, ["solusdt@kline_1M"])  # a stream that is quiet most of the time
    outcomes: list[BaseException] = []

    def waiter() -> None:
        try:
            conn.hub.wait(conn.hub.waiter(["stream:never"]), 30, "never")
        except BaseException as error:
            outcomes.append(error)

    threads = [threading.Thread(target=waiter) for _ in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while conn.hub.stats()["waiters"] < 4:  # poll state, bounded; no timing assumption
        assert time.monotonic() < deadline, "waiters never registered"
        threading.Event().wait(0.01)
    conn.close()
    conn.close()  # idempotent
    for thread in threads:
        thread.join(5)
    assert len(outcomes) == 4 and all(isinstance(e, ClientClosed) for e in outcomes)
    assert conn.thread is not None and not conn.thread.is_alive()
    with pytest.raises(ClientClosed):
        conn.call(lambda p: p.subscribe([TRADES]))


def test_waiter_timeout_is_typed_and_a_builtin_timeout(exchange: LocalExchange) -> None:
    conn = connect(exchange, [TRADES])
    try:
        with pytest.raises(RequestTimeout) as caught:
            conn.hub.wait(conn.hub.waiter(["stream:never"]), 0.2, "never")
        assert isinstance(caught.value, TimeoutError)
        assert conn.hub.stats()["waiters"] == 0  # the timed-out waiter was forgotten
    finally:
        conn.close()


def test_refused_handshake_backs_off_at_least_retry_after(
    exchange: LocalExchange, recorders: dict[str, Recorder]
) -> None:
    exchange.faults.refuse_handshakes(count=1, status=429, retry_after=1)
    protocol = BinanceStreamProtocol(exchange.urls("spot")["ws"])
    conn = Connection(protocol, name="test", reconnect=default_reconnect_policy(initial=0.01))
    try:
        conn.call(lambda p: p.subscribe([TRADES]))
        conn.start()
        scheduled = recorders["reconnect_scheduled"].wait_for(1)
        assert isinstance(scheduled[0]["error"], RateLimitExceeded)
        assert scheduled[0]["delay"] >= 1.0
        conn.wait_ready(10)
        assert next_value(conn, TRADES)
    finally:
        conn.close()


def test_close_during_reconnect_backoff_is_prompt(
    exchange: LocalExchange, recorders: dict[str, Recorder]
) -> None:
    exchange.faults.refuse_handshakes(count=100, status=418, retry_after=60)
    protocol = BinanceStreamProtocol(exchange.urls("spot")["ws"])
    conn = Connection(protocol, name="test")
    conn.start()
    assert recorders["reconnect_scheduled"].wait_for(1)[0]["delay"] >= 60
    joined = threading.Event()

    def closer() -> None:
        conn.close()
        joined.set()

    threading.Thread(target=closer).start()
    assert joined.wait(5), "close() did not interrupt the 60 s back-off"
    assert conn.thread is not None and not conn.thread.is_alive()
    with pytest.raises(ClientClosed):
        conn.wait_ready(1)


def test_malformed_frame_is_reported_and_the_stream_goes_on(
    exchange: LocalExchange, recorders: dict[str, Recorder]
) -> None:
    conn = connect(exchange, [TRADES])
    try:
        exchange.faults.send_malformed("invalid_json")
        errors = recorders["protocol_error"].wait_for(1)
        assert "malformed" in str(errors[0]["error"])
        assert next_value(conn, TRADES)
        assert conn.reconnects == 0
    finally:
        conn.close()


def test_server_close_code_is_reported_and_reconnected(
    exchange: LocalExchange, recorders: dict[str, Recorder]
) -> None:
    conn = connect(exchange, [TRADES])
    try:
        exchange.faults.close(code=1008, reason="policy")
        closed = recorders["connection_closed"].wait_for(1)
        assert closed[0]["code"] == 1008
        recorders["connection_started"].wait_for(2)
        assert next_value(conn, TRADES)
    finally:
        conn.close()


def test_server_pings_are_answered_so_the_connection_lives_on(
    recorders: dict[str, Recorder],
) -> None:
    # The server pings every 0.2 s and drops a client that has not answered within 0.5 s.
    with LocalExchange(
        seed=1, speed=10, tick_interval=0.01, ping_interval=0.2, pong_timeout=0.5
    ) as ex:
        conn = connect(ex, [TRADES], read_timeout=5.0, ping_interval=5.0)
        try:
            [first] = ex.wait_for_connections(1)
            # several pong deadlines pass while trades keep flowing on the same socket
            ex.wait_until(
                lambda s: (
                    s.connections
                    and s.connections[0].opened_at == first.opened_at
                    and s.connections[0].messages_sent > 100
                    and time.time() - s.connections[0].opened_at > 2.0  # 4 pong deadlines
                ),
                timeout=10,
                what="traffic on the first socket",
            )
            assert next_value(conn, TRADES)
            assert conn.reconnects == 0 and recorders["connection_closed"].events == []
        finally:
            conn.close()


def test_refused_path_is_final_not_retried(exchange: LocalExchange) -> None:
    protocol = BinanceStreamProtocol(exchange.urls("spot")["ws"] + "/no/such/path")
    conn = Connection(protocol, name="test", reconnect=default_reconnect_policy(initial=0.01))
    try:
        conn.start()
        with pytest.raises(BadRequest):
            conn.wait_ready(10)
        assert conn.thread is not None
        conn.thread.join(5)
        assert not conn.thread.is_alive()
        assert exchange.stats().handshakes_refused == 1  # exactly one attempt
    finally:
        conn.close()


def test_lifetime_disconnect_reconnects_and_restores(recorders: dict[str, Recorder]) -> None:
    with LocalExchange(seed=1, speed=10, max_lifetime=0.5) as ex:
        conn = connect(ex, [TRADES, TICKER])
        try:
            closed = recorders["connection_closed"].wait_for(1)
            assert closed[0]["will_reconnect"]
            recorders["connection_started"].wait_for(2)
            conn.wait_ready(10)
            assert subscriptions(conn) == sorted([TRADES, TICKER])
            assert next_value(conn, TRADES)
        finally:
            conn.close()


def test_many_live_subscribes_stay_within_the_message_rate_limit(
    exchange: LocalExchange, recorders: dict[str, Recorder]
) -> None:
    conn = connect(exchange, [TRADES])
    try:
        streams = [
            f"{s}@{kind}"
            for s in ("btcusdt", "ethusdt", "bnbusdt", "solusdt", "ethbtc")
            for kind in ("ticker", "bookTicker")
        ]
        for stream in streams:  # one SUBSCRIBE frame each: 10 frames, limit 5/s
            conn.call(lambda p, s=stream: p.subscribe([s]))
        conn.call(lambda p: p.subscribe(["ethusdt@aggTrade"]), timeout=15)
        assert subscriptions(conn) == sorted([TRADES, "ethusdt@aggTrade", *streams])
        assert conn.reconnects == 0 and recorders["connection_closed"].events == []
    finally:
        conn.close()


def test_pings_wait_for_their_slot_within_the_message_rate_limit(
    recorders: dict[str, Recorder],
) -> None:
    """Unsolicited pings count against the exchange's 5 frames/s like any frame. On a
    quiet connection pinging every 0.05 s (20/s wanted), with subscribes paced next to
    them, the pings must wait for their slots: sent at once, the exchange cut the
    connection (1008) within the first second. Four subscribes on top take over a
    second at the paced rate, so the exchange counts frames over several windows."""
    with LocalExchange(seed=7, auto_publish=False) as quiet:  # no data: only pings
        conn = connect(quiet, [TRADES], ping_interval=0.05)
        try:
            streams = [f"{s}@bookTicker" for s in ("btcusdt", "ethusdt", "bnbusdt", "solusdt")]
            for stream in streams:
                conn.call(lambda p, s=stream: p.subscribe([s]), timeout=15)
            assert subscriptions(conn) == sorted([TRADES, *streams])
            assert conn.reconnects == 0 and recorders["connection_closed"].events == []
        finally:
            conn.close()


def test_overflowing_append_queue_drops_oldest_and_signals(
    exchange: LocalExchange, recorders: dict[str, Recorder]
) -> None:
    # the reader waits max_lag for the stuck callback before dropping (the block policy)
    hub = Hub(name="ccxtpro_sync-test", max_items=5, max_lag=0.5)
    protocol = BinanceStreamProtocol(exchange.urls("spot")["ws"])
    conn = Connection(protocol, hub=hub, name="test")
    release = threading.Event()
    batches: list[list[Any]] = []
    try:

        def stuck(batch: list[Any]) -> None:
            batches.append(batch)
            release.wait(30)

        hub.add_callback(f"stream:{TRADES}", stuck)
        conn.call(lambda p: p.subscribe([TRADES]))
        conn.start()
        dropped = recorders["message_dropped"].wait_for(1)
        assert dropped[0]["message_hash"] == f"stream:{TRADES}" and dropped[0]["count"] >= 1
        release.set()
        stats = hub.stats()
        assert stats["dropped"] >= 1
        # the batch delivered after the stall holds at most the bound, newest last
        deadline = time.monotonic() + 10
        while len(batches) < 2:
            assert time.monotonic() < deadline
            threading.Event().wait(0.01)
        assert len(batches[1]) <= 5
        ids = [t["a"] for t in batches[1]]
        assert ids == sorted(ids)
    finally:
        release.set()
        conn.close()
        hub.close()


def test_a_burst_is_handed_over_in_order_under_one_lock(
    recorders: dict[str, Recorder],
) -> None:
    """``Hub.deliver_many`` (a reader's burst): waiters get the first value of their
    hash, callbacks see every APPEND item in order and the newest LATEST value, and
    an overflow is signalled per hash (``drop_oldest``: append streams block by default)."""
    from ccxtpro_sync._core.events import Delivery, Policy

    hub = Hub(name="ccxtpro_sync-test", max_items=3, overflow={"trades": "drop_oldest"})
    seen: list[tuple[str, Any]] = []
    done = threading.Event()
    try:
        hub.add_callback("trades:A", lambda batch: seen.append(("trades:A", batch)))
        hub.add_callback("ticker:B", lambda value: seen.append(("ticker:B", value)))
        hub.add_callback("end", lambda value: done.set())
        waiter = hub.waiter(["ticker:B"])
        burst = [Delivery("trades:A", [i], Policy.APPEND) for i in range(5)]
        burst += [Delivery("ticker:B", v) for v in ("b1", "b2")]
        burst.append(Delivery("nobody", 0))  # no callback, no waiter: ignored
        burst.append(Delivery("end", 1))
        hub.deliver_many(burst, "test", url="ws://x")
        assert hub.wait(waiter, 5, "ticker") == "b1"
        assert done.wait(5)
        assert seen == [("trades:A", [2, 3, 4]), ("ticker:B", "b2")]
        dropped = recorders["message_dropped"].wait_for(2)
        assert [(d["message_hash"], d["count"]) for d in dropped] == [
            ("trades:A", 1),
            ("trades:A", 1),
        ]
        assert hub.stats()["dropped"] == 2 and hub.stats()["coalesced"] == 1
    finally:
        hub.close()


def test_close_closes_the_socket_itself(exchange: LocalExchange) -> None:
    """close() sends a close frame, which makes websocket-client count the socket as
    gone: the descriptor must still be closed by close(), not left to whoever holds
    the last reference (here the test holds the socket object)."""
    conn = connect(exchange, [TRADES])
    ws = conn._ws
    assert ws is not None and ws.sock is not None
    sock = ws.sock
    conn.close()
    assert sock.fileno() == -1, "close() left the socket open"


def test_a_socket_the_server_closed_is_closed_before_the_reconnect(
    exchange: LocalExchange, recorders: dict[str, Recorder]
) -> None:
    """Answering the server's close frame must not leave the old descriptor open."""
    conn = connect(exchange, [TRADES])
    try:
        ws = conn._ws
        assert ws is not None and ws.sock is not None
        sock = ws.sock
        exchange.faults.close(code=1008, reason="policy")
        recorders["connection_closed"].wait_for(1)
        assert sock.fileno() == -1, "the closed connection's socket is still open"
        recorders["connection_started"].wait_for(2)
        assert next_value(conn, TRADES)
    finally:
        conn.close()
