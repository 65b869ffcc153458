"""The ticker streams of float clients: one decode, ``info`` kept undecoded.

A 24hrTicker carries 14 quoted numbers (a mini ticker 6, a book ticker 4). One lax
msgspec decode of the payload into :class:`TickerNumbers` (:class:`MiniTickerNumbers`,
:class:`BookTickerNumbers`) turns them into floats in C (bounds refuse NaN and
infinities) and checks every other key the wire struct requires, with its type. The
payload's bytes become the ticker's ``info``: ``ticker.info`` decodes them into the
wire struct when it is read (``_structures._LazyInfo``), so Binance's strings are
never built on the hot path, yet every way of reading ``info`` still gives them.

Anything the fast decode refuses (a non-finite or malformed number, an empty or
``null`` optional value, a missing key) goes through the strict decode and the
checked per-field parser, which give the same ticker or the precise ``ProtocolError``.

Lax decoding also takes two forms that Binance never sends and the strict wire struct
refuses: an integer key as a numeric string (``"E":"1672515782136"``) and a number as
a JSON number (``"c":16602.26``). Their values are the ticker's as they are; reading
such a ticker's ``info`` raises ``ProtocolError``.

The payload is copied out of the frame (``Raw.copy``, a few hundred bytes): a kept
ticker never pins a larger buffer, nor sees one that its owner reuses. A bound 24hr or
mini ticker stream skips the envelope decode too: :func:`bound` cuts the payload out of
the frame by position (a copy as well) and decodes only that.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, Final, TypeAlias, cast

import msgspec

from ..._core.events import Delivery, Policy
from ..._structures import FundingRate, Market, Ticker, iso8601, set_info_decoder
from . import parsers, wire
from .combined import Combined, EventHandler, FrameDecode

__all__ = [
    "BookTickerNumbers",
    "MarkPriceNumbers",
    "MiniTickerNumbers",
    "TickerNumbers",
    "all_market",
    "bound",
    "decode",
    "handler",
    "mark_price_handler",
    "parse",
]

#: A quoted number decoded straight to a finite float ("NaN" and "Infinity" fail a bound).
Finite: TypeAlias = Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)]

# The default of optional keys. Their types have no ``None`` on purpose: lax decoding
# would turn the string "null" into None, and a JSON null or "" must take the checked
# path (which gives None for them, as the per-field parser always did).
_ABSENT: Any = None


class TickerNumbers(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A 24hrTicker with its numbers as floats; every key ``wire.TickerEvent`` requires.

    The fields follow the order Binance sends the keys in (spot; futures leave out
    ``x``, ``b``, ``B``, ``a``, ``A``): msgspec matches each key against the next field
    first, so the same order saves a lookup per key."""

    e: str
    E: int
    s: str
    p: Finite
    P: Finite
    w: Finite
    x: Finite = _ABSENT
    c: Finite
    Q: str
    b: Finite = _ABSENT
    B: Finite = _ABSENT
    a: Finite = _ABSENT
    A: Finite = _ABSENT
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
    ps: str = _ABSENT


class MiniTickerNumbers(msgspec.Struct, frozen=True, gc=False):
    """A 24hrMiniTicker with its numbers as floats (``wire.MiniTickerEvent``'s keys)."""

    e: str
    E: int
    s: str
    c: Finite
    o: Finite
    h: Finite
    l: Finite  # noqa: E741 - Binance's key
    v: Finite
    q: Finite
    ps: str = _ABSENT


class BookTickerNumbers(msgspec.Struct, frozen=True, gc=False):
    """A bookTicker with its numbers as floats (``wire.BookTickerEvent``'s keys)."""

    u: int
    s: str
    b: Finite
    B: Finite
    a: Finite
    A: Finite
    e: str = _ABSENT
    E: int = _ABSENT
    T: int = _ABSENT
    ps: str = _ABSENT
    st: int = _ABSENT


class MarkPriceNumbers(msgspec.Struct, frozen=True, gc=False):
    """A markPriceUpdate with its numbers as floats (``wire.MarkPriceEvent``'s keys).
    COIN-M delivery contracts' ``"r": ""`` takes the checked path (None, as before)."""

    e: str
    E: int
    s: str
    p: Finite
    i: Finite = _ABSENT
    P: Finite = _ABSENT
    r: Finite = _ABSENT
    T: int = _ABSENT
    ap: str = _ABSENT
    st: int = _ABSENT
    ps: str = _ABSENT


