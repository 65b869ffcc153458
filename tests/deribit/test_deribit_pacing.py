"""The Deribit client's outgoing pace against the local Deribit exchange, which charges
requests to Deribit's credit pools and ends the session of an account that overdraws
one (10028 too_many_requests)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from ccxtpro_sync import DeribitClient, deribit
from ccxtpro_sync.simulator import LocalDeribit

from .exchange import exchange_fixture

PERP = "BTC/USD:BTC"


ex = exchange_fixture(seed=8, auto_publish=False)


@pytest.fixture
def client(ex: LocalDeribit) -> Iterator[DeribitClient]:
    client_id, secret = ex.credentials
    c = deribit({"environment": "local", "local": ex, "apiKey": client_id, "secret": secret})
    try:
        yield c
    finally:
        c.close()


def test_bursts_within_deribits_pools_go_out_without_overdrawing_them(
    ex: LocalDeribit, client: DeribitClient
) -> None:
    """120 reads and 30 orders at once: more than a per-connection frame rate would let
    through within the requests' timeout, fewer than Deribit's pools allow (non-matching
    20/s, burst 100; matching engine 5/s, burst 20), so each pool is crossed only by the
    client's own pacing, never by the exchange's 10028."""
    client.wait_ready(10)
    handshakes = ex.stats().handshakes_accepted

    def read(_: int) -> int:
        return int(client.request("public/get_time", {}, timeout=20))

    def place(i: int) -> str:
        price = 30000 + 10 * i
        return client.create_order_ws(PERP, "limit", "buy", 10, price, timeout=20).id

    with ThreadPoolExecutor(32) as pool:
        reads = [pool.submit(read, i) for i in range(120)]
        orders = [pool.submit(place, i) for i in range(30)]
        times = [f.result() for f in reads]
        ids = [f.result() for f in orders]
    assert all(t > 0 for t in times) and len(set(ids)) == 30
    assert len(client.fetch_open_orders_ws(PERP)) == 30  # each order placed once
    stats = ex.stats()
    assert "rate_limit" not in stats.disconnect_reasons
    assert stats.handshakes_accepted == handshakes  # the session was never ended
    pacing = client.connection_info()["pacing"]
    assert pacing["matching"] >= 30 and pacing["nonMatching"] >= 120


def test_many_subscribes_stay_within_the_subscribe_pool(
    ex: LocalDeribit, client: DeribitClient
) -> None:
    """Subscribes have their own small pool (about 3.3/s, burst 10): a quicker pace
    for other requests must not let them through faster."""
    symbols = [m.symbol for m in client.load_markets().values() if m.option][:16]
    assert len(symbols) == 16
    client.wait_ready(10)
    handshakes = ex.stats().handshakes_accepted
    subs = [client.on_ticker(s, lambda _ticker: None) for s in symbols]
    want = {f"ticker.{client.market(s).id}.100ms" for s in symbols}
    ex.wait_until(
        lambda s: any(want <= set(c.subscriptions) for c in s.connections) or None,
        30,
        "every ticker channel subscribed",
    )
    stats = ex.stats()
    assert "rate_limit" not in stats.disconnect_reasons
    assert stats.handshakes_accepted == handshakes
    assert client.connection_info()["pacing"]["subscribe"] >= 16
    for sub in subs:
        sub.cancel()
