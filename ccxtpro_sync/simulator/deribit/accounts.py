"""Orders, positions and accounts, with their JSON shapes (reference §7).

Inverse contracts (BTC/ETH-settled futures) hold a USD size and realise profit in
the coin: ``q * (1/avg - 1/price)``; linear contracts and options hold a base-coin
size and realise ``q * (price - avg)`` in the settlement currency. Options are
marked to market like linear contracts (no premium transfer), a documented
simplification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from .instruments import Instrument

START_BALANCES: Final = {"BTC": 10.0, "ETH": 100.0, "USDC": 1_000_000.0}
OPEN_STATES: Final = ("open", "untriggered")


def inverse(inst: Instrument) -> bool:
    return not inst.linear and inst.kind == "future"


def notional(inst: Instrument, amount: float, price: float) -> float:
    """Value of ``amount`` at ``price`` in the settlement currency."""
    if inverse(inst):
        return amount / price if price else 0.0
    return amount * price


@dataclass(eq=False)
class Order:
    """A user order; ``remaining`` is what rests in the book."""

    order_id: str
    account: str
    inst: Instrument
    direction: str
    amount: float
    price: float | None  # None = market
    order_type: str
    time_in_force: str
    post_only: bool
    reject_post_only: bool
    reduce_only: bool
    label: str
    created: int
    conn_id: int | None
    remaining: float = 0.0
    filled: float = 0.0
    cost: float = 0.0  # sum of fill price * amount, for average_price
    commission: float = 0.0
    state: str = "open"
    updated: int = 0
    cancel_reason: str | None = None
    replaced: bool = False
    max_show: float | None = None
    trigger: str | None = None  # index_price | mark_price | last_price
    trigger_price: float | None = None
    triggered: bool | None = None

    @property
    def average_price(self) -> float:
        return round(self.cost / self.filled, 10) if self.filled else 0.0

    def fill(self, price: float, qty: float, fee: float, now_ms: int) -> None:
        self.filled = round(self.filled + qty, 10)
        self.cost += price * qty
        self.commission = round(self.commission + fee, 12)
        self.updated = now_ms
        if self.filled >= self.amount - 1e-12:
            self.state, self.remaining = "filled", 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "order_id": self.order_id,
            "instrument_name": self.inst.name,
            "direction": self.direction,
            "amount": self.amount,
            "contracts": round(self.amount / self.inst.contract_size, 10),
            "filled_amount": self.filled,
            "price": "market_price" if self.price is None else self.price,
            "average_price": self.average_price,
            "order_type": self.order_type,
            "original_order_type": self.order_type,
            "order_state": self.state,
            "time_in_force": self.time_in_force,
            "post_only": self.post_only,
            "reduce_only": self.reduce_only,
            "label": self.label,
            "creation_timestamp": self.created,
            "last_update_timestamp": self.updated or self.created,
            "replaced": self.replaced,
            "api": True,
            "web": False,
            "commission": self.commission,
            "profit_loss": 0.0,
            "is_liquidation": False,
            "risk_reducing": False,
            "mmp": False,
        }
        if self.post_only:
            out["reject_post_only"] = self.reject_post_only
        if self.cancel_reason is not None:
            out["cancel_reason"] = self.cancel_reason
        if self.max_show is not None:
            out["max_show"] = self.max_show
        if self.trigger is not None:
            out.update(trigger=self.trigger, trigger_price=self.trigger_price,
                       triggered=self.triggered, stop_price=self.trigger_price)  # fmt: skip
        return out


@dataclass
class Position:
    inst: Instrument
    size: float = 0.0  # signed; USD for inverse futures, base coin otherwise
    avg: float = 0.0
    realized: float = 0.0

    def apply(self, qty: float, price: float) -> float:
        """Add a signed fill; return the profit realised by its closing part."""
        pnl = 0.0
        if self.size and (self.size > 0) != (qty > 0):
            closed = min(abs(qty), abs(self.size)) * (1 if self.size > 0 else -1)
            pnl = self.pnl(closed, price)
            self.size = round(self.size - closed, 10)
            qty = round(qty + closed, 10)
            if not self.size:
                self.avg = 0.0
        if qty:
            new = round(self.size + qty, 10)
            if inverse(self.inst):  # average of USD sizes weighted by 1/price
                coins = (abs(self.size) / self.avg if self.avg else 0.0) + abs(qty) / price
                self.avg = abs(new) / coins
            else:
                self.avg = (abs(self.size) * self.avg + abs(qty) * price) / abs(new)
            self.size = new
        self.realized += pnl
        return pnl

    def pnl(self, qty: float, price: float) -> float:
        """Profit of a signed quantity ``qty`` held at ``avg`` and valued at ``price``."""
        if not self.avg or not price:
            return 0.0
        if inverse(self.inst):
            return qty * (1 / self.avg - 1 / price)
        return qty * (price - self.avg)

    def to_json(self, mark: float, index: float) -> dict[str, Any]:
        size = self.size
        upl = self.pnl(size, mark)
        value = notional(self.inst, abs(size), mark)
        leverage = self.inst.max_leverage
        return {
            "instrument_name": self.inst.name,
            "kind": self.inst.kind,
            "direction": "buy" if size > 0 else "sell" if size < 0 else "zero",
            "size": size,
            "size_currency": round(size / mark, 10) if inverse(self.inst) and mark else size,
            "average_price": round(self.avg, 10),
            "mark_price": mark,
            "index_price": index,
            "floating_profit_loss": round(upl, 10),
            "total_profit_loss": round(upl + self.realized, 10),
            "realized_profit_loss": round(self.realized, 10),
            "initial_margin": round(value / leverage, 10),
            "maintenance_margin": round(value / leverage / 2, 10),
            "leverage": leverage,
            "delta": round(size / mark, 10) if inverse(self.inst) and mark else size,
            "estimated_liquidation_price": None,
            "settlement_price": self.inst.start_price,
        }


@dataclass
class Account:
    """One API key's account: balances per currency, positions, orders, fills."""

    client_id: str
    secret: str
    balances: dict[str, float] = field(default_factory=lambda: dict(START_BALANCES))
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    trades: list[dict[str, Any]] = field(default_factory=list)
    #: Account-scope cancel-on-disconnect: new connections start with it active.
    cod_default: bool = False

    def position(self, inst: Instrument) -> Position:
        pos = self.positions.get(inst.name)
        if pos is None:
            pos = self.positions[inst.name] = Position(inst)
        return pos

    def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.state in OPEN_STATES]
