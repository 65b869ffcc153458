"""Binance's wire shapes for private results and user-data events (reference §6.4, §7).

Pure builders from the engine's model (:mod:`.orders`, :mod:`.accounts`) to the
JSON objects Binance sends, so the same order renders identically in an
``order.place`` result, an ``order.status`` answer, a REST list and an event.
Prices and quantities are strings with the symbol's decimals (spot: 8), ids
and times are ints.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from .accounts import Account, Position
from .catalog import MarketName
from .market import SymbolState
from .orders import AccountTrade, Fill, SimOrder

Obj = dict[str, Any]
ZERO8 = "0.00000000"


def money(value: Decimal) -> str:
    """Balances, commissions and PnL: 8 decimals, like Binance's asset precision."""
    return f"{value:.8f}"


def plain(value: Decimal) -> str:
    """A derived decimal (average price, entry price) without exponent or noise."""
    text = format(value.quantize(Decimal("0.00000001")).normalize(), "f")
    return "0" if text in ("-0", "0E-8") else text


def _tif(order: SimOrder) -> str:
    return "GTC" if order.type in ("MARKET", "LIMIT_MAKER") else order.time_in_force


def _price(st: SymbolState, order: SimOrder) -> str:
    return st.px(order.price)


def _amount(st: SymbolState, amount: Decimal) -> str:
    """A position amount (base quantity or contracts) with the symbol's decimals."""
    return st.dec(amount)


# --------------------------------------------------------------------------- spot results


def spot_order_result(order: SimOrder, st: SymbolState, resp_type: str) -> Obj:
    """``order.place`` result for ``newOrderRespType`` ACK, RESULT or FULL."""
    out: Obj = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time,
    }
    if resp_type == "ACK":
        return out
    out.update(
        {
            "price": _price(st, order),
            "origQty": st.qty(order.orig_lots),
            "executedQty": st.qty(order.executed_lots),
            "origQuoteOrderQty": money(order.orig_quote_qty),
            "cummulativeQuoteQty": money(order.cum_quote),
            "status": order.status,
            "timeInForce": _tif(order),
            "type": order.type,
            "side": order.side,
            "workingTime": order.working_time,
            "selfTradePreventionMode": "NONE",
        }
    )
    if resp_type == "FULL":
        out["fills"] = [
            {
                "price": st.px(f.price),
                "qty": st.qty(f.lots),
                "commission": money(f.commission),
                "commissionAsset": f.commission_asset,
                "tradeId": f.trade_id,
            }
            for f in order.fills
        ]
    return out


def spot_order_status(order: SimOrder, st: SymbolState) -> Obj:
    """``order.status``, ``openOrders.status`` and REST ``openOrders`` items."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": _price(st, order),
        "origQty": st.qty(order.orig_lots),
        "executedQty": st.qty(order.executed_lots),
        "cummulativeQuoteQty": money(order.cum_quote),
        "status": order.status,
        "timeInForce": _tif(order),
        "type": order.type,
        "side": order.side,
        "stopPrice": ZERO8,
        "icebergQty": ZERO8,
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": True,
        "workingTime": order.working_time,
        "origQuoteOrderQty": money(order.orig_quote_qty),
        "selfTradePreventionMode": "NONE",
    }


def spot_cancel_result(order: SimOrder, st: SymbolState) -> Obj:
    """``order.cancel`` result: ``clientOrderId`` is the cancel's own new id."""
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.cancel_client_id or order.client_order_id,
        "transactTime": order.update_time,
        "price": _price(st, order),
        "origQty": st.qty(order.orig_lots),
        "executedQty": st.qty(order.executed_lots),
        "origQuoteOrderQty": money(order.orig_quote_qty),
        "cummulativeQuoteQty": money(order.cum_quote),
        "status": order.status,
        "timeInForce": _tif(order),
        "type": order.type,
        "side": order.side,
        "selfTradePreventionMode": "NONE",
    }


def spot_amend_result(order: SimOrder, st: SymbolState, execution_id: int) -> Obj:
    """``order.amend.keepPriority`` result; note Binance's ``qty`` and
    ``cumulativeQuoteQty`` spellings inside ``amendedOrder``."""
    return {
        "transactTime": order.update_time,
        "executionId": execution_id,
        "amendedOrder": {
            "symbol": order.symbol,
            "orderId": order.order_id,
            "orderListId": -1,
            "origClientOrderId": order.cancel_client_id or order.client_order_id,
            "clientOrderId": order.client_order_id,
            "price": _price(st, order),
            "qty": st.qty(order.orig_lots),
            "executedQty": st.qty(order.executed_lots),
            "preventedQty": ZERO8,
            "quoteOrderQty": money(order.orig_quote_qty),
            "cumulativeQuoteQty": money(order.cum_quote),
            "status": order.status,
            "timeInForce": _tif(order),
            "type": order.type,
            "side": order.side,
            "workingTime": order.working_time,
            "selfTradePreventionMode": "NONE",
        },
    }


