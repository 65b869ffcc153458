"""A float client's bound ticker streams (issue 20): the whole frame in one decode.

Once a ``@ticker``/``@miniTicker``/``@bookTicker`` stream is bound, its frames are not
decoded as an envelope first: the payload is cut out of a plain frame by position and
decoded once, straight to the ticker (``ticker_floats.bound``; book tickers, whose payload
is small, keep the envelope decode). These tests check, on
plain bytes through ``BinanceStreamProtocol.receive``, that this path gives what the
general path gives (the raw log on sends every frame there), and that any frame it
cannot take for sure still reaches the general path, with its result or its error."""

from __future__ import annotations

import json
import threading
from typing import Any

import msgspec
import pytest

from ccxtpro_sync._core.events import RAW_HASH, Delivery, Inbound, RawTap
from ccxtpro_sync._core.rotation import DeliveredKeys
from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance.market_data import MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets
from ccxtpro_sync._exchanges.binance.rotation import RotationRouter
from ccxtpro_sync._exchanges.binance.stream_protocol import BinanceStreamProtocol
from ccxtpro_sync._structures import Ticker

from .test_ticker_one_decode import BAD, CASES, MINI, SPOT_BOOK, TICKER, _market, _per_field

COINM_TICKER = {k: v for k, v in TICKER.items() if k not in "xbBaA"} | {"s": "BTCUSD_PERP"}
ALL_CASES = [*CASES, ("spot", "ticker", TICKER), ("usdm", "ticker", TICKER)]
ALL_CASES.append(("coinm", "ticker", COINM_TICKER))
#: Book tickers stay bound to their raw payload (cheaper for so small a payload).
BOUND_CASES = [c for c in ALL_CASES if c[1] != "bookTicker"]


class Conn:
    """One float client's market data behind a stream protocol (raw log on or off)."""

    def __init__(self, kind: str, stream_kind: str, *, tap: bool = False) -> None:
        market = _market(kind)
        self.market = market
        self.stream = f"{market.id.lower()}@{stream_kind}"
        self.data = MarketData(Markets([market], kind, number=float))
        raw_tap = RawTap(lambda: 1.0)
        raw_tap.enabled = tap
        router = RotationRouter(self.data, threading.Lock(), DeliveredKeys())
        self.proto = BinanceStreamProtocol("ws://a", router, raw_tap=raw_tap)
        self.proto.subscribe([self.stream])
        self.proto.on_open(0.0)

    def frame(self, payload: Any) -> bytes:
        return json.dumps({"stream": self.stream, "data": payload}, separators=(",", ":")).encode()

    def receive(self, frame: bytes) -> tuple[list[Ticker], list[BaseException]]:
        result = self.proto.receive(frame, 0.0)
        deliveries: list[Delivery] = result.deliveries if isinstance(result, Inbound) else result
        errors = result.errors if isinstance(result, Inbound) else []
        return [d.value for d in deliveries if d.message_hash != RAW_HASH], errors

    def bound(self) -> bool:
        """Whether the stream's frames take the bound path."""
        return bool(self.proto._bound.get(self.stream.encode()))


def _payload(p: dict[str, Any]) -> bytes:
    return json.dumps(p, separators=(",", ":")).encode()


@pytest.mark.parametrize(("kind", "stream_kind", "payload"), BOUND_CASES)
def test_the_bound_decoder_builds_the_ticker_from_the_frame(
    kind: str, stream_kind: str, payload: dict[str, Any]
) -> None:
    conn = Conn(kind, stream_kind)
    decode, handle = conn.data.bind(conn.stream)
    frame = decode(conn.frame(payload))
    assert frame.stream == conn.stream
    ticker = frame.data
    assert isinstance(ticker, Ticker)
    assert type(ticker.to_dict()["info"]) is dict  # decoded from its bytes
    want = _per_field(stream_kind, payload, conn.market)
    assert ticker.to_dict() == want.to_dict()
    # info holds the payload's own bytes, cut out of the frame
    raw = msgspec.structs.asdict(ticker)["info"]
    assert type(raw) is msgspec.Raw and bytes(raw) == _payload(payload)
    [delivery] = handle(ticker)
    assert delivery.value is ticker
    assert conn.data.tickers[conn.market.symbol] is ticker


