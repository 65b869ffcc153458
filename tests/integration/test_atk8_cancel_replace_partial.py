"""atk8: a cancel-replace that half succeeded (Binance ``-2021``, "Order cancel-replace
partially failed") holds two outcomes in its error's ``data``: the cancel's and the new
order's. The client raised a bare ``InvalidOrder(-2021)`` for both halves:

* ``cancelReplaceMode=ALLOW_FAILURE``, the cancel fails and the new order is placed:
  a placed order reported as a rejection, which invites placing it again;
* the cancel succeeds and the new order is rejected: nothing said the order being
  replaced was gone.
"""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync import InsufficientFunds
from ccxtpro_sync.simulator import LocalExchange

from .test_order_safety import SPOT, TIMEOUT, client_for, far_price


def test_a_new_order_placed_although_the_cancel_failed_is_returned(
    exchange: LocalExchange, account: Any
) -> None:
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        gone = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        client.cancel_order_ws(gone.id, SPOT)  # the cancel half will fail
        new = client.edit_order_ws(
            gone.id,
            SPOT,
            "limit",
            "buy",
            0.02,
            price,
            {"cancelReplaceMode": "ALLOW_FAILURE", "clientOrderId": "new-1"},
            timeout=TIMEOUT,
        )
    assert new.clientOrderId == "new-1" and new.status == "open" and new.amount == 0.02
    held = exchange.orders(account.account, open_only=True)
    assert [(str(o["orderId"]), o["clientOrderId"]) for o in held] == [(new.id, "new-1")]


def test_a_rejected_new_order_says_the_replaced_one_was_cancelled(
    exchange: LocalExchange, account: Any
) -> None:
    with client_for(exchange, account) as client:
        price = far_price(client, SPOT)
        old = client.create_order_ws(SPOT, "limit", "buy", 0.01, price)
        with pytest.raises(InsufficientFunds, match="cancelled") as caught:
            client.edit_order_ws(old.id, SPOT, "limit", "buy", 1000, price, timeout=TIMEOUT)
    assert old.id in str(caught.value)
    assert exchange.orders(account.account, open_only=True) == []
