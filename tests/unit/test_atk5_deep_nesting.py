"""A frame nested deeper than the JSON decoder recurses is a malformed frame.

msgspec refuses such a value with ``RecursionError``, not with its own
``DecodeError``, even inside a key it only skips. The stream protocol (both the
bound fast path and the envelope decode) and the WS API protocol caught only
msgspec's errors, so a hostile server's frame with a few thousand ``[`` escaped
``receive`` as an untyped ``RecursionError``, reported as a protocol bug with its
traceback, frame after frame. It is now a ``ProtocolError`` like any malformed frame,
and the stream goes on. Plain bytes through each protocol's ``receive``."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from ccxtpro_sync._core.events import Delivery, Inbound
from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance.environments import endpoints
from ccxtpro_sync._exchanges.binance.markets import Markets
from ccxtpro_sync._exchanges.binance.user_data import UserDataState
from ccxtpro_sync._exchanges.binance.ws_api import BinanceWsApiProtocol

from .test_atk5_trade_strings import stream_protocol
from .test_private_parsers import spot_market

DEEP = 5_000
NESTED = b"[" * DEEP + b"]" * DEEP

TICKER = {"e": "24hrTicker", "E": 1672515782136, "s": "BTCUSDT", "p": "-93.49", "P": "-0.560",
          "w": "16627.4", "x": "16695.76", "c": "16602.26", "Q": "0.0067", "b": "16602.25",
          "B": "0.0569", "a": "16602.26", "A": "0.2922", "o": "16695.75", "h": "16773.18",
          "l": "16497.77", "v": "159435.48", "q": "2651010617.38", "O": 0, "C": 86400000,
          "F": 1, "L": 2, "n": 2}  # fmt: skip
AGG = {"e": "aggTrade", "E": 1, "s": "BTCUSDT", "a": 1, "p": "65000.1", "q": "0.001", "f": 1,
       "l": 1, "T": 1, "m": False}  # fmt: skip


def _frame(stream: str, payload: dict[str, Any], extra: bytes = b"") -> bytes:
    body = json.dumps({"stream": stream, "data": payload}, separators=(",", ":")).encode()
    return body[:-2] + extra + b"}}" if extra else body


def _outcome(result: Inbound | list[Delivery]) -> tuple[list[Delivery], list[BaseException]]:
    if isinstance(result, Inbound):
        return result.deliveries, result.errors
    return result, []


@pytest.mark.parametrize(
    ("stream", "payload"), [("btcusdt@ticker", TICKER), ("btcusdt@aggTrade", AGG)]
)
def test_a_deeply_nested_market_frame_is_a_protocol_error(
    stream: str, payload: dict[str, Any]
) -> None:
    proto = stream_protocol(stream)
    hostile = _frame(stream, payload, b',"zz":' + NESTED)
    # Before the stream is bound (envelope decode), then on its bound fast path.
    for _ in range(2):
        deliveries, errors = _outcome(proto.receive(hostile, 0.0))
        assert deliveries == [] and len(errors) == 1, errors
        assert isinstance(errors[0], ProtocolError), repr(errors[0])
        good, errors = _outcome(proto.receive(_frame(stream, payload), 0.0))
        assert not errors and len(good) == 1  # the stream goes on


def test_a_deeply_nested_ws_api_frame_is_a_protocol_error() -> None:
    markets = Markets([spot_market()], "spot")
    proto = BinanceWsApiProtocol(
        endpoints("prod", "spot"), None, markets=markets, user_data=UserDataState(markets)
    )
    result = proto.receive(b'{"id":"x","status":200,"result":' + NESTED + b"}", 0.0)
    assert len(result.errors) == 1 and isinstance(result.errors[0], ProtocolError)


@pytest.mark.parametrize(
    ("stream", "payload"), [("btcusdt@ticker", TICKER), ("btcusdt@aggTrade", AGG)]
)
def test_no_nesting_depth_escapes_as_a_recursion_error(
    stream: str, payload: dict[str, Any]
) -> None:
    # How deep msgspec may recurse depends on the caller's stack: the envelope decode
    # and the payload's (deeper in the stack, in the stream's handler) stop at
    # slightly different depths. Every depth around that limit is tried, on the
    # general path (before the stream is bound) and on the bound one.
    limit = sys.getrecursionlimit()
    for bound in (False, True):
        for depth in range(limit - 80, limit + 10):
            proto = stream_protocol(stream)
            if bound:
                proto.receive(_frame(stream, payload), 0.0)
            nested = b"[" * depth + b"]" * depth
            deliveries, errors = _outcome(
                proto.receive(_frame(stream, payload, b',"zz":' + nested), 0.0)
            )
            assert all(isinstance(e, ProtocolError) for e in errors), (depth, errors)
            assert len(deliveries) + len(errors) == 1, (depth, deliveries, errors)
