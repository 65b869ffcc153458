"""Binance wire structs → CCXT unified structures. Pure functions, no I/O.

Every parser takes ``(event, market, number)``: the decoded wire struct, the
:class:`~ccxtpro_sync._structures.Market` it belongs to (unified symbol,
contract size, linear/inverse) and the number converter, ``float`` or
``decimal.Decimal``. The market must have been built with the same converter
(see :func:`~ccxtpro_sync._exchanges.binance.markets.parse_markets`), since
``float`` and ``Decimal`` do not mix in arithmetic.

Derived fields follow CCXT's rules:

* trade ``cost``: ``price * amount`` (times ``contractSize`` for linear
  contracts); for inverse (COIN-M) contracts ``amount * contractSize / price``,
  i.e. the value in the base currency.
* trade ``side`` is the taker's: ``m`` (buyer is maker) means a sell.
  ``takerOrMaker`` stays ``None`` for public trades, as in CCXT: the public
  feed says who was maker, not which side *you* were on.
* ticker ``change``/``percentage``/``average``/``vwap`` are computed when the
  payload lacks them; COIN-M volumes are in contracts and the base asset,
  so ``baseVolume`` is ``q`` and ``quoteVolume`` is ``v * contractSize``.
* ``info`` is the wire struct itself (no copy); ``msgspec.to_builtins(info)``
  restores Binance's keys. (A float client's ticker streams skip these parsers
  unless a payload needs the checked path: see ``ticker_floats``.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import msgspec

from ..._numbers import N, Num, finite_float, opt_num
from ..._structures import OHLCV, FundingRate, Liquidation, Market, Ticker, Trade, iso8601
from .wire import (
    AggTradeEvent,
    BookTickerEvent,
    DepthSnapshot,
    DepthUpdateEvent,
    ForceOrderEvent,
    KlineEvent,
    Level,
    MarkPriceEvent,
    MiniTickerEvent,
    TickerEvent,
    TradeEvent,
)

__all__ = [
    "BookSnapshot",
    "parse_agg_trade",
    "parse_book_ticker",
    "parse_depth_snapshot",
    "parse_depth_update_levels",
    "parse_force_order",
    "parse_kline",
    "parse_levels",
    "parse_mark_price",
    "parse_mark_price_ticker",
    "parse_mini_ticker",
    "parse_ticker",
    "parse_trade",
    "public_trade",
]

Converter = Callable[[str], N]


def _contract_size(market: Market, like: N) -> N | None:
    """The market's contract size, typed like ``like``: markets are built with the
    same converter as the events (documented contract), so no conversion is needed."""
    return cast("N | None", market.contractSize)


def _cost(price: N, amount: N, market: Market) -> N | None:
    """CCXT's trade cost; ``None`` when an inverse price is zero."""
    if not market.contract:
        return price * amount
    size = _contract_size(market, price)
    if market.inverse:
        if not price or size is None:
            return None
        return amount * size / price
    if size is None or size == 1:
        return price * amount
    return price * amount * size


# --------------------------------------------------------------------------- trades


def public_trade(
    trade_id: int, event: TradeEvent | AggTradeEvent, market: Market, number: Converter[N]
) -> Trade:
    """A public trade (``@trade``, ``@aggTrade``) → ``Trade`` with id ``trade_id``: what
    ``parse_trade`` and ``parse_agg_trade`` return, for a caller that has the id at hand."""
    price: Any
    amount: Any
    if number is finite_float:
        # The hot path: builtin float (a C call each) and one finiteness check for both;
        # a failure goes back through finite_float for its precise error.
        try:
            price = float(event.price)
            amount = float(event.quantity)
        except ValueError:
            price = amount = _NAN
        if price - price + (amount - amount):  # 0.0 when finite; NaN when either is not
            price, amount = finite_float(event.price), finite_float(event.quantity)  # raises
    else:
        price = number(event.price)
        amount = number(event.quantity)
    ts = event.trade_time
    return Trade(
        id=str(trade_id),
        timestamp=ts,
        datetime=iso8601(ts),
        symbol=market.symbol,
        side="sell" if event.buyer_is_maker else "buy",
        price=price,
        amount=amount,
        cost=price * amount if not market.contract else _cost(price, amount, market),
        info=event,
    )


_NAN = float("nan")


def parse_trade(event: TradeEvent, market: Market, number: Converter[N]) -> Trade:
    """Spot ``@trade`` → ``Trade`` (id = trade id ``t``)."""
    return public_trade(event.trade_id, event, market, number)


def parse_agg_trade(event: AggTradeEvent, market: Market, number: Converter[N]) -> Trade:
    """``@aggTrade`` → ``Trade`` (id = aggregate id ``a``, as CCXT's Binance).

    ``amount`` is ``q``, which on UM includes RPI fills; ``nq`` stays in ``info``.
    """
    return public_trade(event.agg_trade_id, event, market, number)


# --------------------------------------------------------------------------- tickers


