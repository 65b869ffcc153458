"""A user-data stream that goes quiet while an order is open is reconciled without a
reconnect, so a fill it failed to push is not hidden until the next reconnect."""

from __future__ import annotations

import pytest

import ccxtpro_sync
from ccxtpro_sync import BadRequest
from ccxtpro_sync.simulator import LocalExchange

from .test_binance_private import (
    KINDS,
    SPOT,
    USDM,
    Collector,
    count_reconciles,
    far_price,
    statuses,
)


@pytest.mark.parametrize(("market", "symbol"), [("spot", SPOT), ("usdm", USDM)])
def test_a_fill_the_silent_stream_never_pushed_is_found_without_a_reconnect(
    exchange: LocalExchange, market: str, symbol: str
) -> None:
    account = exchange.create_test_account("ed25519")
    config = {
        "environment": "local",
        "local": exchange,
        "credentials": account.credentials,
        "timeout": 10,
        "userDataQuietAfter": 0.5,
    }
    with KINDS[market](config) as client:
        reconciles = count_reconciles(client)
        price = far_price(client, symbol, "buy")
        orders = Collector()
        with client.on_orders(handler=orders):
            order = client.create_order_ws(symbol, "limit", "buy", 0.01, price)
            orders.wait_for(lambda items: "open" in statuses(items, order.id))
            reconciles.wait_for(lambda items: len(items) >= 1)  # subscribed and seeded
            # From now on the exchange pushes nothing to this account, on a live socket.
            exchange.drop_user_data(count=1_000, account=account.api_key)
            assert exchange.move_market(market, "BTCUSDT", price * 0.99) == 1
            seen = orders.wait_for(lambda items: "closed" in statuses(items, order.id), 15)
            exchange.drop_user_data(count=0)
        reconciles.wait_for(lambda items: len(items) >= 2)  # the subscription's, the quiet one's
        assert all(info.reconnects == 0 for info in client.connections())
        assert client._private.quiet is not None and client._private.quiet.triggered >= 1
    final = [o for o in seen if o.id == order.id][-1]
    assert final.filled == pytest.approx(0.01)
    assert statuses(seen, order.id).count("closed") == 1


def test_the_quiet_interval_is_validated() -> None:
    with pytest.raises(BadRequest, match="userDataQuietAfter"):
        ccxtpro_sync.binance({"userDataQuietAfter": -1})
    with pytest.raises(BadRequest, match="userDataQuietAfter"):
        ccxtpro_sync.binance({"userDataQuietAfter": "soon"})
    assert ccxtpro_sync.binance({"userDataQuietAfter": False})._private._quiet_after is None