def spot_account_status(account: Account, omit_zero: bool = False) -> Obj:
    balances = [
        {"asset": a, "free": money(b.free), "locked": money(b.locked)}
        for a, b in sorted(account.spot.items())
        if not omit_zero or b.free or b.locked
    ]
    maker = int(account.maker_fee * 10000)
    taker = int(account.taker_fee * 10000)
    return {
        "makerCommission": maker,
        "takerCommission": taker,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "canTrade": account.can_trade,
        "canWithdraw": True,
        "canDeposit": True,
        "commissionRates": {
            "maker": money(account.maker_fee),
            "taker": money(account.taker_fee),
            "buyer": ZERO8,
            "seller": ZERO8,
        },
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": account.update_time,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": account.uid,
    }


def spot_my_trade(trade: AccountTrade, st: SymbolState) -> Obj:
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": st.px(trade.price),
        "qty": st.qty(trade.lots),
        "quoteQty": money(trade.quote),
        "commission": money(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time,
        "isBuyer": trade.is_buyer,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }


# --------------------------------------------------------------------------- spot events


def execution_report(
    order: SimOrder,
    st: SymbolState,
    exec_type: str,
    fill: Fill | None,
    *,
    now: int,
    execution_id: int,
) -> Obj:
    status = order.status
    renamed = exec_type in ("CANCELED", "REPLACED") and order.cancel_client_id is not None
    client = order.cancel_client_id if exec_type == "CANCELED" else order.client_order_id
    original = order.client_order_id if exec_type == "CANCELED" else order.cancel_client_id
    return {
        "e": "executionReport",
        "E": now,
        "s": order.symbol,
        "c": client or order.client_order_id,
        "S": order.side,
        "o": order.type,
        "f": _tif(order),
        "q": st.qty(order.orig_lots),
        "p": _price(st, order),
        "P": ZERO8,
        "F": ZERO8,
        "g": -1,
        "C": (original or "") if renamed else "",
        "x": exec_type,
        "X": status,
        "r": "NONE",
        "i": order.order_id,
        "l": st.qty(fill.lots if fill else 0),
        "z": st.qty(order.executed_lots),
        "L": st.px(fill.price if fill else 0),
        "n": money(fill.commission) if fill else "0",
        "N": fill.commission_asset if fill else None,
        "T": fill.time if fill else now,
        "t": fill.trade_id if fill else -1,
        "I": execution_id,
        "w": order.is_open and order.type != "MARKET",
        "m": fill.maker if fill else False,
        "M": False,
        "O": order.time,
        "Z": money(order.cum_quote),
        "Y": money(fill.quote if fill else Decimal(0)),
        "Q": money(order.orig_quote_qty),
        "W": order.working_time,
        "V": "NONE",
    }


def outbound_account_position(account: Account, assets: Iterable[str], now: int) -> Obj:
    return {
        "e": "outboundAccountPosition",
        "E": now,
        "u": now,
        "B": [
            {
                "a": a,
                "f": money(account.spot_balance(a).free),
                "l": money(account.spot_balance(a).locked),
            }
            for a in assets
        ],
    }


def balance_update(asset: str, delta: Decimal, now: int) -> Obj:
    return {"e": "balanceUpdate", "E": now, "a": asset, "d": money(delta), "T": now}


# --------------------------------------------------------------------------- futures


def _avg_price(order: SimOrder, st: SymbolState) -> str:
    if not order.executed_lots or not order.cum_quote:
        return "0"
    qty = order.executed_lots * st.spec.step_size
    if st.market == "coinm":
        return plain(qty * st.spec.contract_size / order.cum_quote)
    return plain(order.cum_quote / qty)


def futures_order(order: SimOrder, st: SymbolState, *, with_time: bool = False) -> Obj:
    """Futures order object (``order.place``/``cancel``/``modify``/``status``, REST lists)."""
    out: Obj = {"orderId": order.order_id, "symbol": order.symbol}
    if st.market == "coinm":
        out["pair"] = st.spec.pair
    out.update(
        {
            "status": order.status,
            "clientOrderId": order.client_order_id,
            "price": _price(st, order),
            "avgPrice": _avg_price(order, st),
            "origQty": st.qty(order.orig_lots),
            "executedQty": st.qty(order.executed_lots),
            "cumQty": st.qty(order.executed_lots),
        }
    )
    out["cumBase" if st.market == "coinm" else "cumQuote"] = money(order.cum_quote)
    out.update(
        {
            "timeInForce": order.time_in_force,
            "type": order.type,
            "reduceOnly": order.reduce_only,
            "closePosition": False,
            "side": order.side,
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": order.type,
        }
    )
    if st.market == "usdm":
        out.update({"priceMatch": "NONE", "selfTradePreventionMode": "NONE", "goodTillDate": 0})
    if with_time:
        out["time"] = order.time
    out["updateTime"] = order.update_time
    return out


