"""Binance market data, sans-I/O: stream payloads → unified structures, caches and books.

One ``MarketData`` per client routes the payloads of every market-stream
connection. It is not thread-safe; the client serialises calls with one lock
(held only for this bookkeeping, never while user code runs).

Message hashes (what ``watch_*`` waits on and ``on_*`` listens to):

=============================  ===========================  ========
hash                           value                        policy
=============================  ===========================  ========
``ticker:<symbol>``            ``Ticker``                   latest
``tickers``                    ``dict[symbol, Ticker]``     latest
``bidask:<symbol>``            ``Ticker`` (bid/ask only)    latest
``trades:<symbol>``            ``list[Trade]``              append
``ohlcv:<symbol>:<tf>``        ``list[OHLCV]``              append
``orderbook:<symbol>``         ``OrderBook``                latest
``markPrice:<symbol>``         ``Ticker`` (markPrice)       latest
``fundingRate:<symbol>``       ``FundingRate``              latest
``liquidations:<symbol>``      ``list[Liquidation]``        append
=============================  ===========================  ========
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import msgspec

from ... import _orderbook
from ..._core.cache import ArrayCache, ArrayCacheByTimestamp
from ..._core.events import Deferred, Delivery, Inbound, Notice, Policy
from ..._core.gap_raw import HeldRaw
from ..._core.trade_gap import GapFiller, GapRequest, GapStep
from ..._exceptions import ProtocolError
from ..._structures import OHLCV, FundingRate, Liquidation, Market, Ticker, Trade
from . import parsers, ticker_floats, trade_stream, wire
from .book_sync import BookSync, SyncResult, SyncStatus
from .combined import RAW_FRAME, Combined, EventHandler, FrameDecode, combined_decoder
from .markets import Markets
from .stream_protocol import Routed, routed

Handler = Callable[[msgspec.Raw], list[Delivery]]

LATEST = Policy.LATEST
APPEND = Policy.APPEND


def ticker_hash(symbol: str) -> str:
    return f"ticker:{symbol}"


def bidask_hash(symbol: str) -> str:
    return f"bidask:{symbol}"


def trades_hash(symbol: str) -> str:
    return f"trades:{symbol}"


def ohlcv_hash(symbol: str, timeframe: str) -> str:
    return f"ohlcv:{symbol}:{timeframe}"


def orderbook_hash(symbol: str) -> str:
    return f"orderbook:{symbol}"


def mark_price_hash(symbol: str) -> str:
    return f"markPrice:{symbol}"


def funding_hash(symbol: str) -> str:
    return f"fundingRate:{symbol}"


def liquidations_hash(symbol: str) -> str:
    return f"liquidations:{symbol}"


TICKERS_HASH = "tickers"


@dataclass(frozen=True, slots=True)
class SnapshotWanted:
    """Task: the book of ``symbol`` needs a REST depth snapshot."""

    symbol: str


@dataclass(frozen=True, slots=True)
class GapWanted:
    """Task: fetch the trades (``timeframe`` None) or candles ``request`` names."""

    symbol: str
    timeframe: str | None
    request: GapRequest


def _never() -> bool:
    return False


class MarketData:
    """State and parsing for every market stream of one client (see module docstring)."""

    def __init__(
        self,
        markets: Markets,
        *,
        trades_limit: int = 1000,
        ohlcv_limit: int = 1000,
        liquidations_limit: int = 1000,
        book_depth: int | None = None,
        book_view_limit: int | None = 100,
        lock: AbstractContextManager[Any] | None = None,
        defer_views: bool = False,
        fill_gaps: bool = False,
        backfill: bool = True,
    ) -> None:
        self.markets = markets
        self.product = markets.product
        self.futures = self.product != "spot"
        #: float or Decimal (checked: NaN and infinities are refused), fixed per client.
        self.number: Any = markets.number
        self.trades_limit = trades_limit
        self.ohlcv_limit = ohlcv_limit
        self.liquidations_limit = liquidations_limit
        self.book_depth = book_depth
        self.book_view_limit = book_view_limit
        #: Guards this state when a deferred book view is built on a consumer's thread.
        self.lock = lock if lock is not None else nullcontext()
        #: Publish order books as ``Deferred`` views (live) rather than copies (replay).
        self.defer_views = defer_views
        #: Telemetry for the protocol to send once locks are released.
        self.notices: list[Notice] = []
        #: Work for the client's helper threads (``SnapshotWanted``, ``GapWanted``),
        #: returned by value like the notices: nothing here calls up into the client.
        self.tasks: list[Any] = []
        #: Whether the client's snapshot requests find no worker to fetch them (the
        #: system refused the thread): books still waiting then ask again.
        self.snapshots_stalled: Callable[[], bool] = _never
        self._handlers: dict[str, Handler] = {}
        #: Per bound stream, its one-pass frame decoder and the handler of what that
        #: decodes to (the payload as a wire struct, or raw) (see ``bind``).
        self._events: dict[str, tuple[FrameDecode, EventHandler]] = {}
        #: Per bound stream whose handler has a run form, that form (see ``bind_run``).
        self._runs: dict[str, trade_stream.RunHandler] = {}
        self.trades: dict[str, ArrayCache[Trade]] = {}
        self.ohlcvs: dict[tuple[str, str], ArrayCacheByTimestamp[OHLCV]] = {}
        self.liquidations: dict[str, ArrayCache[Liquidation]] = {}
        self.tickers: dict[str, Ticker] = {}
        self.bids_asks: dict[str, Ticker] = {}
        self.mark_prices: dict[str, Ticker] = {}
        self.funding_rates: dict[str, FundingRate] = {}
        self.books: dict[str, BookSync[Any]] = {}
        #: Raw-log entries of applied REST snapshots, by symbol, handed over ahead of
        #: the symbol's next depth diff (see ``apply_snapshot``).
        self._held_raw: dict[str, list[Delivery]] = {}
        #: Gap filling per trades stream (symbol) and candle stream ((symbol, tf)):
        #: only live (``fill_gaps``); ``backfill=False`` reports gaps only.
        self._fill_gaps = fill_gaps
        self._backfill = backfill
        self.trade_gaps: dict[str, GapFiller[Trade]] = {}
        self.candle_gaps: dict[tuple[str, str], GapFiller[OHLCV]] = {}
        #: Gap-filled streams by name (to hold the raw entries of held frames) and
        #: those entries (see ``route_raw``).
        self._gap_of: dict[str, tuple[tuple[str, str | None], GapFiller[Any]]] = {}
        self._held_frames = HeldRaw()
        #: Diff-depth streams unsubscribed and not subscribed again: frames still in
        #: flight for them are dropped (a book made from them would fetch a snapshot
        #: for nobody). At most one entry per stream name the client ever subscribed.
        self._ended: set[str] = set()
        #: Frames dropped so (for figures and tests).
        self.late_frames = 0

    # -- StreamRouter ----------------------------------------------------------------
    def route(self, stream: str, data: msgspec.Raw, now: float) -> Routed:
        handler = self._handlers.get(stream)
        if handler is None:
            if stream in self._ended:  # in flight when it was unsubscribed
                self.late_frames += 1
                return []
            handler = self._handler(stream)
        deliveries = handler(data)
        if self.notices or self.tasks:  # handed over with the deliveries that caused them
            return routed(deliveries, self.take_notices(), self.take_tasks())
        return deliveries

    def bind(self, stream: str) -> tuple[FrameDecode, EventHandler]:
        """``stream``'s whole-frame decoder (one pass: envelope and payload) and the
        handler of the payload it yields: ``route`` without its per-frame lookup and
        second decode. The caller hands over ``take_notices``/``take_tasks`` with the
        handler's deliveries, as ``route`` does. Raises as ``route`` would for a
        stream without a handler."""
        if stream not in self._handlers:
            self._handler(stream)
        return self._events[stream]

    def bind_run(self, stream: str) -> trade_stream.RunHandler | None:
        """The run form of ``stream``'s bound handler (``bind``): it takes a burst's
        consecutive payloads of the stream in one call, up to the first one the
        handler must see alone; None when the handler has none."""
        self.bind(stream)
        return self._runs.get(stream)

    def _handler(self, stream: str) -> Handler:
        handler = self._handlers[stream] = self._bind(stream)
        # Streams without a typed handler (bound by _bind) get their raw payload.
        self._events.setdefault(stream, (RAW_FRAME, handler))
        return handler

    def route_raw(self, stream: str, data: msgspec.Raw, now: float, raw: Delivery) -> Routed:
        """``route``, with the frame's raw-log entry: it goes out after the frame's
        deliveries, or, when a gap holds the frame's item, once the item is released
        (``drain_gap``), so that the raw log keeps the order of delivery. A frame
        dropped as late (see ``route``) is not logged: it changed nothing."""
        if stream in self._ended and stream not in self._handlers:
            self.late_frames += 1
            return []
        result = self.route(stream, data, now)
        gap = self._gap_of.get(stream)
        if gap is not None and gap[1].holding:
            self._held_frames.hold(gap[0], raw)
            return result
        if isinstance(result, Inbound):
            result.deliveries = [*result.deliveries, raw]
            return result
        return [*result, raw]

    def take_notices(self) -> list[Notice]:
        """The telemetry gathered since the last call, by value (call under the lock)."""
        notices, self.notices = self.notices, []
        return notices

    def take_tasks(self) -> list[Any]:
        """The tasks gathered since the last call, by value (call under the lock)."""
        tasks, self.tasks = self.tasks, []
        return tasks

    def hashes(self, stream: str) -> list[str]:
        market_id, kind = wire.classify_stream(stream, self.product)
        if market_id is None:
            return [TICKERS_HASH] if kind.endswith("_arr") else []
        symbol = self.markets.by_id(market_id).symbol
        if kind == "markPrice":
            return [mark_price_hash(symbol), funding_hash(symbol)]
        if kind == "kline":
            return [ohlcv_hash(symbol, stream.split("@")[1].removeprefix("kline_"))]
        return [_KIND_HASH[kind](symbol)]

    def reset(self, streams: Iterable[str]) -> Routed:
        """A connection carrying ``streams`` went away: their books can no longer chain."""
        for stream in streams:
            market_id, kind = wire.classify_stream(stream, self.product)
            if kind == "kline" and market_id is not None:
                timeframe = stream.split("@")[1].removeprefix("kline_")
                candles = self.candle_gaps.get((self.markets.by_id(market_id).symbol, timeframe))
                if candles is not None:
                    candles.reset()
            if kind == "depthUpdate" and market_id is not None:
                book = self.books.get(self.markets.by_id(market_id).symbol)
                if book is not None:
                    book.invalidate("connection lost")
        return routed([], self.take_notices(), self.take_tasks())

    def opened(self, streams: Iterable[str]) -> list[Delivery]:
        return []

    # -- order-book snapshots ----------------------------------------------------------
    def snapshot(self, stream: str, body: bytes, depth: int, raw: Delivery | None) -> Routed:
        """``apply_snapshot`` for the book ``stream`` feeds, with its notices and tasks."""
        symbol = self.markets.by_id(stream.split("@", 1)[0]).symbol
        deliveries = self.apply_snapshot(symbol, body, depth, raw)
        return routed(deliveries, self.take_notices(), self.take_tasks())

    def apply_snapshot(
        self,
        symbol: str,
        body: bytes,
        depth: int,
        raw: Delivery | None = None,
        *,
        bounds: tuple[Any, Any] | None = None,
    ) -> list[Delivery]:
        """Feed a REST depth snapshot to ``symbol``'s book; asks for another if unusable.

        ``raw`` is the snapshot's raw-log entry. It goes out with the symbol's next
        depth diff, on the reader that applies it, so the raw log keeps the order in
        which the book took snapshot and diffs (handed over by the caller once the
        lock is released, it could follow diffs applied after it, and a replay would
        rebuild other books). ``bounds``: the book's side bounds a raw-log fence wrote
        (a replay's)."""
        book = self.books.get(symbol)
        if book is None:  # unsubscribed meanwhile
            return [] if raw is None else [raw]
        if raw is not None:
            self._held_raw.setdefault(symbol, []).append(raw)
        snapshot = wire.decode(self._snapshot_decoder(), body, "depth snapshot")
        levels = self._levels
        result = book.on_snapshot(
            snapshot.last_update_id,
            levels(snapshot.bids),
            levels(snapshot.asks),
            depth=depth,
            timestamp=snapshot.transaction_time or snapshot.event_time,
            bounds=bounds,
        )
        if self.defer_views and result.book is not None:
            # Live, the result is handed over once the data lock is released, possibly
            # after a newer diff's update: a deferred view is built from the book as it
            # is then, where the copy taken now would take consumers back in time.
            return [Delivery(orderbook_hash(symbol), self._deferred_view(book), LATEST)]
        return self._book_result(book, result)

    def _snapshot_decoder(self) -> msgspec.json.Decoder[Any]:
        """Depth snapshots (REST and spot partial depth): float books get float levels."""
        if self.markets.number_type is float:
            return wire.DEPTH_SNAPSHOT_FLOAT_DECODER
        return wire.DEPTH_SNAPSHOT_DECODER

    def drop_book(self, symbol: str, stream: str | None = None, *, ended: bool = False) -> None:
        """Forget ``symbol``'s book (unsubscribed). ``stream``'s handler is dropped too:
        it holds the book, and a later subscription must bind a new one. ``ended``: the
        stream is no longer subscribed, so its late frames are dropped (``route``) until
        a drop without it (the stream subscribed anew)."""
        self.books.pop(symbol, None)
        self._held_raw.pop(symbol, None)
        if stream is not None:
            self._handlers.pop(stream, None)
            self._events.pop(stream, None)
            if ended:
                self._ended.add(stream)
            else:
                self._ended.discard(stream)
            self._runs.pop(stream, None)

    # -- gap filling (trades and candles missed while a connection was down) -------------
    def _trade_filler(self, symbol: str) -> GapFiller[Trade] | None:
        if not self._fill_gaps:
            return None  # replay: what the log holds, as it holds it
        filler = self.trade_gaps.get(symbol)
        if filler is None:
            filler = self.trade_gaps[symbol] = GapFiller(_trade_key, enabled=self._backfill)
        return filler

    def _candle_filler(self, symbol: str, timeframe: str) -> GapFiller[OHLCV] | None:
        if not self._fill_gaps:
            return None
        filler = self.candle_gaps.get((symbol, timeframe))
        if filler is None:
            filler = GapFiller(
                _candle_key,
                step=timeframe_ms(timeframe),
                updates=True,
                enabled=self._backfill,
            )
            self.candle_gaps[(symbol, timeframe)] = filler
        return filler

    def _trades_step(self, symbol: str, step: GapStep[Trade]) -> list[Delivery]:
        for first, last in step.missing:
            self.notices.append(
                ("trades_gap", {"symbol": symbol, "timeframe": None, "first": first, "last": last})
            )
        if step.backfilled:
            done = step.backfilled
            self.notices.append(
                (
                    "trades_backfilled",
                    {
                        "symbol": symbol,
                        "timeframe": None,
                        "count": len(done),
                        "first": _trade_key(done[0]),
                        "last": _trade_key(done[-1]),
                    },
                )
            )
        if step.request is not None:
            self.tasks.append(GapWanted(symbol, None, step.request))
        if not step.deliver:
            return []
        cache = self.trades.setdefault(symbol, ArrayCache(self.trades_limit))
        for trade in step.deliver:
            cache.append(trade)
        return [Delivery(trades_hash(symbol), step.deliver, APPEND)]

    def _candles_step(self, symbol: str, timeframe: str, step: GapStep[OHLCV]) -> list[Delivery]:
        for first, last in step.missing:
            self.notices.append(
                (
                    "trades_gap",
                    {"symbol": symbol, "timeframe": timeframe, "first": first, "last": last},
                )
            )
        if step.backfilled:
            done = step.backfilled
            self.notices.append(
                (
                    "trades_backfilled",
                    {
                        "symbol": symbol,
                        "timeframe": timeframe,
                        "count": len(done),
                        "first": done[0].timestamp,
                        "last": done[-1].timestamp,
                    },
                )
            )
        if step.request is not None:
            self.tasks.append(GapWanted(symbol, timeframe, step.request))
        if not step.deliver:
            return []
        candles = self.ohlcvs.setdefault(
            (symbol, timeframe), ArrayCacheByTimestamp(self.ohlcv_limit)
        )
        for candle in step.deliver:
            candles.append(candle)
        return [Delivery(ohlcv_hash(symbol, timeframe), step.deliver, APPEND)]

    def backfilled(
        self,
        symbol: str,
        timeframe: str | None,
        token: int,
        items: list[Any] | None,
        more: bool,
        *,
        record: Callable[[int, int], Delivery] | None = None,
    ) -> tuple[list[Delivery], GapRequest | None]:
        """A fetched page of a gap (``None``: the gap failed): deliveries, next page.

        ``record(first, last)`` makes the page's raw-log entry, naming the keys of
        the items it supplied; it goes out after them, ahead of the held frames."""
        if timeframe is None:
            trades = self.trade_gaps.get(symbol)
            if trades is None:
                return [], None
            step_t = (
                trades.failed(token)
                if items is None
                else trades.backfilled(token, items, more=more)
            )
            request, step_t.request = step_t.request, None
            done_t = step_t.backfilled
            deliveries = self._trades_step(symbol, step_t)
            if record is not None and done_t:
                deliveries.append(record(_trade_key(done_t[0]), _trade_key(done_t[-1])))
            return deliveries, request
        candles = self.candle_gaps.get((symbol, timeframe))
        if candles is None:
            return [], None
        step_c = (
            candles.failed(token) if items is None else candles.backfilled(token, items, more=more)
        )
        request, step_c.request = step_c.request, None
        done_c = step_c.backfilled
        deliveries = self._candles_step(symbol, timeframe, step_c)
        if record is not None and done_c:
            deliveries.append(record(_candle_key(done_c[0]), _candle_key(done_c[-1])))
        return deliveries, request

    def replayed_page(self, symbol: str, timeframe: str | None, items: list[Any]) -> list[Delivery]:
        """A recorded backfill page (replay): its items, delivered as the live run did."""
        if timeframe is None:
            return self._trades_step(symbol, GapStep(deliver=items))
        return self._candles_step(symbol, timeframe, GapStep(deliver=items))

    def drain_gap(
        self, symbol: str, timeframe: str | None
    ) -> tuple[list[Delivery], bool, GapRequest | None]:
        """Release held live items after a backfill: deliveries, hold closed, a new gap."""
        if timeframe is None:
            trades = self.trade_gaps.get(symbol)
            if trades is None:
                return [], True, None
            step_t = trades.drain()
            request, step_t.request = step_t.request, None
            deliveries = self._trades_step(symbol, step_t)
            deliveries += self._held_frames.release((symbol, None), trades.held)
            return deliveries, step_t.closed, request
        candles = self.candle_gaps.get((symbol, timeframe))
        if candles is None:
            return [], True, None
        step_c = candles.drain()
        request, step_c.request = step_c.request, None
        deliveries = self._candles_step(symbol, timeframe, step_c)
        deliveries += self._held_frames.release((symbol, timeframe), candles.held)
        return deliveries, step_c.closed, request

    # -- binding a stream name to its handler ------------------------------------------
    def _bind(self, stream: str) -> Handler:
        market_id, kind = wire.classify_stream(stream, self.product)
        if market_id is None:
            return self._bind_all_market(kind)
        market = self.markets.by_id(market_id)
        symbol = market.symbol
        number = self.number
        if kind in ("trade", "aggTrade"):
            return self._typed(stream, *self._bind_trades(stream, kind, market))
        if kind in _TICKER_KINDS and self.markets.number_type is float:
            # One decode, the numbers in C, info kept undecoded (see ticker_floats); a
            # bound stream's frame is read in that one decode too (ticker_floats.bound).
            store = self.bids_asks if kind == "bookTicker" else self.tickers
            key = _KIND_HASH[kind](symbol)
            if kind != "bookTicker":  # (its payload is small: see ticker_floats.bound)
                self._events[stream] = ticker_floats.bound(kind, stream, market, store, key)
            return ticker_floats.handler(kind, market, number, store, key)
        if kind == "ticker":
            return self._latest(
                wire.TICKER_DECODER.decode,
                parsers.parse_ticker,
                market,
                self.tickers,
                ticker_hash(symbol),
            )
        if kind == "miniTicker":
            return self._latest(
                wire.MINI_TICKER_DECODER.decode,
                parsers.parse_mini_ticker,
                market,
                self.tickers,
                ticker_hash(symbol),
            )
        if kind == "bookTicker":
            return self._latest(
                wire.BOOK_TICKER_DECODER.decode,
                parsers.parse_book_ticker,
                market,
                self.bids_asks,
                bidask_hash(symbol),
            )
        if kind == "kline":
            timeframe = stream.split("@")[1].removeprefix("kline_")
            candles = self.ohlcvs.setdefault(
                (symbol, timeframe), ArrayCacheByTimestamp(self.ohlcv_limit)
            )
            key = ohlcv_hash(symbol, timeframe)
            decode_kline = wire.KLINE_DECODER.decode
            candle_gaps = self._candle_filler(symbol, timeframe)
            if candle_gaps is not None:
                self._gap_of[stream] = ((symbol, timeframe), candle_gaps)

            def on_kline(data: msgspec.Raw) -> list[Delivery]:
                event = _decode(decode_kline, data)
                candle = parsers.parse_kline(event, market, number)
                if candle_gaps is None:
                    candles.append(candle)
                    return [Delivery(key, [candle], APPEND)]
                step = candle_gaps.live(candle, event.kline.closed)
                return self._candles_step(symbol, timeframe, step)

            return on_kline
        if kind == "markPrice" and self.markets.number_type is float:
            return ticker_floats.mark_price_handler(
                market,
                number,
                funding_rates=self.funding_rates,
                mark_prices=self.mark_prices,
                mark_key=mark_price_hash(symbol),
                funding_key=funding_hash(symbol),
            )
        if kind == "markPrice":
            decode_mark = wire.MARK_PRICE_DECODER.decode
            mark_key, funding_key = mark_price_hash(symbol), funding_hash(symbol)

            def on_mark(data: msgspec.Raw) -> list[Delivery]:
                event = _decode(decode_mark, data)
                funding = parsers.parse_mark_price(event, market, number)
                ticker = parsers.parse_mark_price_ticker(event, market, number)
                self.funding_rates[symbol] = funding
                self.mark_prices[symbol] = ticker
                return [Delivery(mark_key, ticker, LATEST), Delivery(funding_key, funding, LATEST)]

            return on_mark
        if kind == "forceOrder":
            liquidations = self.liquidations.setdefault(symbol, ArrayCache(self.liquidations_limit))
            key = liquidations_hash(symbol)
            decode_force = wire.FORCE_ORDER_DECODER.decode

            def on_force(data: msgspec.Raw) -> list[Delivery]:
                liquidation = parsers.parse_force_order(_decode(decode_force, data), market, number)
                liquidations.append(liquidation)
                return [Delivery(key, [liquidation], APPEND)]

            return on_force
        if kind == "depthUpdate":
            return self._bind_depth(stream, market)
        if kind == "partialDepth":
            return self._bind_partial_depth(market)
        raise ProtocolError(f"no handler for stream {stream!r}")

    def _typed(
        self, stream: str, decoder: msgspec.json.Decoder[Any], on_event: EventHandler
    ) -> Handler:
        """Bind ``stream`` to ``on_event`` of payloads ``decoder`` decodes: one-pass
        frames for ``bind``, and the raw payload's handler ``route`` calls."""
        self._events[stream] = (combined_decoder(decoder), on_event)
        decode = decoder.decode

        def on_raw(data: msgspec.Raw) -> list[Delivery]:
            return on_event(_decode(decode, data))

        return on_raw

    def _bind_trades(
        self, stream: str, kind: str, market: Market
    ) -> tuple[msgspec.json.Decoder[Any], EventHandler]:
        symbol = market.symbol
        number = self.number
        cache = self.trades.setdefault(symbol, ArrayCache(self.trades_limit))
        key = trades_hash(symbol)
        gaps = self._trade_filler(symbol)
        if gaps is not None:
            # One gap counter per symbol follows one id sequence: trade ids and aggregate
            # ids are two, and the other kind's trades would be dropped as repeats. A
            # client carries one kind (tradesStream); refuse a second rather than drop.
            other = next(
                (s for s, (_, g) in self._gap_of.items() if g is gaps and s != stream), None
            )
            if other is not None:
                raise ProtocolError(f"{stream}: {symbol} already follows {other}")
            self._gap_of[stream] = ((symbol, None), gaps)

        def on_gap(trade: Trade) -> list[Delivery]:
            assert gaps is not None
            return self._trades_step(symbol, gaps.live(trade))

        on_trade = trade_stream.trade_handler(
            kind == "aggTrade",
            market,
            number=number,
            cache=cache,
            key=key,
            gaps=gaps,
            on_gap=on_gap,
        )
        on_run = trade_stream.trade_run_handler(
            market, number=number, cache=cache, key=key, gaps=gaps
        )
        if on_run is not None:
            self._runs[stream] = on_run
        return wire.TRADE_DECODER if kind == "trade" else wire.AGG_TRADE_DECODER, on_trade

    def _latest(
        self,
        decode: Callable[[msgspec.Raw], Any],
        parse: Callable[[Any, Market, Any], Ticker],
        market: Market,
        store: dict[str, Ticker],
        key: str,
    ) -> Handler:
        number = self.number
        symbol = market.symbol

        def on_latest(data: msgspec.Raw) -> list[Delivery]:
            value = parse(_decode(decode, data), market, number)
            store[symbol] = value
            return [Delivery(key, value, LATEST)]

        return on_latest

    def _bind_all_market(self, kind: str) -> Handler:
        decoder = wire.DECODERS[kind]  # type: ignore[index]
        parse: Callable[[Any, Market, Any], Ticker] = (
            parsers.parse_ticker if kind == "ticker_arr" else parsers.parse_mini_ticker
        )
        if kind not in ("ticker_arr", "miniTicker_arr"):
            raise ProtocolError(f"all-market stream kind {kind!r} is not supported")
        number = self.number
        if self.markets.number_type is float:  # one decode per item (see ticker_floats)
            lookup = self.markets.get

            def on_all_floats(data: msgspec.Raw) -> list[Delivery]:
                updated: dict[str, Ticker] = {}
                for ticker in ticker_floats.all_market(kind, data, lookup, number):
                    self.tickers[ticker.symbol] = updated[ticker.symbol] = ticker
                return [Delivery(TICKERS_HASH, updated, LATEST)] if updated else []

            return on_all_floats

        def on_all(data: msgspec.Raw) -> list[Delivery]:
            updated: dict[str, Ticker] = {}
            for event in _decode(decoder.decode, data):
                market = self.markets.get(event.symbol)
                if market is None:  # listed after load_markets(); skip quietly
                    continue
                ticker = parse(event, market, number)
                self.tickers[market.symbol] = updated[market.symbol] = ticker
            return [Delivery(TICKERS_HASH, updated, LATEST)] if updated else []

        return on_all

    def _levels(self, levels: list[Any]) -> list[Any]:
        """Book levels as numbers: float levels are decoded checked already (finite,
        non-negative); string levels are converted here, NaN and infinities refused."""
        if self.markets.number_type is float:
            return levels
        return parsers.parse_levels(levels, self.number)

    def _book(self, market: Market, *, partial: bool) -> BookSync[Any]:
        book = self.books.get(market.symbol)
        if book is None or book.partial != partial:
            book = BookSync(
                market.symbol,
                futures=self.futures,
                limit=self.book_depth,
                view_limit=self.book_view_limit,
                partial=partial,
                number=self.number,
                # Levels arrive as numbers: from the float decoders, or converted by
                # _levels() on arrival, so a non-finite one fails its message before
                # anything is buffered or applied.
                parsed=True,
            )
            self.books[market.symbol] = book
        return book

    def book_for(self, market: Market) -> BookSync[Any]:
        """``market``'s diff-depth book, made if it has none (a replay's snapshot)."""
        return self._book(market, partial=False)

    def _bind_depth(self, stream: str, market: Market) -> Handler:
        symbol = market.symbol
        partial = stream.split("@")[1] != "depth"  # futures @depth<N> has the diff shape
        book = self._book(market, partial=partial)
        # Float books: msgspec turns the quoted levels into floats in C and the book
        # takes them as they are (parsed=True); Decimal books parse the strings. With
        # the C level loop, a diff book's levels stay JSON text until the loop packs
        # them (no tuple or float object per level; see _book_levels.pack_levels).
        floats = self.markets.number_type is float
        pack = _orderbook._pack_levels if floats and not partial else None
        decoder: msgspec.json.Decoder[Any] = (
            wire.DEPTH_UPDATE_RAW_LEVELS_DECODER
            if pack is not None
            else wire.DEPTH_UPDATE_FLOAT_DECODER
            if floats
            else wire.DEPTH_UPDATE_DECODER
        )

        view = not self.defer_views
        futures = self.futures
        key = orderbook_hash(symbol)
        held_raw = self._held_raw

        # Float levels are numbers already (checked by the decoder): nothing to call.
        levels = None if floats else self._levels
        updated = SyncStatus.UPDATED
        view_as_of = self._view_as_of(book)
        decode_levels = wire.FLOAT_LEVELS_DECODER.decode

        def on_depth(event: Any) -> list[Delivery]:
            bids: Any
            asks: Any
            if type(event) is tuple:  # read by depth_frame: (U, u, pu, T, E, bids, asks)
                first, final, prev, tx_time, event_time, bids, asks = event
            else:
                first, final = event.first_update_id, event.final_update_id
                prev, tx_time = event.prev_final_update_id, event.transaction_time
                event_time = event.event_time
                if pack is not None:
                    # Both sides before the book sees either: a bad level fails the message.
                    bids = pack(event.bids)
                    if bids is None:  # spelled otherwise: the float decoder's values or error
                        bids = _decode(decode_levels, event.bids)
                    asks = pack(event.asks)
                    if asks is None:
                        asks = _decode(decode_levels, event.asks)
                elif levels is None:
                    bids, asks = event.bids, event.asks
                else:
                    bids, asks = levels(event.bids), levels(event.asks)
            if partial:
                result = book.on_partial(final, bids, asks, tx_time or event_time, view=view)
            else:
                result = book.on_diff(
                    first,
                    final,
                    prev if futures else None,
                    bids,
                    asks,
                    tx_time or event_time,
                    view=view,
                )
            if result.status is updated:  # _book_result's common case, inline
                copy = result.book
                value = Deferred(view_as_of, book.book.nonce) if copy is None else copy
                deliveries = [Delivery(key, value, LATEST)]
            else:
                deliveries = self._book_result(book, result, key)
            if held_raw and symbol in held_raw:  # a snapshot applied since the last diff
                return [*held_raw.pop(symbol), *deliveries]
            return deliveries

        handler = self._typed(stream, decoder, on_depth)
        if pack is not None and _orderbook._depth_frame is not None:
            # Whole frames of this stream read in C when they are plain depthUpdates
            # (the common case); any other frame takes the one-pass decoder as before.
            self._events[stream] = (
                functools.partial(
                    _orderbook._depth_frame,
                    stream.encode(),
                    stream,
                    Combined,
                    combined_decoder(decoder),
                ),
                on_depth,
            )
        return handler

    def _bind_partial_depth(self, market: Market) -> Handler:
        book = self._book(market, partial=True)
        key = orderbook_hash(market.symbol)
        decode_partial = self._snapshot_decoder().decode
        levels = self._levels

        def on_partial(data: msgspec.Raw) -> list[Delivery]:
            snapshot = _decode(decode_partial, data)
            result = book.on_partial(
                snapshot.last_update_id, levels(snapshot.bids), levels(snapshot.asks)
            )
            return self._book_result(book, result, key)

        return on_partial

    def _deferred_view(self, sync: BookSync[Any]) -> Deferred:
        """The book as of now, copied only if a consumer takes it (call while synced)."""
        return Deferred(self._view_as_of(sync), sync.book.nonce)

    def _view_as_of(self, sync: BookSync[Any]) -> Callable[[int | None], Any]:
        """``sync``'s view builder for ``Deferred``: given the nonce the book had when
        the view was published, a copy of the book as it is now, or None while it
        resyncs (the next synced update is published then)."""
        lock = self.lock

        def build(nonce: int | None) -> Any:
            with lock:
                current = sync.nonce
                if current is None or nonce is None or current < nonce:
                    return None
                return sync.book.snapshot(sync.view_limit)

        return build

    def _book_result(
        self, sync: BookSync[Any], result: SyncResult[Any], key: str | None = None
    ) -> list[Delivery]:
        """What one book input means: a view to publish (deferred unless the result
        carries one), telemetry for a resync, a snapshot to ask for. ``key`` is the
        book's message hash, when the caller has it at hand."""
        symbol = sync.symbol
        status = result.status
        if status is SyncStatus.UPDATED:
            view = result.book
            value = self._deferred_view(sync) if view is None else view
            return [Delivery(key or orderbook_hash(symbol), value, LATEST)]
        if status is SyncStatus.RESYNC:
            reason = result.reason.value if result.reason is not None else "resync"
            self.notices.append(
                (
                    "order_book_resync",
                    {
                        "symbol": symbol,
                        "reason": f"{reason}: {result.detail}" if result.detail else reason,
                        "count": sync.stats.resyncs,
                    },
                )
            )
        if result.needs_snapshot or status is SyncStatus.NEED_SNAPSHOT:
            self.tasks.append(SnapshotWanted(symbol))
        elif status is SyncStatus.BUFFERED and self.snapshots_stalled():
            # Its request found no worker to fetch it (the system refused the thread):
            # ask again, which retries the start; a queued request is not doubled.
            self.tasks.append(SnapshotWanted(symbol))
        return []


_KIND_HASH: dict[str, Callable[[str], str]] = {
    "trade": trades_hash,
    "aggTrade": trades_hash,
    "ticker": ticker_hash,
    "miniTicker": ticker_hash,
    "bookTicker": bidask_hash,
    "depthUpdate": orderbook_hash,
    "partialDepth": orderbook_hash,
    "forceOrder": liquidations_hash,
}


#: Ticker streams a float client reads with ``ticker_floats``.
_TICKER_KINDS = frozenset(("ticker", "miniTicker", "bookTicker"))

_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def timeframe_ms(timeframe: str) -> int:
    """Length of a candle in milliseconds (``1M``: 31 days, an upper bound)."""
    unit = timeframe[-1]
    if unit == "M":
        return int(timeframe[:-1]) * 31 * 86_400_000
    return int(timeframe[:-1]) * _UNIT_MS[unit]


def _trade_key(trade: Trade) -> int:
    return int(trade.id or 0)


def _candle_key(candle: OHLCV) -> int:
    return candle.timestamp


def _decode(decode: Callable[[msgspec.Raw], Any], data: msgspec.Raw) -> Any:
    try:
        return decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as error:
        # (RecursionError: a value nested deeper than msgspec recurses)
        excerpt = bytes(data)[:200].decode("utf-8", "replace")
        raise ProtocolError(f"malformed Binance payload ({error}): {excerpt}") from error
