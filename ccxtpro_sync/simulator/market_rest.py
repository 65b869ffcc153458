"""Public REST market data beyond depth: tickers, trades, aggregate trades, klines, status.

Shapes, weights and paging rules follow Binance's REST documentation for each
product (``/api/v3``, ``/fapi/v1``, ``/dapi/v1``). Trades and candles come from
the bounded tapes the generator keeps (:attr:`SymbolState.trade_history` and
friends), which hold exactly what the streams published: same ids, same prices.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from .catalog import MarketName
from .engine import Engine, now_ms
from .feeds import _ticker_window
from .market import ASK, BID, KLINE_INTERVALS, AggTrade, Candle, SymbolState, Trade
from .params import long_param

if TYPE_CHECKING:
    from .rest import RestRequest, RestServer

Obj = dict[str, Any]
T = TypeVar("T")

#: ``aggTrades``: the longest start/end window (milliseconds) served.
AGG_WINDOW_MS: Final = 3_600_000
#: Highest ``limit`` of trades/aggTrades/historicalTrades (all products).
MAX_TRADES: Final = 1000
#: Highest ``limit`` of klines: spot 1000, futures 1500.
MAX_KLINES: Final[dict[MarketName, int]] = {"spot": 1000, "usdm": 1500, "coinm": 1500}


def _error(code: int, msg: str, status: int = 400) -> Exception:
    from .rest import ApiError

    return ApiError(code, msg, status)


def _int(req: RestRequest, name: str) -> int | None:
    return long_param(req.params, name)


def _limit(req: RestRequest, default: int, maximum: int) -> int:
    limit = _int(req, "limit")
    if limit is None:
        return default
    if limit < 1:
        raise _error(
            -1100, f"Illegal characters found in parameter 'limit'; legal range is '1-{maximum}'."
        )
    return min(limit, maximum)  # Binance serves at most the maximum rather than failing


class MarketRest:
    """The public market routes of one :class:`RestServer` (all three products)."""

    def __init__(self, server: RestServer, engine: Engine) -> None:
        self.server, self.engine = server, engine

    def install(self, market: MarketName, prefix: str, pool: str) -> None:
        route = self.server.route
        spot = market == "spot"

        def bind(fn: Callable[[MarketName, RestRequest], Any]) -> Callable[[RestRequest], Any]:
            return lambda r: fn(market, r)

        route(
            "GET",
            f"{prefix}/ticker/24hr",
            bind(self.ticker_24hr),
            weight=bind(self._ticker_weight),
            pool=pool,
        )
        route(
            "GET",
            f"{prefix}/ticker/bookTicker",
            bind(self.book_ticker),
            weight=bind(self._book_ticker_weight),
            pool=pool,
        )
        route("GET", f"{prefix}/trades", bind(self.trades), weight=25 if spot else 5, pool=pool)
        route(
            "GET", f"{prefix}/aggTrades", bind(self.agg_trades), weight=4 if spot else 20, pool=pool
        )
        route(
            "GET",
            f"{prefix}/klines",
            bind(self.klines),
            weight=bind(self._klines_weight),
            pool=pool,
        )
        if spot:
            route(
                "GET",
                "/sapi/v1/system/status",
                lambda r: {"status": 0, "msg": "normal"},
                weight=1,
                pool=pool,
            )

    # -- helpers -----------------------------------------------------------------------------
    def _state(self, market: MarketName, req: RestRequest) -> SymbolState:
        symbol = self.server.symbol_param(market, req)
        return self.engine.generators[market].states[symbol]

    def _selected(self, market: MarketName, req: RestRequest) -> list[SymbolState] | None:
        """The states ``symbol=``/``symbols=`` name (``None``: every symbol)."""
        if "symbol" in req.params:
            return [self._state(market, req)]
        raw = req.params.get("symbols")
        if raw is None or market != "spot":
            return None
        try:
            wanted = json.loads(raw)
        except ValueError:
            wanted = None
        if (
            not isinstance(wanted, list)
            or not wanted
            or not all(isinstance(s, str) for s in wanted)
        ):
            raise _error(
                -1100,
                "Illegal characters found in parameter 'symbols'; legal range is "
                '\'^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$\'.',
            )
        states = self.engine.generators[market].states
        if any(s not in states for s in wanted):
            raise _error(-1121, "Invalid symbol.")
        return [states[s] for s in dict.fromkeys(wanted)]

    # -- weights (Binance: by how many symbols or rows the call asks for) ---------------------
    def _ticker_weight(self, market: MarketName, req: RestRequest) -> int:
        if "symbol" in req.params:
            return 2 if market == "spot" else 1
        if market != "spot":
            return 40
        raw = req.params.get("symbols")
        if raw is None:
            return 80
        count = raw.count(",") + 1
        return 2 if count <= 20 else 40 if count <= 100 else 80

    def _book_ticker_weight(self, market: MarketName, req: RestRequest) -> int:
        if "symbol" in req.params:
            return 2
        return 4 if market == "spot" else 5

    def _klines_weight(self, market: MarketName, req: RestRequest) -> int:
        if market == "spot":
            return 2
        limit = _limit(req, 500, MAX_KLINES[market])
        return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10

    # -- tickers -----------------------------------------------------------------------------
    def ticker_24hr(self, market: MarketName, req: RestRequest) -> Any:
        with self.engine.lock:
            chosen = self._selected(market, req)
            now = now_ms()
            states = (
                chosen if chosen is not None else self.engine.generators[market].states.values()
            )
            rows = [_ticker_row(st, now) for st in states]
        return rows[0] if "symbol" in req.params else rows

    def book_ticker(self, market: MarketName, req: RestRequest) -> Any:
        with self.engine.lock:
            chosen = self._selected(market, req)
            now = now_ms()
            states = (
                chosen if chosen is not None else self.engine.generators[market].states.values()
            )
            rows = [_book_row(st, now) for st in states]
        return rows[0] if "symbol" in req.params else rows

    # -- trades ------------------------------------------------------------------------------
    def trades(self, market: MarketName, req: RestRequest) -> list[Obj]:
        limit = _limit(req, 500, MAX_TRADES)
        with self.engine.lock:
            st = self._state(market, req)
            return [_trade_row(st, t) for t in _last(st.trade_history, limit)]

    def historical_trades(self, market: MarketName, req: RestRequest) -> list[Obj]:
        """``historicalTrades``: from ``fromId`` (inclusive), else the most recent."""
        limit = _limit(req, 500, MAX_TRADES)
        from_id = _int(req, "fromId")
        with self.engine.lock:
            st = self._state(market, req)
            if from_id is None:
                rows: Iterable[Trade] = _last(st.trade_history, limit)
            else:
                rows = _first((t for t in st.trade_history if t.id >= from_id), limit)
            return [_trade_row(st, t) for t in rows]

    def agg_trades(self, market: MarketName, req: RestRequest) -> list[Obj]:
        limit = _limit(req, 500, MAX_TRADES)
        from_id = _int(req, "fromId")
        start, end = _int(req, "startTime"), _int(req, "endTime")
        if from_id is not None and (start is not None or end is not None):
            raise _error(-1128, "Combination of optional parameters invalid.")
        if start is not None and end is not None:
            if end < start:
                raise _error(-1128, "Combination of optional parameters invalid.")
            if end - start > AGG_WINDOW_MS:  # a window of exactly one hour is served
                raise _error(-1127, "More than 1 hours between startTime and endTime.")
        with self.engine.lock:
            st = self._state(market, req)
            tape: Sequence[AggTrade] = st.agg_history
            picked: Iterable[AggTrade]
            if from_id is not None:
                picked = _first((a for a in tape if a.id >= from_id), limit)
            elif start is not None:
                picked = _first(
                    (a for a in tape if a.time >= start and (end is None or a.time <= end)), limit
                )
            elif end is not None:
                picked = _last([a for a in tape if a.time <= end], limit)
            else:
                picked = _last(tape, limit)
            return [_agg_row(st, a) for a in picked]

    # -- klines ------------------------------------------------------------------------------
    def klines(self, market: MarketName, req: RestRequest) -> list[list[Any]]:
        interval = req.params.get("interval", "")
        if not interval:
            raise _error(
                -1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed."
            )
        if interval not in KLINE_INTERVALS or (interval == "1s" and market != "spot"):
            raise _error(-1120, "Invalid interval.")
        limit = _limit(req, 500, MAX_KLINES[market])
        start, end = _int(req, "startTime"), _int(req, "endTime")
        if start is not None and end is not None and end < start:
            raise _error(-1128, "Combination of optional parameters invalid.")
        with self.engine.lock:
            st = self._state(market, req)
            st.roll_candles(now_ms())  # close intervals that ended without a trade
            candles = [*st.candle_history[interval], st.candles[interval]]
            wanted = (
                c
                for c in candles
                if (start is None or c.open_time >= start) and (end is None or c.open_time <= end)
            )
            chosen = _first(wanted, limit) if start is not None else _last(list(wanted), limit)
            return [_kline_row(st, c) for c in chosen]


# -- rows ------------------------------------------------------------------------------------
def _first(items: Iterable[T], n: int) -> list[T]:
    out: list[T] = []
    for item in items:
        if len(out) >= n:
            break
        out.append(item)
    return out


def _last(items: Sequence[T], n: int) -> list[T]:
    size = len(items)
    return [items[i] for i in range(max(0, size - n), size)]


def _ticker_row(st: SymbolState, now: int) -> Obj:
    """``ticker/24hr`` for one symbol: the same window the ``@ticker`` stream reports."""
    w = _ticker_window(st, now)
    row: Obj = {
        "symbol": st.spec.symbol,
        "priceChange": w["p"],
        "priceChangePercent": w["P"],
        "weightedAvgPrice": w["w"],
    }
    if st.market == "coinm":
        row["pair"] = st.spec.pair
    if st.market == "spot":
        bid, ask = st.book.best(BID) or 0, st.book.best(ASK) or 0
        row.update(
            {
                "prevClosePrice": w["o"],
                "lastPrice": w["c"],
                "lastQty": w["Q"],
                "bidPrice": st.px(bid),
                "bidQty": st.qty(st.book.levels[BID].get(bid, 0)),
                "askPrice": st.px(ask),
                "askQty": st.qty(st.book.levels[ASK].get(ask, 0)),
            }
        )
    else:
        row.update({"lastPrice": w["c"], "lastQty": w["Q"]})
    row.update({"openPrice": w["o"], "highPrice": w["h"], "lowPrice": w["l"], "volume": w["v"]})
    # COIN-M reports the base-asset volume where the others report the quote volume.
    row["baseVolume" if st.market == "coinm" else "quoteVolume"] = w["q"]
    row.update(
        {
            "openTime": w["O"],
            "closeTime": w["C"],
            "firstId": w["F"],
            "lastId": w["L"],
            "count": w["n"],
        }
    )
    return row


def _book_row(st: SymbolState, now: int) -> Obj:
    bid, ask = st.book.best(BID) or 0, st.book.best(ASK) or 0
    row: Obj = {"symbol": st.spec.symbol}
    if st.market == "coinm":
        row["pair"] = st.spec.pair
    row.update(
        {
            "bidPrice": st.px(bid),
            "bidQty": st.qty(st.book.levels[BID].get(bid, 0)),
            "askPrice": st.px(ask),
            "askQty": st.qty(st.book.levels[ASK].get(ask, 0)),
        }
    )
    if st.market != "spot":
        row["time"] = now
        if st.market == "usdm":
            row["lastUpdateId"] = st.update_id
    return row


def _trade_row(st: SymbolState, t: Trade) -> Obj:
    row: Obj = {"id": t.id, "price": st.px(t.price), "qty": st.qty(t.qty)}
    if st.market == "coinm":
        row["baseQty"] = f"{st.quote_of(t.price, t.qty):.8f}"
    else:
        row["quoteQty"] = f"{st.quote_of(t.price, t.qty):.8f}"
    row.update({"time": t.time, "isBuyerMaker": t.buyer_maker})
    if st.market == "spot":
        row["isBestMatch"] = True
    return row


def _agg_row(st: SymbolState, a: AggTrade) -> Obj:
    row: Obj = {"a": a.id, "p": st.px(a.price), "q": st.qty(a.qty)}
    if st.market == "usdm":
        row["nq"] = st.qty(a.qty)
    row.update({"f": a.first_id, "l": a.last_id, "T": a.time, "m": a.buyer_maker})
    if st.market == "spot":
        row["M"] = True
    return row


def _kline_row(st: SymbolState, c: Candle) -> list[Any]:
    places = 8 if st.market == "spot" else st.spec.qty_decimals
    return [
        c.open_time,
        st.px(c.open),
        st.px(c.high),
        st.px(c.low),
        st.px(c.close),
        st.dec(c.volume, places),
        c.close_time,
        f"{c.quote_volume:.8f}",
        c.count,
        st.dec(c.taker_volume, places),
        f"{c.taker_quote_volume:.8f}",
        "0",
    ]
