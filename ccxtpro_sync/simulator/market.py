"""Deterministic market generator: the true order book, trades and 24 h statistics.

Everything is integer arithmetic on ticks (price) and lots (quantity) so books
never drift off the price grid. One :class:`MarketGenerator` per market; the
caller serialises access with the exchange lock (the REST thread and the
asyncio thread both read the books).
"""

from __future__ import annotations

import random
from bisect import bisect_left, insort
from calendar import monthrange
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final, Literal

from .catalog import SPOT_DECIMALS, MarketName, SymbolSpec
from .tape import Tape

Side = Literal["b", "a"]
BID: Final[Side] = "b"
ASK: Final[Side] = "a"

KLINE_INTERVALS: Final[dict[str, int]] = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
    "1M": 0,
}
#: Trades and aggregate trades each symbol keeps for REST (``trades``, ``aggTrades``...).
TRADE_HISTORY: Final = 2_000
#: Closed candles kept per symbol and interval for REST ``klines``.
CANDLE_HISTORY: Final = 1_000
_MONDAY_OFFSET_MS: Final = 4 * 86_400_000  # 1970-01-01 was a Thursday
DAY_MS: Final = 86_400_000


def candle_bounds(interval: str, t_ms: int) -> tuple[int, int]:
    """Open time and close time (inclusive, i.e. next open - 1) of the candle holding ``t_ms``."""
    if interval == "1M":
        d = datetime.fromtimestamp(t_ms / 1000, UTC)
        start = datetime(d.year, d.month, 1, tzinfo=UTC)
        days = monthrange(d.year, d.month)[1]
        open_ms = int(start.timestamp() * 1000)
        return open_ms, open_ms + days * DAY_MS - 1
    size = KLINE_INTERVALS[interval]
    offset = _MONDAY_OFFSET_MS if interval == "1w" else 0
    open_ms = (t_ms - offset) // size * size + offset
    return open_ms, open_ms + size - 1


class Book:
    """One side-sorted price level map. Prices in ticks, quantities in lots."""

    __slots__ = ("_keys", "levels")

    def __init__(self) -> None:
        self.levels: dict[Side, dict[int, int]] = {BID: {}, ASK: {}}
        self._keys: dict[Side, list[int]] = {BID: [], ASK: []}  # ascending

    def set(self, side: Side, price: int, qty: int) -> None:
        levels, keys = self.levels[side], self._keys[side]
        if qty <= 0:
            if levels.pop(price, None) is not None:
                del keys[bisect_left(keys, price)]
            return
        if price not in levels:
            insort(keys, price)
        levels[price] = qty

    def best(self, side: Side) -> int | None:
        keys = self._keys[side]
        if not keys:
            return None
        return keys[-1] if side == BID else keys[0]

    def worst(self, side: Side) -> int | None:
        keys = self._keys[side]
        if not keys:
            return None
        return keys[0] if side == BID else keys[-1]

    def nth(self, side: Side, n: int) -> int:
        """Price of the n-th level from the top (0 = best)."""
        keys = self._keys[side]
        return keys[-1 - n] if side == BID else keys[n]

    def count(self, side: Side) -> int:
        return len(self._keys[side])

    def top(self, side: Side, n: int | None = None) -> list[tuple[int, int]]:
        keys = self._keys[side]
        chosen = keys[::-1][:n] if side == BID else keys[:n]
        levels = self.levels[side]
        return [(p, levels[p]) for p in chosen]


@dataclass
class Trade:
    id: int
    price: int
    qty: int
    buyer_maker: bool
    time: int


@dataclass
class AggTrade:
    id: int
    price: int
    qty: int
    first_id: int
    last_id: int
    buyer_maker: bool
    time: int


_TRADE_FIELDS: Final = ("id", "price", "qty", "buyer_maker", "time")
_AGG_FIELDS: Final = ("id", "price", "qty", "first_id", "last_id", "buyer_maker", "time")


def _trade(v: Sequence[int]) -> Trade:
    return Trade(v[0], v[1], v[2], bool(v[3]), v[4])


def _agg_trade(v: Sequence[int]) -> AggTrade:
    return AggTrade(v[0], v[1], v[2], v[3], v[4], bool(v[5]), v[6])


@dataclass
class Liquidation:
    side: str  # "BUY" or "SELL"
    price: int
    qty: int
    time: int


