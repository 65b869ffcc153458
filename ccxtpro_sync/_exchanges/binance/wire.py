"""Binance market-stream payloads as typed ``msgspec`` structs.

Binance's one-letter keys (``"E"``, ``"p"`` ...) become readable attribute
names via ``msgspec.field(name=...)``; ``msgspec.to_builtins(event)`` turns a
struct back into Binance's own keys, which is how ``info`` round-trips.

Choices made for the hot path:

* No tagged union. The router knows each frame's stream name, so it picks the
  decoder up front (:func:`classify_stream`, :data:`DECODERS`); a combined
  frame is decoded as :class:`Envelope` with ``data`` left as ``msgspec.Raw``
  and only then decoded with the kind's decoder (:func:`decode_data`).
* Prices and quantities stay ``str`` as Binance sends them; the parsers
  convert them to ``float`` or ``Decimal``.
* Unknown keys are ignored (msgspec's default): Binance adds fields without
  notice (``st``, ``ps``, ``nq`` arrived that way). Keys that only some
  products send are optional with a ``None`` default.
* Structs are frozen (they end up shared as ``info``) and ``gc=False``.
* Malformed frames raise :class:`~ccxtpro_sync._exceptions.ProtocolError`
  via :func:`decode`, never a bare msgspec error.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, Final, Literal, TypeAlias, TypeVar

import msgspec

from ..._exceptions import ProtocolError

__all__ = [
    "DECODERS",
    "AggTradeEvent",
    "BookTickerEvent",
    "DepthSnapshot",
    "DepthSnapshotFloat",
    "DepthUpdateEvent",
    "DepthUpdateFloatEvent",
    "DepthUpdateRawLevelsEvent",
    "Envelope",
    "ForceOrder",
    "ForceOrderEvent",
    "Kline",
    "KlineEvent",
    "Level",
    "MarkPriceEvent",
    "MiniTickerEvent",
    "Product",
    "StreamKind",
    "TickerEvent",
    "TradeEvent",
    "classify_stream",
    "decode",
    "decode_data",
    "decode_envelope",
]

T = TypeVar("T")

#: ``[price, quantity]`` as Binance sends them.
Level: TypeAlias = tuple[str, str]

#: Which Binance product a connection belongs to (CCXT: binance, binanceusdm, binancecoinm).
Product: TypeAlias = Literal["spot", "usdm", "coinm"]

#: What a stream carries; one decoder each. ``*_arr`` kinds are JSON arrays.
StreamKind: TypeAlias = Literal[
    "trade",
    "aggTrade",
    "ticker",
    "ticker_arr",
    "miniTicker",
    "miniTicker_arr",
    "bookTicker",
    "kline",
    "depthUpdate",
    "partialDepth",
    "markPrice",
    "markPrice_arr",
    "forceOrder",
]


def _f(name: str) -> Any:
    """A required field read from Binance key ``name``."""
    return msgspec.field(name=name)


def _o(name: str) -> Any:
    """An optional field (default ``None``) read from Binance key ``name``."""
    return msgspec.field(default=None, name=name)


class _Wire(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """Base of every wire struct: immutable, untracked by the cyclic GC, and
    encoding without absent optional keys so ``to_builtins`` gives back the payload."""


# --------------------------------------------------------------------------- trades

#: A string a cached trade or liquidation keeps (as ``info``). No Binance value comes
#: near this length; a longer one is refused (``ProtocolError``), or a hostile server
#: could make each of a symbol's ``tradesLimit`` cached trades pin up to a whole frame.
Kept: TypeAlias = Annotated[str, msgspec.Meta(max_length=128)]


class TradeEvent(_Wire, frozen=True):
    """Spot ``<symbol>@trade``. UM/CM document no such stream."""

    event_type: Kept = _f("e")
    event_time: int = _f("E")
    symbol: Kept = _f("s")
    trade_id: int = _f("t")
    price: Kept = _f("p")
    quantity: Kept = _f("q")
    trade_time: int = _f("T")
    buyer_is_maker: bool = _f("m")
    ignore: bool | None = _o("M")


class AggTradeEvent(_Wire, frozen=True):
    """``<symbol>@aggTrade`` (spot, UM, CM). ``nq``/``st``/``ps`` are futures-only."""

    event_type: Kept = _f("e")
    event_time: int = _f("E")
    symbol: Kept = _f("s")
    agg_trade_id: int = _f("a")
    price: Kept = _f("p")
    quantity: Kept = _f("q")
    first_trade_id: int = _f("f")
    last_trade_id: int = _f("l")
    trade_time: int = _f("T")
    buyer_is_maker: bool = _f("m")
    ignore: bool | None = _o("M")
    #: Quantity without RPI-order trades (UM).
    normal_quantity: Kept | None = _o("nq")
    #: Post-merge product marker: 1 = UM, 2 = CM.
    stream_type: int | None = _o("st")
    pair: Kept | None = _o("ps")


# --------------------------------------------------------------------------- tickers


class TickerEvent(_Wire, frozen=True):
    """``<symbol>@ticker`` (24hrTicker). Spot adds ``x`` and best bid/ask."""

    event_type: str = _f("e")
    event_time: int = _f("E")
    symbol: str = _f("s")
    price_change: str = _f("p")
    price_change_percent: str = _f("P")
    weighted_avg_price: str = _f("w")
    last_price: str = _f("c")
    last_quantity: str = _f("Q")
    open: str = _f("o")
    high: str = _f("h")
    low: str = _f("l")
    volume: str = _f("v")
    quote_volume: str = _f("q")
    open_time: int = _f("O")
    close_time: int = _f("C")
    first_trade_id: int = _f("F")
    last_trade_id: int = _f("L")
    trade_count: int = _f("n")
    prev_close: str | None = _o("x")
    bid: str | None = _o("b")
    bid_quantity: str | None = _o("B")
    ask: str | None = _o("a")
    ask_quantity: str | None = _o("A")
    pair: str | None = _o("ps")


class MiniTickerEvent(_Wire, frozen=True):
    """``<symbol>@miniTicker`` (24hrMiniTicker) and the items of ``!miniTicker@arr``.

    On CM, ``v`` is in contracts and ``q`` in the base asset.
    """

    event_type: str = _f("e")
    event_time: int = _f("E")
    symbol: str = _f("s")
    close: str = _f("c")
    open: str = _f("o")
    high: str = _f("h")
    low: str = _f("l")
    volume: str = _f("v")
    quote_volume: str = _f("q")
    pair: str | None = _o("ps")


class BookTickerEvent(_Wire, frozen=True):
    """``<symbol>@bookTicker`` / ``!bookTicker``. Spot has no ``e``/``E``/``T``."""

    update_id: int = _f("u")
    symbol: str = _f("s")
    bid: str = _f("b")
    bid_quantity: str = _f("B")
    ask: str = _f("a")
    ask_quantity: str = _f("A")
    event_type: str | None = _o("e")
    event_time: int | None = _o("E")
    transaction_time: int | None = _o("T")
    pair: str | None = _o("ps")
    stream_type: int | None = _o("st")


# --------------------------------------------------------------------------- klines


class Kline(_Wire, frozen=True):
    """The ``k`` object of a kline event. ``closed`` is ``x`` (bar is final)."""

    start_time: int = _f("t")
    close_time: int = _f("T")
    symbol: str = _f("s")
    interval: str = _f("i")
    first_trade_id: int = _f("f")
    last_trade_id: int = _f("L")
    open: str = _f("o")
    close: str = _f("c")
    high: str = _f("h")
    low: str = _f("l")
    volume: str = _f("v")
    trade_count: int = _f("n")
    closed: bool = _f("x")
    quote_volume: str = _f("q")
    taker_buy_volume: str = _f("V")
    taker_buy_quote_volume: str = _f("Q")
    ignore: str | None = _o("B")


class KlineEvent(_Wire, frozen=True):
    """``<symbol>@kline_<interval>``."""

    event_type: str = _f("e")
    event_time: int = _f("E")
    symbol: str = _f("s")
    kline: Kline = _f("k")
    pair: str | None = _o("ps")


# --------------------------------------------------------------------------- depth


class DepthUpdateEvent(_Wire, frozen=True):
    """Diff depth (all products) and futures partial depth (same shape).

    ``first_update_id``/``final_update_id`` are ``U``/``u``; futures add
    ``T`` and ``pu`` (the previous event's ``u``, the futures gap check);
    CM adds ``ps``.
    """

    event_type: str = _f("e")
    event_time: int = _f("E")
    symbol: str = _f("s")
    first_update_id: int = _f("U")
    final_update_id: int = _f("u")
    bids: list[Level] = _f("b")
    asks: list[Level] = _f("a")
    transaction_time: int | None = _o("T")
    prev_final_update_id: int | None = _o("pu")
    pair: str | None = _o("ps")


class DepthSnapshot(_Wire, frozen=True):
    """Spot partial depth (``<symbol>@depth<N>``) and every REST depth snapshot.

    The spot stream carries no symbol: take it from the stream name. Futures
    REST snapshots add ``E``/``T``.
    """

    last_update_id: int = _f("lastUpdateId")
    bids: list[Level] = _f("bids")
    asks: list[Level] = _f("asks")
    event_time: int | None = _o("E")
    transaction_time: int | None = _o("T")


#: A price or quantity decoded straight to float: non-negative and finite. msgspec
#: checks the bounds in C; "NaN" fails both, "Infinity" the upper one.
FiniteFloat: TypeAlias = Annotated[float, msgspec.Meta(ge=0.0, le=sys.float_info.max)]


class DepthUpdateFloatEvent(_Wire, frozen=True):
    """:class:`DepthUpdateEvent` with levels decoded straight to ``float``.

    The order-book fast path: msgspec converts the quoted numbers in C, about
    4x faster than ``float()`` per level in Python. Decoded with
    ``strict=False`` (that is what lets a JSON string become a float), so it
    is laxer than the other decoders; use it only where float levels are wanted.
    """

    event_type: str = _f("e")
    event_time: int = _f("E")
    symbol: str = _f("s")
    first_update_id: int = _f("U")
    final_update_id: int = _f("u")
    bids: list[tuple[FiniteFloat, FiniteFloat]] = _f("b")
    asks: list[tuple[FiniteFloat, FiniteFloat]] = _f("a")
    transaction_time: int | None = _o("T")
    prev_final_update_id: int | None = _o("pu")
    pair: str | None = _o("ps")


class DepthUpdateRawLevelsEvent(_Wire, frozen=True):
    """:class:`DepthUpdateEvent` with the level arrays left as their JSON text.

    The compiled order book reads them straight into its lists
    (``_book_levels.pack_levels``); text it does not take goes to
    :data:`FLOAT_LEVELS_DECODER`, which gives what the float event would have.
    """

    event_type: str = _f("e")
    event_time: int = _f("E")
    symbol: str = _f("s")
    first_update_id: int = _f("U")
    final_update_id: int = _f("u")
    bids: msgspec.Raw = _f("b")
    asks: msgspec.Raw = _f("a")
    transaction_time: int | None = _o("T")
    prev_final_update_id: int | None = _o("pu")
    pair: str | None = _o("ps")


class DepthSnapshotFloat(_Wire, frozen=True):
    """:class:`DepthSnapshot` with ``float`` levels (see :class:`DepthUpdateFloatEvent`)."""

    last_update_id: int = _f("lastUpdateId")
    bids: list[tuple[FiniteFloat, FiniteFloat]] = _f("bids")
    asks: list[tuple[FiniteFloat, FiniteFloat]] = _f("asks")
    event_time: int | None = _o("E")
    transaction_time: int | None = _o("T")


# --------------------------------------------------------------------------- futures


class MarkPriceEvent(_Wire, frozen=True):
    """``<symbol>@markPrice[@1s]`` and items of ``!markPrice@arr``.

    CM delivery contracts send ``r: ""`` and ``T: 0`` (no funding).
    """

    event_type: str = _f("e")
    event_time: int = _f("E")
    symbol: str = _f("s")
    mark_price: str = _f("p")
    index_price: str | None = _o("i")
    estimated_settle_price: str | None = _o("P")
    funding_rate: str | None = _o("r")
    next_funding_time: int | None = _o("T")
    #: Mark price moving average (newer UM payloads).
    mark_price_average: str | None = _o("ap")
    stream_type: int | None = _o("st")
    pair: str | None = _o("ps")


class ForceOrder(_Wire, frozen=True):
    """The ``o`` object of a liquidation event."""

    symbol: Kept = _f("s")
    side: Kept = _f("S")
    order_type: Kept = _f("o")
    time_in_force: Kept = _f("f")
    quantity: Kept = _f("q")
    price: Kept = _f("p")
    average_price: Kept = _f("ap")
    status: Kept = _f("X")
    last_filled_quantity: Kept = _f("l")
    filled_quantity: Kept = _f("z")
    trade_time: int = _f("T")


class ForceOrderEvent(_Wire, frozen=True):
    """``<symbol>@forceOrder`` / ``!forceOrder@arr`` (one object per event)."""

    event_type: Kept = _f("e")
    event_time: int = _f("E")
    order: ForceOrder = _f("o")


# --------------------------------------------------------------------------- envelope


class Envelope(msgspec.Struct, frozen=True, gc=False):
    """A combined-stream frame. ``data`` is left undecoded (a view into the frame)."""

    stream: str
    data: msgspec.Raw


ENVELOPE_DECODER: Final = msgspec.json.Decoder(Envelope)
TRADE_DECODER: Final = msgspec.json.Decoder(TradeEvent)
AGG_TRADE_DECODER: Final = msgspec.json.Decoder(AggTradeEvent)
TICKER_DECODER: Final = msgspec.json.Decoder(TickerEvent)
TICKER_ARR_DECODER: Final = msgspec.json.Decoder(list[TickerEvent])
MINI_TICKER_DECODER: Final = msgspec.json.Decoder(MiniTickerEvent)
MINI_TICKER_ARR_DECODER: Final = msgspec.json.Decoder(list[MiniTickerEvent])
BOOK_TICKER_DECODER: Final = msgspec.json.Decoder(BookTickerEvent)
KLINE_DECODER: Final = msgspec.json.Decoder(KlineEvent)
DEPTH_UPDATE_DECODER: Final = msgspec.json.Decoder(DepthUpdateEvent)
DEPTH_SNAPSHOT_DECODER: Final = msgspec.json.Decoder(DepthSnapshot)
DEPTH_UPDATE_FLOAT_DECODER: Final = msgspec.json.Decoder(DepthUpdateFloatEvent, strict=False)
DEPTH_SNAPSHOT_FLOAT_DECODER: Final = msgspec.json.Decoder(DepthSnapshotFloat, strict=False)
# Lax as the float event's decoder is, so that both take the same payloads.
DEPTH_UPDATE_RAW_LEVELS_DECODER: Final = msgspec.json.Decoder(
    DepthUpdateRawLevelsEvent, strict=False
)
#: One side's levels as :class:`DepthUpdateFloatEvent` decodes them.
FLOAT_LEVELS_DECODER: Final = msgspec.json.Decoder(
    list[tuple[FiniteFloat, FiniteFloat]], strict=False
)
MARK_PRICE_DECODER: Final = msgspec.json.Decoder(MarkPriceEvent)
MARK_PRICE_ARR_DECODER: Final = msgspec.json.Decoder(list[MarkPriceEvent])
FORCE_ORDER_DECODER: Final = msgspec.json.Decoder(ForceOrderEvent)

#: One decoder per stream kind (typed decoders above are better when the kind is static).
DECODERS: Final[dict[StreamKind, msgspec.json.Decoder[Any]]] = {
    "trade": TRADE_DECODER,
    "aggTrade": AGG_TRADE_DECODER,
    "ticker": TICKER_DECODER,
    "ticker_arr": TICKER_ARR_DECODER,
    "miniTicker": MINI_TICKER_DECODER,
    "miniTicker_arr": MINI_TICKER_ARR_DECODER,
    "bookTicker": BOOK_TICKER_DECODER,
    "kline": KLINE_DECODER,
    "depthUpdate": DEPTH_UPDATE_DECODER,
    "partialDepth": DEPTH_SNAPSHOT_DECODER,
    "markPrice": MARK_PRICE_DECODER,
    "markPrice_arr": MARK_PRICE_ARR_DECODER,
    "forceOrder": FORCE_ORDER_DECODER,
}

Buffer: TypeAlias = bytes | bytearray | memoryview | str | msgspec.Raw


def _excerpt(data: Buffer, limit: int = 200) -> str:
    text = data if isinstance(data, str) else bytes(data).decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "..."


def decode(decoder: msgspec.json.Decoder[T], data: Buffer, what: str = "") -> T:
    """Decode ``data`` with ``decoder``, turning msgspec errors into ``ProtocolError``.

    The message names what was expected, msgspec's reason (which includes the
    JSON path, e.g. ``$.p``) and the start of the payload.
    """
    try:
        return decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
        # (RecursionError: a value nested deeper than msgspec recurses)
        label = what or getattr(decoder.type, "__name__", repr(decoder.type))
        raise ProtocolError(f"malformed Binance {label}: {exc}; payload: {_excerpt(data)}") from exc


def decode_envelope(frame: Buffer) -> Envelope:
    """Decode a combined-stream frame, leaving ``data`` raw for :func:`decode_data`."""
    return decode(ENVELOPE_DECODER, frame, "combined-stream envelope")


def decode_data(kind: StreamKind, data: Buffer) -> Any:
    """Decode a payload (e.g. ``Envelope.data``) as stream ``kind``."""
    return decode(DECODERS[kind], data, kind)


_SIMPLE_KINDS: Final[dict[str, StreamKind]] = {
    "trade": "trade",
    "aggTrade": "aggTrade",
    "ticker": "ticker",
    "miniTicker": "miniTicker",
    "bookTicker": "bookTicker",
    "markPrice": "markPrice",
    "forceOrder": "forceOrder",
    "depth": "depthUpdate",
}

_ALL_MARKET_KINDS: Final[dict[str, StreamKind]] = {
    "ticker": "ticker_arr",
    "miniTicker": "miniTicker_arr",
    "markPrice": "markPrice_arr",
    "bookTicker": "bookTicker",
    "forceOrder": "forceOrder",
}


def classify_stream(stream: str, product: Product) -> tuple[str | None, StreamKind]:
    """Split a stream name into ``(lowercase market id, kind)``.

    ``"btcusdt@depth@100ms"`` → ``("btcusdt", "depthUpdate")``;
    ``"!miniTicker@arr"`` → ``(None, "miniTicker_arr")``. ``@depth<N>`` is a
    snapshot (``partialDepth``) on spot but a ``depthUpdate`` on futures.
    Raises ``ProtocolError`` for names this module has no decoder for.
    """
    if stream.startswith("!"):
        kind = _ALL_MARKET_KINDS.get(stream[1:].split("@", 1)[0])
        if kind is not None:
            return None, kind
    else:
        market_id, _, rest = stream.partition("@")
        head = rest.split("@", 1)[0]
        kind = _SIMPLE_KINDS.get(head)
        if kind is not None:
            return market_id, kind
        if head.startswith("kline_"):
            return market_id, "kline"
        if head in ("depth5", "depth10", "depth20"):
            return market_id, "partialDepth" if product == "spot" else "depthUpdate"
    raise ProtocolError(f"no decoder for Binance stream {stream!r}")
