"""Values nested deeper than the JSON decoders recurse, at the decoders the first round
left open: Binance REST answers decoded whole (listenKey, ``get_json``), payloads
replayed from a raw log, the plain ``WebSocketClient``, and the adapter seam.

msgspec and ``json`` refuse such a value with ``RecursionError``, not with their own
decode errors, so it escaped untyped: from a REST call to its caller, and from a
frame's decode to the reader, which reported it as a protocol bug and lost the frame.
Now a REST answer is a ``ProtocolError``; the plain client hands the frame over as
text (what it does with any frame that is not JSON) and goes on; the seam reports a
``ProtocolError`` for the frame and goes on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

import ccxtpro_sync
from ccxtpro_sync import CcxtproSyncError, ProtocolError, RawMessage, WebSocketClient
from ccxtpro_sync._credentials import Credentials
from ccxtpro_sync._exchanges.binance.rest import BinanceRest
from ccxtpro_sync._exchanges.binance.stream_protocol import SNAPSHOT_CHANNEL
from ccxtpro_sync.adapters import AdapterProtocol
from ccxtpro_sync.simulator import LocalExchange

from ..plain.servers import LocalServer
from ..plain.test_custom_adapter import example
from .test_rest_hostile import Peer, Scripted

DEEP = 5_000
NESTED = b"[" * DEEP + b"]" * DEEP
WAIT = 10.0


def nested_answers(peer: Peer) -> None:
    while peer.request() is not None:
        peer.answer(b'{"listenKey":' + NESTED + b"}")


@pytest.mark.parametrize("call", ["get_json", "with_api_key"])
def test_a_rest_answer_nested_too_deep_is_a_protocol_error(call: str) -> None:
    server = Scripted(nested_answers)
    rest = BinanceRest(server.url, "usdm", timeout=5)
    try:
        with pytest.raises(ProtocolError, match="nested too deeply"):
            if call == "get_json":
                rest.get_json("/fapi/v1/time")
            else:  # how a futures listenKey is created
                rest.with_api_key("POST", "/fapi/v1/listenKey", Credentials("k", secret="s"))
    finally:
        rest.close()
        server.close()
    assert len(server.seen) == 1


def test_the_plain_client_hands_a_nested_frame_over_as_text_and_goes_on() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(NESTED.decode())
        await ws.send(json.dumps({"n": 1}))
        await ws.wait_closed()

    with LocalServer(handler) as server:
        with WebSocketClient(server.url, timeout=WAIT) as client:
            assert client.recv() == NESTED.decode()
            assert client.recv() == {"n": 1}
            assert client.connection.protocol_errors == 0


def test_the_seam_reports_a_frame_its_adapter_cannot_decode_and_goes_on() -> None:
    protocol = AdapterProtocol(example.MiniAdapter("ws://unused"))
    protocol.on_open(0.0)
    hostile = b'{"method":"subscription","params":{"channel":"ticker.BTC","data":' + NESTED + b"}}"
    result = protocol.receive(hostile, 1.0)
    assert not isinstance(result, list) and len(result.errors) == 1
    assert isinstance(result.errors[0], CcxtproSyncError)  # the example's "not JSON"
    frame = b'{"method":"subscription","params":{"channel":"ticker.BTC","data":{"last":1}}}'
    (delivery,) = protocol.receive(frame, 1.1)  # type: ignore[misc]
    assert delivery.message_hash == "ticker:BTC" and delivery.value == {"last": 1}


class _JsonAdapter(example.MiniAdapter):  # type: ignore[misc]
    """An adapter whose decode lets the JSON decoder's errors through, as a user's may."""

    def decode(self, data: bytes, now: float) -> Any:
        json.loads(data)
        return super().decode(data, now)


def test_the_seam_types_a_recursion_error_its_adapter_let_through() -> None:
    protocol = AdapterProtocol(_JsonAdapter("ws://unused"))
    protocol.on_open(0.0)
    result = protocol.receive(NESTED, 1.0)
    assert not isinstance(result, list)
    assert [type(e) for e in result.errors] == [ProtocolError]


@pytest.mark.parametrize("channel", ["btcusdt@ticker", f"{SNAPSHOT_CHANNEL}btcusdt@1000"])
def test_a_nested_payload_in_a_raw_log_replays_as_a_protocol_error(
    exchange: LocalExchange, channel: str
) -> None:
    """A replayed payload (a recorded stream payload, a recorded depth snapshot) goes
    through the same decoders as a live one, outside the stream protocol's guard."""
    payload = b'{"e":"24hrTicker","lastUpdateId":1,"x":' + NESTED + b"}"
    diff = b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[],"a":[]}'
    log = [RawMessage("spot", "btcusdt@depth@100ms", diff, 0.5)]  # the book the snapshot is for
    with ccxtpro_sync.binance({"environment": "local", "local": exchange}) as client:
        client.load_markets()
        with pytest.raises(ProtocolError):
            client.replay([*log, RawMessage("spot", channel, payload, 1.0)])
