"""Binance private wire structs → CCXT ``Order``, ``Trade``, ``Balances``, ``Position``.

Pure functions in the style of :mod:`.parsers`: ``(wire, market, number)``
where ``number`` is ``float`` or ``Decimal`` and the market was built with the
same converter. CCXT's rules, applied consistently to the WS API results and
the user-data events:

* status: ``NEW``/``PARTIALLY_FILLED``/``PENDING_NEW``/``PENDING_CANCEL`` → open,
  ``FILLED`` → closed, ``CANCELED`` → canceled, ``EXPIRED``/``EXPIRED_IN_MATCH``
  → expired, ``REJECTED`` → rejected. (The unified type has no "canceling".)
* ``filled`` = cumulative quantity; ``remaining`` = amount - filled;
  ``cost`` = cumulative quote (spot ``Z``/``cummulativeQuoteQty``, USD-M
  ``cumQuote`` or ``ap * z * contractSize``, COIN-M base value);
  ``average`` = spot ``Z / z``, futures ``ap``/``avgPrice``.
* ``type`` is Binance's type lowercased; ``LIMIT_MAKER`` is a post-only
  ``limit``, ``GTX`` time-in-force is CCXT's ``PO``.
* An event's ``fee`` is the commission of *this* execution (Binance reports
  per fill, not cumulative), as CCXT Pro does; ``trades`` holds that fill.
* Balances are rebuilt, never mutated, so a reader holding one never sees it change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, Literal, cast

from ..._numbers import N, Num, opt_num
from ..._structures import (
    Balance,
    Balances,
    Fee,
    Market,
    Order,
    OrderStatus,
    Position,
    Side,
    Trade,
    iso8601,
)
from .private_wire import (
    AccountBalanceEntry,
    AccountPositionEntry,
    AccountStatus,
    AccountUpdate,
    AccountUpdatePosition,
    BalanceUpdate,
    ExecutionReport,
    OrderResult,
    OrderTradeUpdate,
    OutboundAccountPosition,
    TradeResult,
)

__all__ = [
    "apply_account_update_balances",
    "apply_balance_update",
    "apply_outbound_account_position",
    "order_status",
    "parse_account_position",
    "parse_account_status",
    "parse_account_update_position",
    "parse_execution_report",
    "parse_execution_trade",
    "parse_futures_balances",
    "parse_futures_order_update",
    "parse_futures_trade",
    "parse_my_trade",
    "parse_order_result",
]

Converter = Callable[[str], N]

_STATUS: Final[dict[str, OrderStatus]] = {
    "NEW": "open",
    "PENDING_NEW": "open",
    "PARTIALLY_FILLED": "open",
    "PENDING_CANCEL": "open",
    "NEW_INSURANCE": "open",
    "NEW_ADL": "open",
    "FILLED": "closed",
    "CANCELED": "canceled",
    "EXPIRED": "expired",
    "EXPIRED_IN_MATCH": "expired",
    "REJECTED": "rejected",
}


def order_status(status: str | None) -> OrderStatus | None:
    """Binance order status → CCXT's (``None`` when unknown or absent)."""
    return _STATUS.get(status) if status else None


def _side(side: str | None) -> Side | None:
    if side == "BUY":
        return "buy"
    if side == "SELL":
        return "sell"
    return None


def _type(order_type: str | None) -> str | None:
    if not order_type:
        return None
    return "limit" if order_type == "LIMIT_MAKER" else order_type.lower()


def _tif(tif: str | None) -> str | None:
    if not tif:
        return None
    return "PO" if tif == "GTX" else tif


def _post_only(order_type: str | None, tif: str | None) -> bool | None:
    if order_type is None and tif is None:
        return None
    return order_type == "LIMIT_MAKER" or tif == "GTX"


def _nz(value: str | None, number: Converter[N]) -> N | None:
    """A price that Binance sends as ``"0"`` when not applicable → ``None``."""
    result = opt_num(value, number)
    return result if result else None


def _size(market: Market) -> Num | None:
    return market.contractSize