@pytest.mark.parametrize(("kind", "stream_kind", "payload"), ALL_CASES)
def test_bound_frames_give_what_the_general_path_gives(
    kind: str, stream_kind: str, payload: dict[str, Any]
) -> None:
    fast, slow = Conn(kind, stream_kind), Conn(kind, stream_kind, tap=True)
    for k in range(3):
        p = payload | {"E": 1672515782136 + k}
        got, errors = fast.receive(fast.frame(p))
        want, _ = slow.receive(slow.frame(p))
        assert errors == [] and len(got) == 1 and got == want
        assert got[0]["info"] == p and got[0].info == want[0].info
    assert fast.bound()


@pytest.mark.parametrize(
    "reshape",
    [
        lambda f: f.replace(b'"data":{', b'"data": {'),  # spacing before the payload
        lambda f: f[:-1] + b" }",  # spacing after it
        lambda f: f[:-1] + b',"extra":1}',  # a key after the payload
        lambda f: f[:-1] + b',"data":' + f[f.index(b'"data":') + 7 : -1] + b"}",  # twice
        lambda f: f.replace(b'"data":', b'"data" :'),
    ],
)
@pytest.mark.parametrize("stream_kind", ["ticker", "miniTicker", "bookTicker"])
def test_a_frame_spelled_otherwise_gets_what_the_general_path_gives(
    stream_kind: str, reshape: Any
) -> None:
    payload = {"ticker": TICKER, "miniTicker": MINI, "bookTicker": SPOT_BOOK}[stream_kind]
    fast, slow = Conn("spot", stream_kind), Conn("spot", stream_kind, tap=True)
    fast.receive(fast.frame(payload))  # binds the stream
    assert fast.bound()
    frame = reshape(fast.frame(payload | {"s": "BTCUSDT"}))
    got, got_errors = fast.receive(frame)
    want, want_errors = slow.receive(frame)
    assert got == want and [type(e) for e in got_errors] == [type(e) for e in want_errors]
    for ticker in got:  # whatever was taken keeps a payload that reads back whole
        assert ticker["info"] == payload


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("stream_kind", ["ticker", "miniTicker", "bookTicker"])
def test_a_bad_number_on_a_bound_stream_is_a_typed_error_and_the_stream_goes_on(
    stream_kind: str, bad: str
) -> None:
    payload = {"ticker": TICKER, "miniTicker": MINI, "bookTicker": SPOT_BOOK}[stream_kind]
    conn = Conn("spot", stream_kind)
    [first], _ = conn.receive(conn.frame(payload))
    assert conn.bound()
    field = "b" if stream_kind == "bookTicker" else "c"
    got, errors = conn.receive(conn.frame(payload | {field: bad}))
    assert got == [] and len(errors) == 1 and isinstance(errors[0], ProtocolError)
    store = conn.data.bids_asks if stream_kind == "bookTicker" else conn.data.tickers
    assert store[conn.market.symbol] is first  # the bad one stored nothing
    [after], errors = conn.receive(conn.frame(payload))
    assert errors == [] and after == first


def test_a_truncated_or_foreign_frame_on_a_bound_stream_is_an_error_not_a_ticker() -> None:
    conn = Conn("spot", "ticker")
    good = conn.frame(TICKER)
    conn.receive(good)
    for frame in (good[:-3] + b"}}", good[: len(good) // 2], b'{"stream":"btcusdt@ticker"}'):
        got, errors = conn.receive(frame)
        assert got == [] and len(errors) == 1 and isinstance(errors[0], ProtocolError)
    assert conn.receive(good)[0][0]["info"] == TICKER
