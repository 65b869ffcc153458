"""Client order ids and the lost-reply decision table, driven with plain data and clocks."""

from __future__ import annotations

import json
import re
import time

import pytest

from ccxtpro_sync import (
    ExchangeNotAvailable,
    InvalidOrder,
    NetworkError,
    OrderNotFound,
    OrderNotPlaced,
    OrderStatusUnknown,
    RequestTimeout,
)
from ccxtpro_sync._exchanges.binance import ws_api_requests as ws_requests
from ccxtpro_sync._exchanges.binance.order_ids import (
    client_order_id,
    new_client_order_id,
    validate_client_order_id,
)
from ccxtpro_sync._exchanges.binance.order_outcome import SentOrder, is_unknown_outcome, resolve
from ccxtpro_sync._structures import Order
from ccxtpro_sync._sync.reconnect import is_retryable

from .test_ws_api_protocol import hmac_creds, spot_protocol  # noqa: F401 - fixture

SPOT_RULE = re.compile(r"[a-zA-Z0-9_-]{1,36}")
FUTURES_RULE = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")


# -- client order ids --------------------------------------------------------------------------


def test_generated_ids_fit_both_products_and_never_repeat() -> None:
    ids = {new_client_order_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(SPOT_RULE.fullmatch(i) and FUTURES_RULE.fullmatch(i) for i in ids)


@pytest.mark.parametrize("bad", ["", "x" * 37, "with space", "é", "a.b"])
def test_spot_rejects_ids_outside_binance_rule(bad: str) -> None:
    with pytest.raises(InvalidOrder, match="clientOrderId"):
        validate_client_order_id(bad, spot=True)


def test_futures_allows_its_wider_alphabet_but_not_more() -> None:
    assert validate_client_order_id("a.b:c/d_e-f", spot=False) == "a.b:c/d_e-f"
    with pytest.raises(InvalidOrder):
        validate_client_order_id("a b", spot=False)
    with pytest.raises(InvalidOrder):
        validate_client_order_id(12345, spot=False)


def test_client_order_id_takes_either_spelling_or_generates() -> None:
    params: dict[str, object] = {"clientOrderId": "mine"}
    assert client_order_id(params, spot=True) == "mine"
    assert params == {"newClientOrderId": "mine"}
    params = {"newClientOrderId": "theirs"}
    assert client_order_id(params, spot=True) == "theirs"
    params = {}
    generated = client_order_id(params, spot=True)
    assert params == {"newClientOrderId": generated} and SPOT_RULE.fullmatch(generated)


def test_every_order_frame_carries_a_client_order_id(hmac_creds) -> None:  # noqa: F811
    protocol = spot_protocol(hmac_creds)
    _, frame = protocol.send(
        ws_requests.create_order(protocol.context, "ETH/BTC", "limit", "buy", 1, 0.05)
    )
    generated = json.loads(frame)["params"]["newClientOrderId"]
    assert SPOT_RULE.fullmatch(generated)
    _, frame = protocol.send(
        ws_requests.create_order(
            protocol.context, "ETH/BTC", "limit", "buy", 1, 0.05, {"clientOrderId": "k1"}
        )
    )
    assert json.loads(frame)["params"]["newClientOrderId"] == "k1"
    _, frame = protocol.send(
        ws_requests.edit_order(protocol.context, "5", "ETH/BTC", "limit", "buy", 1, 0.06)
    )
    assert SPOT_RULE.fullmatch(json.loads(frame)["params"]["newClientOrderId"])
    with pytest.raises(InvalidOrder):
        protocol.send(
            ws_requests.create_order(
                protocol.context, "ETH/BTC", "limit", "buy", 1, 0.05, {"clientOrderId": "a b"}
            )
        )


# -- the decision table ---------------------------------------------------------------------------


class ServerClock:
    """The exchange's clock in ms, moved by the test."""

    def __init__(self) -> None:
        self.ms = 1_000_000.0

    def __call__(self) -> float:
        return self.ms


def order(status: str = "open") -> Order:
    return Order(id="7", clientOrderId="c1", symbol="BTC/USDT", status=status)  # type: ignore[arg-type]


def scripted(clock: ServerClock, answers: list[object], step_ms: float = 400.0):
    """A look-up answering from ``answers`` in turn; the server clock moves ``step_ms`` per call."""
    calls: list[float] = []

    def query(remaining: float) -> Order:
        calls.append(clock.ms)
        clock.ms += step_ms
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, BaseException):
            raise answer
        assert isinstance(answer, Order)
        return answer

    return query, calls


def sent(action: str = "create", clock: ServerClock | None = None) -> SentOrder:
    now = clock.ms if clock is not None else 0.0
    return SentOrder(action, "BTC/USDT", "c1", now + 1000.0, "7" if action != "create" else None)  # type: ignore[arg-type]


