"""The ``@ticker`` hot path of float clients: one decode, ``info`` kept undecoded.

A 24hrTicker carries 14 quoted numbers. One lax msgspec decode of the payload into
:class:`TickerNumbers` turns them into floats in C (bounds refuse NaN and infinities)
and checks every other key the wire struct requires, with its type. The payload's
bytes become the ticker's ``info``: ``ticker.info`` decodes them into
``wire.TickerEvent`` when it is read (``_structures._LazyInfo``), so Binance's strings
are never built on the hot path, yet every way of reading ``info`` still gives them.

Anything the fast decode refuses (a non-finite or malformed number, an empty or
``null`` optional number, a missing key) goes through the strict decode and the
checked per-field parser, which give the same ticker or the precise ``ProtocolError``.

Lax decoding also takes two forms that Binance never sends and the strict wire struct
refuses: an integer key as a numeric string (``"E":"1672515782136"``) and a number as
a JSON number (``"c":16602.26``). Their values are the ticker's as they are; reading
such a ticker's ``info`` raises ``ProtocolError``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, Final, TypeAlias, cast

import msgspec

from ..._core.events import Delivery, Policy
from ..._structures import Market, Ticker, iso8601, set_info_decoder
from . import parsers, wire

__all__ = ["TickerNumbers", "decode", "handler", "parse"]

#: A quoted number decoded straight to a finite float ("NaN" and "Infinity" fail a bound).
Finite: TypeAlias = Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)]

# The optional numbers' default. Their type has no ``None`` on purpose: lax decoding
# would turn the string "null" into None, and a JSON null or "" must take the checked
# path (which gives None for them, as the per-field parser always did).
_ABSENT: Any = None


class TickerNumbers(msgspec.Struct, frozen=True, gc=False):
    """A 24hrTicker with its numbers as floats; every key ``wire.TickerEvent`` requires."""

    e: str
    E: int
    s: str
    p: Finite
    P: Finite
    w: Finite
    c: Finite
    Q: str
    o: Finite
    h: Finite
    l: Finite  # noqa: E741 - Binance's key
    v: Finite
    q: Finite
    O: int  # noqa: E741 - Binance's key
    C: int
    F: int
    L: int
    n: int
    x: Finite = _ABSENT
    b: Finite = _ABSENT
    B: Finite = _ABSENT
    a: Finite = _ABSENT
    A: Finite = _ABSENT
    ps: str | None = None


_decode_numbers: Final = msgspec.json.Decoder(TickerNumbers, strict=False).decode
_LATEST: Final = Policy.LATEST


def decode(data: msgspec.Raw) -> TickerNumbers | None:
    """The payload's numbers, or ``None`` when the fast decode refuses it (the checked
    path in :func:`parse` then gives the ticker or its error)."""
    try:
        return _decode_numbers(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def parse(
    numbers: TickerNumbers | None, data: msgspec.Raw, market: Market, number: Callable[[str], Any]
) -> Ticker:
    """The ``Ticker`` of a payload and its :func:`decode`; ``info`` is ``data``."""
    if numbers is None:
        return _checked(data, market, number)
    f = numbers
    ts = f.C
    open_, last = f.o, f.c
    base, quote = f.v, f.q
    if market.inverse:  # COIN-M: v counts contracts, q is the base asset
        size = cast("float | None", market.contractSize)
        base, quote = f.q, f.v if size is None else f.v * size
    # By position, in Ticker's field order (see Ticker).
    return Ticker(market.symbol, ts, iso8601(ts), f.h, f.l, f.b, f.B, f.a, f.A, f.w,
                  open_, last, last, f.x, f.p, f.P, (open_ + last) / 2, base, quote,
                  None, None, data)  # fmt: skip


def handler(
    market: Market, number: Callable[[str], Any], store: dict[str, Ticker], key: str
) -> Callable[[msgspec.Raw], list[Delivery]]:
    """``MarketData``'s handler of one ``<symbol>@ticker`` stream of a float client:
    the ticker of each payload, kept in ``store`` and delivered under ``key``."""
    symbol = market.symbol
    if market.inverse:

        def on_inverse(data: msgspec.Raw) -> list[Delivery]:
            ticker = parse(decode(data), data, market, number)
            store[symbol] = ticker
            return [Delivery(key, ticker, _LATEST)]

        return on_inverse
    decode_numbers = _decode_numbers

    def on_ticker(data: msgspec.Raw) -> list[Delivery]:
        # parse() inlined: this is the whole per-message cost of a ticker.
        try:
            f = decode_numbers(data)
        except (msgspec.ValidationError, msgspec.DecodeError):
            ticker = _checked(data, market, number)
        else:
            ts = f.C
            open_, last = f.o, f.c
            ticker = Ticker(symbol, ts, iso8601(ts), f.h, f.l, f.b, f.B, f.a, f.A, f.w,
                            open_, last, last, f.x, f.p, f.P, (open_ + last) / 2, f.v, f.q,
                            None, None, data)  # fmt: skip
        store[symbol] = ticker
        return [Delivery(key, ticker, _LATEST)]

    return on_ticker


def _checked(data: msgspec.Raw, market: Market, number: Callable[[str], Any]) -> Ticker:
    """The strict decode and the checked per-field parser: the ticker, or the precise
    ``ProtocolError`` (a malformed payload or number)."""
    return parsers.parse_ticker(wire.decode(wire.TICKER_DECODER, data, "ticker"), market, number)


def _info(data: msgspec.Raw) -> wire.TickerEvent:
    """An undecoded ticker ``info``, read: the wire struct (``ProtocolError`` if the
    payload only passed the lax decode, see above)."""
    return wire.decode(wire.TICKER_DECODER, data, "ticker")


set_info_decoder(Ticker, _info)