def _volumes(volume: str, quote_volume: str, market: Market, number: Converter[N]) -> tuple[N, N]:
    """(baseVolume, quoteVolume). COIN-M: ``v`` is contracts, ``q`` the base asset."""
    if market.inverse:
        base = number(quote_volume)
        contracts = number(volume)
        size = _contract_size(market, base)
        return base, contracts if size is None else contracts * size
    return number(volume), number(quote_volume)


def _percentage(change: N, open_: N) -> N | None:
    if not open_:
        return None
    return change / open_ * 100


def parse_ticker(event: TickerEvent, market: Market, number: Converter[N]) -> Ticker:
    """``@ticker`` (24hrTicker) → ``Ticker``.

    ``timestamp`` is the statistics close time ``C``, as in CCXT's Binance.
    Futures payloads have no bid/ask/previousClose, so those stay ``None``.
    """
    if number is finite_float and not market.inverse:
        return _float_ticker(event, market)
    open_ = number(event.open)
    last = number(event.last_price)
    base_volume, quote_volume = _volumes(event.volume, event.quote_volume, market, number)
    ts = event.close_time
    # By position, in Ticker's field order (keywords cost several times more).
    return Ticker(
        market.symbol,
        ts,
        iso8601(ts),
        number(event.high),
        number(event.low),
        opt_num(event.bid, number),
        opt_num(event.bid_quantity, number),
        opt_num(event.ask, number),
        opt_num(event.ask_quantity, number),
        number(event.weighted_avg_price),
        open_,
        last,
        last,
        opt_num(event.prev_close, number),
        number(event.price_change),
        number(event.price_change_percent),
        (open_ + last) / 2,
        base_volume,
        quote_volume,
        None,
        None,
        event,
    )


def _float_ticker(event: TickerEvent, market: Market) -> Ticker:
    """``parse_ticker`` with ``finite_float`` (spot and USD-M), the hot path: builtin
    ``float`` per field and one finiteness check for all of them, instead of a Python
    call per field. Anything wrong goes through the checked path for its error."""
    try:
        open_ = float(event.open)
        last = float(event.last_price)
        high = float(event.high)
        low = float(event.low)
        vwap = float(event.weighted_avg_price)
        change = float(event.price_change)
        percentage = float(event.price_change_percent)
        base_volume = float(event.volume)
        quote_volume = float(event.quote_volume)
        bid = float(event.bid) if event.bid else None
        bid_volume = float(event.bid_quantity) if event.bid_quantity else None
        ask = float(event.ask) if event.ask else None
        ask_volume = float(event.ask_quantity) if event.ask_quantity else None
        previous = float(event.prev_close) if event.prev_close else None
    except ValueError:
        return parse_ticker(event, market, _checked_float)  # raises ProtocolError
    # x - x is 0.0 for a finite x, NaN for NaN and infinities; absent values count 0.
    if (
        (open_ - open_)
        + (last - last)
        + (high - high)
        + (low - low)
        + (vwap - vwap)
        + (change - change)
        + (percentage - percentage)
        + (base_volume - base_volume)
        + (quote_volume - quote_volume)
        + 0.0 * (bid or 0.0)
        + 0.0 * (bid_volume or 0.0)
        + 0.0 * (ask or 0.0)
        + 0.0 * (ask_volume or 0.0)
        + 0.0 * (previous or 0.0)
    ):
        return parse_ticker(event, market, _checked_float)  # raises ProtocolError
    ts = event.close_time
    return Ticker(market.symbol, ts, iso8601(ts), high, low, bid, bid_volume, ask, ask_volume,
                  vwap, open_, last, last, previous, change, percentage, (open_ + last) / 2,
                  base_volume, quote_volume, None, None, event)  # fmt: skip


def _checked_float(text: str) -> float:
    """``finite_float`` under another name, so the generic parsers take their
    per-field path (and raise its precise error) instead of the fast path."""
    return finite_float(text)


def parse_mini_ticker(event: MiniTickerEvent, market: Market, number: Converter[N]) -> Ticker:
    """``@miniTicker`` → ``Ticker``; change, percentage, average and vwap are derived.

    ``timestamp`` is the event time ``E`` (the payload has no close time).
    """
    open_ = number(event.open)
    last = number(event.close)
    base_volume, quote_volume = _volumes(event.volume, event.quote_volume, market, number)
    change = last - open_
    ts = event.event_time
    # By position, in Ticker's field order; a mini ticker has no bid/ask/previous close.
    return Ticker(market.symbol, ts, iso8601(ts), number(event.high), number(event.low),
                  None, None, None, None, quote_volume / base_volume if base_volume else None,
                  open_, last, last, None, change, _percentage(change, open_),
                  (open_ + last) / 2, base_volume, quote_volume, None, None, event)  # fmt: skip


def parse_book_ticker(event: BookTickerEvent, market: Market, number: Converter[N]) -> Ticker:
    """``@bookTicker`` → bid/ask-only ``Ticker`` (CCXT's ``watch_bids_asks``).

    Spot payloads carry no time, so ``timestamp`` is ``None`` there; futures use ``E``.
    """
    ts = event.event_time
    return Ticker(
        market.symbol,
        ts,
        iso8601(ts),
        None,
        None,
        number(event.bid),
        number(event.bid_quantity),
        number(event.ask),
        number(event.ask_quantity),
        info=event,
    )