def deadline(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


def test_unknown_outcomes_are_the_transport_ones() -> None:
    assert is_unknown_outcome(RequestTimeout("t"))
    assert is_unknown_outcome(ExchangeNotAvailable("-1007"))
    assert not is_unknown_outcome(InvalidOrder("rejected"))


def test_found_order_is_returned_at_once() -> None:
    clock = ServerClock()
    query, calls = scripted(clock, [order()])
    assert (
        resolve(
            sent(clock=clock),
            query,
            clock,
            deadline(),
            RequestTimeout("t"),
            server_time=lambda _: clock(),
        ).id
        == "7"
    )
    assert len(calls) == 1


def test_not_found_before_the_request_is_stale_is_not_final() -> None:
    clock = ServerClock()
    request = sent(clock=clock)
    # not found twice while the request could still execute, then it shows up
    query, calls = scripted(clock, [OrderNotFound("no"), OrderNotFound("no"), order()])
    assert (
        resolve(
            request, query, clock, deadline(), RequestTimeout("t"), server_time=lambda _: clock()
        ).status
        == "open"
    )
    assert len(calls) == 3


def test_not_found_once_stale_is_not_placed() -> None:
    clock = ServerClock()
    request = sent(clock=clock)
    query, calls = scripted(clock, [OrderNotFound("no")])
    with pytest.raises(OrderNotPlaced) as caught:
        resolve(
            request, query, clock, deadline(), RequestTimeout("t"), server_time=lambda _: clock()
        )
    # only a look-up sent at or after the stale instant decides
    assert calls[-1] >= request.stale_at_ms and calls[-2] < request.stale_at_ms
    assert caught.value.client_order_id == "c1" and not is_retryable(caught.value)


def test_a_stale_estimate_is_not_final_unless_the_server_time_read_agrees() -> None:
    # the local clock stepped far forward: the estimate says stale at once
    clock = ServerClock()
    request = sent(clock=clock)
    estimate = lambda: clock.ms + 60_000.0  # noqa: E731
    query, calls = scripted(clock, [OrderNotFound("no")], step_ms=0)
    reads: list[float] = []

    def server_time(timeout: float) -> float:
        reads.append(clock.ms)
        return clock.ms  # the server's clock: the request is not stale yet

    with pytest.raises(OrderStatusUnknown):
        resolve(
            request, query, estimate, deadline(0.3), RequestTimeout("t"), server_time=server_time
        )
    assert calls and len(reads) == len(calls)  # one read before each look-up

    def unreadable(timeout: float) -> float:
        reads.append(clock.ms)
        raise RequestTimeout("no time answer")

    reads.clear()
    with pytest.raises(OrderStatusUnknown):  # never OrderNotPlaced
        resolve(
            request, query, estimate, deadline(0.3), RequestTimeout("t"), server_time=unreadable
        )
    assert reads  # the read was tried, failed, and the request stayed "not stale"
    # an estimate that does not say stale costs no read
    query, calls = scripted(clock, [OrderNotFound("no")], step_ms=0)
    reads.clear()
    with pytest.raises(OrderStatusUnknown):
        resolve(
            request,
            query,
            lambda: clock.ms,
            deadline(0.2),
            RequestTimeout("t"),
            server_time=server_time,
        )
    assert calls and reads == []


def test_no_answer_in_time_is_order_status_unknown_and_not_retryable() -> None:
    clock = ServerClock()
    query, _ = scripted(clock, [RequestTimeout("still down")], step_ms=0)
    with pytest.raises(OrderStatusUnknown) as caught:
        resolve(
            sent(clock=clock),
            query,
            clock,
            deadline(0.3),
            RequestTimeout("t"),
            server_time=lambda _: clock(),
        )
    error = caught.value
    assert (error.client_order_id, error.symbol) == ("c1", "BTC/USDT")
    assert not isinstance(error, NetworkError | TimeoutError) and not is_retryable(error)


def test_closed_client_is_order_status_unknown() -> None:
    clock = ServerClock()
    query, calls = scripted(clock, [order()])
    with pytest.raises(OrderStatusUnknown):
        resolve(
            sent(clock=clock),
            query,
            clock,
            deadline(),
            RequestTimeout("t"),
            server_time=lambda _: clock(),
            closed=lambda: True,
        )
    assert calls == []


def test_cancel_resolves_on_a_closed_order_or_reports_it_still_open() -> None:
    clock = ServerClock()
    query, _ = scripted(clock, [order("open"), order("canceled")])
    assert resolve(
        sent("cancel", clock),
        query,
        clock,
        deadline(),
        RequestTimeout("t"),
        server_time=lambda _: clock(),
    ).status == ("canceled")
    clock = ServerClock()
    query, _ = scripted(clock, [order("open")])
    with pytest.raises(OrderNotPlaced) as caught:
        resolve(
            sent("cancel", clock),
            query,
            clock,
            deadline(),
            RequestTimeout("t"),
            server_time=lambda _: clock(),
        )
    assert caught.value.action == "cancel" and caught.value.order_id == "7"


def test_amend_keeping_the_id_returns_the_state_once_stale() -> None:
    clock = ServerClock()
    request = sent("edit", clock)
    query, calls = scripted(clock, [order("open")])
    resolve(
        request,
        query,
        clock,
        deadline(),
        RequestTimeout("t"),
        server_time=lambda _: clock(),
        same_order=True,
    )
    assert calls[-1] >= request.stale_at_ms