def _cost(price: N, amount: N, market: Market) -> N | None:
    """CCXT cost for a fill or an order's average: quote value (linear/spot) or base
    value (inverse)."""
    if not market.contract:
        return price * amount
    size = cast("N | None", _size(market))
    if market.inverse:
        if not price or size is None:
            return None
        return amount * size / price
    return price * amount * size if size is not None else price * amount


def _remaining(amount: N | None, filled: N | None) -> N | None:
    if amount is None or filled is None:
        return None
    return max(amount - filled, amount - amount)


def _fee(cost: str | None, currency: str | None, number: Converter[N]) -> Fee | None:
    if currency is None or cost is None:
        return None
    return Fee(currency=currency, cost=number(cost))


# --------------------------------------------------------------------------- trades


def _trade(
    *,
    trade_id: int,
    order_id: int,
    ts: int,
    market: Market,
    order_type: str | None,
    side: str | None,
    maker: bool | None,
    price: N,
    amount: N,
    cost: N | None,
    fee: Fee | None,
    info: object,
) -> Trade:
    return Trade(
        id=str(trade_id),
        order=str(order_id),
        timestamp=ts,
        datetime=iso8601(ts),
        symbol=market.symbol,
        type=_type(order_type),
        side=_side(side),
        takerOrMaker=None if maker is None else ("maker" if maker else "taker"),
        price=price,
        amount=amount,
        cost=cost,
        fee=fee,
        fees=[fee] if fee is not None else [],
        info=info,
    )


def parse_execution_trade(
    event: ExecutionReport, market: Market, number: Converter[N]
) -> Trade | None:
    """The fill an ``executionReport`` carries (``x == TRADE``), else ``None``."""
    if event.execution_type != "TRADE":
        return None
    price, amount = number(event.last_price), number(event.last_quantity)
    quote = opt_num(event.last_quote, number)
    return _trade(
        trade_id=event.trade_id,
        order_id=event.order_id,
        ts=event.transaction_time,
        market=market,
        order_type=event.order_type,
        side=event.side,
        maker=event.is_maker,
        price=price,
        amount=amount,
        cost=quote if quote is not None else price * amount,
        fee=_fee(event.commission, event.commission_asset, number),
        info=event,
    )


def parse_futures_trade(
    event: OrderTradeUpdate, market: Market, number: Converter[N]
) -> Trade | None:
    """The fill an ``ORDER_TRADE_UPDATE`` carries (``x == TRADE``), else ``None``."""
    o = event.order
    if o.execution_type != "TRADE":
        return None
    price, amount = number(o.last_price), number(o.last_quantity)
    return _trade(
        trade_id=o.trade_id,
        order_id=o.order_id,
        ts=o.trade_time,
        market=market,
        order_type=o.order_type,
        side=o.side,
        maker=o.is_maker,
        price=price,
        amount=amount,
        cost=_cost(price, amount, market),
        fee=_fee(o.commission, o.commission_asset, number),
        info=event,
    )


def parse_my_trade(trade: TradeResult, market: Market, number: Converter[N]) -> Trade:
    """A ``myTrades`` (spot) or ``userTrades`` (futures) item → ``Trade``.

    ``cost`` is the row's own value when it has one (spot and USD-M ``quoteQty``,
    COIN-M ``baseQty``), else computed as for a live fill.
    """
    price, amount = number(trade.price), number(trade.qty)
    side: str | None = trade.side
    if side is None:
        buyer = trade.is_buyer if trade.is_buyer is not None else trade.buyer
        side = None if buyer is None else ("BUY" if buyer else "SELL")
    maker = trade.is_maker if trade.is_maker is not None else trade.maker
    if market.contract:
        value = opt_num(trade.base_qty if market.inverse else trade.quote_qty, number)
        cost = value if value is not None else _cost(price, amount, market)
    else:
        quote = opt_num(trade.quote_qty, number)
        cost = quote if quote is not None else price * amount
    return _trade(
        trade_id=trade.id,
        order_id=trade.order_id,
        ts=trade.time,
        market=market,
        order_type=None,
        side=side,
        maker=maker,
        price=price,
        amount=amount,
        cost=cost,
        fee=_fee(trade.commission, trade.commission_asset, number),
        info=trade,
    )