# --------------------------------------------------------------------------- klines


def parse_kline(event: KlineEvent, market: Market, number: Converter[N]) -> OHLCV:
    """``@kline_<i>`` → ``OHLCV``. Volume is in the base currency: ``v`` for spot
    and linear, ``q`` (base-asset volume) for COIN-M, whose ``v`` counts contracts.

    Whether the bar is final is ``event.kline.closed``.
    """
    k = event.kline
    return OHLCV(
        k.start_time,
        number(k.open),
        number(k.high),
        number(k.low),
        number(k.close),
        number(k.quote_volume if market.inverse else k.volume),
    )


# --------------------------------------------------------------------------- futures


def parse_mark_price(event: MarkPriceEvent, market: Market, number: Converter[N]) -> FundingRate:
    """``@markPrice`` → ``FundingRate``.

    ``fundingTimestamp`` is the next settlement ``T`` (the one ``fundingRate``
    applies to). COIN-M delivery contracts (``r: ""``, ``T: 0``) get ``None``
    for both.
    """
    ts = event.event_time
    funding_ts = event.next_funding_time or None
    return FundingRate(
        symbol=market.symbol,
        timestamp=ts,
        datetime=iso8601(ts),
        markPrice=number(event.mark_price),
        indexPrice=opt_num(event.index_price, number),
        estimatedSettlePrice=opt_num(event.estimated_settle_price, number),
        fundingRate=opt_num(event.funding_rate, number),
        fundingTimestamp=funding_ts,
        fundingDatetime=iso8601(funding_ts),
        info=event,
    )


def parse_mark_price_ticker(event: MarkPriceEvent, market: Market, number: Converter[N]) -> Ticker:
    """``@markPrice`` → ``Ticker`` with only ``markPrice``/``indexPrice`` (``watch_mark_price``)."""
    ts = event.event_time
    return Ticker(
        market.symbol,
        ts,
        iso8601(ts),
        markPrice=number(event.mark_price),
        indexPrice=opt_num(event.index_price, number),
        info=event,
    )


def parse_force_order(event: ForceOrderEvent, market: Market, number: Converter[N]) -> Liquidation:
    """``@forceOrder`` → ``Liquidation``.

    ``contracts`` is the filled quantity ``z`` at average price ``ap``; side is
    the liquidation order's (``sell`` closes a long). Values: linear
    ``base = contracts * size``, ``quote = base * price``; inverse
    ``quote = contracts * size``, ``base = quote / price``.
    """
    order = event.order
    contracts = number(order.filled_quantity)
    price = number(order.average_price)
    size = _contract_size(market, price)
    base_value: N | None
    quote_value: N | None
    if size is None:
        base_value = quote_value = None
    elif market.inverse:
        quote_value = contracts * size
        base_value = quote_value / price if price else None
    else:
        base_value = contracts * size
        quote_value = base_value * price
    ts = order.trade_time
    side = order.side.lower()
    return Liquidation(
        symbol=market.symbol,
        timestamp=ts,
        datetime=iso8601(ts),
        price=price,
        side="sell" if side == "sell" else "buy",
        contracts=contracts,
        contractSize=size,
        baseValue=base_value,
        quoteValue=quote_value,
        info=event,
    )


# --------------------------------------------------------------------------- depth


class BookSnapshot(msgspec.Struct, kw_only=True, gc=False):
    """A parsed depth snapshot: ``[price, amount]`` levels plus the update id
    (``nonce``) the order-book sync procedure starts from."""

    symbol: str
    bids: list[tuple[Num, Num]]
    asks: list[tuple[Num, Num]]
    nonce: int
    timestamp: int | None = None
    datetime: str | None = None


def parse_levels(levels: list[Level], number: Converter[N]) -> list[tuple[N, N]]:
    """``[["price", "qty"], ...]`` → ``[(price, amount), ...]`` (order kept; qty 0 kept)."""
    return [(number(price), number(qty)) for price, qty in levels]


def parse_depth_snapshot(
    snapshot: DepthSnapshot, market: Market, number: Converter[N]
) -> BookSnapshot:
    """REST ``/depth`` (or spot ``@depth<N>``) → :class:`BookSnapshot`.

    ``timestamp`` is the futures ``T`` (then ``E``); spot snapshots carry none.
    """
    ts = snapshot.transaction_time or snapshot.event_time
    return BookSnapshot(
        symbol=market.symbol,
        bids=cast("list[tuple[Num, Num]]", parse_levels(snapshot.bids, number)),
        asks=cast("list[tuple[Num, Num]]", parse_levels(snapshot.asks, number)),
        nonce=snapshot.last_update_id,
        timestamp=ts,
        datetime=iso8601(ts),
    )


def parse_depth_update_levels(
    event: DepthUpdateEvent, number: Converter[N]
) -> tuple[list[tuple[N, N]], list[tuple[N, N]]]:
    """A diff event's ``(bids, asks)`` as numbers; quantity 0 means "remove level"."""
    return parse_levels(event.bids, number), parse_levels(event.asks, number)
