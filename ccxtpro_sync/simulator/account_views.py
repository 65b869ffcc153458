"""Account queries shared by the WS API and signed REST: orders, balances, positions, trades.

One function per answer, so ``openOrders.status`` and ``GET /api/v3/openOrders``
(or ``v2/account.balance`` and ``GET /fapi/v2/balance``) cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .accounts import Account
from .catalog import MarketName
from .market import SymbolState
from .matching import Matching
from .order_input import int_param, symbol_of
from .orders import AccountTrade
from .private_shapes import (
    Obj,
    futures_balance,
    futures_order,
    futures_position,
    money,
    spot_my_trade,
    spot_order_status,
)
from .rest import ApiError


def order_view(matching: Matching, market: MarketName, order: Any) -> Obj:
    st = matching.state(market, order.symbol)
    if market == "spot":
        return spot_order_status(order, st)
    return futures_order(order, st, with_time=True)


def open_orders(
    matching: Matching, account: Account, market: MarketName, params: Mapping[str, Any]
) -> list[Obj]:
    symbol = None
    if params.get("symbol"):
        symbol = symbol_of(matching.engine.catalog, market, params).symbol
    orders = sorted(matching.open_orders(account, market, symbol), key=lambda o: o.order_id)
    return [order_view(matching, market, o) for o in orders]


def order_status(
    matching: Matching, account: Account, market: MarketName, params: Mapping[str, Any]
) -> Obj:
    spec = symbol_of(matching.engine.catalog, market, params)
    order_id = int_param(params, "orderId")
    client_id = params.get("origClientOrderId") or None
    if order_id is None and client_id is None:
        raise ApiError(
            -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    order = matching.find(account, market, spec.symbol, order_id, client_id)
    if order is None:
        raise ApiError(-2013, "Order does not exist.")
    return order_view(matching, market, order)


def futures_balances(matching: Matching, account: Account, market: MarketName) -> list[Obj]:
    assets = sorted(
        set(account.wallets[market])
        | {s.margin_asset for s in matching.engine.catalog.symbols(market)}
    )
    out = []
    for asset in assets:
        upnl, _, _ = matching.margin(account, market, asset)
        out.append(
            futures_balance(
                market,
                asset,
                wallet=account.wallet(market, asset),
                upnl=upnl,
                available=matching.available(account, market, asset),
                update_time=account.update_time,
            )
        )
    return out


def futures_positions(
    matching: Matching,
    account: Account,
    market: MarketName,
    params: Mapping[str, Any],
    *,
    only_active: bool,
) -> list[Obj]:
    """Positions; ``only_active`` keeps those with an amount or open orders (v3 / WS API)."""
    catalog = matching.engine.catalog
    wanted = symbol_of(catalog, market, params).symbol if params.get("symbol") else None
    with_orders = {o.symbol for o in matching.open_orders(account, market)}
    out = []
    for spec in catalog.symbols(market):
        symbol = spec.symbol
        if wanted is not None and symbol != wanted:
            continue
        pos = account.position(market, symbol)
        if only_active and not pos.amount and symbol not in with_orders:
            continue
        st = matching.state(market, symbol)
        mark = matching.mark_price(market, symbol)
        upnl = matching.unrealized(market, spec, pos.amount, pos.entry_price, mark)
        notional = matching.notional(market, spec, pos.amount, mark)
        out.append(
            futures_position(market, symbol, pos, st, mark=mark, upnl=upnl, notional=notional)
        )
    return out


def my_trades(
    matching: Matching,
    account: Account,
    params: Mapping[str, Any],
    market: MarketName = "spot",
) -> list[Obj]:
    """Spot ``myTrades`` and futures ``userTrades``: the account's fills in one symbol,
    filtered by ``orderId``/``fromId``/``startTime``/``endTime``; ``limit`` 500, max 1000."""
    spec = symbol_of(matching.engine.catalog, market, params)
    limit = min(int_param(params, "limit") or 500, 1000)
    order_id = int_param(params, "orderId")
    from_id = int_param(params, "fromId")
    start = int_param(params, "startTime")
    end = int_param(params, "endTime")
    rows = [
        t
        for t in matching.account_trades(account, market)
        if t.symbol == spec.symbol
        and (order_id is None or t.order_id == order_id)
        and (from_id is None or t.trade_id >= from_id)
        and (start is None or t.time >= start)
        and (end is None or t.time <= end)
    ]
    rows = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
    st = matching.state(market, spec.symbol)
    if market == "spot":
        return [spot_my_trade(t, st) for t in rows]
    return [futures_user_trade(t, st) for t in rows]


def futures_user_trade(trade: AccountTrade, st: SymbolState) -> Obj:
    """One ``userTrades`` row: USD-M carries ``quoteQty``; COIN-M ``baseQty`` (the
    fill's value in the base asset), ``pair`` and ``marginAsset``, in Binance's key order."""
    side = "BUY" if trade.is_buyer else "SELL"
    if st.market == "usdm":
        return {
            "buyer": trade.is_buyer,
            "commission": money(trade.commission),
            "commissionAsset": trade.commission_asset,
            "id": trade.trade_id,
            "maker": trade.is_maker,
            "orderId": trade.order_id,
            "price": st.px(trade.price),
            "qty": st.qty(trade.lots),
            "quoteQty": money(trade.quote),
            "realizedPnl": money(trade.realized),
            "side": side,
            "positionSide": "BOTH",
            "symbol": trade.symbol,
            "time": trade.time,
        }
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "pair": st.spec.pair,
        "side": side,
        "price": st.px(trade.price),
        "qty": st.qty(trade.lots),
        "realizedPnl": money(trade.realized),
        "marginAsset": st.spec.margin_asset,
        "baseQty": money(trade.quote),
        "commission": money(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time,
        "positionSide": "BOTH",
        "buyer": trade.is_buyer,
        "maker": trade.is_maker,
    }