# --------------------------------------------------------------------------- orders


def parse_execution_report(event: ExecutionReport, market: Market, number: Converter[N]) -> Order:
    """Spot ``executionReport`` → ``Order`` (state after this execution)."""
    amount = number(event.quantity)
    filled = number(event.filled_quantity)
    cost = opt_num(event.cumulative_quote, number)
    average = cost / filled if cost is not None and filled else None
    trade = parse_execution_trade(event, market, number)
    fee = _fee(event.commission, event.commission_asset, number)
    # ``C`` is the original id when this report is a cancel; ``c`` is then the cancel's own.
    # An amendment (REPLACED) gives the order a new id: ``c``; ``C`` is its previous one.
    replaced = event.execution_type == "REPLACED"
    client_id = (None if replaced else event.orig_client_order_id) or event.client_order_id
    created = event.creation_time or event.transaction_time
    trigger = _nz(event.stop_price, number)
    return Order(
        id=str(event.order_id),
        clientOrderId=client_id,
        timestamp=created,
        datetime=iso8601(created),
        lastTradeTimestamp=event.transaction_time if trade is not None else None,
        lastUpdateTimestamp=event.transaction_time,
        symbol=market.symbol,
        type=_type(event.order_type),
        timeInForce=_tif(event.time_in_force),
        side=_side(event.side),
        price=_nz(event.price, number),
        average=average,
        amount=amount,
        filled=filled,
        remaining=_remaining(amount, filled),
        cost=cost,
        status=order_status(event.status),
        fee=fee,
        fees=[fee] if fee is not None else [],
        trades=[trade] if trade is not None else [],
        postOnly=_post_only(event.order_type, event.time_in_force),
        triggerPrice=trigger,
        stopPrice=trigger,
        info=event,
    )


def parse_futures_order_update(
    event: OrderTradeUpdate, market: Market, number: Converter[N]
) -> Order:
    """Futures ``ORDER_TRADE_UPDATE`` → ``Order``."""
    o = event.order
    amount = number(o.quantity)
    filled = number(o.filled_quantity)
    average = _nz(o.average_price, number)
    cost = _cost(average, filled, market) if average is not None else filled - filled
    trade = parse_futures_trade(event, market, number)
    fee = _fee(o.commission, o.commission_asset, number)
    trigger = _nz(o.stop_price, number)
    ts = o.trade_time
    return Order(
        id=str(o.order_id),
        clientOrderId=o.client_order_id,
        timestamp=ts,
        datetime=iso8601(ts),
        lastTradeTimestamp=ts if trade is not None else None,
        lastUpdateTimestamp=event.transaction_time or ts,
        symbol=market.symbol,
        type=_type(o.order_type),
        timeInForce=_tif(o.time_in_force),
        side=_side(o.side),
        price=_nz(o.price, number),
        average=average,
        amount=amount,
        filled=filled,
        remaining=_remaining(amount, filled),
        cost=cost,
        status=order_status(o.status),
        fee=fee,
        fees=[fee] if fee is not None else [],
        trades=[trade] if trade is not None else [],
        reduceOnly=o.reduce_only,
        postOnly=_post_only(o.order_type, o.time_in_force),
        triggerPrice=trigger,
        stopPrice=trigger,
        info=event,
    )


