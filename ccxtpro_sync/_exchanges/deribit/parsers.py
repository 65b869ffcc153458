"""Deribit payloads → the unified structures (Ticker, Trade, OHLCV, Order,
Balances, Position).

Every numeric field goes through ``values.num``: NaN, infinities, booleans and
non-numbers are a ``ProtocolError`` for the whole payload, as on Binance.
``number`` is ``float`` or ``Decimal`` (use ``DeribitMarkets.number``).

Mappings (protocol reference §6 to §7, CCXT's conventions where they are stated):

* order state: ``open``/``untriggered`` → open, ``filled`` → closed,
  ``cancelled`` → canceled, ``rejected`` → rejected; ``stop_*``/``take_*`` types
  → ``limit``/``market``; ``price`` ``"market_price"`` → ``None``.
* ``label`` is the client order id (this library always sends one).
* the fee of an order or trade is ``|commission|`` / ``fee`` in the trade's
  ``fee_currency``, or the market's settle currency when not given (Deribit
  charges fees in the settlement currency).
* cost: ``amount / price`` on inverse markets (amount in USD), else
  ``amount * price``.
* balance: free = ``available_funds``, used = ``maintenance_margin``,
  total = ``equity`` (CCXT's choice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ..._exceptions import ProtocolError
from ..._numbers import Num
from ..._structures import (
    OHLCV,
    Balance,
    Balances,
    Fee,
    Market,
    Order,
    OrderStatus,
    Position,
    Ticker,
    Trade,
    iso8601,
)
from .markets import DeribitMarkets
from .values import num, opt_int, opt_num, req_int, req_num, req_str

__all__ = [
    "parse_balance",
    "parse_chart_data",
    "parse_ohlcv",
    "parse_order",
    "parse_order_result",
    "parse_orders",
    "parse_position",
    "parse_positions",
    "parse_quote",
    "parse_ticker",
    "parse_trade",
    "parse_trades",
    "parse_trades_page",
    "parse_user_changes",
]

_STATUS: Final[dict[str, OrderStatus]] = {
    "open": "open",
    "untriggered": "open",
    "filled": "closed",
    "cancelled": "canceled",
    "rejected": "rejected",
}
_TIME_IN_FORCE: Final = {
    "good_til_cancelled": "GTC",
    "good_til_day": "GTD",
    "fill_or_kill": "FOK",
    "immediate_or_cancel": "IOC",
}
Number = Callable[[str], Any]


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError(f"deribit {what} is not an object")
    return value


def _side(raw: Mapping[str, Any]) -> Any:
    direction = raw.get("direction")
    if direction not in ("buy", "sell"):
        raise ProtocolError(f"deribit direction {str(direction)[:20]!r} is not buy or sell")
    return direction


def _cost(market: Market, amount: Num | None, price: Num | None) -> Num | None:
    if amount is None or price is None:
        return None
    a: Any = amount
    p: Any = price
    cost: Num | None = (a / p if p else None) if market.inverse else a * p
    return cost


# --------------------------------------------------------------------------- market data


def parse_ticker(data: Any, market: Market, number: Number = float) -> Ticker:
    """A ``ticker.{instrument}.{interval}`` payload (or ``public/ticker`` result)."""
    raw = _obj(data, "ticker")
    timestamp = req_int(raw, "timestamp")
    stats = raw.get("stats")
    stats = stats if isinstance(stats, Mapping) else {}
    last = opt_num(raw, "last_price", number)
    return Ticker(
        symbol=market.symbol,
        timestamp=timestamp,
        datetime=iso8601(timestamp),
        high=opt_num(stats, "high", number),
        low=opt_num(stats, "low", number),
        bid=opt_num(raw, "best_bid_price", number),
        bidVolume=opt_num(raw, "best_bid_amount", number),
        ask=opt_num(raw, "best_ask_price", number),
        askVolume=opt_num(raw, "best_ask_amount", number),
        last=last,
        close=last,
        percentage=opt_num(stats, "price_change", number),
        baseVolume=opt_num(stats, "volume", number),
        quoteVolume=opt_num(stats, "volume_usd", number),
        markPrice=opt_num(raw, "mark_price", number),
        indexPrice=opt_num(raw, "index_price", number),
        info=raw,
    )


def parse_quote(data: Any, market: Market, number: Number = float) -> Ticker:
    """A ``quote.{instrument}`` payload: a ticker with only the best bid and ask."""
    raw = _obj(data, "quote")
    timestamp = req_int(raw, "timestamp")
    return Ticker(
        symbol=market.symbol,
        timestamp=timestamp,
        datetime=iso8601(timestamp),
        bid=opt_num(raw, "best_bid_price", number),
        bidVolume=opt_num(raw, "best_bid_amount", number),
        ask=opt_num(raw, "best_ask_price", number),
        askVolume=opt_num(raw, "best_ask_amount", number),
        info=raw,
    )


def _fee(raw: Mapping[str, Any], key: str, market: Market, number: Number) -> Fee | None:
    value = opt_num(raw, key, number)
    if value is None:
        return None
    currency = raw.get("fee_currency")
    cost: Any = abs(value)
    return Fee(
        currency=currency if isinstance(currency, str) else (market.settle or market.base),
        cost=cost,
    )


def parse_trade(data: Any, market: Market, number: Number = float) -> Trade:
    """One public trade (``trades.*``) or private fill (``user.trades.*``, order results)."""
    raw = _obj(data, "trade")
    timestamp = req_int(raw, "timestamp")
    price = req_num(raw, "price", number)
    amount = req_num(raw, "amount", number)
    liquidity = raw.get("liquidity")
    fee = _fee(raw, "fee", market, number)
    order_id = raw.get("order_id")
    order_type = raw.get("order_type")
    return Trade(
        id=req_str(raw, "trade_id"),
        order=order_id if isinstance(order_id, str) else None,
        timestamp=timestamp,
        datetime=iso8601(timestamp),
        symbol=market.symbol,
        type=_unified_type(order_type) if isinstance(order_type, str) else None,
        side=_side(raw),
        takerOrMaker="maker" if liquidity == "M" else "taker" if liquidity == "T" else None,
        price=price,
        amount=amount,
        cost=_cost(market, amount, price),
        fee=fee,
        fees=[fee] if fee is not None else [],
        info=raw,
    )


def parse_trades(data: Any, markets: DeribitMarkets, number: Number | None = None) -> list[Trade]:
    """A trades notification's array (each item names its instrument)."""
    if not isinstance(data, list):
        raise ProtocolError("deribit trades payload is not an array")
    conv = markets.number if number is None else number
    return [
        parse_trade(item, markets.by_id(req_str(_obj(item, "trade"), "instrument_name")), conv)
        for item in data
    ]