@dataclass
class Candle:
    interval: str
    open_time: int
    close_time: int
    open: int
    high: int
    low: int
    close: int
    volume: Decimal = Decimal(0)
    quote_volume: Decimal = Decimal(0)
    taker_volume: Decimal = Decimal(0)
    taker_quote_volume: Decimal = Decimal(0)
    first_id: int = -1
    last_id: int = -1
    count: int = 0
    closed: bool = False


@dataclass
class SymbolStep:
    """What one generator tick did to one symbol."""

    symbol: str
    changes: list[tuple[Side, int, int, int]] = field(default_factory=list)  # side, px, qty, id
    trades: list[Trade] = field(default_factory=list)
    agg_trades: list[AggTrade] = field(default_factory=list)
    top_changed: bool = False
    liquidation: Liquidation | None = None


class SymbolState:
    """True state of one instrument: book, sequence numbers, trade tape statistics."""

    def __init__(self, spec: SymbolSpec, market: MarketName, start_ms: int) -> None:
        self.spec = spec
        self.market = market
        self.book = Book()
        self.update_id = 0  # id of the last change applied to this book
        self.trade_id = 0
        self.agg_id = 0
        price = int(spec.start_price / spec.tick_size)
        self.last_price = price
        self.last_qty = 0
        self.open_price = price
        self.high = price
        self.low = price
        self.volume = Decimal(0)
        self.quote_volume = Decimal(0)
        self.first_trade_id = 0
        self.trade_count = 0
        self.funding_rate = Decimal("0.00010000")
        self.candles: dict[str, Candle] = {}
        self.closed_candles: dict[str, list[Candle]] = {i: [] for i in KLINE_INTERVALS}
        # Bounded tapes REST serves from: exactly what the streams published, same ids.
        # Preallocated rings, so a busy exchange's memory does not creep while they fill.
        self.trade_history: Tape[Trade] = Tape(TRADE_HISTORY, _TRADE_FIELDS, _trade)
        self.agg_history: Tape[AggTrade] = Tape(TRADE_HISTORY, _AGG_FIELDS, _agg_trade)
        self.candle_history: dict[str, deque[Candle]] = {
            i: deque(maxlen=CANDLE_HISTORY) for i in KLINE_INTERVALS
        }
        for interval in KLINE_INTERVALS:
            self.candles[interval] = self._new_candle(interval, start_ms, price)
        self._price_places = SPOT_DECIMALS if market == "spot" else spec.price_decimals
        self._qty_places = SPOT_DECIMALS if market == "spot" else spec.qty_decimals

    # -- formatting ---------------------------------------------------------
    def px(self, ticks: int) -> str:
        return f"{ticks * self.spec.tick_size:.{self._price_places}f}"

    def qty(self, lots: int) -> str:
        return f"{lots * self.spec.step_size:.{self._qty_places}f}"

    def dec(self, value: Decimal, places: int | None = None) -> str:
        return f"{value:.{self._qty_places if places is None else places}f}"

    def quote_of(self, price: int, lots: int) -> Decimal:
        """Quote volume of a fill: notional, or base-asset volume for coin-margined contracts."""
        if self.market == "coinm":
            return Decimal(lots * self.spec.contract_size) / (price * self.spec.tick_size)
        return price * self.spec.tick_size * lots * self.spec.step_size

    # -- candles ------------------------------------------------------------
    @staticmethod
    def _new_candle(interval: str, t_ms: int, price: int) -> Candle:
        open_ms, close_ms = candle_bounds(interval, t_ms)
        return Candle(interval, open_ms, close_ms, price, price, price, price)

    def roll_candles(self, now_ms: int) -> None:
        """Close every candle whose interval has ended, even without trades: an
        interval without trades still gets its candle (open = close = the last
        price, no volume), as on Binance, so open times run without holes."""
        for interval, current in self.candles.items():
            candle = current
            history = self.candle_history[interval]
            pending = self.closed_candles[interval]
            while now_ms > candle.close_time:
                candle.closed = True
                pending.append(candle)
                history.append(candle)
                start = candle.close_time + 1
                if history.maxlen is not None and now_ms - start > history.maxlen * (
                    candle.close_time + 1 - candle.open_time
                ):
                    start = now_ms  # idle longer than the history keeps: skip ahead
                candle = self._new_candle(interval, start, candle.close)
            del pending[:-3]
            self.candles[interval] = candle

    def record_trade(self, trade: Trade) -> None:
        self.roll_candles(trade.time)
        lots_dec = trade.qty * self.spec.step_size
        quote = self.quote_of(trade.price, trade.qty)
        if self.trade_count == 0:
            self.first_trade_id = trade.id
        self.trade_count += 1
        self.last_price, self.last_qty = trade.price, trade.qty
        self.high, self.low = max(self.high, trade.price), min(self.low, trade.price)
        self.volume += lots_dec
        self.quote_volume += quote
        for candle in self.candles.values():
            if candle.count == 0:
                candle.open = candle.high = candle.low = trade.price
                candle.first_id = trade.id
            candle.high, candle.low = max(candle.high, trade.price), min(candle.low, trade.price)
            candle.close = trade.price
            candle.volume += lots_dec
            candle.quote_volume += quote
            if not trade.buyer_maker:
                candle.taker_volume += lots_dec
                candle.taker_quote_volume += quote
            candle.last_id = trade.id
            candle.count += 1

    def remember(self, step: SymbolStep) -> None:
        """Keep what one published step traded (called once per step, after every hook)."""
        self.trade_history.extend(step.trades)
        self.agg_history.extend(step.agg_trades)

    def mid(self) -> int:
        bid, ask = self.book.best(BID), self.book.best(ASK)
        if bid is None or ask is None:
            return self.last_price
        return (bid + ask) // 2