def parse_order_result(result: OrderResult, market: Market, number: Converter[N]) -> Order:
    """A WS API order result (place/cancel/modify/status; ACK, RESULT or FULL) → ``Order``.

    ACK responses carry only ids and a time: the other fields stay ``None``
    (the user-data stream fills them in). FULL fills become ``trades`` and
    their commissions are summed per currency into ``fees``.
    """
    amount = opt_num(result.orig_qty, number)
    filled = opt_num(result.executed_qty, number)
    average = _nz(result.avg_price, number)
    cost: N | None
    if market.contract:
        if result.cum_base is not None:
            cost = number(result.cum_base)
        elif result.cum_quote is not None:
            cost = number(result.cum_quote)
        elif average is not None and filled is not None:
            cost = _cost(average, filled, market)
        else:
            cost = None
    else:
        cost = opt_num(result.cum_quote_spot, number)
        if average is None and cost is not None and filled:
            average = cost / filled
    trades: list[Trade] = []
    totals: dict[str, N] = {}
    ts = result.transact_time or result.time or result.update_time
    for fill in result.fills or ():
        price, qty = number(fill.price), number(fill.qty)
        fee_cost = number(fill.commission)
        prev = totals.get(fill.commission_asset)
        totals[fill.commission_asset] = fee_cost if prev is None else prev + fee_cost
        trades.append(
            _trade(
                trade_id=fill.trade_id if fill.trade_id is not None else -1,
                order_id=result.order_id,
                ts=ts or 0,
                market=market,
                order_type=result.type,
                side=result.side,
                maker=False,  # fills reported at placement are against resting orders
                price=price,
                amount=qty,
                cost=_cost(price, qty, market),
                fee=Fee(currency=fill.commission_asset, cost=fee_cost),
                info=fill,
            )
        )
    fees = [Fee(currency=c, cost=v) for c, v in totals.items()]
    trigger = _nz(result.stop_price, number)
    # A cancel result names the cancelled order's id in origClientOrderId.
    client_id = result.orig_client_order_id or result.client_order_id
    return Order(
        id=str(result.order_id),
        clientOrderId=client_id,
        timestamp=result.time or result.transact_time,
        datetime=iso8601(result.time or result.transact_time),
        lastTradeTimestamp=None,
        lastUpdateTimestamp=result.update_time or result.transact_time or result.working_time,
        symbol=market.symbol,
        type=_type(result.orig_type or result.type),
        timeInForce=_tif(result.time_in_force),
        side=_side(result.side),
        price=_nz(result.price, number),
        average=average,
        amount=amount,
        filled=filled,
        remaining=_remaining(amount, filled),
        cost=cost,
        status=order_status(result.status),
        fee=fees[0] if len(fees) == 1 else None,
        fees=fees,
        trades=trades,
        reduceOnly=result.reduce_only,
        postOnly=_post_only(result.type, result.time_in_force),
        triggerPrice=trigger,
        stopPrice=trigger,
        info=result,
    )


# --------------------------------------------------------------------------- balances


def _balances(entries: dict[str, Balance], ts: int | None, info: object) -> Balances:
    return Balances(balances=entries, timestamp=ts, datetime=iso8601(ts), info=info)


def parse_account_status(account: AccountStatus, number: Converter[N]) -> Balances:
    """Spot ``account.status`` → ``Balances`` (``used`` is ``locked``)."""
    entries: dict[str, Balance] = {}
    for b in account.balances:
        free, used = number(b.free), number(b.locked)
        entries[b.asset] = Balance(free=free, used=used, total=free + used)
    return _balances(entries, account.update_time, account)


def parse_futures_balances(
    entries: Iterable[AccountBalanceEntry], number: Converter[N]
) -> Balances:
    """Futures ``account.balance`` → ``Balances``: ``total`` is the wallet balance,
    ``free`` the available balance, ``used`` the difference (margin in use)."""
    items = list(entries)
    result: dict[str, Balance] = {}
    latest: int | None = None
    for e in items:
        total = number(e.balance)
        free = opt_num(e.available_balance, number)
        result[e.asset] = Balance(
            free=free, used=total - free if free is not None else None, total=total
        )
        if e.update_time is not None:
            latest = e.update_time if latest is None else max(latest, e.update_time)
    return _balances(result, latest, items)


def apply_outbound_account_position(
    current: Balances | None, event: OutboundAccountPosition, number: Converter[N]
) -> Balances:
    """Spot ``outboundAccountPosition`` (absolute values of changed assets) on top of
    the current balances."""
    entries = dict(current.balances) if current is not None else {}
    for b in event.balances:
        free, used = number(b.free), number(b.locked)
        entries[b.asset] = Balance(free=free, used=used, total=free + used)
    return _balances(entries, event.event_time, event)


