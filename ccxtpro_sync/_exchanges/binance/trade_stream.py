"""The handler of a bound ``@trade`` / ``@aggTrade`` stream: payload → ``Trade`` → cache.

What ``parsers.public_trade`` and the cache do per trade, in one function: the hot
path of a trades stream costs a call per step otherwise. What is cheaper here:

* a float client's ``Trade`` is built in one C call (``_trade_build.trade``, the
  optional compiled module): the id's text, both numbers, the ISO datetime, the side
  and the cost. It answers None for anything it does not do exactly as Python does
  (a number ``float()`` refuses or that is not finite, a field of an unexpected
  type), which then takes the Python path below and gets its result or its error.
  Without the module (or with ``CCXTPRO_SYNC_PURE_PYTHON=1``), and for ``Decimal``
  clients, every trade takes the Python path.
* the Python path's ``datetime``: the handler keeps the ISO text of the last second
  it formatted; a trade in that second (trades in a burst share it) costs one
  subtraction and one concatenation, anything else goes through
  :func:`~ccxtpro_sync._structures.iso8601` (which also refuses negative and
  out-of-range times), so the text is always ``iso8601``'s.
* the cache append is inlined (``ArrayCache.append``'s three lines).
* the gap check compares the id with the filler's ``cursor`` (what
  ``GapFiller.follows`` does, without the call) only when a filler is bound.

The result is the same ``Trade`` as ``parsers.public_trade`` gives, with the decoded
wire struct as ``info`` (tested against it); a malformed number fails with its error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import msgspec

from ... import _compiled
from ..._core.cache import ArrayCache
from ..._core.events import Delivery, Policy
from ..._core.trade_gap import GapFiller
from ..._numbers import finite_float
from ..._structures import _MILLIS, Market, Trade, iso8601
from . import parsers
from .wire import AggTradeEvent, TradeEvent

__all__ = ["RunHandler", "trade_handler", "trade_run_handler"]

#: ``CCXTPRO_SYNC_PURE_PYTHON`` set (not to ``0``) keeps the compiled builder out, as it
#: does the compiled order book and frame scan.
_PURE_PYTHON_ENV: Final = _compiled.PURE_PYTHON_ENV

#: ``(event, symbol, plain_cost) -> Trade | None``; see ``_trade_build.c``.
Build = Callable[[Any, str, bool], "Trade | None"]
#: ``(events, start, symbol, cursor, step) -> list[Trade]``; see ``_trade_build.c``.
BuildRun = Callable[[list[Any], int, str, "list[Any] | None", int], "list[Trade]"]
#: A bound stream's handler of a run of its decoded payloads from ``start`` on: returns
#: where it stopped and the deliveries of what it took (see ``trade_run_handler``).
RunHandler = Callable[[list[Any], int], tuple[int, list[Delivery]]]


#: The fields of a ``Trade`` the compiled builder computes.
_BUILT: Final = frozenset(
    ("id", "timestamp", "datetime", "symbol", "side", "price", "amount", "cost", "info")
)


def _compiled_build() -> Build | None:
    """``_trade_build.trade`` (C) when it was built and not ruled out, else None."""
    _trade_build = _compiled.load("_trade_build", "prepare", "trade", "run")
    if _trade_build is None:
        return None
    # The builder fills Trade's fields itself: the nine it sets, the rest with their
    # defaults, which must be None or a new empty list (else msgspec builds it).
    nones, lists = [], []
    for info in msgspec.structs.fields(Trade):
        if info.name in _BUILT:
            continue
        if info.default is None:
            nones.append(info.name)
        elif info.default_factory is list:
            lists.append(info.name)
        else:
            return None
    try:
        _trade_build.prepare(Trade, TradeEvent, AggTradeEvent, tuple(nones), tuple(lists))
    except TypeError:  # a layout it does not build (GC, __post_init__, other slots)
        return None
    build: Build = _trade_build.trade
    return build


#: The compiled builder or None (then every trade takes the Python path). Read when a
#: handler is made, so tests can make handlers of both kinds in one process.
build_trade: Build | None = _compiled_build()
#: Its run form (``_trade_build.run``), None whenever ``build_trade`` is.
build_run: BuildRun | None = None
if build_trade is not None:
    _built = _compiled.load("_trade_build", "run")
    assert _built is not None  # (build_trade came from it)
    build_run = _built.run

_NAN = float("nan")
_APPEND = Policy.APPEND
#: Below any time a decoded trade can have (msgspec's ints are 64-bit): no second cached.
_NONE_YET = -(2**80)


def trade_handler(
    agg: bool,
    market: Market,
    *,
    number: Callable[[str], Any],
    cache: ArrayCache[Trade],
    key: str,
    gaps: GapFiller[Trade] | None,
    on_gap: Callable[[Trade], list[Delivery]],
) -> Callable[[Any], list[Delivery]]:
    """The handler of decoded ``AggTradeEvent`` (``agg``) or ``TradeEvent`` payloads of
    ``market``: each becomes a ``Trade`` appended to ``cache`` and delivered under
    ``key``; a trade that does not directly follow the last one goes to ``on_gap``
    (``gaps.live``), which decides what is delivered."""
    symbol = market.symbol
    floats = number is finite_float
    plain_cost = not market.contract
    cost_of = parsers._cost
    # The filler's [last, next] (see GapFiller.cursor), None without a filler.
    cursor = gaps.cursor if gaps is not None else None
    step = gaps.step if gaps is not None else 1
    # ArrayCache.append, inline (see there): the deque's own append, the count, and
    # the per-symbol count only if this cache ever held another symbol.
    push = cache._items.append
    millis = _MILLIS
    # The second last formatted: its first millisecond and "YYYY-MM-DDTHH:MM:SS", one
    # tuple so that a reader never pairs one second's start with another's text.
    second: tuple[int, str] = (_NONE_YET, "")

    def on_trade(event: AggTradeEvent | TradeEvent) -> list[Delivery]:
        nonlocal second
        trade_id = event.agg_trade_id if agg else event.trade_id  # type: ignore[union-attr]
        price: Any
        amount: Any
        if floats:
            # builtin float (a C call each) and one finiteness check for both; a
            # failure goes back through finite_float for its precise error.
            try:
                price = float(event.price)
                amount = float(event.quantity)
            except ValueError:
                price = amount = _NAN
            if price - price + (amount - amount):  # 0.0 when finite; NaN when either is not
                price, amount = finite_float(event.price), finite_float(event.quantity)
        else:
            price = number(event.price)
            amount = number(event.quantity)
        ts = event.trade_time
        datetime: str | None
        start, text = second
        offset = ts - start
        if 0 <= offset < 1000:
            datetime = text + millis[offset]
        else:
            datetime = iso8601(ts)
            if datetime is not None:  # in range: cache its second
                second = (ts - ts % 1000, datetime[:-5])
        trade = Trade(
            id=str(trade_id),
            timestamp=ts,
            datetime=datetime,
            symbol=symbol,
            side="sell" if event.buyer_is_maker else "buy",
            price=price,
            amount=amount,
            cost=price * amount if plain_cost else cost_of(price, amount, market),
            info=event,
        )
        if cursor is not None:
            if trade_id != cursor[1]:
                return on_gap(trade)
            cursor[0] = trade_id  # GapFiller.follows, inline
            cursor[1] = trade_id + step
        push(trade)
        cache._total += 1
        if cache._only is not symbol:
            cache._count_symbol(symbol)
        return [Delivery(key, [trade], _APPEND)]

    build = build_trade if floats else None
    if build is None:
        return on_trade

    def on_trade_compiled(event: AggTradeEvent | TradeEvent) -> list[Delivery]:
        trade = build(event, symbol, plain_cost)
        if trade is None:  # not one the builder takes as is: the Python path decides
            return on_trade(event)
        if not plain_cost:
            price: Any = trade.price  # both floats: the builder made them
            trade.cost = cost_of(price, trade.amount, market)
        # From here on the same steps as ``on_trade``'s tail, written out again on
        # purpose: a shared helper would add a call per trade on the hottest path.
        if cursor is not None:
            trade_id = event.agg_trade_id if agg else event.trade_id  # type: ignore[union-attr]
            if trade_id != cursor[1]:
                return on_gap(trade)
            cursor[0] = trade_id  # GapFiller.follows, inline
            cursor[1] = trade_id + step
        push(trade)
        cache._total += 1
        if cache._only is not symbol:
            cache._count_symbol(symbol)
        return [Delivery(key, [trade], _APPEND)]

    return on_trade_compiled


def trade_run_handler(
    market: Market,
    *,
    number: Callable[[str], Any],
    cache: ArrayCache[Trade],
    key: str,
    gaps: GapFiller[Trade] | None,
) -> RunHandler | None:
    """The handler of a run of one stream's decoded payloads (a burst's consecutive
    frames), or None where there is none and every payload goes to ``trade_handler``'s
    handler: a ``Decimal`` client, a contract market (its cost is Python's), or no
    compiled builder.

    ``run(events, start)`` builds the trades of ``events[start:]`` in one C call
    (``_trade_build.run``) up to the first one the per-trade handler must see (one
    the builder refuses, one that does not follow the last: a gap), appends them to
    ``cache`` and returns where it stopped with one ``Delivery`` for all of them
    (none when it took none). It never raises on input and gathers no notices: what
    it stops at is the per-trade handler's, which gives it its result or error. So a
    run and the per-trade handler one payload at a time give the same trades, in the
    same order, into the same cache (tested both ways)."""
    build = build_run if build_trade is not None else None
    if build is None or number is not finite_float or market.contract:
        return None
    symbol = market.symbol
    cursor = gaps.cursor if gaps is not None else None
    step = gaps.step if gaps is not None else 1
    extend = cache._items.extend

    def run(events: list[Any], start: int) -> tuple[int, list[Delivery]]:
        trades = build(events, start, symbol, cursor, step)
        if not trades:
            return start, []
        extend(trades)  # ArrayCache.append for each, inline (see there)
        taken = len(trades)
        if cache._only is symbol:  # every entry has this symbol: only the total counts
            cache._total += taken
        else:
            for _ in trades:
                cache._total += 1
                cache._count_symbol(symbol)
        return start + taken, [Delivery(key, trades, _APPEND)]

    return run
