"""A hostile server cannot make each cached trade pin a huge string.

A public trade keeps its decoded payload as ``info``, and a symbol's cache keeps
``tradesLimit`` (1,000) trades. The payload's strings were taken at any length: a
price of ``"0." + 100,000 zeros + "1"`` is a valid number (0.0 as a float), so a
server sending such trades made every cached trade hold up to a whole frame
(``maxMessageSize``, 8 MiB: gigabytes per symbol). The strings a trade keeps are
now refused past a length no Binance value comes near, with ``ProtocolError``, as
any malformed frame is; plain bytes through ``BinanceStreamProtocol.receive``."""

from __future__ import annotations

import gc
import json
import threading
import tracemalloc
from typing import Any

import pytest

from ccxtpro_sync._core.events import Delivery, Inbound, RawTap
from ccxtpro_sync._core.rotation import DeliveredKeys
from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance.market_data import MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_market
from ccxtpro_sync._exchanges.binance.rotation import RotationRouter
from ccxtpro_sync._exchanges.binance.stream_protocol import BinanceStreamProtocol
from ccxtpro_sync._structures import Trade

HUGE = 100_000


def stream_protocol(stream: str, number: Any = float, kind: str = "spot") -> BinanceStreamProtocol:
    """A subscribed stream protocol over one BTCUSDT market of ``kind`` (spot or usdm)."""
    raw: dict[str, Any] = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC",
                           "quoteAsset": "USDT", "filters": []}  # fmt: skip
    if kind == "usdm":
        raw.update(pair="BTCUSDT", contractType="PERPETUAL", deliveryDate=4133404800000,
                   marginAsset="USDT")  # fmt: skip
    data = MarketData(Markets([parse_market(raw, kind, number)], kind, number=number))
    router = RotationRouter(data, threading.Lock(), DeliveredKeys())
    raw_tap = RawTap(lambda: 1.0)
    raw_tap.enabled = False
    proto = BinanceStreamProtocol("ws://a", router, raw_tap=raw_tap)
    proto.subscribe([stream])
    proto.on_open(0.0)
    return proto


def _payload(kind: str, trade_id: int, **fields: Any) -> dict[str, Any]:
    common = {"E": 1, "s": "BTCUSDT", "p": "65000.10", "q": "0.001", "T": 1, "m": False}
    if kind == "trade":
        return {"e": "trade", "t": trade_id, **common, "M": True, **fields}
    return {"e": "aggTrade", "a": trade_id, **common, "f": trade_id, "l": trade_id, **fields}


def _receive(
    proto: BinanceStreamProtocol, stream: str, payload: dict[str, Any]
) -> tuple[list[Trade], list[BaseException]]:
    frame = json.dumps({"stream": stream, "data": payload}, separators=(",", ":")).encode()
    result = proto.receive(frame, 0.0)
    deliveries: list[Delivery] = result.deliveries if isinstance(result, Inbound) else result
    errors = result.errors if isinstance(result, Inbound) else []
    return [t for d in deliveries if d.message_hash.startswith("trades:") for t in d.value], errors


@pytest.mark.parametrize("number", [float, "decimal"], ids=["float", "decimal"])
@pytest.mark.parametrize("kind", ["aggTrade", "trade"])
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("p", "0." + "0" * HUGE + "1"),  # a valid price: 0.0 as a float
        ("q", "1." + "0" * HUGE),
        ("s", "BTCUSDT" + " " * HUGE),
        ("e", "x" * HUGE),
    ],
    ids=["price", "quantity", "symbol", "event"],
)
def test_a_trade_with_a_huge_string_is_refused_and_nothing_is_kept(
    kind: str, key: str, value: str, number: Any
) -> None:
    from decimal import Decimal

    stream = f"btcusdt@{kind}"
    proto = stream_protocol(stream, Decimal if number == "decimal" else float)
    good, errors = _receive(proto, stream, _payload(kind, 1))  # binds the stream
    assert [t.id for t in good] == ["1"] and not errors
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for trade_id in range(2, 22):
            trades, errors = _receive(proto, stream, _payload(kind, trade_id, **{key: value}))
            assert trades == []
            assert len(errors) == 1 and isinstance(errors[0], ProtocolError), errors
        del trades, errors  # (an error may quote its frame)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 20 frames of 100 kB each: nothing of them stays (it was about 2 MB).
    assert kept < HUGE, kept


def test_binance_sized_strings_still_pass() -> None:
    stream = "btcusdt@aggTrade"
    proto = stream_protocol(stream)
    price, qty = "1234567890.12345678", "0.00000001"
    trades, errors = _receive(proto, stream, _payload("aggTrade", 1, p=price, q=qty, nq=qty))
    assert not errors and [(t.price, t.amount) for t in trades] == [(1234567890.12345678, 1e-8)]
    assert trades[0]["info"]["nq"] == qty


def _liquidation(**fields: Any) -> dict[str, Any]:
    order = {"s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.014", "p": "9910",
             "ap": "9910", "X": "FILLED", "l": "0.014", "z": "0.014",
             "T": 1568014460893}  # fmt: skip
    return {"e": "forceOrder", "E": 1568014460893, "o": {**order, **fields}}


def test_a_liquidation_with_a_huge_string_is_refused() -> None:
    stream = "btcusdt@forceOrder"
    proto = stream_protocol(stream, kind="usdm")

    def receive(payload: dict[str, Any]) -> tuple[list[Any], list[BaseException]]:
        frame = json.dumps({"stream": stream, "data": payload}).encode()
        result = proto.receive(frame, 0.0)
        deliveries = result.deliveries if isinstance(result, Inbound) else result
        errors = result.errors if isinstance(result, Inbound) else []
        return [d.value for d in deliveries if d.message_hash.startswith("liquidations:")], errors

    good, errors = receive(_liquidation())
    assert len(good) == 1 and not errors
    for key in ("p", "X", "s"):
        refused, errors = receive(_liquidation(**{key: "9" * HUGE}))
        assert refused == [] and len(errors) == 1 and isinstance(errors[0], ProtocolError)