def apply_balance_update(
    current: Balances | None, event: BalanceUpdate, number: Converter[N]
) -> Balances:
    """Spot ``balanceUpdate`` (a delta to ``free``). An asset absent from a full
    snapshot has a zero balance, so the delta applies to zero."""
    entries = dict(current.balances) if current is not None else {}
    delta = number(event.delta)
    old = entries.get(event.asset)
    free = cast("N | None", old.free) if old is not None else None
    used = cast("N | None", old.used) if old is not None else None
    new_free = delta if free is None else free + delta
    entries[event.asset] = Balance(
        free=new_free, used=used, total=new_free + used if used is not None else new_free
    )
    return _balances(entries, event.event_time, event)


def apply_account_update_balances(
    current: Balances | None, event: AccountUpdate, number: Converter[N]
) -> Balances:
    """Futures ``ACCOUNT_UPDATE`` balances: the wallet balance becomes ``total``.
    The event has no available balance, so ``free``/``used`` are cleared rather
    than left stale."""
    entries = dict(current.balances) if current is not None else {}
    for b in event.data.balances:
        entries[b.asset] = Balance(free=None, used=None, total=number(b.wallet_balance))
    return _balances(entries, event.event_time, event)


# --------------------------------------------------------------------------- positions


def _position_side(position_side: str | None, amount: N) -> Literal["long", "short"] | None:
    if position_side == "LONG":
        return "long"
    if position_side == "SHORT":
        return "short"
    if amount > 0:
        return "long"
    if amount < 0:
        return "short"
    return None


def _margin_mode(value: str | None) -> Literal["cross", "isolated"] | None:
    if not value:
        return None
    lowered = value.lower()
    if lowered == "isolated":
        return "isolated"
    if lowered in ("cross", "crossed"):
        return "cross"
    return None


def parse_account_update_position(
    position: AccountUpdatePosition, market: Market, number: Converter[N], timestamp: int
) -> Position:
    """One ``ACCOUNT_UPDATE`` position → ``Position`` (``contracts`` is unsigned)."""
    amount = number(position.position_amount)
    return Position(
        symbol=market.symbol,
        timestamp=timestamp,
        datetime=iso8601(timestamp),
        lastUpdateTimestamp=timestamp,
        hedged=position.position_side not in (None, "BOTH"),
        side=_position_side(position.position_side, amount),
        contracts=abs(amount),
        contractSize=market.contractSize,
        entryPrice=_nz(position.entry_price, number),
        unrealizedPnl=opt_num(position.unrealized_pnl, number),
        realizedPnl=opt_num(position.accumulated_realized, number),
        marginMode=_margin_mode(position.margin_type),
        isolated=None
        if position.margin_type is None
        else _margin_mode(position.margin_type) == "isolated",
        collateral=opt_num(position.isolated_wallet, number),
        info=position,
    )


def parse_account_position(
    position: AccountPositionEntry, market: Market, number: Converter[N]
) -> Position:
    """A futures ``account.position`` item (v1 or v2) → ``Position``."""
    amount = number(position.position_amt)
    mode = _margin_mode(position.margin_type)
    if mode is None and position.isolated is not None:
        mode = "isolated" if position.isolated else "cross"
    notional = opt_num(position.notional or position.notional_value, number)
    ts = position.update_time
    return Position(
        symbol=market.symbol,
        timestamp=ts,
        datetime=iso8601(ts),
        lastUpdateTimestamp=ts,
        hedged=position.position_side not in (None, "BOTH"),
        side=_position_side(position.position_side, amount),
        contracts=abs(amount),
        contractSize=market.contractSize,
        entryPrice=_nz(position.entry_price, number),
        markPrice=_nz(position.mark_price, number),
        notional=abs(notional) if notional is not None else None,
        leverage=opt_num(position.leverage, number),
        collateral=opt_num(position.isolated_wallet, number),
        initialMargin=opt_num(position.initial_margin, number),
        maintenanceMargin=opt_num(position.maint_margin, number),
        unrealizedPnl=opt_num(position.un_realized_profit, number),
        liquidationPrice=_nz(position.liquidation_price, number),
        marginMode=mode,
        isolated=None if mode is None else mode == "isolated",
        info=position,
    )
