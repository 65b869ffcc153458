"""Heartbeat enforcement (§3) and cancel-on-disconnect (§4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from ccxtpro_sync.simulator.deribit import LocalDeribit

from .conftest import Rpc, fixture

HB = 0.3  # heartbeat interval for tests (the live minimum is 10 s)


@pytest.fixture
def fast(make_deribit: Callable[..., LocalDeribit]) -> LocalDeribit:
    return make_deribit(seed=5, auto_publish=False, min_heartbeat=HB)


def _is_test_request(frame: dict[str, Any]) -> bool:
    return frame == fixture("heartbeat_test_request.json")


def _rest_order(client: Rpc, label: str = "cod-1") -> str:
    book = client.result("public/get_order_book", {"instrument_name": "BTC-PERPETUAL"})
    price = book["bids"][-1][0] - 100
    result = client.result("private/buy", {"instrument_name": "BTC-PERPETUAL", "amount": 10,
                                           "price": price, "label": label})  # fmt: skip
    assert result["order"]["order_state"] == "open"
    return str(result["order"]["order_id"])


def test_min_interval_is_enforced(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    err = client.error("public/set_heartbeat", {"interval": 5})
    assert err["code"] == -32602 and err["data"]["param"] == "interval"
    assert client.result("public/set_heartbeat", {"interval": 30}) == "ok"
    assert client.result("public/disable_heartbeat") == "ok"


def test_answered_test_requests_keep_the_connection(fast: LocalDeribit) -> None:
    with Rpc(fast.url) as client:
        assert client.result("public/set_heartbeat", {"interval": HB}) == "ok"
        for _ in range(3):
            client.next(_is_test_request, timeout=5)
            assert client.result("public/test") == {"version": "1.2.26"}
        assert client.result("public/get_time")
        assert fast.stats().disconnect_reasons == {}


def test_silent_client_is_closed_with_4000(fast: LocalDeribit) -> None:
    with Rpc(fast.url) as client:
        client.result("public/set_heartbeat", {"interval": HB})
        client.next(_is_test_request, timeout=5)
        with pytest.raises(ConnectionClosed) as closed:
            client.next(lambda f: False, timeout=5)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4000, "heartbeat close")
    fast.wait_until(lambda s: s.disconnect_reasons == {"heartbeat": 1}, what="close")


def test_server_side_heartbeat_stop_fault(fast: LocalDeribit) -> None:
    fast.faults.stop_heartbeats()
    with Rpc(fast.url) as client:
        client.result("public/set_heartbeat", {"interval": HB})
        with pytest.raises(TimeoutError):  # several intervals without a test_request
            client.next(_is_test_request, timeout=4 * HB)
        fast.faults.resume_heartbeats()
        client.next(_is_test_request, timeout=5)


def test_cod_fires_on_drop(fast: LocalDeribit) -> None:
    with Rpc(fast.url) as trader, Rpc(fast.url) as watcher:
        trader.login(fast)
        watcher.login(fast)
        assert trader.result("private/enable_cancel_on_disconnect") == "ok"
        assert trader.result("private/get_cancel_on_disconnect") == {
            "scope": "connection", "enabled": True,
        }  # fmt: skip
        kept = _rest_order(watcher, "other-conn")
        order_id = _rest_order(trader)
        trader_conn = next(c.id for c in fast.connections() if c.cod)
        assert fast.faults.drop(match=trader_conn) == 1
        fast.wait_until(lambda s: s.cod_cancelled == 1, what="COD cancel")
        state = watcher.result("private/get_order_state", {"order_id": order_id})
        assert state["order_state"] == "cancelled"
        assert state["cancel_reason"] == "cancel_on_disconnect"
        # orders of other connections stay
        assert (
            watcher.result("private/get_order_state", {"order_id": kept})["order_state"] == "open"
        )
        assert fast.book("BTC-PERPETUAL").bids[-1][1] > 0


def test_cod_fires_on_heartbeat_silence(fast: LocalDeribit) -> None:
    with Rpc(fast.url) as trader, Rpc(fast.url) as watcher:
        trader.login(fast)
        watcher.login(fast)
        trader.result("private/enable_cancel_on_disconnect", {"scope": "connection"})
        order_id = _rest_order(trader)
        trader.result("public/set_heartbeat", {"interval": HB})
        fast.wait_until(lambda s: s.disconnect_reasons.get("heartbeat") == 1, timeout=5)
        fast.wait_until(lambda s: s.cod_cancelled == 1)
        state = watcher.result("private/get_order_state", {"order_id": order_id})
        assert state["cancel_reason"] == "cancel_on_disconnect"


def test_no_cod_when_disabled_or_after_logout(fast: LocalDeribit) -> None:
    with Rpc(fast.url) as watcher:
        watcher.login(fast)
        with Rpc(fast.url) as plain:
            plain.login(fast)
            untouched = _rest_order(plain)
        with Rpc(fast.url) as toggled:
            toggled.login(fast)
            toggled.result("private/enable_cancel_on_disconnect")
            toggled.result("private/disable_cancel_on_disconnect")
            also = _rest_order(toggled)
        with Rpc(fast.url) as leaving:
            leaving.login(fast)
            leaving.result("private/enable_cancel_on_disconnect")
            after_logout = _rest_order(leaving)
            leaving.send("private/logout")
            with pytest.raises(ConnectionClosed):
                leaving.next(lambda f: False)
        fast.wait_for_connections(1)
        for order_id in (untouched, also, after_logout):
            state = watcher.result("private/get_order_state", {"order_id": order_id})
            assert state["order_state"] == "open", state
        assert fast.stats().cod_cancelled == 0


def test_account_scope_applies_to_new_connections(fast: LocalDeribit) -> None:
    with Rpc(fast.url) as first:
        first.login(fast)
        assert first.result("private/get_cancel_on_disconnect", {"scope": "account"}) == {
            "scope": "account", "enabled": False,
        }  # fmt: skip
        first.result("private/enable_cancel_on_disconnect", {"scope": "account"})
        with Rpc(fast.url) as second:
            second.login(fast)
            assert second.result("private/get_cancel_on_disconnect")["enabled"] is True
            order_id = _rest_order(second)
        fast.wait_until(lambda s: s.cod_cancelled == 1)
        state = first.result("private/get_order_state", {"order_id": order_id})
        assert state["cancel_reason"] == "cancel_on_disconnect"
        assert first.error("private/enable_cancel_on_disconnect", {"scope": "x"})["code"] == -32602