class MarketGenerator:
    """Random but seed-deterministic order flow for every symbol of one market.

    Spot update ids are per symbol and contiguous (``U = prev u + 1``). Futures ids
    come from one market-wide counter that also advances for unseen activity, so a
    symbol's ids jump, as on Binance, and only the ``pu`` chain is contiguous.
    """

    def __init__(
        self,
        market: MarketName,
        specs: list[SymbolSpec],
        rng: random.Random,
        levels: int,
        now_ms: int,
    ) -> None:
        self.market = market
        self.rng = rng
        self.levels = levels
        self.states: dict[str, SymbolState] = {}
        self._global_id = rng.randint(10**9, 2 * 10**9)
        for spec in specs:
            st = SymbolState(spec, market, now_ms)
            st.trade_id = rng.randint(10**6, 10**8)
            st.agg_id = rng.randint(10**6, 10**8)
            st.update_id = self._next_id(st) if market != "spot" else rng.randint(10**6, 10**9)
            self._seed_book(st)
            self.states[spec.symbol] = st

    @property
    def is_spot(self) -> bool:
        return self.market == "spot"

    def _next_id(self, st: SymbolState) -> int:
        if self.is_spot:
            return st.update_id + 1
        self._global_id += self.rng.randint(1, 4)
        return self._global_id

    def _lots(self, spec: SymbolSpec, scale: float = 1.0) -> int:
        typical = float(spec.typical_qty / spec.step_size)
        return max(1, int(typical * scale * self.rng.lognormvariate(0.0, 0.9)))

    def _seed_book(self, st: SymbolState) -> None:
        rng = self.rng
        best_bid = st.last_price - rng.randint(0, 1)
        best_ask = best_bid + rng.randint(1, 3)
        for side, start, sign in ((BID, best_bid, -1), (ASK, best_ask, 1)):
            price = start
            for i in range(self.levels):
                if price <= 0:
                    break
                st.book.set(side, price, self._lots(st.spec, 1 + i / 100))
                price += sign * rng.randint(1, 1 + i // 25)

    # -- one tick -----------------------------------------------------------
    def step(self, now_ms: int) -> dict[str, SymbolStep]:
        return {sym: self._step_symbol(st, now_ms) for sym, st in self.states.items()}

    def _change(self, st: SymbolState, out: SymbolStep, side: Side, price: int, qty: int) -> None:
        st.book.set(side, price, qty)
        st.update_id = self._next_id(st)
        out.changes.append((side, price, max(qty, 0), st.update_id))

    def _step_symbol(self, st: SymbolState, now_ms: int) -> SymbolStep:
        rng, book = self.rng, st.book
        out = SymbolStep(st.spec.symbol)
        top_before = (
            book.best(BID),
            book.levels[BID].get(book.best(BID) or 0),
            book.best(ASK),
            book.levels[ASK].get(book.best(ASK) or 0),
        )
        if rng.random() < 0.35:
            self._taker(st, out, now_ms)
        for _ in range(rng.randint(1, 4)):
            self._maker(st, out)
        self._tighten(st, out)
        self._replenish(st, out)
        if self.market != "spot" and rng.random() < 0.02:
            sell = rng.random() < 0.5
            px = book.best(BID if sell else ASK) or st.last_price
            out.liquidation = Liquidation(
                "SELL" if sell else "BUY", px, self._lots(st.spec), now_ms
            )
        if self.market != "spot" and rng.random() < 0.05:
            st.funding_rate = Decimal(rng.randint(-30, 100)) / Decimal(1000000)
        top_after = (
            book.best(BID),
            book.levels[BID].get(book.best(BID) or 0),
            book.best(ASK),
            book.levels[ASK].get(book.best(ASK) or 0),
        )
        out.top_changed = top_before != top_after
        return out

    @staticmethod
    def _buy_bias(st: SymbolState) -> float:
        """Probability that flow pushes the price up; mean-reverts to the start price so
        long runs stay within a fraction of a percent of it."""
        anchor = st.open_price
        pressure = (st.mid() - anchor) / (anchor * 0.001)
        return 0.5 - 0.25 * max(-1.6, min(1.6, pressure))

    def _taker(self, st: SymbolState, out: SymbolStep, now_ms: int) -> None:
        """A market order walking the opposite side, one aggTrade per level."""
        rng, book = self.rng, st.book
        taker_buys = rng.random() < self._buy_bias(st)
        side: Side = ASK if taker_buys else BID
        remaining = self._lots(st.spec, rng.uniform(0.3, 2.5))
        for _ in range(3):
            price = book.best(side)
            if price is None or remaining <= 0 or book.count(side) < 10:
                break
            available = book.levels[side][price]
            fill = min(remaining, available)
            makers = min(fill, rng.randint(1, 3))
            first = st.trade_id + 1
            left = fill
            for k in range(makers):
                part = left if k == makers - 1 else max(1, left // (makers - k))
                left -= part
                st.trade_id += 1
                trade = Trade(st.trade_id, price, part, not taker_buys, now_ms)
                out.trades.append(trade)
                st.record_trade(trade)
            st.agg_id += 1
            out.agg_trades.append(
                AggTrade(st.agg_id, price, fill, first, st.trade_id, not taker_buys, now_ms)
            )
            self._change(st, out, side, price, available - fill)
            remaining -= fill

    def _maker(self, st: SymbolState, out: SymbolStep) -> None:
        """Add, resize or cancel a resting level, mostly near the top."""
        rng, book = self.rng, st.book
        side: Side = BID if rng.random() < self._buy_bias(st) else ASK
        count = book.count(side)
        if count == 0:
            return
        depth = min(count - 1, int(rng.expovariate(1 / 8)))
        action = rng.random()
        if action < 0.4:
            self._change(st, out, side, book.nth(side, depth), self._lots(st.spec))
        elif action < 0.65 and count > self.levels // 2:
            self._change(st, out, side, book.nth(side, depth), 0)
        else:
            best, other = book.best(side), book.best(ASK if side == BID else BID)
            assert best is not None
            if other is not None and abs(other - best) > 1 and rng.random() < 0.6:
                # Liquidity providers close a wide spread quickly, as on a liquid market.
                inside = rng.randint(1, abs(other - best) - 1)
                self._change(
                    st,
                    out,
                    side,
                    best + inside if side == BID else best - inside,
                    self._lots(st.spec),
                )
                return
            offset = int(rng.expovariate(1 / 6)) - (1 if rng.random() < 0.3 else 0)
            price = best - offset if side == BID else best + offset
            if other is not None and (price >= other if side == BID else price <= other):
                price = other - 1 if side == BID else other + 1
            if price > 0:
                self._change(st, out, side, price, self._lots(st.spec))

    def _tighten(self, st: SymbolState, out: SymbolStep) -> None:
        """Refill a spread wider than a few ticks (a sweep leaves a hole at the top)."""
        bid, ask = st.book.best(BID), st.book.best(ASK)
        if bid is None or ask is None or ask - bid <= 3:
            return
        side: Side = BID if self.rng.random() < self._buy_bias(st) else ASK
        inside = self.rng.randint(1, min(ask - bid - 1, 3))
        self._change(
            st, out, side, bid + inside if side == BID else ask - inside, self._lots(st.spec)
        )

    def _replenish(self, st: SymbolState, out: SymbolStep) -> None:
        """Keep each side near ``levels`` deep by adding or trimming far levels."""
        book = st.book
        for side in (BID, ASK):
            count = book.count(side)
            worst = book.worst(side)
            if worst is None:
                continue
            if count < self.levels * 0.9:
                for _ in range(3):
                    worst += -self.rng.randint(1, 5) if side == BID else self.rng.randint(1, 5)
                    if worst > 0:
                        self._change(st, out, side, worst, self._lots(st.spec, 2.0))
            elif count > self.levels * 1.2:
                self._change(st, out, side, worst, 0)