def order_trade_update(
    order: SimOrder, st: SymbolState, exec_type: str, fill: Fill | None, now: int
) -> Obj:
    o: Obj = {
        "s": order.symbol,
        "c": order.client_order_id,
        "S": order.side,
        "o": order.type,
        "f": order.time_in_force,
        "q": st.qty(order.orig_lots),
        "p": _price(st, order),
        "ap": _avg_price(order, st),
        "sp": "0",
        "x": exec_type,
        "X": order.status,
        "i": order.order_id,
        "l": st.qty(fill.lots if fill else 0),
        "z": st.qty(order.executed_lots),
        "L": st.px(fill.price if fill else 0),
    }
    if fill is not None:
        o.update({"N": fill.commission_asset, "n": money(fill.commission)})
    o.update(
        {
            "T": fill.time if fill else now,
            "t": fill.trade_id if fill else 0,
            "b": "0",
            "a": "0",
            "m": fill.maker if fill else False,
            "R": order.reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": order.type,
            "ps": "BOTH",
            "cp": False,
            "rp": money(fill.realized if fill else Decimal(0)),
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "NONE",
            "pm": "NONE",
            "gtd": 0,
        }
    )
    event: Obj = {"e": "ORDER_TRADE_UPDATE", "E": now, "T": fill.time if fill else now}
    if st.market == "coinm":
        event["i"] = "SfsR"
    event["o"] = o
    return event


def position_update(symbol: str, pos: Position, st: SymbolState, upnl: Decimal) -> Obj:
    return {
        "s": symbol,
        "pa": _amount(st, pos.amount),
        "ep": plain(pos.entry_price),
        "bep": plain(pos.entry_price),
        "cr": money(pos.realized),
        "up": money(upnl),
        "mt": "cross",
        "iw": "0",
        "ps": "BOTH",
    }


def account_update(
    market: MarketName, reason: str, balances: list[Obj], positions: list[Obj], now: int
) -> Obj:
    event: Obj = {"e": "ACCOUNT_UPDATE", "E": now, "T": now}
    if market == "coinm":
        event["i"] = "SfsR"
    event["a"] = {"m": reason, "B": balances, "P": positions}
    return event


def futures_balance(
    market: MarketName,
    asset: str,
    *,
    wallet: Decimal,
    upnl: Decimal,
    available: Decimal,
    update_time: int,
) -> Obj:
    """``account.balance`` / REST ``balance`` entry (USD-M v2/v3 or COIN-M shape)."""
    out: Obj = {
        "accountAlias": "SfsR",
        "asset": asset,
        "balance": money(wallet),
        "crossWalletBalance": money(wallet),
        "crossUnPnl": money(upnl),
        "availableBalance": money(available),
    }
    if market == "usdm":
        out.update(
            {
                "maxWithdrawAmount": money(max(Decimal(0), min(available, wallet))),
                "marginAvailable": True,
            }
        )
    else:
        out["withdrawAvailable"] = money(max(Decimal(0), min(available, wallet)))
    out["updateTime"] = update_time
    return out


def futures_position(
    market: MarketName,
    symbol: str,
    pos: Position,
    st: SymbolState,
    *,
    mark: Decimal,
    upnl: Decimal,
    notional: Decimal,
) -> Obj:
    """``account.position`` / REST ``positionRisk`` entry (v2 fields plus margin ones)."""
    out: Obj = {
        "symbol": symbol,
        "positionSide": "BOTH",
        "positionAmt": _amount(st, pos.amount),
        "entryPrice": plain(pos.entry_price),
        "breakEvenPrice": plain(pos.entry_price),
        "markPrice": plain(mark),
        "unRealizedProfit": money(upnl),
        "liquidationPrice": "0",
        "leverage": str(pos.leverage),
        "marginType": "cross",
        "isolatedMargin": ZERO8,
        "isAutoAddMargin": "false",
        "isolatedWallet": "0",
        "marginAsset": st.spec.margin_asset,
        "initialMargin": money(abs(notional) / pos.leverage),
        "maintMargin": money(abs(notional) * Decimal("0.004")),
        "updateTime": pos.update_time,
    }
    if market == "usdm":
        out["notional"] = money(notional)
        out["maxNotionalValue"] = "250000"
    else:
        out["notionalValue"] = money(notional)
        out["maxQty"] = "1000"
    return out
