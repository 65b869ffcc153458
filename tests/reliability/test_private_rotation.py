"""Make-before-break rotation of the WS API session and the user-data stream.

Against the local exchange: orders are placed and filled while the session (spot)
or the listenKey stream (USD-M) is replaced. The exchange's own log shows that no
order request was ever sent twice, and the handlers see every fill and every
order state exactly once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import make_client, signal_logs, wait_for

SPOT, USDM = "BTC/USDT", "BTC/USDT:USDT"
#: Orders placed per worker thread while rotations happen.
ORDERS_PER_WORKER = 12
WORKERS = 3


class Seen:
    """Everything the handlers delivered, and a condition to wait on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.trades: list[Any] = []
        self.orders: list[Any] = []

    def on_trades(self, trades: list[Any]) -> None:
        with self._cond:
            self.trades.extend(trades)
            self._cond.notify_all()

    def on_orders(self, orders: list[Any]) -> None:
        with self._cond:
            self.orders.extend(orders)
            self._cond.notify_all()

    def wait(self, predicate: Callable[[Seen], bool], timeout: float, what: str) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: predicate(self), timeout), what


def _place_under_load(
    client: Any, symbol: str, tag: str, amount: float = 0.001
) -> tuple[list[Any], list[Any]]:
    """Market orders from several threads at once; returns (orders, errors)."""
    placed: list[Any] = []
    errors: list[Any] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        for n in range(ORDERS_PER_WORKER):
            side = "buy" if n % 2 == 0 else "sell"
            cid = f"{tag}-{worker}-{n}"
            try:
                order = client.create_order_ws(
                    symbol, "market", side, amount, None, {"clientOrderId": cid}
                )
            except ccxtpro_sync.CcxtproSyncError as error:
                with lock:
                    errors.append((cid, error))
            else:
                with lock:
                    placed.append(order)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    for thread in threads:
        thread.start()
    return placed, [threads, errors]


def _join(handle: list[Any]) -> list[Any]:
    threads, errors = handle
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    return list(errors)


def _rotate_while(client: Any, name: str, done: Callable[[], bool], rounds: int) -> int:
    """Rotate ``name`` up to ``rounds`` times while ``done()`` is False."""
    rotated = 0
    while rotated < rounds and not done():
        client.rotate(name, timeout=10)
        rotated += 1
    return rotated


def _check_exactly_once(exchange: LocalExchange, placed: list[Any], seen: Seen) -> None:
    ids = [o.clientOrderId for o in placed]
    sent = Counter(
        r.client_order_id for r in exchange.order_requests() if r.method == "order.place"
    )
    # No order request was sent twice, and nothing else was sent.
    assert sent == Counter(ids), sent
    # Every fill arrives once (their amounts add up to what each order filled).
    trade_ids = [t.id for t in seen.trades]
    assert len(trade_ids) == len(set(trade_ids)), Counter(trade_ids).most_common(3)
    by_order: Counter[str] = Counter()
    for trade in seen.trades:
        by_order[trade.order] += round(trade.amount * 1e6)
    for order in placed:
        assert by_order[order.id] == round(order.filled * 1e6), order
    # Every order state arrives once.
    states = Counter((o.id, o.status, o.filled) for o in seen.orders)
    assert [s for s, n in states.items() if n > 1] == []


def test_ws_api_rotation_under_load_sends_no_order_twice_and_loses_no_fill(
    exchange: LocalExchange,
) -> None:
    account = exchange.create_test_account("ed25519")
    client = make_client(ccxtpro_sync.binance, exchange, credentials=account.credentials)
    seen = Seen()
    with client:
        client.load_markets()
        client.on_my_trades(SPOT, seen.on_trades)
        client.on_orders(SPOT, seen.on_orders)
        client.fetch_balance_ws()  # the session is up, user data subscribed
        first = client._private.ws_api
        name = first.name
        placed, handle = _place_under_load(client, SPOT, "rot")
        rotated = _rotate_while(
            client, name, lambda: len(placed) >= WORKERS * ORDERS_PER_WORKER, rounds=3
        )
        errors = _join(handle)
        assert errors == []
        assert rotated >= 1 and client._private.ws_api is not first
        assert first.finished
        seen.wait(
            lambda s: {t.order for t in s.trades} >= {o.id for o in placed},
            10,
            "every order's fills",
        )
        exchange.wait_for_ws_api(1, market="spot")  # the retired sessions are gone
    _check_exactly_once(exchange, placed, seen)


