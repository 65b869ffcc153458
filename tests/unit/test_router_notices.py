"""Market-data notices travel by value with the frame that caused them (issue 12).

Every market-stream connection of a client routes through one ``MarketData``.
A resync notice raised while connection A routes a frame must reach A's
``Inbound``, never be taken by connection B routing at the same moment.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ccxtpro_sync._core.events import Inbound
from ccxtpro_sync._core.rotation import DeliveredKeys
from ccxtpro_sync._exchanges.binance.market_data import MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets
from ccxtpro_sync._exchanges.binance.rotation import RotationRouter
from ccxtpro_sync._exchanges.binance.stream_protocol import BinanceStreamProtocol

from .test_private_parsers import spot_market

DEPTH = "ethbtc@depth@100ms"
TRADES = "ethbtc@aggTrade"


def depth(first: int, last: int) -> bytes:
    data = {"e": "depthUpdate", "E": 1, "s": "ETHBTC", "U": first, "u": last,
            "b": [["0.05", "1"]], "a": [["0.06", "1"]]}  # fmt: skip
    return json.dumps({"stream": DEPTH, "data": data}).encode()


def trade(trade_id: int) -> bytes:
    data = {"e": "aggTrade", "E": 1, "s": "ETHBTC", "a": trade_id, "p": "0.05", "q": "1",
            "f": trade_id, "l": trade_id, "T": 1, "m": False}  # fmt: skip
    return json.dumps({"stream": TRADES, "data": data}).encode()


def notices_of(result: Any) -> list[Any]:
    return result.notices if isinstance(result, Inbound) else []


class _ThenOther(RotationRouter):
    """Connection A's router; once armed, connection B routes a frame right after A's
    routing returns, before A's protocol looks for notices: what B's reader thread
    may do at that instant."""

    def __init__(self, data: MarketData, lock: Any) -> None:
        super().__init__(data, lock, DeliveredKeys())
        self.other: BinanceStreamProtocol | None = None
        self.seen_by_other: list[Any] = []

    def route(self, stream: str, data: Any, now: float) -> Any:
        result = super().route(stream, data, now)
        other, self.other = self.other, None
        if other is not None:
            self.seen_by_other.append(other.receive(trade(1), now))
        return result


def test_a_resync_notice_stays_with_the_connection_whose_frame_caused_it() -> None:
    data = MarketData(Markets([spot_market()], "spot"))
    lock = threading.Lock()  # the client's data lock, shared by every connection
    router_a = _ThenOther(data, lock)
    conn_a = BinanceStreamProtocol("ws://a", router_a)
    conn_b = BinanceStreamProtocol("ws://b", RotationRouter(data, lock, DeliveredKeys()))
    for protocol in (conn_a, conn_b):
        protocol.on_open(0.0)

    conn_a.receive(depth(1, 5), 0.0)
    snapshot = json.dumps({"lastUpdateId": 3, "bids": [], "asks": []}).encode()
    data.apply_snapshot("ETH/BTC", snapshot, 1000)
    assert notices_of(conn_a.receive(depth(6, 7), 0.0)) == []

    router_a.other = conn_b
    gapped = conn_a.receive(depth(10, 12), 0.0)  # U > previous u + 1: a resync

    assert [name for name, _ in notices_of(gapped)] == ["order_book_resync"]
    assert notices_of(gapped)[0][1]["symbol"] == "ETH/BTC"
    [seen_by_b] = router_a.seen_by_other
    assert notices_of(seen_by_b) == []
    assert data.notices == []


def test_errors_about_a_listen_key_stream_do_not_quote_the_key() -> None:
    from ccxtpro_sync._exchanges.binance.user_stream import SharedUserData, UserStreamRouter

    key = "Lk" + "q" * 62
    state = SharedUserData(Markets([spot_market()], "spot"))
    protocol = BinanceStreamProtocol("ws://u", UserStreamRouter(state, lambda: None))
    protocol.subscribe([key])
    protocol.on_open(0.0)
    truncated = protocol.receive(b'{"stream":"' + key.encode() + b'","data":{"e":', 0.0)
    expired = {"e": "listenKeyExpired", "E": [1], "listenKey": key}  # E: not a time
    malformed = protocol.receive(json.dumps({"stream": key, "data": expired}).encode(), 0.0)
    assert isinstance(truncated, Inbound) and truncated.errors
    assert isinstance(malformed, Inbound) and malformed.notices
    shown = [str(e) for e in truncated.errors] + [repr(n) for n in malformed.notices]
    assert all("malformed" in text for text in shown)
    assert not [text for text in shown if key in text]
