"""The order model of the matching engine: orders, fills and account trades.

Prices are integer ticks and quantities integer lots, like the market
generator's books, so matching never drifts off the grid; money (quote
amounts, commissions, PnL) is ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

from .accounts import Account
from .catalog import MarketName

OrderSide = Literal["BUY", "SELL"]
OPEN_STATUSES: Final = frozenset({"NEW", "PARTIALLY_FILLED"})


@dataclass
class Fill:
    """One execution of one order (one side of a trade)."""

    price: int
    lots: int
    quote: Decimal  # spot/USD-M: quote amount; COIN-M: base amount (contracts * size / price)
    commission: Decimal
    commission_asset: str
    trade_id: int
    maker: bool
    time: int
    realized: Decimal = Decimal(0)


@dataclass
class NewOrder:
    """A validated ``order.place`` request."""

    market: MarketName
    symbol: str
    side: OrderSide
    type: str  # LIMIT, LIMIT_MAKER, MARKET
    time_in_force: str  # GTC, IOC, FOK, GTX
    price: int | None = None
    lots: int | None = None
    quote_qty: Decimal | None = None
    client_order_id: str | None = None
    reduce_only: bool = False


@dataclass
class SimOrder:
    """An order as the exchange tracks it, open or finished."""

    market: MarketName
    symbol: str
    order_id: int
    client_order_id: str
    account: Account
    side: OrderSide
    type: str
    time_in_force: str
    price: int  # ticks; 0 for market orders
    orig_lots: int
    time: int
    orig_quote_qty: Decimal = Decimal(0)
    executed_lots: int = 0
    cum_quote: Decimal = Decimal(0)
    status: str = "NEW"
    update_time: int = 0
    working_time: int = -1
    reduce_only: bool = False
    locked: Decimal = Decimal(0)  # spot funds still reserved for this order
    fills: list[Fill] = field(default_factory=list)
    #: For cancel results: the client id the order had (``clientOrderId`` becomes the
    #: cancel request's new id, as on Binance).
    cancel_client_id: str | None = None

    @property
    def remaining(self) -> int:
        return self.orig_lots - self.executed_lots

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_buy(self) -> bool:
        return self.side == "BUY"


@dataclass(frozen=True)
class AccountTrade:
    """One row of ``myTrades``/``userTrades``."""

    symbol: str
    trade_id: int
    order_id: int
    price: int
    lots: int
    quote: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool
    realized: Decimal = Decimal(0)