def test_request_in_flight_on_the_old_session_is_resolved_not_resent(
    exchange: LocalExchange,
) -> None:
    """The old session never answers an order request (the exchange placed it): it stays
    open for it after the new session took over, the caller finds its order by client
    id over the new session, and fills during that overlap reach the handlers once."""
    account = exchange.create_test_account("ed25519")
    client = make_client(ccxtpro_sync.binance, exchange, credentials=account.credentials, timeout=4)
    seen = Seen()
    with client:
        client.load_markets()
        client.on_my_trades(SPOT, seen.on_trades)
        client.on_orders(SPOT, seen.on_orders)
        price = round(client.watch_ticker(SPOT).last * 0.8, 2)
        client.fetch_balance_ws()  # the session is up, user data subscribed
        first = client._private.ws_api
        exchange.faults.order_outcome("none", execute=True)
        outcome: list[Any] = []

        def run(what: Callable[[], Any]) -> threading.Thread:
            def body() -> None:
                try:
                    outcome.append(what())
                except ccxtpro_sync.CcxtproSyncError as error:
                    outcome.append(error)

            thread = threading.Thread(target=body)
            thread.start()
            return thread

        placing = run(
            lambda: client.create_order_ws(
                SPOT, "limit", "buy", 0.01, price, {"clientOrderId": "inflight-1"}
            )
        )
        wait_for(exchange.order_requests, 5, "the order request at the exchange")
        rotating = run(lambda: client.rotate(first.name, timeout=10))
        wait_for(lambda: client._private.ws_api is not first, 10, "the new session installed")
        # Both sessions carry user data now: this fill's events arrive twice.
        filled = client.create_order_ws(
            SPOT, "market", "buy", 0.001, None, {"clientOrderId": "overlap-1"}
        )
        resting = client.create_order_ws(
            SPOT, "limit", "sell", 0.01, round(price * 1.5, 2), {"clientOrderId": "overlap-2"}
        )
        for thread in (placing, rotating):
            thread.join(30)
            assert not thread.is_alive()
        assert first.finished
        orders = [o for o in outcome if isinstance(o, ccxtpro_sync.Order)]
        assert [o.clientOrderId for o in orders] == ["inflight-1"], outcome
        assert orders[0].status == "open"
        # One more order on the new session alone: once its fill is in, so is
        # everything the new session delivered before it.
        after = client.create_order_ws(SPOT, "market", "sell", 0.001, None)
        seen.wait(lambda s: any(t.order == after.id for t in s.trades), 10, "the last fill")
        assert any(o.id == resting.id for o in seen.orders)
        assert client._private.user.overlap.dropped >= 1  # the overlap was exercised
    _check_exactly_once(exchange, [orders[0], filled, resting, after], seen)
    still_open = exchange.orders(account.account, "spot", open_only=True)
    assert sorted(o["clientOrderId"] for o in still_open) == ["inflight-1", "overlap-2"]


def test_futures_user_stream_rotation_delivers_every_fill_once(exchange: LocalExchange) -> None:
    account = exchange.create_test_account("hmac")
    client = make_client(ccxtpro_sync.binanceusdm, exchange, credentials=account.credentials)
    seen = Seen()
    with client:
        client.load_markets()
        client.on_my_trades(USDM, seen.on_trades)
        client.on_orders(USDM, seen.on_orders)
        wait_for(
            lambda: (
                client._private.user_stream is not None and client._private.user_stream.is_ready()
            ),
            10,
            "the listenKey stream",
        )
        first = client._private.user_stream
        placed, handle = _place_under_load(client, USDM, "fut", 0.01)
        rotated = _rotate_while(
            client, first.name, lambda: len(placed) >= WORKERS * ORDERS_PER_WORKER, rounds=3
        )
        errors = _join(handle)
        assert errors == []
        assert rotated >= 1 and client._private.user_stream is not first and first.finished
        seen.wait(
            lambda s: {t.order for t in s.trades} >= {o.id for o in placed},
            10,
            "every order's fills",
        )
    _check_exactly_once(exchange, placed, seen)


@pytest.mark.parametrize("notice", [0.0, 1.0])
def test_server_shutdown_and_max_age_rotate_the_ws_api_session(notice: float) -> None:
    """The exchange ends each WS API session at 2.5 s, with ``serverShutdown`` 1 s
    before (rotated on the notice), or without (rotated at ``maxConnectionAge``): the
    session is replaced before it goes, and orders keep working across the
    replacements with none sent twice."""
    with LocalExchange(
        seed=9, speed=10.0, tick_interval=0.01, max_lifetime=2.5, shutdown_notice=notice
    ) as ex:
        account = ex.create_test_account("ed25519")
        options = {"maxConnectionAge": 0 if notice else 1.5, "rotationJitter": 0.2}
        client = make_client(
            ccxtpro_sync.binance, ex, credentials=account.credentials, options=options
        )
        with client, signal_logs(client) as logs:
            client.load_markets()
            first = client._private.ws_api_connection().start()
            placed: list[Any] = []
            for n in range(3):
                rotations = client._rotator.rotations
                side = "buy" if n % 2 else "sell"
                cid = f"age-{n}"
                placed.append(
                    client.create_order_ws(
                        SPOT, "market", side, 0.001, None, {"clientOrderId": cid}
                    )
                )
                wait_for(lambda done=rotations: client._rotator.rotations > done, 10, "a rotation")
            assert client._rotator.last_error is None
            assert client._private.ws_api is not first and first.finished
            placed.append(client.create_order_ws(SPOT, "market", "buy", 0.001, None))
            ws_api_drops = [
                p
                for p in logs["connection_closed"].payloads
                if "ws-api" in str(p.get("name")) and p.get("will_reconnect")
            ]
            assert ws_api_drops == []  # every session was replaced before it ended
        sent = Counter(r.client_order_id for r in ex.order_requests())
        assert sent == Counter(o.clientOrderId for o in placed)


