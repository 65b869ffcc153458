"""Deribit's REST transport against a hostile server: a negative chunk size made
http.client read to EOF in one go, past the body cap (Binance's transport already
refuses it)."""

from __future__ import annotations

import pytest

from ccxtpro_sync import ProtocolError

from .test_rest_hostile import Peer, deribit_rest, negative_chunk


def test_a_negative_chunk_size_cannot_pass_the_cap() -> None:
    with deribit_rest(negative_chunk([]), max_body=1024 * 1024) as (_, rest):
        with pytest.raises(ProtocolError, match="negative chunk size"):
            rest.get("/public/get_instruments", 5.0, "deribit get_instruments")


def test_a_chunked_answer_is_read_whole() -> None:
    def handler(peer: Peer) -> None:
        peer.request()
        peer.sock.sendall(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'3\r\n{"r\r\n9\r\nesult":[]\r\n1\r\n}\r\n0\r\n\r\n'
        )

    with deribit_rest(handler) as (_, rest):
        assert rest.get("/public/test", 5.0, "deribit test") == (200, b'{"result":[]}')