def parse_trades_page(
    result: Any, markets: DeribitMarkets, number: Number | None = None
) -> tuple[list[Trade], bool]:
    """A ``get_last_trades_by_*`` or ``get_user_trades_by_*`` result
    ``{"trades": [...], "has_more": bool}`` → ``(trades, has_more)``."""
    raw = _obj(result, "trades page")
    has_more = raw.get("has_more", False)
    if not isinstance(has_more, bool):
        raise ProtocolError("deribit trades page has_more is not a boolean")
    return parse_trades(raw.get("trades"), markets, number), has_more


def parse_ohlcv(data: Any, number: Number = float) -> OHLCV:
    """A ``chart.trades.{instrument}.{resolution}`` payload (``tick`` is the open time)."""
    raw = _obj(data, "candle")
    return OHLCV(
        req_int(raw, "tick"),
        req_num(raw, "open", number),
        req_num(raw, "high", number),
        req_num(raw, "low", number),
        req_num(raw, "close", number),
        req_num(raw, "volume", number),
    )


def parse_chart_data(result: Any, number: Number = float) -> list[OHLCV]:
    """``public/get_tradingview_chart_data``'s columns → candles (``no_data`` → [])."""
    raw = _obj(result, "chart data")
    if raw.get("status") == "no_data":
        return []
    columns = [raw.get(k) for k in ("ticks", "open", "high", "low", "close", "volume")]
    if not all(isinstance(c, list) for c in columns):
        raise ProtocolError("deribit chart data without its columns")
    lengths = {len(c) for c in columns}  # type: ignore[arg-type]
    if len(lengths) != 1:
        raise ProtocolError("deribit chart data columns differ in length")
    ticks, opens, highs, lows, closes, volumes = columns
    assert ticks is not None and opens is not None and highs is not None
    assert lows is not None and closes is not None and volumes is not None
    return [
        OHLCV(
            req_int({"tick": ticks[i]}, "tick"),
            num(opens[i], number, "open"),
            num(highs[i], number, "high"),
            num(lows[i], number, "low"),
            num(closes[i], number, "close"),
            num(volumes[i], number, "volume"),
        )
        for i in range(len(ticks))
    ]


