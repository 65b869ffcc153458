"""atk6: the pure rules that keep a reply naming another order, or an older order with a
reused client order id, from being taken as a request's outcome (Binance)."""

from __future__ import annotations

import time

import pytest

from ccxtpro_sync import OrderNotFound, OrderNotPlaced, ProtocolError, RequestTimeout
from ccxtpro_sync._exchanges.binance.order_outcome import SentOrder, check_answer, resolve
from ccxtpro_sync._structures import Order


def _order(order_id: str = "7", client_id: str = "c1", created: int | None = None) -> Order:
    return Order(
        id=order_id, clientOrderId=client_id, symbol="BTC/USDT", status="open", timestamp=created
    )


def test_an_answer_naming_the_request_s_order_is_taken() -> None:
    assert check_answer(_order(), "c1", None).id == "7"
    assert check_answer(_order(), None, "7").id == "7"
    assert check_answer(_order(), None, "007").id == "7"  # Binance reads ids as numbers
    assert check_answer(_order(), None, None).id == "7"


@pytest.mark.parametrize(
    ("client_id", "order_id"), [("c2", None), (None, "8"), ("c1", "8"), (None, "x7")]
)
def test_an_answer_naming_another_order_is_a_protocol_error(
    client_id: str | None, order_id: str | None
) -> None:
    with pytest.raises(ProtocolError, match="names"):
        check_answer(_order(), client_id, order_id)
    with pytest.raises(ProtocolError):
        check_answer(_order(client_id=None), "c1", None)  # a reply without the id


class _Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000.0

    def __call__(self) -> float:
        return self.ms


def test_an_older_order_with_the_client_id_is_not_the_outcome() -> None:
    clock = _Clock()
    sent = SentOrder("create", "BTC/USDT", "c1", clock.ms + 1000.0, sent_at_ms=clock.ms)
    old = _order(created=int(clock.ms) - 60_000)
    answers: list[Order | Exception] = [old, old, _order(created=int(clock.ms) + 5)]

    def query(remaining: float) -> Order:
        clock.ms += 400.0
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    # the old order twice (the request may still execute), then the request's own
    found = resolve(
        sent, query, clock, time.monotonic() + 5, RequestTimeout("t"), server_time=lambda _: clock()
    )
    assert found.timestamp == int(1_000_000.0) + 5 and answers == []
    # only the old order, until the request is stale: not placed
    answers[:] = [old] * 10
    clock.ms = 1_000_000.0
    with pytest.raises(OrderNotPlaced):
        resolve(
            sent,
            query,
            clock,
            time.monotonic() + 5,
            RequestTimeout("t"),
            server_time=lambda _: clock(),
        )
    # a cancel is about the order it names, however old
    cancel = SentOrder("cancel", "BTC/USDT", "c1", clock.ms + 1000.0, "7", sent_at_ms=clock.ms)
    answers[:] = [_order(created=1)]
    answers[0] = Order(
        id="7", clientOrderId="c1", symbol="BTC/USDT", status="canceled", timestamp=1
    )
    assert (
        resolve(
            cancel,
            query,
            clock,
            time.monotonic() + 5,
            OrderNotFound("x"),
            server_time=lambda _: clock(),
        ).status
        == "canceled"
    )
