"""The handler of a bound ``@trade`` / ``@aggTrade`` stream: payload → ``Trade`` → cache.

What ``parsers.public_trade`` and the cache do per trade, in one function: the hot
path of a trades stream costs a call per step otherwise. Two things are cheaper here:

* ``datetime``: the handler keeps the ISO text of the last second it formatted;
  a trade in that second (trades in a burst share it) costs one subtraction and one
  concatenation, anything else goes through :func:`~ccxtpro_sync._structures.iso8601`
  (which also refuses negative and out-of-range times), so the text is always
  ``iso8601``'s.
* the gap check reads the filler's expected next id (``GapFiller.follows``) only
  when a filler is bound.

The result is the same ``Trade`` as ``parsers.public_trade`` gives, with the decoded
wire struct as ``info`` (tested against it); a malformed number fails with its error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..._core.cache import ArrayCache
from ..._core.events import Delivery, Policy
from ..._core.trade_gap import GapFiller
from ..._numbers import finite_float
from ..._structures import _MILLIS, Market, Trade, iso8601
from . import parsers
from .wire import AggTradeEvent, TradeEvent

__all__ = ["trade_handler"]

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
    follows = gaps.follows if gaps is not None else None
    append = cache.append
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
        if follows is None or follows(trade_id):  # no gap: the hot path
            append(trade)
            return [Delivery(key, [trade], _APPEND)]
        return on_gap(trade)

    return on_trade