def test_every_kind_of_connection_rotates_one_at_a_time_by_age() -> None:
    """USD-M market streams, the WS API session and the listenKey stream all reach
    ``maxConnectionAge`` together: the one rotation thread replaces them one after the
    other (never two at once, so connection attempts stay paced), and orders and their
    fills carry on across it, each once."""
    with LocalExchange(seed=10, speed=10.0, tick_interval=0.01, max_lifetime=30.0) as ex:
        account = ex.create_test_account("hmac")
        options = {"maxConnectionAge": 1.0, "rotationJitter": 0.1, "rotationStagger": 0.05}
        client = make_client(
            ccxtpro_sync.binanceusdm, ex, credentials=account.credentials, options=options
        )
        seen = Seen()
        running = [0]
        most = [0]
        kinds: list[str] = []
        lock = threading.Lock()
        rotate = client._rotate_connection

        def counted(conn: Any, timeout: float) -> None:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
                kinds.append(conn.kind)
            try:
                rotate(conn, timeout)
            finally:
                with lock:
                    running[0] -= 1

        client._rotate_connection = counted
        with client:
            client.load_markets()
            client.on_trades(USDM, lambda trades: None)
            client.on_my_trades(USDM, seen.on_trades)
            placed = [client.create_order_ws(USDM, "market", "buy", 0.01, None)]
            first = {*client._every_connection()}
            assert {c.kind for c in first} == {"market", "ws_api", "user_data"}
            wait_for(
                lambda: (
                    not first & {*client._every_connection()}
                    and client._rotator.rotations >= len(first)
                ),
                20,
                "every connection replaced",
            )
            placed.append(client.create_order_ws(USDM, "market", "sell", 0.01, None))
            seen.wait(
                lambda s: {t.order for t in s.trades} >= {o.id for o in placed},
                10,
                "every order's fills",
            )
            assert client._rotator.last_error is None
        assert most[0] == 1
        assert {"market", "ws_api", "user_data"} <= set(kinds)
    _check_exactly_once(ex, placed, seen)


def test_a_replacement_not_ready_in_time_leaves_the_old_session_in_charge(
    exchange: LocalExchange,
) -> None:
    account = exchange.create_test_account("ed25519")
    client = make_client(ccxtpro_sync.binance, exchange, credentials=account.credentials)
    with client:
        client.load_markets()
        client.fetch_balance_ws()
        first = client._private.ws_api
        exchange.faults.delay_handshakes(3.0, count=1)
        with pytest.raises(ccxtpro_sync.RequestTimeout):
            client.rotate(first.name, timeout=0.5)
        assert client._private.ws_api is first and not first.finished
        order = client.create_order_ws(SPOT, "market", "buy", 0.001, None)
        assert order.status == "closed"
        assert [c.name for c in client.connections() if c.kind == "ws_api"] == [first.name]
        exchange.wait_for_ws_api(1, market="spot")
    assert [r.client_order_id for r in exchange.order_requests()] == [order.clientOrderId]


def test_losing_a_replaced_session_cancels_nothing_on_spot(exchange: LocalExchange) -> None:
    """``cancelOnDisconnect`` on spot cancels open orders when the WS API is lost; the
    loss of a session already replaced (draining a request) is no such loss."""
    account = exchange.create_test_account("ed25519")
    client = make_client(
        ccxtpro_sync.binance,
        exchange,
        credentials=account.credentials,
        timeout=4,
        cancelOnDisconnect=True,
    )
    with client:
        client.load_markets()
        price = round(client.watch_ticker(SPOT).last * 0.8, 2)
        kept = client.create_order_ws(
            SPOT, "limit", "buy", 0.01, price, {"clientOrderId": "keep-me"}
        )
        first = client._private.ws_api
        (old,) = exchange.ws_api_sessions("spot")
        exchange.faults.order_outcome("none", execute=True)
        outcome: list[Any] = []

        def place() -> None:
            try:
                outcome.append(
                    client.create_order_ws(
                        SPOT, "limit", "buy", 0.01, price, {"clientOrderId": "inflight-2"}
                    )
                )
            except ccxtpro_sync.CcxtproSyncError as error:
                outcome.append(error)

        placing = threading.Thread(target=place)
        placing.start()
        wait_for(lambda: len(exchange.order_requests()) == 2, 5, "the second order request")
        rotating = threading.Thread(target=client.rotate, args=(first.name,), daemon=True)
        rotating.start()
        wait_for(lambda: client._private.ws_api is not first, 10, "the new session installed")
        assert exchange.disconnect_ws_api(lambda s: s.id == old.id) == 1
        for thread in (placing, rotating):
            thread.join(30)
            assert not thread.is_alive()
        assert [getattr(o, "clientOrderId", o) for o in outcome] == ["inflight-2"]
        assert client.cancel_on_disconnect.cancelled == 0
    still_open = exchange.orders(account.account, "spot", open_only=True)
    assert sorted(o["clientOrderId"] for o in still_open) == ["inflight-2", kept.clientOrderId]
