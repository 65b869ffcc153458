"""Entries of the fan-out streams: msgpack through msgspec, so a consumer decodes the
very Structs the collector's client produced (``Trade``, ``Ticker``, ``OHLCV``), and
order books as :class:`BookEntry` snapshots and diffs.

A stream entry has one field, ``v``, holding the msgpack bytes. Numbers keep their
type: floats round-trip exactly, and a ``numbers="decimal"`` collector writes
Decimals as strings, which decode back to ``Decimal``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .._core.events import RawMessage
from .._numbers import Num
from .._structures import OHLCV, Ticker, Trade, _plain, _stored_info

__all__ = [
    "FIELD",
    "BookEntry",
    "decode_book",
    "decode_ohlcv",
    "decode_raw",
    "decode_ticker",
    "decode_trade",
    "encode",
]

#: The one field of every stream entry.
FIELD = b"v"


class BookEntry(msgspec.Struct, array_like=True, gc=False):
    """One order-book entry. ``snapshot`` entries carry every level of the view;
    diffs carry the changed levels (amount 0 removes a level) and ``prev``, the update
    id of the entry they apply to."""

    symbol: str
    nonce: int
    prev: int | None
    snapshot: bool
    timestamp: int | None
    bids: list[tuple[Num, Num]]
    asks: list[tuple[Num, Num]]


_encoder = msgspec.msgpack.Encoder(decimal_format="string")
_trade = msgspec.msgpack.Decoder(Trade)
_ticker = msgspec.msgpack.Decoder(Ticker)
_ohlcv = msgspec.msgpack.Decoder(OHLCV)
_book = msgspec.msgpack.Decoder(BookEntry)
_raw = msgspec.msgpack.Decoder(RawMessage)


def encode(value: Any) -> bytes:
    """msgpack bytes of a unified structure or a :class:`BookEntry`."""
    if type(value) is Ticker:
        # A streamed ticker may keep its payload's JSON bytes as info (msgspec.Raw),
        # which msgpack would copy verbatim: it crosses as the payload's JSON object, as
        # x["info"] gives it (the strict decode of ``.info`` refuses a payload that only
        # the lax decode took, and the ticker would not cross at all).
        info = _stored_info(value)
        if type(info) is msgspec.Raw:
            value = msgspec.structs.replace(value, info=_plain(info))
    return _encoder.encode(value)


def decode_trade(data: bytes) -> Trade:
    return _trade.decode(data)


def decode_ticker(data: bytes) -> Ticker:
    return _ticker.decode(data)


def decode_ohlcv(data: bytes) -> OHLCV:
    return _ohlcv.decode(data)


def decode_book(data: bytes) -> BookEntry:
    return _book.decode(data)


def decode_raw(data: bytes) -> RawMessage:
    return _raw.decode(data)
