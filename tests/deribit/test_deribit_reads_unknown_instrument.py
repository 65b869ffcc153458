"""Reads whose answer names an instrument the client has not loaded (listed after its
markets were loaded): open orders, order history, one order, trades, positions and
the user channels load it once (``public/get_instrument``) instead of failing with
``BadSymbol``, within bounds: a server naming endless instruments gets at most a few
look-ups per read, and the rest stay ``BadSymbol``.

Before, every such read was ``BadSymbol`` although the exchange lists the instrument,
and a user-channel event naming it was lost.
"""

from __future__ import annotations

from typing import Any

import pytest

from ccxtpro_sync import BadSymbol, DeribitClient
from ccxtpro_sync._exchanges.deribit import trading
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture
from .test_deribit_session import make
from .test_deribit_unknown_instrument import PERP, PERP_ID, forget_perpetual
from .test_deribit_user import Collector
from .wire import WireProxy

ex = exchange_fixture(seed=33, auto_publish=False, min_heartbeat=1.0)


def _looked_up(proxy: WireProxy) -> int:
    return proxy.sent().count("public/get_instrument")


@pytest.mark.parametrize(
    "read",
    [
        lambda c: c.fetch_open_orders_ws(),
        lambda c: c.fetch_orders_ws(),
        lambda c: c.fetch_my_trades_ws(),
        lambda c: c.fetch_positions_ws(),
    ],
    ids=["open-orders", "orders", "my-trades", "positions"],
)
def test_a_read_naming_an_instrument_not_loaded_loads_it_once(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient, read: Any
) -> None:
    client.create_order_ws(PERP, "limit", "buy", 10, 40000)  # open
    client.create_order_ws(PERP, "market", "buy", 10)  # a trade and a position
    forget_perpetual(client)
    items = read(client)
    assert items and {i.symbol for i in items} == {PERP}
    assert _looked_up(proxy) == 1
    assert read(client)  # known now: not asked again
    assert _looked_up(proxy) == 1 and client.market(PERP).id == PERP_ID


def test_one_order_naming_an_instrument_not_loaded_is_read(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    order = client.create_order_ws(PERP, "limit", "buy", 10, 40000)
    forget_perpetual(client)
    assert client.fetch_order_ws(order.id).symbol == PERP
    assert _looked_up(proxy) == 1


def test_a_server_naming_endless_instruments_gets_a_few_look_ups_per_read(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    client.create_order_ws(PERP, "limit", "buy", 10, 40000)

    def many(result: Any) -> Any:  # one open order becomes 50 on unlisted instruments
        return [{**result[0], "instrument_name": f"NOPE-{i}"} for i in range(50)]

    proxy.reply = ("private/get_open_orders", many)
    with pytest.raises(BadSymbol):
        client.fetch_open_orders_ws()
    assert _looked_up(proxy) == trading._NEW_PER_READ


def test_a_user_channel_event_naming_an_instrument_not_loaded_is_not_lost(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    orders = Collector()
    client.on_orders(handler=orders)
    client.wait_ready(10)
    ex.wait_until(
        lambda s: any(len(c.subscriptions) >= 1 for c in s.connections) or None, 10, "user subs"
    )
    forget_perpetual(client)
    with make(ex, proxy) as other:  # the same account, from a client that knows the market
        order = other.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "ev-1"})
    # the event itself cannot be read on the reader; the reconcile it wakes delivers it
    orders.wait(lambda items: any(o.id == order.id and o.status == "open" for o in items))
    assert _looked_up(proxy) == 1 and client.market(PERP).id == PERP_ID


def test_past_the_lifetime_bound_an_unloaded_instrument_stays_bad_symbol(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    client.create_order_ws(PERP, "limit", "buy", 10, 40000)
    forget_perpetual(client)
    client._late_markets = trading._MOST_LATE_MARKETS
    with pytest.raises(BadSymbol):
        client.fetch_open_orders_ws()
    assert _looked_up(proxy) == 0


def test_refused_look_ups_count_against_the_lifetime_bound_and_are_not_repeated(
    ex: LocalDeribit, proxy: WireProxy, client: DeribitClient
) -> None:
    """A server that keeps naming instruments it does not list (or garbage) got four
    look-ups on every read for ever: only loaded ones counted against the bound, and
    a refused name was asked again on the next read. Now every look-up counts, and a
    refused name, or one no instrument could have (too long), is not asked again."""
    client.create_order_ws(PERP, "limit", "buy", 10, 40000)
    reads = iter(range(100))

    def fresh(result: Any) -> Any:  # every read names instruments never named before
        n = next(reads)
        return [{**result[0], "instrument_name": f"NOPE-{n}-{i}"} for i in range(6)]

    def same(result: Any) -> Any:
        return [
            {**result[0], "instrument_name": "NOPE-AGAIN"},
            {**result[0], "instrument_name": "X" * 5000},
        ]

    for _ in range(2):
        proxy.reply = ("private/get_open_orders", same)
        with pytest.raises(BadSymbol):
            client.fetch_open_orders_ws()
    assert _looked_up(proxy) == 1  # the long name is never sent, NOPE-AGAIN once
    client._late_markets = trading._MOST_LATE_MARKETS - 6
    for _ in range(3):
        proxy.reply = ("private/get_open_orders", fresh)
        with pytest.raises(BadSymbol):
            client.fetch_open_orders_ws()
    assert _looked_up(proxy) == 1 + 6
