"""REST market-data answers → the same unified structures the streams give. No I/O.

Binance's REST shapes differ from the stream payloads (long key names, klines
as arrays), so they get their own wire structs; the unified results follow the
stream parsers' rules (see :mod:`.parsers`): trade ids are aggregate ids for
``aggTrades``, COIN-M volumes are in the base asset, ``info`` is the wire struct.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import msgspec

from ..._numbers import N, opt_num
from ..._orderbook import OrderBook
from ..._structures import OHLCV, Balance, Balances, Market, Ticker, Trade, iso8601
from .parsers import _cost, _volumes, parse_depth_snapshot
from .wire import DepthSnapshot, _f, _o, _Wire

__all__ = [
    "RestAggTrade",
    "RestBookTicker",
    "RestFuturesAccount",
    "RestTicker",
    "RestTrade",
    "parse_rest_agg_trade",
    "parse_rest_book_ticker",
    "parse_rest_futures_balance",
    "parse_rest_kline",
    "parse_rest_order_book",
    "parse_rest_ticker",
    "parse_rest_trade",
]

Converter = Callable[[str], N]


class RestTicker(_Wire, frozen=True, kw_only=True):
    """``GET /ticker/24hr`` (one row). Spot adds bid/ask and ``prevClosePrice``;
    COIN-M has ``baseVolume`` where the others have ``quoteVolume``."""

    symbol: str
    price_change: str = _f("priceChange")
    price_change_percent: str = _f("priceChangePercent")
    weighted_avg_price: str = _f("weightedAvgPrice")
    last_price: str = _f("lastPrice")
    open_price: str = _f("openPrice")
    high_price: str = _f("highPrice")
    low_price: str = _f("lowPrice")
    volume: str
    close_time: int = _f("closeTime")
    open_time: int | None = _o("openTime")
    quote_volume: str | None = _o("quoteVolume")
    base_volume: str | None = _o("baseVolume")
    prev_close_price: str | None = _o("prevClosePrice")
    last_qty: str | None = _o("lastQty")
    bid_price: str | None = _o("bidPrice")
    bid_qty: str | None = _o("bidQty")
    ask_price: str | None = _o("askPrice")
    ask_qty: str | None = _o("askQty")
    first_id: int | None = _o("firstId")
    last_id: int | None = _o("lastId")
    count: int | None = None
    pair: str | None = None


class RestBookTicker(_Wire, frozen=True, kw_only=True):
    """``GET /ticker/bookTicker`` (one row); futures add ``time``."""

    symbol: str
    bid_price: str = _f("bidPrice")
    bid_qty: str = _f("bidQty")
    ask_price: str = _f("askPrice")
    ask_qty: str = _f("askQty")
    time: int | None = None
    last_update_id: int | None = _o("lastUpdateId")
    pair: str | None = None


class RestTrade(_Wire, frozen=True, kw_only=True):
    """``GET /trades`` / ``/historicalTrades`` (one row)."""

    id: int
    price: str
    qty: str
    time: int
    is_buyer_maker: bool = _f("isBuyerMaker")
    quote_qty: str | None = _o("quoteQty")
    base_qty: str | None = _o("baseQty")
    is_best_match: bool | None = _o("isBestMatch")


class RestAggTrade(_Wire, frozen=True):
    """``GET /aggTrades`` (one row): the ``@aggTrade`` payload without ``e``/``E``/``s``."""

    agg_trade_id: int = _f("a")
    price: str = _f("p")
    quantity: str = _f("q")
    first_trade_id: int = _f("f")
    last_trade_id: int = _f("l")
    trade_time: int = _f("T")
    buyer_is_maker: bool = _f("m")
    ignore: bool | None = _o("M")
    normal_quantity: str | None = _o("nq")


class RestAccountAsset(_Wire, frozen=True, kw_only=True):
    """One ``assets`` entry of the futures ``account`` answer."""

    asset: str
    wallet_balance: str = _f("walletBalance")
    available_balance: str | None = _o("availableBalance")
    update_time: int | None = _o("updateTime")


class RestFuturesAccount(_Wire, frozen=True, kw_only=True):
    """``GET /fapi/v2|v3/account``, ``/dapi/v1/account`` (the part balances need)."""

    assets: list[RestAccountAsset]
    update_time: int | None = _o("updateTime")


#: A kline row: open time, o, h, l, c, volume, close time, quote volume, trades, ...
KlineRow = tuple[Any, ...]


def parse_rest_ticker(row: RestTicker, market: Market, number: Converter[N]) -> Ticker:
    """``ticker/24hr`` → ``Ticker`` with the stream ticker's rules (``timestamp`` is
    the statistics close time; COIN-M ``baseVolume`` in the base asset)."""
    open_ = number(row.open_price)
    last = number(row.last_price)
    if market.inverse:
        base_volume, quote_volume = _volumes(row.volume, row.base_volume or "0", market, number)
    else:
        base_volume, quote_volume = number(row.volume), number(row.quote_volume or "0")
    change = number(row.price_change)
    ts = row.close_time
    return Ticker(
        symbol=market.symbol,
        timestamp=ts,
        datetime=iso8601(ts),
        high=number(row.high_price),
        low=number(row.low_price),
        bid=opt_num(row.bid_price, number),
        bidVolume=opt_num(row.bid_qty, number),
        ask=opt_num(row.ask_price, number),
        askVolume=opt_num(row.ask_qty, number),
        vwap=number(row.weighted_avg_price),
        open=open_,
        close=last,
        last=last,
        previousClose=opt_num(row.prev_close_price, number),
        change=change,
        percentage=number(row.price_change_percent) if row.price_change_percent else None,
        average=(open_ + last) / 2,
        baseVolume=base_volume,
        quoteVolume=quote_volume,
        info=row,
    )


def parse_rest_book_ticker(row: RestBookTicker, market: Market, number: Converter[N]) -> Ticker:
    """``ticker/bookTicker`` → bid/ask-only ``Ticker`` (spot has no time: ``None``)."""
    return Ticker(
        symbol=market.symbol,
        timestamp=row.time,
        datetime=iso8601(row.time),
        bid=number(row.bid_price),
        bidVolume=number(row.bid_qty),
        ask=number(row.ask_price),
        askVolume=number(row.ask_qty),
        info=row,
    )


def _trade(
    trade_id: int,
    fields: tuple[str, str, int, bool],
    info: object,
    market: Market,
    number: Converter[N],
) -> Trade:
    """``fields``: price, amount, time and whether the buyer was the maker."""
    price_text, amount_text, ts, buyer_is_maker = fields
    price, amount = number(price_text), number(amount_text)
    return Trade(
        id=str(trade_id),
        timestamp=ts,
        datetime=iso8601(ts),
        symbol=market.symbol,
        side="sell" if buyer_is_maker else "buy",
        price=price,
        amount=amount,
        cost=_cost(price, amount, market),
        info=info,
    )


def parse_rest_agg_trade(row: RestAggTrade, market: Market, number: Converter[N]) -> Trade:
    """``aggTrades`` → ``Trade`` (id = aggregate id, as the ``@aggTrade`` stream)."""
    fields = (row.price, row.quantity, row.trade_time, row.buyer_is_maker)
    return _trade(row.agg_trade_id, fields, row, market, number)


def parse_rest_trade(row: RestTrade, market: Market, number: Converter[N]) -> Trade:
    """``trades`` / ``historicalTrades`` → ``Trade`` (id = trade id, as ``@trade``)."""
    fields = (row.price, row.qty, row.time, row.is_buyer_maker)
    return _trade(row.id, fields, row, market, number)


def parse_rest_kline(row: KlineRow, market: Market, number: Converter[N]) -> OHLCV:
    """A ``klines`` row → ``OHLCV``; volume in the base currency (COIN-M: index 7)."""
    volume = row[7] if market.inverse else row[5]
    return OHLCV(
        int(row[0]),
        number(row[1]),
        number(row[2]),
        number(row[3]),
        number(row[4]),
        number(volume),
    )


def parse_rest_order_book(
    snapshot: DepthSnapshot, market: Market, number: Converter[N]
) -> OrderBook[Any]:
    """``depth`` → ``OrderBook`` (``nonce`` = ``lastUpdateId``)."""
    book = parse_depth_snapshot(snapshot, market, number)
    return OrderBook(
        symbol=book.symbol,
        bids=cast("list[Any]", book.bids),
        asks=cast("list[Any]", book.asks),
        timestamp=book.timestamp,
        datetime=book.datetime,
        nonce=book.nonce,
    )


def parse_rest_futures_balance(account: RestFuturesAccount, number: Converter[N]) -> Balances:
    """Futures ``account`` → ``Balances`` with ``fetch_balance_ws``'s rules: ``total``
    is the wallet balance, ``free`` the available balance, ``used`` the rest."""
    entries: dict[str, Balance] = {}
    latest = account.update_time or None
    for asset in account.assets:
        total = number(asset.wallet_balance)
        free = opt_num(asset.available_balance, number)
        entries[asset.asset] = Balance(
            free=free, used=total - free if free is not None else None, total=total
        )
        if asset.update_time:
            latest = asset.update_time if latest is None else max(latest, asset.update_time)
    return Balances(balances=entries, timestamp=latest, datetime=iso8601(latest), info=account)


def decode(body: bytes, kind: type[Any], what: str) -> Any:
    """Decode a REST body into ``kind``; a shape we do not expect is a ``ProtocolError``."""
    from ..._exceptions import ProtocolError

    try:
        return msgspec.json.decode(body, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as error:
        # (RecursionError: nested deeper than msgspec recurses)
        raise ProtocolError(f"{what}: unexpected response: {error}") from error