_decode_numbers: Final = msgspec.json.Decoder(TickerNumbers, strict=False).decode
_decode_mini: Final = msgspec.json.Decoder(MiniTickerNumbers, strict=False).decode
_decode_book: Final = msgspec.json.Decoder(BookTickerNumbers, strict=False).decode
_decode_mark: Final = msgspec.json.Decoder(MarkPriceNumbers, strict=False).decode
_ITEMS: Final = msgspec.json.Decoder(list[msgspec.Raw])
_LATEST: Final = Policy.LATEST
_FAST: Final = (msgspec.ValidationError, msgspec.DecodeError)

Number: TypeAlias = Callable[[str], Any]


def decode(data: msgspec.Raw) -> TickerNumbers | None:
    """A 24hrTicker's numbers, or ``None`` when the fast decode refuses it (the
    checked path in :func:`parse` then gives the ticker or its error)."""
    try:
        return _decode_numbers(data)
    except _FAST:
        return None


def parse(
    numbers: TickerNumbers | None, data: msgspec.Raw, market: Market, number: Number
) -> Ticker:
    """The ``Ticker`` of a 24hrTicker payload and its :func:`decode`; ``info`` is
    ``data`` (copy it first if it is a view into a larger buffer)."""
    if numbers is None:
        return _checked(data, market, number)
    return _parse_24hr(numbers, data, market)


def _parse_24hr(f: TickerNumbers, data: msgspec.Raw, market: Market) -> Ticker:
    ts = f.C
    open_, last = f.o, f.c
    base, quote = _volumes(f.v, f.q, market)
    # By position, in Ticker's field order (see Ticker).
    return Ticker(market.symbol, ts, iso8601(ts), f.h, f.l, f.b, f.B, f.a, f.A, f.w,
                  open_, last, last, f.x, f.p, f.P, (open_ + last) / 2, base, quote,
                  None, None, data)  # fmt: skip


def _volumes(volume: float, quote_volume: float, market: Market) -> tuple[float, float]:
    """(baseVolume, quoteVolume), as ``parsers._volumes``: COIN-M's ``v`` counts
    contracts and ``q`` is the base asset."""
    if not market.inverse:
        return volume, quote_volume
    size = cast("float | None", market.contractSize)
    return quote_volume, volume if size is None else volume * size


def _parse_mini(f: MiniTickerNumbers, data: msgspec.Raw, market: Market) -> Ticker:
    """``parsers.parse_mini_ticker`` from the floats: change, percentage, average and
    vwap derived the same way."""
    ts = f.E
    open_, last = f.o, f.c
    base, quote = _volumes(f.v, f.q, market)
    change = last - open_
    return Ticker(market.symbol, ts, iso8601(ts), f.h, f.l, None, None, None, None,
                  quote / base if base else None, open_, last, last, None, change,
                  change / open_ * 100 if open_ else None, (open_ + last) / 2, base, quote,
                  None, None, data)  # fmt: skip


def _parse_book(f: BookTickerNumbers, data: msgspec.Raw, market: Market) -> Ticker:
    """``parsers.parse_book_ticker`` from the floats (spot has no time: ``None``)."""
    ts = f.E
    return Ticker(market.symbol, ts, iso8601(ts), None, None, f.b, f.B, f.a, f.A, None,
                  None, None, None, None, None, None, None, None, None, None, None,
                  data)  # fmt: skip


def handler(
    kind: str, market: Market, number: Number, store: dict[str, Ticker], key: str
) -> Callable[[msgspec.Raw], list[Delivery]]:
    """``MarketData``'s handler of one ``<symbol>@<kind>`` stream of a float client
    (``ticker``, ``miniTicker``, ``bookTicker``): the ticker of each payload, kept in
    ``store`` and delivered under ``key``."""
    symbol = market.symbol
    if kind != "ticker" or market.inverse:
        decode_fast, build, wire_decoder, parse_event = _KINDS[kind]

        def on_other(data: msgspec.Raw) -> list[Delivery]:
            data = data.copy()
            try:
                f = decode_fast(data)
            except _FAST:
                event = wire.decode(wire_decoder, data, kind)
                ticker = parse_event(event, market, number)
            else:
                ticker = build(f, data, market)
            store[symbol] = ticker
            return [Delivery(key, ticker, _LATEST)]

        return on_other
    decode_numbers = _decode_numbers

    def on_ticker(data: msgspec.Raw) -> list[Delivery]:
        # parse() inlined: this is the whole per-message cost of a ticker.
        data = data.copy()
        try:
            f = decode_numbers(data)
        except _FAST:
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