# --------------------------------------------------------------------------- orders


def _unified_type(order_type: str) -> str:
    if order_type in ("limit", "market"):
        return order_type
    if order_type.endswith("_limit"):
        return "limit"
    if order_type.endswith("_market") or order_type in ("market_limit", "trailing_stop"):
        return "market"
    return order_type


def parse_order(data: Any, market: Market, number: Number = float) -> Order:
    """An order object (order results, ``user.orders.*``, ``get_order_state``)."""
    raw = _obj(data, "order")
    state = raw.get("order_state")
    status = _STATUS.get(state) if isinstance(state, str) else None
    if status is None:
        raise ProtocolError(f"deribit order_state {str(state)[:20]!r} is unknown")
    timestamp = opt_int(raw, "creation_timestamp")
    price_raw = raw.get("price")
    price = None if price_raw in (None, "market_price") else num(price_raw, number, "price")
    amount = opt_num(raw, "amount", number)
    filled = opt_num(raw, "filled_amount", number)
    average = opt_num(raw, "average_price", number)
    if not average:
        average = None  # Deribit sends 0.0 before the first fill
    remaining: Any = None
    if amount is not None and filled is not None:
        a: Any = amount
        remaining = a - filled
    trigger = opt_num(raw, "trigger_price", number)
    if trigger is None:
        trigger = opt_num(raw, "stop_price", number)
    order_type = raw.get("order_type")
    tif = raw.get("time_in_force")
    label = raw.get("label")
    fee = _fee(raw, "commission", market, number)
    return Order(
        id=req_str(raw, "order_id"),
        clientOrderId=label if isinstance(label, str) and label else None,
        timestamp=timestamp,
        datetime=iso8601(timestamp),
        lastUpdateTimestamp=opt_int(raw, "last_update_timestamp"),
        symbol=market.symbol,
        type=_unified_type(order_type) if isinstance(order_type, str) else None,
        timeInForce=_TIME_IN_FORCE.get(tif) if isinstance(tif, str) else None,
        side=_side(raw),
        price=price,
        average=average,
        amount=amount,
        filled=filled,
        remaining=remaining,
        cost=_cost(market, filled, average) if filled else (filled if filled == 0 else None),
        status=status,
        fee=fee,
        fees=[fee] if fee is not None else [],
        reduceOnly=raw.get("reduce_only") if isinstance(raw.get("reduce_only"), bool) else None,
        postOnly=raw.get("post_only") if isinstance(raw.get("post_only"), bool) else None,
        triggerPrice=trigger,
        stopPrice=trigger,
        info=raw,
    )


def parse_orders(data: Any, markets: DeribitMarkets, number: Number | None = None) -> list[Order]:
    """``user.orders.*``: one object on ``.raw``, an array at ``100ms``/``agg2``;
    also ``get_open_orders*`` results."""
    items: Sequence[Any] = data if isinstance(data, list) else [data]
    conv = markets.number if number is None else number
    return [
        parse_order(item, markets.by_id(req_str(_obj(item, "order"), "instrument_name")), conv)
        for item in items
    ]


def parse_cancelled(result: Any, markets: DeribitMarkets) -> list[Order]:
    """A ``private/cancel_all*`` result sent with ``detailed: true``: the cancelled
    orders. Accepts a flat array of orders (protocol reference §7) and an array of
    groups that each carry their orders under ``result`` (how Deribit's own article on
    detailed cancel replies groups them, by currency, kind and type); a bare count
    means the server ignored ``detailed`` and is a ``ProtocolError`` (the orders were
    cancelled, but which ones is unknown)."""
    if isinstance(result, bool) or not isinstance(result, list):
        shown = repr(result)[:60]
        raise ProtocolError(f"deribit cancel_all answered {shown} instead of the cancelled orders")
    orders: list[Any] = []
    for item in result:
        group = item.get("result") if isinstance(item, Mapping) else None
        if isinstance(group, list) and "order_id" not in item:
            orders.extend(group)
        else:
            orders.append(item)
    return parse_orders(orders, markets)


