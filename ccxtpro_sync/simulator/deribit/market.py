"""The deterministic market generator: books, trades, tickers and candles.

Each instrument evolves from its own ``random.Random(f"{seed}:{name}")``, so the
same seed and the same number of ticks give the same books and trades. A tick
moves the mid by at most one step, refreshes a few levels and sometimes prints a
synthetic taker trade against the best level; resting user orders at that level
fill first (they are the ``Maker`` fills the matching engine settles). Generator
quotes never cross a resting user order. Sans-I/O: timestamps are passed in.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

from .book import Book, ChangeIds
from .instruments import BASE_PRICES, Catalog, Instrument

#: Trades kept per instrument for ``get_last_trades_by_*`` and chart data.
TRADE_HISTORY: Final = 20_000
RESOLUTIONS: Final = {
    "1": 60, "3": 180, "5": 300, "10": 600, "15": 900, "30": 1800, "60": 3600,
    "120": 7200, "180": 10800, "360": 21600, "720": 43200, "1D": 86400,
}  # fmt: skip


@dataclass
class MakerFill:
    """A resting user order hit by a taker (synthetic or another user)."""

    order: Any
    price: float
    amount: float
    trade: dict[str, Any]


@dataclass
class State:
    """Everything the generator tracks for one instrument."""

    inst: Instrument
    book: Book
    rng: random.Random
    mid: float
    last_price: float
    trade_seq: int = 0
    trades: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=TRADE_HISTORY))
    open_interest: float = 0.0


class Market:
    """All books and trade tapes; ``step()`` runs one generator tick."""

    def __init__(self, catalog: Catalog, *, seed: int, levels: int, now_ms: int = 0) -> None:
        self.catalog = catalog
        self.levels = levels
        self.ids = ChangeIds()
        self.states: dict[str, State] = {}
        self._trade_ids: dict[str, int] = {"BTC": 403_691_000, "ETH": 37_435_000, "USDC": 2_436_000}
        for inst in catalog.live():
            rng = random.Random(f"{seed}:{inst.name}")
            mid = self._round(inst, inst.start_price)
            state = State(inst, Book(inst.name, self.ids), rng, mid, mid)
            self.states[inst.name] = state
            self._quote(state, fresh=True)
            state.book.flush(now_ms)

    # -- price grid ----------------------------------------------------------------
    @staticmethod
    def _round(inst: Instrument, price: float) -> float:
        tick = inst.tick_at(price)
        return round(round(price / tick) * tick, 10)

    def _step_price(self, inst: Instrument, price: float, steps: int) -> float:
        for _ in range(abs(steps)):
            tick = inst.tick_at(price if steps > 0 else price - inst.tick_size)
            price = round(price + (tick if steps > 0 else -tick), 10)
        return self._round(inst, price)

    def _lot(self, state: State, n: int) -> float:
        return round(state.inst.contract_size * n, 10)

    # -- generator -----------------------------------------------------------------
    def _quote(self, state: State, fresh: bool = False) -> None:
        """Place generator levels around ``mid`` without crossing user orders."""
        inst, book, rng = state.inst, state.book, state.rng
        user_bid, user_ask = book.bids.best_user(), book.asks.best_user()
        for bid in (True, False):
            side = book.side(bid)
            wanted: dict[float, float] = {}
            price = state.mid
            for _ in range(self.levels):
                price = self._step_price(inst, price, -1 if bid else 1)
                if price <= 0:
                    break
                if bid and user_ask is not None and price >= user_ask:
                    continue
                if not bid and user_bid is not None and price <= user_bid:
                    continue
                old = side.gen.get(price)
                wanted[price] = old if old and not fresh else self._lot(state, rng.randint(1, 40))
            for price in list(side.gen):
                if price not in wanted:
                    book.set_gen(bid, price, 0.0)
            for price, amount in wanted.items():
                if side.gen.get(price) != amount:
                    book.set_gen(bid, price, amount)
            if wanted and not fresh:
                price = rng.choice(sorted(wanted))
                book.set_gen(bid, price, self._lot(state, rng.randint(1, 40)))

    def step(self, now_ms: int) -> tuple[list[tuple[str, str, Any]], list[MakerFill]]:
        """One tick for every instrument: ``(events, maker fills of user orders)``.

        Events are ``(topic, instrument, payload)`` with topic ``book`` (a change
        frame), ``trades`` (a list) or ``tick`` (payload None: ticker-like channels
        are computed on demand).
        """
        events: list[tuple[str, str, Any]] = []
        fills: list[MakerFill] = []
        for name, state in self.states.items():
            rng = state.rng
            move = rng.random()
            if move < 0.15:
                state.mid = self._step_price(state.inst, state.mid, 1)
            elif move < 0.30 and self._step_price(state.inst, state.mid, -2) > 0:
                state.mid = self._step_price(state.inst, state.mid, -1)
            self._quote(state)
            trades: list[dict[str, Any]] = []
            if rng.random() < 0.25:
                direction = "buy" if rng.random() < 0.5 else "sell"
                got, made = self.take(name, direction, self._lot(state, rng.randint(1, 5)), now_ms)
                trades, fills = trades + got, fills + made
            self.flush(name, now_ms, events)
            if trades:
                events.append(("trades", name, trades))
            events.append(("tick", name, None))
        return events, fills

    def flush(self, name: str, now_ms: int, events: list[tuple[str, str, Any]]) -> None:
        """Publish the pending book change of ``name`` into ``events`` (if any)."""
        result = self.states[name].book.flush(now_ms)
        if result is not None and result[1]:
            events.append(("book", name, result[0]))

    # -- trading against the book ---------------------------------------------------
    def take(
        self,
        name: str,
        direction: str,
        amount: float,
        now_ms: int,
        *,
        limit: float | None = None,
    ) -> tuple[list[dict[str, Any]], list[MakerFill]]:
        """A synthetic taker buys/sells up to ``amount`` (down to ``limit``).

        Walks the opposite side, user orders first at each level (then generator
        liquidity); returns the public trades and the user maker fills. The caller
        flushes the book.
        """
        state = self.states[name]
        side = state.book.side(direction == "sell")
        left = amount
        trades: list[dict[str, Any]] = []
        fills: list[MakerFill] = []
        for price in side.prices():
            if left <= 1e-12:
                break
            if limit is not None and (price > limit if direction == "buy" else price < limit):
                break
            for order in list(side.users.get(price, ())):
                if left <= 1e-12:
                    break
                qty = round(min(left, order.remaining), 10)
                trade = self._print(state, direction, price, qty, now_ms)
                order.remaining = round(order.remaining - qty, 10)
                if order.remaining <= 1e-12:
                    state.book.remove_user(direction == "sell", price, order)
                else:
                    state.book.touch(direction == "sell", price)
                trades.append(trade)
                fills.append(MakerFill(order, price, qty, trade))
                left = round(left - qty, 10)
            gen = side.gen.get(price, 0.0)
            if left > 1e-12 and gen > 0:
                qty = round(min(left, gen), 10)
                trades.append(self._print(state, direction, price, qty, now_ms))
                state.book.set_gen(direction == "sell", price, round(gen - qty, 10))
                left = round(left - qty, 10)
        return trades, fills

    def _print(
        self, state: State, direction: str, price: float, amount: float, now_ms: int
    ) -> dict[str, Any]:
        inst = state.inst
        previous = state.trades[-1]["price"] if state.trades else state.last_price
        prev_dir = state.trades[-1]["tick_direction"] if state.trades else 1
        if price > previous:
            tick_dir = 0
        elif price < previous:
            tick_dir = 2
        else:
            tick_dir = 1 if prev_dir in (0, 1) else 3
        state.trade_seq += 1
        currency = inst.settle
        self._trade_ids[currency] += 1
        prefix = "" if currency == "BTC" else f"{currency}-"
        trade = {
            "timestamp": now_ms,
            "price": price,
            "amount": amount,
            "direction": direction,
            "index_price": self.index_price(inst.base),
            "instrument_name": inst.name,
            "trade_seq": state.trade_seq,
            "mark_price": self.mark_price(inst.name),
            "tick_direction": tick_dir,
            "contracts": round(amount / inst.contract_size, 10),
            "trade_id": f"{prefix}{self._trade_ids[currency]}",
        }
        if inst.kind == "option":
            trade["iv"] = 55.0
        state.trades.append(trade)
        state.last_price = price
        state.open_interest = round(state.open_interest + amount, 10)
        return trade

    # -- derived values -------------------------------------------------------------
    def index_price(self, base: str) -> float:
        perp = self.states.get(f"{base}-PERPETUAL")
        return perp.mid if perp is not None else BASE_PRICES.get(base, 1.0)

    def mark_price(self, name: str) -> float:
        state = self.states[name]
        bid, ask = state.book.best()
        if bid and ask:
            return round((bid[0] + ask[0]) / 2, 10)
        return state.mid

    def ticker(self, name: str, now_ms: int) -> dict[str, Any]:
        """The ``ticker``/``public/ticker`` payload (reference §6.3)."""
        state = self.states[name]
        inst = state.inst
        bid, ask = state.book.best()
        day = [t for t in state.trades if t["timestamp"] >= now_ms - 86_400_000]
        prices = [t["price"] for t in day]
        volume = sum(t["amount"] for t in day)
        mark = self.mark_price(name)
        out: dict[str, Any] = {
            "timestamp": now_ms,
            "state": "open",
            "instrument_name": name,
            "index_price": self.index_price(inst.base),
            "last_price": state.last_price,
            "mark_price": mark,
            "min_price": self._round(inst, mark * 0.97),
            "max_price": self._round(inst, mark * 1.03),
            "open_interest": state.open_interest,
            "best_bid_price": bid[0] if bid else 0.0,
            "best_bid_amount": bid[1] if bid else 0.0,
            "best_ask_price": ask[0] if ask else 0.0,
            "best_ask_amount": ask[1] if ask else 0.0,
            "settlement_price": state.inst.start_price,
            "estimated_delivery_price": self.index_price(inst.base),
            "stats": {
                "high": max(prices) if prices else None,
                "low": min(prices) if prices else None,
                "price_change": round((state.last_price / prices[0] - 1) * 100, 4)
                if prices
                else None,
                "volume": volume,
                "volume_usd": volume if not inst.linear else volume * mark,
            },
        }
        if inst.settlement_period == "perpetual":
            out.update(current_funding=0.0, funding_8h=0.0, interest_value=0.0)
        if inst.kind == "option":
            out.update(
                bid_iv=54.0,
                ask_iv=56.0,
                mark_iv=55.0,
                underlying_price=self.index_price(inst.base),
                underlying_index="index_price",
                interest_rate=0.0,
                greeks={"delta": 0.5, "gamma": 0.0001, "theta": -10.0, "vega": 20.0, "rho": 1.0},
            )
        return out

    def quote(self, name: str) -> dict[str, Any]:
        bid, ask = self.states[name].book.best()
        return {
            "timestamp": self.states[name].book.timestamp,
            "instrument_name": name,
            "best_bid_price": bid[0] if bid else 0.0,
            "best_bid_amount": bid[1] if bid else 0.0,
            "best_ask_price": ask[0] if ask else 0.0,
            "best_ask_amount": ask[1] if ask else 0.0,
        }

    def candles(
        self, name: str, resolution: str, start_ms: int, end_ms: int
    ) -> list[dict[str, Any]]:
        """Bars between ``start_ms`` and ``end_ms``; empty periods repeat the last close."""
        span = RESOLUTIONS[resolution] * 1000
        state = self.states[name]
        first = start_ms - start_ms % span
        bars: dict[int, dict[str, Any]] = {}
        last_close: float | None = None
        for trade in state.trades:
            ts = trade["timestamp"]
            if ts < first:
                last_close = trade["price"]
                continue
            if ts > end_ms:
                break
            tick = ts - ts % span
            price, amount = trade["price"], trade["amount"]
            inverse = not state.inst.linear and state.inst.kind == "future"
            # volume in base coin, cost in quote (inverse amounts are already USD)
            volume, cost = (amount / price, amount) if inverse else (amount, amount * price)
            bar = bars.get(tick)
            if bar is None:
                bar = bars[tick] = {"tick": tick, "open": price, "high": price, "low": price,
                                    "close": price, "volume": 0.0, "cost": 0.0}  # fmt: skip
            bar["high"], bar["low"] = max(bar["high"], price), min(bar["low"], price)
            bar["close"] = price
            bar["volume"] = round(bar["volume"] + volume, 10)
            bar["cost"] = round(bar["cost"] + cost, 10)
        out: list[dict[str, Any]] = []
        tick = first if last_close is not None else min(bars, default=end_ms + 1)
        while tick <= end_ms and len(out) < 5000:
            bar = bars.get(tick)
            if bar is not None:
                last_close = bar["close"]
                out.append(bar)
            elif last_close is not None:
                out.append({"tick": tick, "open": last_close, "high": last_close,
                            "low": last_close, "close": last_close, "volume": 0.0,
                            "cost": 0.0})  # fmt: skip
            tick += span
        return out