def bound(
    kind: str, stream: str, market: Market, store: dict[str, Ticker], key: str
) -> tuple[FrameDecode, EventHandler]:
    """``MarketData.bind``'s pair for ``stream`` (``<symbol>@<kind>``, a ticker stream of
    a float client): a whole-frame decoder that builds the ticker, and its handler.
    (``MarketData`` binds book tickers to their raw payload instead: for a payload that
    small, the envelope decode in C costs less than cutting it out here; measured.)

    The frame is read in one pass without an envelope decode: a plain frame of this
    stream is ``{"stream":"<stream>","data":`` + payload + ``}``, so the payload is cut
    out by position (its own bytes, which become ``info``) and the lax decode of the
    numbers, which refuses anything but exactly one JSON object, proves that it was one.
    Whatever does not look so, or is refused, raises ``msgspec.DecodeError`` or
    ``msgspec.ValidationError``: the frame then takes the general path, which reads it
    or reports its error as for any stream. The ticker is built before the data lock is
    taken (nothing shared is touched); the handler stores and delivers it."""
    head = b'{"stream":"%s","data":{' % stream.encode()
    start = len(head) - 1  # the payload starts with head's "{"
    symbol = market.symbol
    raw = msgspec.Raw
    if kind == "ticker" and not market.inverse:
        decode_numbers = _decode_numbers

        def decode_24hr(frame: bytes) -> Combined[Ticker]:
            # frame[-2:]: the payload ends the frame, no space between ("}}")
            if frame[-2:] != b"}}" or not frame.startswith(head):
                raise msgspec.DecodeError("not a plain frame of the stream")
            payload = frame[start:-1]
            f = decode_numbers(payload)
            ts = f.C
            open_, last = f.o, f.c
            # By position, in Ticker's field order (see Ticker).
            ticker = Ticker(symbol, ts, iso8601(ts), f.h, f.l, f.b, f.B, f.a, f.A, f.w,
                            open_, last, last, f.x, f.p, f.P, (open_ + last) / 2, f.v, f.q,
                            None, None, raw(payload))  # fmt: skip
            return Combined(stream, ticker)

        frame_decode: FrameDecode = decode_24hr
    elif kind == "miniTicker" and not market.inverse:  # _parse_mini inlined
        decode_mini = _decode_mini

        def decode_mini_ticker(frame: bytes) -> Combined[Ticker]:
            if frame[-2:] != b"}}" or not frame.startswith(head):
                raise msgspec.DecodeError("not a plain frame of the stream")
            payload = frame[start:-1]
            f = decode_mini(payload)
            ts = f.E
            open_, last, base, quote = f.o, f.c, f.v, f.q
            change = last - open_
            ticker = Ticker(symbol, ts, iso8601(ts), f.h, f.l, None, None, None, None,
                            quote / base if base else None, open_, last, last, None, change,
                            change / open_ * 100 if open_ else None, (open_ + last) / 2, base,
                            quote, None, None, raw(payload))  # fmt: skip
            return Combined(stream, ticker)

        frame_decode = decode_mini_ticker
    else:
        decode_fast, build = _KINDS[kind][:2]

        def decode_other(frame: bytes) -> Combined[Ticker]:
            if frame[-2:] != b"}}" or not frame.startswith(head):
                raise msgspec.DecodeError("not a plain frame of the stream")
            payload = frame[start:-1]
            return Combined(stream, build(decode_fast(payload), raw(payload), market))

        frame_decode = decode_other

    def on_built(ticker: Ticker) -> list[Delivery]:
        store[symbol] = ticker
        return [Delivery(key, ticker, _LATEST)]

    return frame_decode, on_built


def mark_price_handler(
    market: Market,
    number: Number,
    *,
    funding_rates: dict[str, FundingRate],
    mark_prices: dict[str, Ticker],
    mark_key: str,
    funding_key: str,
) -> Callable[[msgspec.Raw], list[Delivery]]:
    """``MarketData``'s handler of a ``<symbol>@markPrice`` stream of a float client:
    the mark-price ticker and the funding rate of each payload (one decode; both keep
    the payload as ``info``), kept and delivered as ``parsers`` builds them."""
    symbol = market.symbol
    decode_mark = _decode_mark

    def on_mark(data: msgspec.Raw) -> list[Delivery]:
        data = data.copy()
        try:
            f = decode_mark(data)
        except _FAST:
            event = wire.decode(wire.MARK_PRICE_DECODER, data, "markPrice")
            funding = parsers.parse_mark_price(event, market, number)
            ticker = parsers.parse_mark_price_ticker(event, market, number)
        else:
            ts = f.E
            when = iso8601(ts)
            funding_ts = f.T or None
            funding = FundingRate(
                symbol=symbol,
                timestamp=ts,
                datetime=when,
                markPrice=f.p,
                indexPrice=f.i,
                estimatedSettlePrice=f.P,
                fundingRate=f.r,
                fundingTimestamp=funding_ts,
                fundingDatetime=iso8601(funding_ts),
                info=data,
            )
            ticker = Ticker(symbol, ts, when, None, None, None, None, None, None, None, None,
                            None, None, None, None, None, None, None, None, f.p, f.i,
                            data)  # fmt: skip
        funding_rates[symbol] = funding
        mark_prices[symbol] = ticker
        return [Delivery(mark_key, ticker, _LATEST), Delivery(funding_key, funding, _LATEST)]

    return on_mark