def parse_order_result(
    result: Any, markets: DeribitMarkets, number: Number | None = None
) -> tuple[Order, list[Trade]]:
    """``private/buy|sell|edit`` result ``{order, trades}``: the order with its fills."""
    raw = _obj(result, "order result")
    conv = markets.number if number is None else number
    order_raw = _obj(raw.get("order"), "order")
    market = markets.by_id(req_str(order_raw, "instrument_name"))
    trades_raw = raw.get("trades") or []
    if not isinstance(trades_raw, list):
        raise ProtocolError("deribit order result trades is not an array")
    trades = [parse_trade(t, market, conv) for t in trades_raw]
    order = parse_order(order_raw, market, conv)
    if trades:
        order.trades = trades
    return order, trades


# --------------------------------------------------------------------------- account


def _summary(raw: Mapping[str, Any], number: Number) -> tuple[str, Balance]:
    currency = req_str(raw, "currency").upper()
    return currency, Balance(
        free=opt_num(raw, "available_funds", number),
        used=opt_num(raw, "maintenance_margin", number),
        total=opt_num(raw, "equity", number),
    )


def parse_balance(data: Any, number: Number = float) -> Balances:
    """``user.portfolio.{currency}`` data, a ``get_account_summary`` result, or a list
    of summaries (``get_account_summaries``) → :class:`Balances`."""
    items = data if isinstance(data, list) else [data]
    balances: dict[str, Balance] = {}
    for item in items:
        currency, balance = _summary(_obj(item, "account summary"), number)
        balances[currency] = balance
    return Balances(balances=balances, info=data)


def parse_position(data: Any, market: Market, number: Number = float) -> Position:
    """A ``get_positions`` item (or ``user.changes`` position)."""
    raw = _obj(data, "position")
    direction = raw.get("direction")
    size = opt_num(raw, "size", number)
    contracts: Any = None
    if size is not None:
        magnitude: Any = abs(size)
        contracts = magnitude / market.contractSize if market.contractSize else magnitude
    leverage = opt_num(raw, "leverage", number)
    return Position(
        symbol=market.symbol,
        side="long" if direction == "buy" else "short" if direction == "sell" else None,
        contracts=contracts,
        contractSize=market.contractSize,
        entryPrice=opt_num(raw, "average_price", number),
        markPrice=opt_num(raw, "mark_price", number),
        notional=opt_num(raw, "size_currency", number),
        leverage=leverage,
        initialMargin=opt_num(raw, "initial_margin", number),
        maintenanceMargin=opt_num(raw, "maintenance_margin", number),
        unrealizedPnl=opt_num(raw, "floating_profit_loss", number),
        realizedPnl=opt_num(raw, "realized_profit_loss", number),
        liquidationPrice=opt_num(raw, "estimated_liquidation_price", number),
        marginMode="cross",
        hedged=False,
        info=raw,
    )


def parse_positions(
    data: Any, markets: DeribitMarkets, number: Number | None = None
) -> list[Position]:
    """A ``get_positions`` result (instruments the markets lack are ``BadSymbol``)."""
    if not isinstance(data, list):
        raise ProtocolError("deribit positions payload is not an array")
    conv = markets.number if number is None else number
    return [
        parse_position(p, markets.by_id(req_str(_obj(p, "position"), "instrument_name")), conv)
        for p in data
    ]


def parse_user_changes(
    data: Any, markets: DeribitMarkets, number: Number | None = None
) -> tuple[list[Order], list[Trade], list[Position]]:
    """``user.changes.*`` data ``{instrument_name, orders, trades, positions}``."""
    raw = _obj(data, "user.changes payload")
    parts = [raw.get(k) or [] for k in ("orders", "trades", "positions")]
    if not all(isinstance(p, list) for p in parts):
        raise ProtocolError("deribit user.changes parts are not arrays")
    orders, trades, positions = parts
    return (
        parse_orders(orders, markets, number) if orders else [],
        parse_trades(trades, markets, number),
        parse_positions(positions, markets, number),
    )
