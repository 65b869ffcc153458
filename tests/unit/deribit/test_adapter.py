"""``DeribitAdapter`` driven through ``AdapterProtocol`` with plain bytes: no sockets."""

from __future__ import annotations

import json
from typing import Any

from ccxtpro_sync._core.events import Delivery, Inbound
from ccxtpro_sync._exchanges.deribit.adapter import RESYNC_HASH, DeribitAdapter, DeribitSettings
from ccxtpro_sync._exchanges.deribit.credentials import DeribitCredentials
from ccxtpro_sync._exchanges.deribit.user_data import RESTORED_HASH
from ccxtpro_sync.adapters import AdapterProtocol

from ._fixtures import markets

MARKETS = markets()
BOOK = "book.BTC-PERPETUAL.100ms"
ETH_BOOK = "book.ETH-PERPETUAL.100ms"


def protocol(**settings: Any) -> AdapterProtocol:
    adapter = DeribitAdapter(DeribitSettings(url="ws://x", markets=lambda: MARKETS, **settings))
    return AdapterProtocol(adapter)


def sent(inbound: Inbound) -> list[dict[str, Any]]:
    return [json.loads(frame) for frame in inbound.outgoing]


def reply(request_id: int, result: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}).encode()


def book(channel: str, change_id: int, prev: int | None, bids: list[Any]) -> bytes:
    data: dict[str, Any] = {
        "type": "snapshot" if prev is None else "change",
        "timestamp": 1,
        "instrument_name": channel.split(".")[1],
        "change_id": change_id,
        "bids": bids,
        "asks": [["new", 60010.0, 5.0]] if prev is None else [],
    }
    if prev is not None:
        data["prev_change_id"] = prev
    message = {
        "jsonrpc": "2.0",
        "method": "subscription",
        "params": {"channel": channel, "data": data},
    }
    return json.dumps(message).encode()


def open_public(p: AdapterProtocol, channels: list[str]) -> None:
    p.book.acquire(channels)
    frames = sent(p.on_open(0.0))
    assert [f["method"] for f in frames] == ["public/subscribe"]
    assert frames[0]["params"]["channels"] == channels
    done = p.receive(reply(frames[0]["id"], channels), 0.0)
    assert isinstance(done, Inbound) and done.ready


def test_a_broken_chain_resubscribes_that_book_only() -> None:
    p = protocol()
    open_public(p, [BOOK, ETH_BOOK])
    for channel in (BOOK, ETH_BOOK):
        out = p.receive(book(channel, 10, None, [["new", 60000.0, 1.0]]), 0.0)
        assert isinstance(out, list) and isinstance(out[0], Delivery)
        assert out[0].value.nonce == 10
    applied = p.receive(book(BOOK, 12, 10, [["change", 60000.0, 2.0]]), 0.0)
    assert isinstance(applied, list) and applied[0].value.bids[0] == [60000.0, 2.0]
    gap = p.receive(book(BOOK, 15, 13, [["new", 59999.0, 1.0]]), 0.0)
    assert isinstance(gap, Inbound)
    [notice] = gap.deliveries  # no book: only the resync notice for the signal
    assert notice.message_hash == RESYNC_HASH
    assert notice.value[0]["symbol"] == "BTC/USD:BTC" and notice.value[0]["count"] == 1
    frames = sent(gap)
    assert [(f["method"], f["params"]["channels"]) for f in frames] == [
        ("public/unsubscribe", [BOOK]),
        ("public/subscribe", [BOOK]),
    ]
    # Changes still in flight are not shown, and ask for nothing more.
    assert p.receive(book(BOOK, 16, 15, [["new", 59998.0, 1.0]]), 0.0) == []
    # The other book is untouched.
    eth = p.receive(book(ETH_BOOK, 17, 10, [["change", 60000.0, 3.0]]), 0.0)
    assert isinstance(eth, list) and eth[0].value.nonce == 17
    # The replies are bookkeeping; the fresh snapshot restarts the book.
    for frame in frames:
        assert p.receive(reply(frame["id"], [BOOK]), 0.0) == Inbound()
    fresh = p.receive(book(BOOK, 20, None, [["new", 59990.0, 4.0]]), 0.0)
    assert isinstance(fresh, list) and fresh[0].value.nonce == 20
    assert p.book.confirmed() == {BOOK, ETH_BOOK}


