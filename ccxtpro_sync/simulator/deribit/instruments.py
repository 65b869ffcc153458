"""The instrument and currency catalog (reference §5).

Inverse (BTC/ETH-settled) perpetuals, dated futures and options, plus USDC-settled
linear perpetuals and options. Expiries are computed from the start time (Fridays
08:00 UTC), so names look like ``BTC-6APR26``; one recently expired future per
coin is kept for ``expired: true``. Amount units follow §5: USD for inverse
futures, base coin for options and linear instruments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

PERPETUAL_EXPIRY: Final = 32503708800000
_MONTHS: Final = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
#: Reference prices the generator starts from, per base coin.
BASE_PRICES: Final = {"BTC": 60000.0, "ETH": 3000.0}


@dataclass(frozen=True)
class TickStep:
    above_price: float
    tick_size: float


@dataclass(frozen=True)
class Instrument:
    """One tradable instrument with the fields ``public/get_instruments`` returns."""

    name: str
    instrument_id: int
    kind: str  # future | option
    base: str
    counter: str  # CCXT's quote
    quote: str
    settle: str
    linear: bool
    settlement_period: str  # perpetual | day | week | month
    expiry_ms: int
    contract_size: float
    min_trade_amount: float
    tick_size: float
    tick_steps: tuple[TickStep, ...] = ()
    strike: float | None = None
    option_type: str | None = None  # call | put
    max_leverage: int = 50
    maker_commission: float = 0.0
    taker_commission: float = 0.0005
    created_ms: int = 1534167754000
    start_price: float = 0.0
    expired: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        """The currency grouping used by ``*_by_currency`` methods (settlement coin)."""
        return self.settle

    def tick_at(self, price: float) -> float:
        """The tick that applies at ``price`` (``tick_size_steps``: larger from ``above_price``)."""
        tick = self.tick_size
        for step in self.tick_steps:
            if price > step.above_price:
                tick = step.tick_size
        return tick

    def on_tick(self, price: float) -> bool:
        return _multiple(price, self.tick_at(price))

    def on_lot(self, amount: float) -> bool:
        return _multiple(amount, self.min_trade_amount)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tick_size": self.tick_size,
            "tick_size_steps": [
                {"above_price": s.above_price, "tick_size": s.tick_size} for s in self.tick_steps
            ],
            "taker_commission": self.taker_commission,
            "maker_commission": self.maker_commission,
            "settlement_period": self.settlement_period,
            "settlement_currency": self.settle,
            "quote_currency": self.quote,
            "counter_currency": self.counter,
            "base_currency": self.base,
            "min_trade_amount": self.min_trade_amount,
            "max_leverage": self.max_leverage,
            "kind": self.kind,
            "is_active": not self.expired,
            "instrument_name": self.name,
            "instrument_id": self.instrument_id,
            "instrument_type": "linear" if self.linear else "reversed",
            "expiration_timestamp": self.expiry_ms,
            "creation_timestamp": self.created_ms,
            "contract_size": self.contract_size,
            "price_index": f"{self.base.lower()}_{'usdc' if self.settle == 'USDC' else 'usd'}",
            "state": "closed" if self.expired else "open",
            "rfq": False,
        }
        if self.kind == "option":
            out["strike"] = self.strike
            out["option_type"] = self.option_type
            out["block_trade_commission"] = 0.0003
        else:
            out["max_liquidation_commission"] = 0.0075
            out["future_type"] = out["instrument_type"]
        return out


def _multiple(value: float, step: float) -> bool:
    """Exact decimal check; absurd magnitudes (beyond decimal precision) are not multiples."""
    try:
        return (Decimal(repr(value)) % Decimal(repr(step))) == 0
    except InvalidOperation:
        return False


def expiry_code(when: dt.datetime) -> str:
    """``6APR26`` style: day without leading zero, month, two-digit year."""
    return f"{when.day}{_MONTHS[when.month - 1]}{when.year % 100:02d}"


def _fridays(now: dt.datetime, count: int) -> list[dt.datetime]:
    day = now.replace(hour=8, minute=0, second=0, microsecond=0)
    day += dt.timedelta(days=(4 - day.weekday()) % 7)
    if day <= now:
        day += dt.timedelta(days=7)
    return [day + dt.timedelta(days=7 * i) for i in range(count)]


def _ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def build_catalog(now_ms: int) -> list[Instrument]:
    """Every instrument for a server started at ``now_ms`` (expired ones flagged)."""
    now = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
    expiries = _fridays(now, 3)
    periods = ("week", "week", "month")
    past = expiries[0] - dt.timedelta(days=7 if expiries[0] - now > dt.timedelta(days=1) else 14)
    past = min(past, now - dt.timedelta(hours=1))
    out: list[Instrument] = []
    ids = iter(range(200_001, 300_000))

    def add(**kw: Any) -> None:
        out.append(Instrument(instrument_id=next(ids), **kw))

    for base in ("BTC", "ETH"):
        price = BASE_PRICES[base]
        lot, tick = (10.0, 0.5) if base == "BTC" else (1.0, 0.05)
        future = dict(
            kind="future", base=base, counter="USD", quote="USD", settle=base, linear=False,
            contract_size=lot, min_trade_amount=lot, tick_size=tick, start_price=price,
        )  # fmt: skip
        add(name=f"{base}-PERPETUAL", settlement_period="perpetual", expiry_ms=PERPETUAL_EXPIRY,
            **future)  # fmt: skip
        for when, period in zip(expiries, periods, strict=True):
            add(name=f"{base}-{expiry_code(when)}", settlement_period=period,
                expiry_ms=_ms(when), **future)  # fmt: skip
        add(name=f"{base}-{expiry_code(past)}", settlement_period="week", expiry_ms=_ms(past),
            expired=True, **future)  # fmt: skip
        steps = (TickStep(0.005, 0.0005),)
        for when in expiries[:2]:
            for offset in (-0.1, 0.0, 0.1):
                strike = round(price * (1 + offset))
                for flag, otype in (("C", "call"), ("P", "put")):
                    add(name=f"{base}-{expiry_code(when)}-{strike}-{flag}", kind="option",
                        base=base, counter="USD", quote=base, settle=base, linear=False,
                        settlement_period="week", expiry_ms=_ms(when), contract_size=1.0,
                        min_trade_amount=0.1 if base == "BTC" else 1.0, tick_size=0.0001,
                        tick_steps=steps, strike=float(strike), option_type=otype,
                        maker_commission=0.0003, taker_commission=0.0003,
                        start_price=0.05 if flag == "C" else 0.04)  # fmt: skip
        linear = dict(
            kind="future", base=base, counter="USDC", quote="USDC", settle="USDC", linear=True,
            contract_size=0.001 if base == "BTC" else 0.01,
            min_trade_amount=0.001 if base == "BTC" else 0.01,
            tick_size=1.0 if base == "BTC" else 0.1, start_price=price,
        )  # fmt: skip
        add(name=f"{base}_USDC-PERPETUAL", settlement_period="perpetual",
            expiry_ms=PERPETUAL_EXPIRY, **linear)  # fmt: skip
    when = expiries[0]
    for strike in (54000, 66000):
        add(name=f"BTC_USDC-{expiry_code(when)}-{strike}-C", kind="option", base="BTC",
            counter="USDC", quote="USDC", settle="USDC", linear=True, settlement_period="week",
            expiry_ms=_ms(when), contract_size=0.01, min_trade_amount=0.01, tick_size=5.0,
            strike=float(strike), option_type="call", start_price=2500.0)  # fmt: skip
    return out


CURRENCIES: Final[list[dict[str, Any]]] = [
    {
        "currency": code,
        "currency_long": long,
        "coin_type": coin,
        "decimals": decimals,
        "min_confirmations": confirmations,
        "withdrawal_fee": fee,
        "min_withdrawal_fee": fee,
        "withdrawal_priorities": [{"name": "high", "value": 2.0}, {"name": "low", "value": 1.0}],
        "network_currency": code if code != "USDC" else "ETH",
        "network_fee": fee,
        "in_cross_collateral_pool": True,
    }
    for code, long, coin, decimals, confirmations, fee in (
        ("BTC", "Bitcoin", "BITCOIN", 8, 1, 0.0001),
        ("ETH", "Ethereum", "ETHER", 6, 1, 0.0006),
        ("USDC", "USD Coin", "USDC", 6, 1, 1.0),
    )
]


class Catalog:
    """Lookup of instruments by name, currency and kind."""

    def __init__(self, instruments: list[Instrument]) -> None:
        self.all = instruments
        self.by_name = {i.name: i for i in instruments}

    def get(self, name: Any) -> Instrument | None:
        found = self.by_name.get(name) if isinstance(name, str) else None
        return found if found is not None and not found.expired else None

    def live(self) -> list[Instrument]:
        return [i for i in self.all if not i.expired]

    def select(self, currency: str, kind: str | None, expired: bool) -> list[Instrument]:
        """``currency`` ``any`` (or missing) selects every settlement currency."""
        return [
            i
            for i in self.all
            if i.expired == expired
            and currency in ("any", i.settle)
            and (kind is None or kind in ("any", i.kind))
        ]
