"""Numbers spelled by a hostile server where the client reads "digits".

``str.isdigit()`` is true for ``"²"`` (a header's latin-1 byte 0xB2, or ``"\\u00b2"`` in a
JSON string), which ``int()`` refuses, and for 5,000 ASCII digits, which ``int()`` also
refuses (Python's 4,300-digit limit). Each such text reached ``int()`` and escaped as a
bare ``ValueError``: from every Binance REST call (its used-weight header), from the
body cap (its Content-Length), from an order reply's id check and from sorting trades.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from ccxtpro_sync import ProtocolError
from ccxtpro_sync._exchanges.binance.order_outcome import check_answer
from ccxtpro_sync._exchanges.binance.rest import BinanceRest
from ccxtpro_sync._exchanges.binance.user_data import _trade_id_key
from ccxtpro_sync._exchanges.deribit.rpc import _opt_int
from ccxtpro_sync._numbers import ascii_int
from ccxtpro_sync._structures import Order, Trade
from ccxtpro_sync.fanout.entry_ids import trade_entry_id

from .test_rest_hostile import Peer, Scripted

HOSTILE = ["\u00b2", "1\u00b9", "\u0663", "9" * 5000]  # superscripts, Arabic-Indic, too long


@contextlib.contextmanager
def answering(head: bytes, body: bytes = b'{"ok":true}') -> Iterator[BinanceRest]:
    """A ``BinanceRest`` whose server answers every call with ``head`` among its headers."""

    def handler(peer: Peer) -> None:
        while peer.request() is not None:
            peer.sock.sendall(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n\r\n" + body)
            if b"Connection: close" in head:
                return  # the body ends where the connection does

    server = Scripted(handler)
    rest = BinanceRest(server.url, "spot", timeout=5, max_body=1024)
    try:
        yield rest
    finally:
        rest.close()
        server.close()


@pytest.mark.parametrize("weight", [b"\xb2", b"1\xb9", b"9" * 5000])
def test_a_used_weight_header_that_is_not_a_number_is_ignored(weight: bytes) -> None:
    """The answer is the caller's; the odd header leaves the known weight as it was."""
    with answering(b"Content-Length: 11\r\nX-MBX-USED-WEIGHT-1M: " + weight) as rest:
        assert rest.send("GET", "/api/v3/depth") == b'{"ok":true}'
        assert rest.used_weight is None


def test_a_huge_content_length_is_over_the_cap() -> None:
    with (
        answering(b"Content-Length: " + b"9" * 5000) as rest,
        pytest.raises(ProtocolError, match="limit"),
    ):
        rest.send("GET", "/api/v3/depth")


@pytest.mark.parametrize("length", [b"\xb2", b"1\xb9"])
def test_a_content_length_that_is_not_a_number_leaves_the_cap_to_the_body(length: bytes) -> None:
    """http.client reads such an answer to its end; the cap still counts the bytes."""
    with answering(b"Connection: close\r\nContent-Length: " + length, b"x" * 2000) as rest:
        with pytest.raises(ProtocolError, match="limit"):
            rest.send("GET", "/api/v3/depth")
    with answering(b"Connection: close\r\nContent-Length: " + length) as rest:
        assert rest.send("GET", "/api/v3/depth") == b'{"ok":true}'


@pytest.mark.parametrize("text", HOSTILE)
def test_ascii_int_takes_plain_digits_only(text: str) -> None:
    assert ascii_int(text) is None
    assert ascii_int("0123") == 123
    assert ascii_int("") is None
    assert ascii_int(None) is None
    assert ascii_int(7) is None  # a number is not a spelling


def _order(order_id: str) -> Order:
    return Order(id=order_id, clientOrderId="c1", symbol="BTC/USDT")


@pytest.mark.parametrize("got", HOSTILE)
def test_an_order_reply_naming_an_odd_id_is_a_protocol_error(got: str) -> None:
    """Another order's reply (an unknown outcome, then looked up), never a ValueError."""
    with pytest.raises(ProtocolError, match="orderId"):
        check_answer(_order(got), "c1", "123")
    assert check_answer(_order("0123"), "c1", "123").id == "0123"  # Binance reads numbers
    long = "9" * 5000
    assert check_answer(_order("0" + long), "c1", long).id == "0" + long


@pytest.mark.parametrize("text", HOSTILE)
def test_odd_trade_ids_sort_last_and_publish_without_a_number(text: str) -> None:
    ids = ["10", text, "9"]
    trades = [Trade(id=i, symbol="BTC/USDT") for i in ids]
    assert [t.id for t in sorted(trades, key=_trade_id_key)] == ["9", "10", text]
    assert trade_entry_id(trades[1]) == "*"
    assert trade_entry_id(trades[0]) == "10-1"


@pytest.mark.parametrize("text", HOSTILE)
def test_deribit_times_spelled_oddly_are_absent(text: str) -> None:
    assert _opt_int(text) is None
    assert _opt_int("1700000000000000") == 1700000000000000
