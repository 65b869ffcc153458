"""Deribit frames and REST answers nested deeper than the JSON decoders recurse.

msgspec and ``json`` refuse such a value with ``RecursionError``, not with their own
decode errors. The JSON-RPC frame decoder and the REST helper caught only the decode
errors, so a hostile frame escaped as an untyped ``RecursionError`` (a "protocol
bug" with its traceback) and a hostile REST answer reached the caller untyped. Now a
frame is a ``ProtocolError`` like any malformed frame (the session goes on), an
order whose reply was such a frame is resolved by its label (never sent twice), and
a REST answer is a typed error."""

from __future__ import annotations

import pytest

from ccxtpro_sync import DeribitClient, NetworkError, ProtocolError, deribit
from ccxtpro_sync._exchanges.deribit.rpc import decode_frame
from ccxtpro_sync.simulator import LocalDeribit

from ..reliability.test_rest_hostile import Peer, Scripted
from .exchange import exchange_fixture
from .test_deribit_session import make
from .wire import WireProxy

PERP = "BTC/USD:BTC"
DEEP = 5_000
NESTED = b"[" * DEEP + b"]" * DEEP


ex = exchange_fixture(seed=6, auto_publish=False, min_heartbeat=1.0)


@pytest.mark.parametrize(
    "frame",
    [
        b'{"jsonrpc":"2.0","id":7,"result":' + NESTED + b"}",
        b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"x","data":'
        + NESTED
        + b"}}",
    ],
    ids=["reply", "notification"],
)
def test_a_deeply_nested_frame_is_a_protocol_error(frame: bytes) -> None:
    with pytest.raises(ProtocolError, match="nested too deeply"):
        decode_frame(frame)
    with pytest.raises(ProtocolError, match="nested too deeply"):
        decode_frame(frame, exact=True)


def test_an_order_reply_nested_too_deep_is_resolved_by_label_never_resent(
    ex: LocalDeribit, proxy: WireProxy
) -> None:
    client = make(ex, proxy, timeout=3.0, options={"heartbeatInterval": 10.0})
    try:
        client.wait_ready(10)
        proxy.replace = ("private/buy", b'{"jsonrpc":"2.0","id":1,"result":' + NESTED + b"}")
        order = client.create_order_ws(PERP, "limit", "buy", 10, 40000, {"clientOrderId": "deep-1"})
        assert proxy.replaced.is_set()
        assert order.clientOrderId == "deep-1" and order.status == "open"
        sent = [m for s in range(len(proxy.sessions)) for m in proxy.methods(s)]
        assert sent.count("private/buy") == 1
        assert [o.clientOrderId for o in client.fetch_open_orders_ws(PERP)] == ["deep-1"]
    finally:
        client.close()


def test_a_rest_answer_nested_too_deep_is_a_typed_error(ex: LocalDeribit) -> None:
    def handler(peer: Peer) -> None:
        while peer.request() is not None:
            peer.answer(b'{"jsonrpc":"2.0","result":' + NESTED + b"}")

    server = Scripted(handler)
    client: DeribitClient = deribit(
        {"environment": "local", "local": ex, "urls": {"rest": server.url}, "timeout": 5.0}
    )
    try:
        with pytest.raises(NetworkError) as caught:
            client.load_markets()
        assert isinstance(caught.value, ProtocolError)
        assert server.seen  # the answer came from the hostile server
    finally:
        client.close()
        server.close()
