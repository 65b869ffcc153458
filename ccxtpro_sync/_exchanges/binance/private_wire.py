"""Binance private payloads (WS API results and user-data events) as msgspec structs.

Same conventions as :mod:`.wire`: readable attribute names over Binance's
keys, prices and quantities kept as the strings Binance sends, unknown keys
ignored, everything frozen and ``gc=False``. Result structs cover spot and
futures at once (the fields are a superset; absent ones are ``None``),
because callers already know which product they talk to and one struct per
method would only multiply decoders.

User-data events are decoded in two steps: :func:`event_type` reads ``e``
from the raw bytes, then :data:`EVENT_DECODERS` picks the typed decoder.
Events without a decoder (``TRADE_LITE``, ``MARGIN_CALL``, ...) are kept as
plain dicts by the caller rather than rejected.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from .wire import Buffer, _f, _o, _Wire, decode

__all__ = [
    "EVENT_DECODERS",
    "AccountBalanceEntry",
    "AccountPositionEntry",
    "AccountStatus",
    "AccountUpdate",
    "AccountUpdateBalance",
    "AccountUpdateData",
    "AccountUpdatePosition",
    "BalanceUpdate",
    "EventStreamTerminated",
    "ExecutionReport",
    "ExternalLockUpdate",
    "Fill",
    "ListStatus",
    "ListStatusOrder",
    "ListenKeyExpired",
    "OrderResult",
    "OrderTradeUpdate",
    "OrderTradeUpdateData",
    "OutboundAccountPosition",
    "SpotBalance",
    "SpotBalanceDelta",
    "TradeResult",
    "decode_event",
    "event_type",
]


# --------------------------------------------------------------------------- WS API results


class Fill(_Wire, frozen=True):
    """One fill of a FULL ``order.place`` response."""

    price: str
    qty: str
    commission: str
    commission_asset: str = _f("commissionAsset")
    trade_id: int | None = _o("tradeId")


class OrderResult(_Wire, frozen=True, kw_only=True):
    """``order.place`` (ACK/RESULT/FULL), ``order.cancel``, ``order.modify``,
    ``order.status`` and ``openOrders.status`` items, spot and futures.

    Spot quote cost is ``cummulativeQuoteQty`` (Binance's spelling); USD-M has
    ``cumQuote`` and ``avgPrice``; COIN-M has ``cumBase`` and ``avgPrice``.
    """

    symbol: str
    order_id: int = _f("orderId")
    order_list_id: int | None = _o("orderListId")
    client_order_id: str | None = _o("clientOrderId")
    orig_client_order_id: str | None = _o("origClientOrderId")
    transact_time: int | None = _o("transactTime")
    time: int | None = None
    update_time: int | None = _o("updateTime")
    working_time: int | None = _o("workingTime")
    price: str | None = None
    avg_price: str | None = _o("avgPrice")
    orig_qty: str | None = _o("origQty")
    executed_qty: str | None = _o("executedQty")
    cum_quote_spot: str | None = _o("cummulativeQuoteQty")
    cum_quote: str | None = _o("cumQuote")
    cum_base: str | None = _o("cumBase")
    orig_quote_order_qty: str | None = _o("origQuoteOrderQty")
    status: str | None = None
    time_in_force: str | None = _o("timeInForce")
    type: str | None = None
    orig_type: str | None = _o("origType")
    side: str | None = None
    position_side: str | None = _o("positionSide")
    stop_price: str | None = _o("stopPrice")
    iceberg_qty: str | None = _o("icebergQty")
    reduce_only: bool | None = _o("reduceOnly")
    close_position: bool | None = _o("closePosition")
    price_match: str | None = _o("priceMatch")
    self_trade_prevention_mode: str | None = _o("selfTradePreventionMode")
    expiry_reason: str | None = _o("expiryReason")
    good_till_date: int | None = _o("goodTillDate")
    fills: list[Fill] | None = None


class SpotBalance(_Wire, frozen=True):
    asset: str
    free: str
    locked: str


class AccountStatus(_Wire, frozen=True, kw_only=True):
    """Spot ``account.status``."""

    balances: list[SpotBalance]
    update_time: int | None = _o("updateTime")
    account_type: str | None = _o("accountType")
    can_trade: bool | None = _o("canTrade")
    uid: int | None = None


class AccountBalanceEntry(_Wire, frozen=True, kw_only=True):
    """One asset of futures ``account.balance`` (v2). COIN-M has ``withdrawAvailable``
    where USD-M has ``maxWithdrawAmount``."""

    asset: str
    balance: str
    available_balance: str | None = _o("availableBalance")
    cross_wallet_balance: str | None = _o("crossWalletBalance")
    cross_un_pnl: str | None = _o("crossUnPnl")
    max_withdraw_amount: str | None = _o("maxWithdrawAmount")
    withdraw_available: str | None = _o("withdrawAvailable")
    margin_available: bool | None = _o("marginAvailable")
    account_alias: str | None = _o("accountAlias")
    update_time: int | None = _o("updateTime")


class AccountPositionEntry(_Wire, frozen=True, kw_only=True):
    """One position of futures ``account.position`` (v1 and v2 fields)."""

    symbol: str
    position_amt: str = _f("positionAmt")
    position_side: str | None = _o("positionSide")
    entry_price: str | None = _o("entryPrice")
    break_even_price: str | None = _o("breakEvenPrice")
    mark_price: str | None = _o("markPrice")
    un_realized_profit: str | None = _o("unRealizedProfit")
    liquidation_price: str | None = _o("liquidationPrice")
    isolated_margin: str | None = _o("isolatedMargin")
    isolated_wallet: str | None = _o("isolatedWallet")
    notional: str | None = None
    notional_value: str | None = _o("notionalValue")
    initial_margin: str | None = _o("initialMargin")
    maint_margin: str | None = _o("maintMargin")
    margin_asset: str | None = _o("marginAsset")
    leverage: str | None = None
    margin_type: str | None = _o("marginType")
    isolated: bool | None = None
    update_time: int | None = _o("updateTime")


class TradeResult(_Wire, frozen=True, kw_only=True):
    """One item of ``myTrades`` (spot) / ``userTrades`` (futures).

    Spot rows carry ``isBuyer``/``isMaker`` and ``quoteQty``. Futures rows carry
    ``buyer``/``maker``, ``side``, ``positionSide`` and ``realizedPnl``; USD-M adds
    ``quoteQty``, COIN-M ``baseQty`` (the value in the base asset), ``pair`` and
    ``marginAsset``.
    """

    symbol: str
    id: int
    order_id: int = _f("orderId")
    price: str
    qty: str
    quote_qty: str | None = _o("quoteQty")
    base_qty: str | None = _o("baseQty")
    commission: str | None = None
    commission_asset: str | None = _o("commissionAsset")
    time: int
    is_buyer: bool | None = _o("isBuyer")
    is_maker: bool | None = _o("isMaker")
    buyer: bool | None = None
    maker: bool | None = None
    side: str | None = None
    position_side: str | None = _o("positionSide")
    realized_pnl: str | None = _o("realizedPnl")
    margin_asset: str | None = _o("marginAsset")
    pair: str | None = None


# --------------------------------------------------------------------------- spot events


class ExecutionReport(_Wire, frozen=True, kw_only=True):
    """Spot ``executionReport``: one order's state change (and fill, if ``x == TRADE``)."""

    event_type: str = _f("e")
    event_time: int = _f("E")
    symbol: str = _f("s")
    client_order_id: str = _f("c")
    side: str = _f("S")
    order_type: str = _f("o")
    time_in_force: str = _f("f")
    quantity: str = _f("q")
    price: str = _f("p")
    stop_price: str = _f("P")
    iceberg_qty: str | None = _o("F")
    order_list_id: int | None = _o("g")
    orig_client_order_id: str | None = _o("C")
    execution_type: str = _f("x")
    status: str = _f("X")
    reject_reason: str | None = _o("r")
    order_id: int = _f("i")
    last_quantity: str = _f("l")
    filled_quantity: str = _f("z")
    last_price: str = _f("L")
    commission: str | None = _o("n")
    commission_asset: str | None = _o("N")
    transaction_time: int = _f("T")
    trade_id: int = _f("t")
    is_working: bool | None = _o("w")
    is_maker: bool = _f("m")
    creation_time: int | None = _o("O")
    cumulative_quote: str | None = _o("Z")
    last_quote: str | None = _o("Y")
    quote_order_qty: str | None = _o("Q")
    working_time: int | None = _o("W")
    stp_mode: str | None = _o("V")
    expiry_reason: str | None = _o("eR")


class SpotBalanceDelta(_Wire, frozen=True):
    asset: str = _f("a")
    free: str = _f("f")
    locked: str = _f("l")


class OutboundAccountPosition(_Wire, frozen=True, kw_only=True):
    """Spot ``outboundAccountPosition``: absolute balances of the assets that changed."""

    event_type: str = _f("e")
    event_time: int = _f("E")
    last_update: int | None = _o("u")
    balances: list[SpotBalanceDelta] = _f("B")


class BalanceUpdate(_Wire, frozen=True, kw_only=True):
    """Spot ``balanceUpdate``: a deposit, withdrawal or transfer (``d`` is a delta)."""

    event_type: str = _f("e")
    event_time: int = _f("E")
    asset: str = _f("a")
    delta: str = _f("d")
    clear_time: int | None = _o("T")


class ExternalLockUpdate(_Wire, frozen=True, kw_only=True):
    """Spot ``externalLockUpdate``: ``d`` locked or unlocked by an external system."""

    event_type: str = _f("e")
    event_time: int = _f("E")
    asset: str = _f("a")
    delta: str = _f("d")
    transaction_time: int | None = _o("T")


class ListStatusOrder(_Wire, frozen=True):
    symbol: str = _f("s")
    order_id: int = _f("i")
    client_order_id: str = _f("c")


class ListStatus(_Wire, frozen=True, kw_only=True):
    """Spot ``listStatus`` (OCO/OTO lists); member orders come as ``executionReport``s."""

    event_type: str = _f("e")
    event_time: int = _f("E")
    symbol: str = _f("s")
    order_list_id: int = _f("g")
    contingency_type: str = _f("c")
    list_status_type: str = _f("l")
    list_order_status: str = _f("L")
    reject_reason: str | None = _o("r")
    list_client_order_id: str | None = _o("C")
    transaction_time: int | None = _o("T")
    orders: list[ListStatusOrder] = _f("O")


class EventStreamTerminated(_Wire, frozen=True):
    """The WS API user-data subscription ended (unsubscribe, logout, token expiry)."""

    event_type: str = _f("e")
    event_time: int = _f("E")


# --------------------------------------------------------------------------- futures events


class OrderTradeUpdateData(_Wire, frozen=True, kw_only=True):
    """The ``o`` object of futures ``ORDER_TRADE_UPDATE``."""

    symbol: str = _f("s")
    client_order_id: str = _f("c")
    side: str = _f("S")
    order_type: str = _f("o")
    time_in_force: str = _f("f")
    quantity: str = _f("q")
    price: str = _f("p")
    average_price: str = _f("ap")
    stop_price: str | None = _o("sp")
    execution_type: str = _f("x")
    status: str = _f("X")
    order_id: int = _f("i")
    last_quantity: str = _f("l")
    filled_quantity: str = _f("z")
    last_price: str = _f("L")
    commission_asset: str | None = _o("N")
    commission: str | None = _o("n")
    trade_time: int = _f("T")
    trade_id: int = _f("t")
    bids_notional: str | None = _o("b")
    asks_notional: str | None = _o("a")
    is_maker: bool = _f("m")
    reduce_only: bool | None = _o("R")
    working_type: str | None = _o("wt")
    original_type: str | None = _o("ot")
    position_side: str | None = _o("ps")
    close_position: bool | None = _o("cp")
    activation_price: str | None = _o("AP")
    callback_rate: str | None = _o("cr")
    price_protect: bool | None = _o("pP")
    realized_profit: str | None = _o("rp")
    stp_mode: str | None = _o("V")
    price_match: str | None = _o("pm")
    good_till_date: int | None = _o("gtd")
    modify_id: int | None = _o("M")
    expiry_reason: str | None = _o("er")


class OrderTradeUpdate(_Wire, frozen=True, kw_only=True):
    event_type: str = _f("e")
    event_time: int = _f("E")
    transaction_time: int | None = _o("T")
    order: OrderTradeUpdateData = _f("o")


class AccountUpdateBalance(_Wire, frozen=True, kw_only=True):
    asset: str = _f("a")
    wallet_balance: str = _f("wb")
    cross_wallet_balance: str | None = _o("cw")
    balance_change: str | None = _o("bc")


class AccountUpdatePosition(_Wire, frozen=True, kw_only=True):
    symbol: str = _f("s")
    position_amount: str = _f("pa")
    entry_price: str | None = _o("ep")
    break_even_price: str | None = _o("bep")
    accumulated_realized: str | None = _o("cr")
    unrealized_pnl: str | None = _o("up")
    margin_type: str | None = _o("mt")
    isolated_wallet: str | None = _o("iw")
    position_side: str | None = _o("ps")


class AccountUpdateData(_Wire, frozen=True, kw_only=True):
    reason: str | None = _o("m")
    balances: list[AccountUpdateBalance] = msgspec.field(default_factory=list, name="B")
    positions: list[AccountUpdatePosition] = msgspec.field(default_factory=list, name="P")


class AccountUpdate(_Wire, frozen=True, kw_only=True):
    """Futures ``ACCOUNT_UPDATE``: only the assets and positions that changed."""

    event_type: str = _f("e")
    event_time: int = _f("E")
    transaction_time: int | None = _o("T")
    account_alias: str | None = _o("i")
    data: AccountUpdateData = _f("a")


class ListenKeyExpired(_Wire, frozen=True, kw_only=True):
    """``listenKeyExpired``. ``E`` is an int in the SDK and a string in one doc example."""

    event_type: str = _f("e")
    event_time: int | str = _f("E")
    listen_key: str | None = _o("listenKey")

    @property
    def event_time_ms(self) -> int:
        return int(self.event_time)


# --------------------------------------------------------------------------- decoding


class _Head(msgspec.Struct, gc=False):
    e: str | None = None


_HEAD_DECODER: Final = msgspec.json.Decoder(_Head)

#: Typed decoders by event type; anything else is tolerated as a plain dict.
EVENT_DECODERS: Final[dict[str, msgspec.json.Decoder[Any]]] = {
    "executionReport": msgspec.json.Decoder(ExecutionReport),
    "outboundAccountPosition": msgspec.json.Decoder(OutboundAccountPosition),
    "balanceUpdate": msgspec.json.Decoder(BalanceUpdate),
    "externalLockUpdate": msgspec.json.Decoder(ExternalLockUpdate),
    "listStatus": msgspec.json.Decoder(ListStatus),
    "eventStreamTerminated": msgspec.json.Decoder(EventStreamTerminated),
    "ORDER_TRADE_UPDATE": msgspec.json.Decoder(OrderTradeUpdate),
    "ACCOUNT_UPDATE": msgspec.json.Decoder(AccountUpdate),
    "listenKeyExpired": msgspec.json.Decoder(ListenKeyExpired),
}
_ANY: Final = msgspec.json.Decoder()


def event_type(data: Buffer) -> str | None:
    """The ``e`` of a user-data event (``None`` if absent)."""
    return decode(_HEAD_DECODER, data, "user-data event").e


def decode_event(data: Buffer) -> Any:
    """A user-data event as its typed struct, or a plain ``dict`` for unknown types.

    Raises ``ProtocolError`` when a known event is malformed.
    """
    kind = event_type(data)
    decoder = EVENT_DECODERS.get(kind or "")
    if decoder is None:
        return decode(_ANY, data, "user-data event")
    return decode(decoder, data, kind or "")
