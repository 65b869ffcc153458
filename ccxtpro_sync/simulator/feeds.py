"""Per-stream publishers: turn generator ticks into Binance payloads at each stream's cadence.

A :class:`StreamState` exists only while somebody is subscribed; it accumulates
what happened since its last push (diff-depth changes, liquidations, changed
tickers) and emits on its cadence, counted in generator ticks so that
``LocalExchange.tick(n)`` is fully deterministic.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .market import ASK, BID, AggTrade, Candle, Liquidation, MarketGenerator, Side, SymbolState
from .market import SymbolStep as Step
from .streams import StreamKey

Payload = Any
_MARK_PLACES = 8


class Ctx:
    """Everything a stream state may look at during one tick."""

    __slots__ = ("gen", "now", "steps", "tick")

    def __init__(self, gen: MarketGenerator, steps: dict[str, Step], now: int, tick: int) -> None:
        self.gen, self.steps, self.now, self.tick = gen, steps, now, tick


# -- payload builders ---------------------------------------------------------
def _levels(st: SymbolState, levels: list[tuple[int, int]]) -> list[list[str]]:
    return [[st.px(p), st.qty(q)] for p, q in levels]


def _futures_extra(st: SymbolState, payload: dict[str, Any]) -> dict[str, Any]:
    if st.market == "coinm":
        payload["ps"] = st.spec.pair
    return payload


def trade_payload(st: SymbolState, t: Any, now: int) -> Payload:
    if st.market != "spot":
        # USD-M: as the live server sends it (futures events have no ``M``; ``X`` is
        # the trade's origin, ``MARKET`` for order-book trades).
        return {
            "e": "trade",
            "E": now,
            "T": t.time,
            "s": st.spec.symbol,
            "t": t.id,
            "p": st.px(t.price),
            "q": st.qty(t.qty),
            "X": "MARKET",
            "m": t.buyer_maker,
        }
    return {
        "e": "trade",
        "E": now,
        "s": st.spec.symbol,
        "t": t.id,
        "p": st.px(t.price),
        "q": st.qty(t.qty),
        "T": t.time,
        "m": t.buyer_maker,
        "M": True,
    }


def agg_payload(st: SymbolState, a: AggTrade, now: int) -> Payload:
    p: dict[str, Any] = {
        "e": "aggTrade",
        "E": now,
        "s": st.spec.symbol,
        "a": a.id,
        "p": st.px(a.price),
        "q": st.qty(a.qty),
    }
    if st.market == "usdm":
        p["nq"] = st.qty(a.qty)
    p.update({"f": a.first_id, "l": a.last_id, "T": a.time, "m": a.buyer_maker})
    if st.market == "spot":
        p["M"] = True
    return p


def book_ticker_payload(st: SymbolState, now: int) -> Payload:
    book = st.book
    bid, ask = book.best(BID) or 0, book.best(ASK) or 0
    fields = {
        "s": st.spec.symbol,
        "b": st.px(bid),
        "B": st.qty(book.levels[BID].get(bid, 0)),
        "a": st.px(ask),
        "A": st.qty(book.levels[ASK].get(ask, 0)),
    }
    if st.market == "spot":
        return {"u": st.update_id, **fields}
    return _futures_extra(st, {"e": "bookTicker", "u": st.update_id, "E": now, "T": now, **fields})


def _ticker_window(st: SymbolState, now: int) -> dict[str, Any]:
    o, c = st.open_price, st.last_price
    change = (c - o) * st.spec.tick_size
    pct = Decimal(c - o) * 100 / Decimal(o) if o else Decimal(0)
    if st.volume and st.quote_volume:
        w = (
            st.quote_volume / st.volume
            if st.market != "coinm"
            else st.volume * st.spec.contract_size / st.quote_volume
        )
    else:
        w = c * st.spec.tick_size
    places = 8 if st.market == "spot" else st.spec.price_decimals
    return {
        "p": f"{change:.{places}f}",
        "P": f"{pct:.3f}",
        "w": f"{w:.{places}f}",
        "o": st.px(o),
        "h": st.px(st.high),
        "l": st.px(st.low),
        "c": st.px(c),
        "Q": st.qty(st.last_qty),
        "v": st.dec(st.volume),
        "q": f"{st.quote_volume:.8f}",
        "O": now - 86_400_000,
        "C": now,
        "F": st.first_trade_id if st.trade_count else -1,
        "L": st.trade_id if st.trade_count else -1,
        "n": st.trade_count,
    }


def ticker_payload(st: SymbolState, now: int) -> Payload:
    w = _ticker_window(st, now)
    p: dict[str, Any] = {
        "e": "24hrTicker",
        "E": now,
        "s": st.spec.symbol,
        "p": w["p"],
        "P": w["P"],
        "w": w["w"],
    }
    if st.market == "spot":
        book = st.book
        bid, ask = book.best(BID) or 0, book.best(ASK) or 0
        p.update(
            {
                "x": w["o"],
                "c": w["c"],
                "Q": w["Q"],
                "b": st.px(bid),
                "B": st.qty(book.levels[BID].get(bid, 0)),
                "a": st.px(ask),
                "A": st.qty(book.levels[ASK].get(ask, 0)),
            }
        )
    else:
        p.update({"c": w["c"], "Q": w["Q"]})
    for k in ("o", "h", "l", "v", "q", "O", "C", "F", "L", "n"):
        p[k] = w[k]
    return _futures_extra(st, p) if st.market == "coinm" else p


def mini_ticker_payload(st: SymbolState, now: int) -> Payload:
    w = _ticker_window(st, now)
    p = {
        "e": "24hrMiniTicker",
        "E": now,
        "s": st.spec.symbol,
        **{k: w[k] for k in ("c", "o", "h", "l", "v", "q")},
    }
    return _futures_extra(st, p) if st.market == "coinm" else p


def kline_payload(st: SymbolState, c: Candle, now: int) -> Payload:
    places = 8 if st.market == "spot" else st.spec.qty_decimals
    k = {
        "t": c.open_time,
        "T": c.close_time,
        "s": st.spec.symbol,
        "i": c.interval,
        "f": c.first_id,
        "L": c.last_id,
        "o": st.px(c.open),
        "c": st.px(c.close),
        "h": st.px(c.high),
        "l": st.px(c.low),
        "v": st.dec(c.volume, places),
        "n": c.count,
        "x": c.closed,
        "q": f"{c.quote_volume:.8f}",
        "V": st.dec(c.taker_volume, places),
        "Q": f"{c.taker_quote_volume:.8f}",
        "B": "0",
    }
    return {"e": "kline", "E": now, "s": st.spec.symbol, "k": k}


def mark_price_payload(st: SymbolState, now: int) -> Payload:
    mid = st.mid()
    tick = st.spec.tick_size
    index = (mid + (now // 1000) % 5 - 2) * tick
    mark = mid * tick
    perpetual = st.spec.is_perpetual
    funding_period = 8 * 3_600_000
    p: dict[str, Any] = {
        "e": "markPriceUpdate",
        "E": now,
        "s": st.spec.symbol,
        "p": f"{mark:.{_MARK_PLACES}f}",
        "i": f"{index:.{_MARK_PLACES}f}",
        "P": f"{(mark + index) / 2:.{_MARK_PLACES}f}",
        "r": f"{st.funding_rate:.8f}" if perpetual else "",
        "T": (now // funding_period + 1) * funding_period if perpetual else 0,
    }
    if st.market == "usdm":
        p["ap"] = p["p"]
    return p


def force_order_payload(st: SymbolState, liq: Liquidation, now: int) -> Payload:
    q = st.qty(liq.qty)
    return {
        "e": "forceOrder",
        "E": now,
        "o": {
            "s": st.spec.symbol,
            "S": liq.side,
            "o": "LIMIT",
            "f": "IOC",
            "q": q,
            "p": st.px(liq.price),
            "ap": st.px(liq.price),
            "X": "FILLED",
            "l": q,
            "z": q,
            "T": liq.time,
        },
    }


def depth_update(
    st: SymbolState,
    now: int,
    ids: tuple[int, int, int],
    bids: list[list[str]],
    asks: list[list[str]],
) -> Payload:
    """``ids`` = (U, u, pu); spot drops ``pu``."""
    first, last, prev = ids
    if st.market == "spot":
        return {
            "e": "depthUpdate",
            "E": now,
            "s": st.spec.symbol,
            "U": first,
            "u": last,
            "b": bids,
            "a": asks,
        }
    return _futures_extra(
        st,
        {
            "e": "depthUpdate",
            "E": now,
            "T": now,
            "s": st.spec.symbol,
            "U": first,
            "u": last,
            "pu": prev,
            "b": bids,
            "a": asks,
        },
    )


def depth_snapshot(st: SymbolState, limit: int, now: int) -> Payload:
    """REST ``depth`` body; the caller holds the exchange lock."""
    body: dict[str, Any] = {"lastUpdateId": st.update_id}
    if st.market != "spot":
        body.update({"E": now, "T": now})
    body["bids"] = _levels(st, st.book.top(BID, limit))
    body["asks"] = _levels(st, st.book.top(ASK, limit))
    return body


# -- stream states ------------------------------------------------------------
class StreamState:
    """Base: push every ``period_ticks`` ticks (or on every tick for real-time streams)."""

    def __init__(self, key: StreamKey, gen: MarketGenerator, period_ticks: int) -> None:
        self.key = key
        self.gen = gen
        self.period_ticks = period_ticks
        self.st = gen.states[key.symbol] if key.symbol else None

    def advance(self, ctx: Ctx) -> list[Payload]:
        self.accumulate(ctx)
        if self.key.period_ms == 0 or ctx.tick % self.period_ticks == 0:
            return self.emit(ctx)
        return []

    def accumulate(self, ctx: Ctx) -> None:
        """Record what this tick did; default: nothing to remember."""

    def emit(self, ctx: Ctx) -> list[Payload]:
        raise NotImplementedError

    def _sym(self) -> SymbolState:
        assert self.st is not None
        return self.st


class TradeStream(StreamState):
    def emit(self, ctx: Ctx) -> list[Payload]:
        st = self._sym()
        step = ctx.steps[st.spec.symbol]
        if self.key.kind == "trade":
            return [trade_payload(st, t, ctx.now) for t in step.trades]
        return [agg_payload(st, a, ctx.now) for a in step.agg_trades]


class BookTickerStream(StreamState):
    def emit(self, ctx: Ctx) -> list[Payload]:
        if self.st is not None:
            changed = ctx.steps[self.st.spec.symbol].top_changed
            return [book_ticker_payload(self.st, ctx.now)] if changed else []
        return [
            book_ticker_payload(self.gen.states[sym], ctx.now)
            for sym, step in ctx.steps.items()
            if step.top_changed
        ]


class TickerStream(StreamState):
    def emit(self, ctx: Ctx) -> list[Payload]:
        build = ticker_payload if self.key.kind == "ticker" else mini_ticker_payload
        return [build(self._sym(), ctx.now)]


class AllTickerStream(StreamState):
    """``!miniTicker@arr`` / ``!ticker@arr``: an array of the symbols that traded."""

    def __init__(self, key: StreamKey, gen: MarketGenerator, period_ticks: int) -> None:
        super().__init__(key, gen, period_ticks)
        self.changed: dict[str, None] = {}

    def accumulate(self, ctx: Ctx) -> None:
        for sym, step in ctx.steps.items():
            if step.trades:
                self.changed[sym] = None

    def emit(self, ctx: Ctx) -> list[Payload]:
        if not self.changed:
            return []
        build = ticker_payload if self.key.kind == "allTicker" else mini_ticker_payload
        out = [build(self.gen.states[s], ctx.now) for s in self.changed]
        self.changed.clear()
        return [out]


class KlineStream(StreamState):
    def __init__(self, key: StreamKey, gen: MarketGenerator, period_ticks: int) -> None:
        super().__init__(key, gen, period_ticks)
        assert key.interval is not None
        self.interval = key.interval
        self.watermark = self._sym().candles[self.interval].open_time - 1

    def emit(self, ctx: Ctx) -> list[Payload]:
        st = self._sym()
        st.roll_candles(ctx.now)
        out = [
            kline_payload(st, c, ctx.now)
            for c in st.closed_candles[self.interval]
            if c.open_time > self.watermark
        ]
        current = st.candles[self.interval]
        self.watermark = current.open_time - 1
        out.append(kline_payload(st, current, ctx.now))
        return out


class MarkPriceStream(StreamState):
    def emit(self, ctx: Ctx) -> list[Payload]:
        if self.st is not None:
            return [mark_price_payload(self.st, ctx.now)]
        return [[mark_price_payload(st, ctx.now) for st in self.gen.states.values()]]


class ForceOrderStream(StreamState):
    """Latest liquidation per symbol per window; nothing when there was none."""

    def __init__(self, key: StreamKey, gen: MarketGenerator, period_ticks: int) -> None:
        super().__init__(key, gen, period_ticks)
        self.latest: dict[str, Liquidation] = {}

    def accumulate(self, ctx: Ctx) -> None:
        for sym, step in ctx.steps.items():
            if step.liquidation and (self.st is None or sym == self.st.spec.symbol):
                self.latest[sym] = step.liquidation

    def emit(self, ctx: Ctx) -> list[Payload]:
        out = [
            force_order_payload(self.gen.states[s], liq, ctx.now) for s, liq in self.latest.items()
        ]
        self.latest.clear()
        return out


class DiffDepthStream(StreamState):
    """``@depth``: changed levels since the last push; ``drop`` swallows events (gap fault)."""

    def __init__(self, key: StreamKey, gen: MarketGenerator, period_ticks: int) -> None:
        super().__init__(key, gen, period_ticks)
        self.changes: dict[tuple[Side, int], int] = {}
        self.first: int | None = None
        self.last = self._sym().update_id
        self.prev_u = self.last
        self.drop = 0

    def accumulate(self, ctx: Ctx) -> None:
        for side, price, qty, uid in ctx.steps[self._sym().spec.symbol].changes:
            self.changes[(side, price)] = qty
            if self.first is None:
                self.first = uid
            self.last = uid

    def emit(self, ctx: Ctx) -> list[Payload]:
        if self.first is None:
            return []
        st = self._sym()
        bids = sorted(((p, q) for (s, p), q in self.changes.items() if s == BID), reverse=True)
        asks = sorted((p, q) for (s, p), q in self.changes.items() if s == ASK)
        payload = depth_update(
            st, ctx.now, (self.first, self.last, self.prev_u), _levels(st, bids), _levels(st, asks)
        )
        self.prev_u, self.first = self.last, None
        self.changes.clear()
        if self.drop > 0:
            self.drop -= 1
            return []
        return [payload]


class PartialDepthStream(StreamState):
    """``@depth<N>``: top-N snapshot (spot) or top-N ``depthUpdate`` (futures)."""

    def __init__(self, key: StreamKey, gen: MarketGenerator, period_ticks: int) -> None:
        super().__init__(key, gen, period_ticks)
        self.first: int | None = None
        self.prev_u = self._sym().update_id

    def accumulate(self, ctx: Ctx) -> None:
        changes = ctx.steps[self._sym().spec.symbol].changes
        if changes and self.first is None:
            self.first = changes[0][3]

    def emit(self, ctx: Ctx) -> list[Payload]:
        st = self._sym()
        n = self.key.levels
        bids = _levels(st, st.book.top(BID, n))
        asks = _levels(st, st.book.top(ASK, n))
        if st.market == "spot":
            return [{"lastUpdateId": st.update_id, "bids": bids, "asks": asks}]
        first = self.first if self.first is not None else st.update_id
        payload = depth_update(st, ctx.now, (first, st.update_id, self.prev_u), bids, asks)
        self.prev_u, self.first = st.update_id, None
        return [payload]


_STATE_TYPES: dict[str, type[StreamState]] = {
    "trade": TradeStream,
    "aggTrade": TradeStream,
    "bookTicker": BookTickerStream,
    "allBookTicker": BookTickerStream,
    "ticker": TickerStream,
    "miniTicker": TickerStream,
    "allTicker": AllTickerStream,
    "allMiniTicker": AllTickerStream,
    "kline": KlineStream,
    "markPrice": MarkPriceStream,
    "allMarkPrice": MarkPriceStream,
    "forceOrder": ForceOrderStream,
    "allForceOrder": ForceOrderStream,
    "depth": DiffDepthStream,
    "partialDepth": PartialDepthStream,
}


class Feed:
    """All live stream states of one market, reference-counted by subscriptions."""

    def __init__(self, gen: MarketGenerator, tick_ms: float, speed: float) -> None:
        self.gen = gen
        self.tick_ms = tick_ms
        self.speed = speed
        self.tick_no = 0
        self.states: dict[str, StreamState] = {}
        self.refs: dict[str, int] = {}
        self.pending_gaps: dict[str, int] = {}

    def period_ticks(self, period_ms: int) -> int:
        return max(1, round(period_ms / self.speed / self.tick_ms))

    def acquire(self, key: StreamKey) -> None:
        self.refs[key.name] = self.refs.get(key.name, 0) + 1
        if key.name not in self.states:
            state = _STATE_TYPES[key.kind](key, self.gen, self.period_ticks(key.period_ms))
            if isinstance(state, DiffDepthStream) and key.symbol in self.pending_gaps:
                state.drop += self.pending_gaps.pop(key.symbol)
            self.states[key.name] = state

    def release(self, name: str) -> None:
        left = self.refs.get(name, 0) - 1
        if left <= 0:
            self.refs.pop(name, None)
            self.states.pop(name, None)
        else:
            self.refs[name] = left

    def advance(self, steps: dict[str, Step], now: int) -> list[tuple[str, Payload]]:
        self.tick_no += 1
        ctx = Ctx(self.gen, steps, now, self.tick_no)
        out: list[tuple[str, Payload]] = []
        for name, state in self.states.items():
            out.extend((name, p) for p in state.advance(ctx))
        return out

    def inject_gap(self, symbol: str, events: int) -> int:
        """Drop the next ``events`` diff-depth pushes of ``symbol`` on every diff stream."""
        hit = 0
        for state in self.states.values():
            if isinstance(state, DiffDepthStream) and state.key.symbol == symbol:
                state.drop += events
                hit += 1
        if not hit:
            self.pending_gaps[symbol] = self.pending_gaps.get(symbol, 0) + events
        return hit
