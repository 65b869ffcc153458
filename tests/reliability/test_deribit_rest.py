"""Deribit's REST transport (the markets load) against servers that misbehave: an
answer above the cap, a server that never answers (the call's deadline, not each
read, bounds it), and the answer of an error status."""

from __future__ import annotations

import pytest

from ccxtpro_sync import ProtocolError, RequestTimeout

from .test_rest_hostile import Peer, deribit_rest


def test_an_answer_above_the_cap_is_a_protocol_error() -> None:
    def handler(peer: Peer) -> None:
        while peer.request() is not None:
            peer.answer(b"[" + b"1," * 4096 + b"1]")

    with deribit_rest(handler, "/api/v2", max_body=1024) as (server, rest):
        with pytest.raises(ProtocolError, match="larger than 1024"):
            rest.get("/public/get_instruments?currency=BTC", 5.0, "deribit get_instruments")
    assert [target for _, _, target in server.seen] == [
        "/api/v2/public/get_instruments?currency=BTC"
    ]


def test_a_trickling_server_is_cut_at_the_call_deadline() -> None:
    def handler(peer: Peer) -> None:
        peer.request()
        peer.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        while not peer.server.stop.wait(0.2):  # a byte now and then: no read times out
            peer.sock.sendall(b" ")

    with deribit_rest(handler) as (_, rest):
        with pytest.raises(RequestTimeout):
            rest.get("/public/test", 1.0, "deribit test")


def test_an_error_status_keeps_its_body() -> None:
    def handler(peer: Peer) -> None:
        while peer.request() is not None:
            peer.answer(b'{"error":{"code":10009,"message":"x"}}', status="400 Bad Request")

    with deribit_rest(handler) as (_, rest):
        assert rest.get("/public/x", 5.0, "deribit x") == (
            400,
            b'{"error":{"code":10009,"message":"x"}}',
        )