def all_market(
    kind: str, data: msgspec.Raw, lookup: Callable[[str], Market | None], number: Number
) -> list[Ticker]:
    """The tickers of a ``!ticker@arr`` / ``!miniTicker@arr`` payload, for the items
    whose market id ``lookup`` knows (symbols listed after ``load_markets()`` are
    skipped). A bad item fails the whole payload with ``ProtocolError``, as the strict
    array decode did."""
    single = "ticker" if kind == "ticker_arr" else "miniTicker"
    decode_fast, build, wire_decoder, parse_event = _KINDS[single]
    tickers: list[Ticker] = []
    for view in wire.decode(_ITEMS, data, kind):
        item = view.copy()  # its own bytes: the array's frame is not kept alive
        try:
            f = decode_fast(item)
        except _FAST:
            event = wire.decode(wire_decoder, item, single)
            market = lookup(event.symbol)
            if market is not None:
                tickers.append(parse_event(event, market, number))
            continue
        market = lookup(f.s)
        if market is not None:
            tickers.append(build(f, item, market))
    return tickers


def _checked(data: msgspec.Raw, market: Market, number: Number) -> Ticker:
    """The strict decode and the checked per-field parser: the ticker, or the precise
    ``ProtocolError`` (a malformed payload or number)."""
    return parsers.parse_ticker(wire.decode(wire.TICKER_DECODER, data, "ticker"), market, number)


#: Per stream kind: fast decode, build from its floats, strict decoder, per-field parser.
_KINDS: Final[
    dict[str, tuple[Callable[[Any], Any], Callable[..., Ticker], Any, Callable[..., Ticker]]]
] = {
    "ticker": (_decode_numbers, _parse_24hr, wire.TICKER_DECODER, parsers.parse_ticker),
    "miniTicker": (_decode_mini, _parse_mini, wire.MINI_TICKER_DECODER, parsers.parse_mini_ticker),
    "bookTicker": (_decode_book, _parse_book, wire.BOOK_TICKER_DECODER, parsers.parse_book_ticker),
}


_NONE: Final = msgspec.Raw(b"")


class _Shape(msgspec.Struct, gc=False):
    """The keys that tell the payloads apart: the event type ``e`` where there is one
    (a key Binance adds to a payload must not change its reading); the fast structs
    require it of all but a spot book ticker, which has ``u``. Failing those, only a
    24hrTicker has ``C`` (its close time) and, of the other two, a mini ticker ``c``."""

    e: str = ""
    C: msgspec.Raw = _NONE
    u: msgspec.Raw = _NONE
    c: msgspec.Raw = _NONE


#: Event type -> (strict decoder, label) of an undecoded info.
_BY_EVENT: Final[dict[str, tuple[msgspec.json.Decoder[Any], str]]] = {
    "24hrTicker": (wire.TICKER_DECODER, "ticker"),
    "24hrMiniTicker": (wire.MINI_TICKER_DECODER, "miniTicker"),
    "bookTicker": (wire.BOOK_TICKER_DECODER, "bookTicker"),
    "markPriceUpdate": (wire.MARK_PRICE_DECODER, "markPrice"),
}


_decode_shape: Final = msgspec.json.Decoder(_Shape).decode


def _info(data: msgspec.Raw) -> Any:
    """An undecoded ticker ``info``, read: its wire struct (``ProtocolError`` if the
    payload only passed the lax decode, see above)."""
    try:
        shape = _decode_shape(data)
    except _FAST:
        shape = _Shape(C=data)  # not JSON: the strict decode below says so
    known = _BY_EVENT.get(shape.e)
    if known is not None:
        return wire.decode(known[0], data, known[1])
    if shape.u:  # without ``e``: a spot book ticker, whatever keys it gained
        return wire.decode(wire.BOOK_TICKER_DECODER, data, "bookTicker")
    if shape.C:
        return wire.decode(wire.TICKER_DECODER, data, "ticker")
    if shape.c:
        return wire.decode(wire.MINI_TICKER_DECODER, data, "miniTicker")
    return _mark_info(data)


def _mark_info(data: msgspec.Raw) -> wire.MarkPriceEvent:
    """An undecoded mark-price ``info`` (funding rates and mark-price tickers), read."""
    return wire.decode(wire.MARK_PRICE_DECODER, data, "markPrice")


set_info_decoder(Ticker, _info)
set_info_decoder(FundingRate, _mark_info)
