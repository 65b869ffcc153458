"""The ``@ticker`` hot path of float clients: the numbers are decoded in C.

A 24hrTicker carries 14 quoted numbers. Converting them one ``float()`` call at a
time cost more than decoding the whole payload; a second msgspec decode of the same
bytes into :class:`TickerFloats` (lax mode: quoted numbers become floats, bounds
refuse NaN and infinities) does all of them in C. The wire struct is still decoded
as usual and stays the ticker's ``info``, with Binance's strings.

Anything the fast decode refuses (a non-finite or malformed number, an empty
optional field) goes through the checked per-field parser, which gives the same
ticker or the precise ``ProtocolError``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, Final, TypeAlias

import msgspec

from ..._numbers import finite_float
from ..._structures import Market, Ticker, iso8601
from . import parsers
from .wire import TICKER_DECODER, TickerEvent

#: A quoted number decoded straight to a finite float ("NaN" and "Infinity" fail a bound).
Finite: TypeAlias = Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)]


class TickerFloats(msgspec.Struct, frozen=True, gc=False):
    """The numbers of a 24hrTicker, by Binance's keys (see ``wire.TickerEvent``)."""

    p: Finite
    P: Finite
    w: Finite
    c: Finite
    o: Finite
    h: Finite
    l: Finite  # noqa: E741 - Binance's key
    v: Finite
    q: Finite
    x: Finite | None = None
    b: Finite | None = None
    B: Finite | None = None
    a: Finite | None = None
    A: Finite | None = None


_decode_floats: Final = msgspec.json.Decoder(TickerFloats, strict=False).decode
_decode_event: Final = TICKER_DECODER.decode

#: What :func:`decode` gives :func:`parse`: the wire event, and its numbers when the
#: fast decode took them.
Decoded: TypeAlias = tuple[TickerEvent, TickerFloats | None]


def decode(data: Any) -> Decoded:
    """The wire event (its errors are the caller's) and, if they pass, its numbers."""
    event = _decode_event(data)
    try:
        return event, _decode_floats(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return event, None  # parse() takes the checked path for its error (or "" -> None)


def parse(decoded: Decoded, market: Market, number: Callable[[str], Any]) -> Ticker:
    """``parsers.parse_ticker`` for a decoded pair; spot and USD-M (COIN-M volumes
    need the contract size and take the per-field path)."""
    event, f = decoded
    if f is None or market.inverse or number is not finite_float:
        return parsers.parse_ticker(event, market, number)
    ts = event.close_time
    open_, last = f.o, f.c
    return Ticker(
        symbol=market.symbol,
        timestamp=ts,
        datetime=iso8601(ts),
        high=f.h,
        low=f.l,
        bid=f.b,
        bidVolume=f.B,
        ask=f.a,
        askVolume=f.A,
        vwap=f.w,
        open=open_,
        close=last,
        last=last,
        previousClose=f.x,
        change=f.p,
        percentage=f.P,
        average=(open_ + last) / 2,
        baseVolume=f.v,
        quoteVolume=f.q,
        info=event,
    )