def test_login_subscribe_cod_then_refresh_before_expiry() -> None:
    p = protocol(credentials=DeribitCredentials("id", "secret"), cancel_on_disconnect="connection")
    p.book.acquire(["user.orders.any.any.raw"])
    login = sent(p.on_open(0.0))
    assert [f["method"] for f in login] == ["public/auth"]
    assert login[0]["params"]["grant_type"] == "client_credentials"
    auth = {"access_token": "a1", "refresh_token": "r1", "expires_in": 100, "scope": "x"}
    subscribe = sent(p.receive(reply(login[0]["id"], auth), 5.0))  # type: ignore[arg-type]
    assert [f["method"] for f in subscribe] == ["private/subscribe"]
    subscribed = p.receive(reply(subscribe[0]["id"], ["user.orders.any.any.raw"]), 5.0)
    assert isinstance(subscribed, Inbound) and not subscribed.ready
    assert subscribed.deliveries == []
    cod = sent(subscribed)
    assert cod == [
        {
            "jsonrpc": "2.0",
            "id": cod[0]["id"],
            "method": "private/enable_cancel_on_disconnect",
            "params": {"scope": "connection"},
        }
    ]
    # The reconcile marker comes with ready (after the COD ack), never before.
    done = p.receive(reply(cod[0]["id"], "ok"), 5.0)
    assert isinstance(done, Inbound) and done.ready
    assert [(d.message_hash, d.value) for d in done.deliveries] == [(RESTORED_HASH, 1)]
    assert p.next_deadline() == 5.0 + 80.0
    assert p.on_timer(84.0) == []
    refresh = [json.loads(f) for f in p.on_timer(85.0)]
    assert refresh[0]["params"] == {"grant_type": "refresh_token", "refresh_token": "r1"}
    assert p.on_timer(86.0) == []  # one refresh in flight
    p.receive(reply(refresh[0]["id"], {**auth, "refresh_token": "r2"}), 86.0)
    adapter = p.adapter
    assert isinstance(adapter, DeribitAdapter)
    assert adapter.info()["refresh_count"] == 1 and adapter.info()["auth_count"] == 1
    assert adapter.info()["cancel_on_disconnect_enabled"]
    p.on_close()
    assert adapter.info()["authenticated"] is False
    assert not adapter.info()["cancel_on_disconnect_enabled"]


def test_trades_are_cached_before_delivery_and_an_empty_batch_is_dropped() -> None:
    """What ``watch_trades`` reads (the client's caches) holds a batch before it is
    delivered; a notification with no trades delivers nothing (a watcher woken by it
    would have nothing to read)."""
    settings = DeribitSettings(url="ws://x", markets=lambda: MARKETS)
    p = AdapterProtocol(DeribitAdapter(settings))
    channel = "trades.BTC-PERPETUAL.100ms"
    open_public(p, [channel])

    def note(data: Any) -> bytes:
        message = {
            "jsonrpc": "2.0",
            "method": "subscription",
            "params": {"channel": channel, "data": data},
        }
        return json.dumps(message).encode()

    trade = {
        "trade_id": "7", "trade_seq": 1, "timestamp": 5, "price": 60000.0, "amount": 10.0,
        "direction": "buy", "instrument_name": "BTC-PERPETUAL", "tick_direction": 0,
        "index_price": 60000.0, "mark_price": 60000.0,
    }  # fmt: skip
    out = p.receive(note([trade]), 0.0)
    deliveries = out if isinstance(out, list) else out.deliveries
    assert [(d.message_hash, [t.id for t in d.value]) for d in deliveries] == [
        ("trades:BTC/USD:BTC", ["7"])
    ]
    caches = settings.caches
    assert caches.trades_unread("BTC/USD:BTC")
    assert [t.id for t in caches.read_trades("BTC/USD:BTC", None, None, new_updates=True)] == ["7"]
    out = p.receive(note([]), 0.0)
    assert (out if isinstance(out, list) else out.deliveries) == []
    assert not caches.trades_unread("BTC/USD:BTC")
