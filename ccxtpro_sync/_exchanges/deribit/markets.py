"""Deribit instruments (``public/get_instruments``) → unified markets.

Symbols follow CCXT's Deribit rules (protocol reference §5), built from the
catalog's fields, never by parsing the instrument name (names like
``XRP_USDC-10APR26-1.35-C`` or ``BTC-PR2-70000-C`` defeat any regex):

* base = ``base_currency``, quote = ``counter_currency`` (not
  ``quote_currency``, which is ``BTC`` on inverse options), settle =
  ``settlement_currency``;
* perpetual → ``BASE/QUOTE:SETTLE``; future → ``...-YYMMDD`` (from
  ``expiration_timestamp``, UTC); option → ``...-YYMMDD-STRIKE-C|P``;
  spot → ``BASE/QUOTE``. Combos are not markets here (they have no unified symbol).

Precision is CCXT's tick-size mode: ``precision.price`` = ``tick_size`` (the
finest tick; :func:`price_tick` gives the tick at a price under
``tick_size_steps``), ``precision.amount`` = ``limits.amount.min`` =
``min_trade_amount``. Expired instruments are left out: those with
``is_active`` false, and, when the caller passes ``now_ms``, those that
expired by then (this module reads no clock).
"""

from __future__ import annotations

import datetime as _dt
import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from ..._exceptions import BadSymbol, ProtocolError
from ..._markets import MarketTable
from ..._numbers import Num, NumberConverter, finite, number_type
from ..._structures import Limits, Market, MarketKindName, MinMax, Precision, iso8601
from .values import num, opt_int, opt_num, req_num, req_str

__all__ = [
    "SETTLE_CURRENCIES",
    "DeribitMarkets",
    "instruments_requests",
    "parse_market",
    "parse_markets",
    "price_tick",
]

#: The settlement currencies whose instruments become markets.
SETTLE_CURRENCIES: Final = ("BTC", "ETH", "USDC")
#: Deribit's "never expires" timestamp (perpetuals).
_PERPETUAL_EXPIRY: Final = 32503708800000


def instruments_requests(
    currencies: Sequence[str] = SETTLE_CURRENCIES,
) -> list[tuple[str, dict[str, Any]]]:
    """``(method, params)`` for each ``public/get_instruments`` call (one per
    currency: ``currency`` is required; expired instruments not asked for)."""
    return [("public/get_instruments", {"currency": c, "expired": False}) for c in currencies]


def _yymmdd(ms: int) -> str:
    day = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.UTC)
    return day.strftime("%y%m%d")


def _strike_text(strike: Num) -> str:
    """``70000.0`` → ``"70000"``, ``1.35`` → ``"1.35"`` (CCXT's number-to-string)."""
    exact = strike if isinstance(strike, Decimal) else Decimal(repr(strike))
    text = format(exact.normalize(), "f")
    return text


def parse_market(raw: Mapping[str, Any], *, number: NumberConverter = float) -> Market | None:
    """One instrument as a :class:`Market`, or ``None`` for a combo (no unified symbol)."""
    kind = req_str(raw, "kind")
    if "combo" in kind:
        return None
    market_id = req_str(raw, "instrument_name")
    base = req_str(raw, "base_currency")
    quote = raw.get("counter_currency") or req_str(raw, "quote_currency")
    if not isinstance(quote, str):
        raise ProtocolError(f"deribit instrument {market_id!r} without a quote currency")
    settle_raw = raw.get("settlement_currency")
    spot = kind == "spot"
    swap = raw.get("settlement_period") == "perpetual"
    option = "option" in kind
    future = not swap and "future" in kind
    if not (spot or swap or option or future):
        raise ProtocolError(f"deribit instrument {market_id!r} of unknown kind {kind!r}")
    expiry = None if spot or swap else opt_int(raw, "expiration_timestamp")
    if expiry == _PERPETUAL_EXPIRY:
        expiry = None
    strike = opt_num(raw, "strike", number) if option else None
    option_type = raw.get("option_type") if option else None
    if spot:
        symbol = f"{base}/{quote}"
        settle = None
    else:
        if not isinstance(settle_raw, str) or not settle_raw:
            raise ProtocolError(f"deribit instrument {market_id!r} without a settle currency")
        settle = settle_raw
        symbol = f"{base}/{quote}:{settle}"
        if future or option:
            if expiry is None:
                raise ProtocolError(f"deribit instrument {market_id!r} without an expiry")
            symbol += "-" + _yymmdd(expiry)
        if option:
            if strike is None or option_type not in ("call", "put"):
                raise ProtocolError(f"deribit option {market_id!r} without strike or option_type")
            symbol += f"-{_strike_text(strike)}-{'C' if option_type == 'call' else 'P'}"
    linear = None if spot else settle == quote
    min_amount = req_num(raw, "min_trade_amount", number)
    tick = req_num(raw, "tick_size", number)
    market_type: MarketKindName = (
        "spot" if spot else "swap" if swap else "future" if future else "option"
    )
    return Market(
        id=market_id,
        lowercaseId=market_id,  # channel names use the id as is
        symbol=symbol,
        base=base,
        quote=quote,
        settle=settle,
        baseId=base,
        quoteId=quote,
        settleId=settle,
        type=market_type,
        subType=None if spot else ("linear" if linear else "inverse"),
        spot=spot,
        swap=swap,
        future=future,
        option=option,
        active=raw.get("is_active") is not False,
        contract=not spot,
        linear=linear,
        inverse=None if spot else not linear,
        taker=opt_num(raw, "taker_commission", number),
        maker=opt_num(raw, "maker_commission", number),
        contractSize=None if spot else opt_num(raw, "contract_size", number),
        expiry=expiry,
        expiryDatetime=iso8601(expiry),
        strike=strike,
        optionType=option_type,
        precision=Precision(amount=min_amount, price=tick),
        limits=Limits(
            amount=MinMax(min=min_amount),
            leverage=MinMax(max=opt_num(raw, "max_leverage", number)),
        ),
        created=opt_int(raw, "creation_timestamp"),
        percentage=True,
        tierBased=False,
        info=dict(raw),
    )


def _expired(raw: Mapping[str, Any], now_ms: int | None) -> bool:
    if raw.get("is_active") is False:
        return True
    if now_ms is None:
        return False
    expiry = opt_int(raw, "expiration_timestamp")
    return expiry is not None and expiry <= now_ms


def parse_markets(
    instruments: Iterable[Any],
    *,
    number: NumberConverter = float,
    now_ms: int | None = None,
    settle_currencies: Sequence[str] = SETTLE_CURRENCIES,
) -> DeribitMarkets:
    """Markets from ``get_instruments`` results (one list, or several concatenated).

    Keeps instruments settled in ``settle_currencies`` (spot by their quote),
    leaves out combos and expired instruments. A malformed entry is a
    ``ProtocolError`` naming it."""
    checked = finite(number)
    markets: list[Market] = []
    for raw in instruments:
        if not isinstance(raw, Mapping):
            raise ProtocolError("deribit instrument is not an object")
        settle = raw.get("settlement_currency") or raw.get("counter_currency")
        if settle not in settle_currencies or _expired(raw, now_ms):
            continue
        try:
            market = parse_market(raw, number=checked)
        except ProtocolError:
            raise
        except (TypeError, ValueError, KeyError) as exc:
            name = raw.get("instrument_name")
            raise ProtocolError(f"malformed deribit instrument {name!r}: {exc!r}") from exc
        if market is not None:
            markets.append(market)
    return DeribitMarkets(markets, number=number)


def price_tick(market: Market, price: Num) -> Num:
    """The tick size that applies at ``price``: ``tick_size``, or the largest
    ``tick_size_steps`` entry whose ``above_price`` is below ``price``."""
    tick = market.precision.price
    if tick is None:
        raise ProtocolError(f"deribit market {market.id!r} has no tick size")
    to_num: Callable[[str], Any] = Decimal if isinstance(tick, Decimal) else float
    best_above: Num | None = None
    for step in market.info.get("tick_size_steps") or ():
        above = num(step.get("above_price"), to_num, "above_price")
        if price > above and (best_above is None or above > best_above):
            best_above = above
            tick = num(step.get("tick_size"), to_num, "tick_size")
    return tick


class DeribitMarkets(MarketTable):
    """Deribit's markets, looked up by unified symbol or instrument name.

    Instrument names are case-sensitive upper case on Deribit; a lower-case
    name is matched too, for convenience. Unknown names raise ``BadSymbol``
    naming close matches. Immutable after construction, so any thread may read it.
    """

    __slots__ = ("_by_id", "_by_symbol", "number", "number_type")

    def __init__(self, markets: Iterable[Market], *, number: NumberConverter = float) -> None:
        #: The checked converter for stream payloads (``float`` or ``Decimal``).
        self.number: NumberConverter = finite(number)
        self.number_type: NumberConverter = number_type(number)
        self._by_symbol: dict[str, Market] = {}
        self._by_id: dict[str, Market] = {}
        for market in markets:
            self._by_symbol[market.symbol] = market
            self._by_id[market.id] = market

    def market(self, symbol: str) -> Market:
        """The market for a unified symbol (or, like CCXT, an instrument name)."""
        found = self._by_symbol.get(symbol) or self._by_id.get(symbol)
        if found is None and isinstance(symbol, str):
            found = self._by_id.get(symbol.upper()) or self._by_symbol.get(symbol.upper())
        if found is None:
            raise self._bad_symbol(symbol)
        return found

    __getitem__ = market

    def by_id(self, instrument_name: str) -> Market:
        """The market for an instrument name (``"BTC-PERPETUAL"``)."""
        found = self._by_id.get(instrument_name)
        if found is None:
            raise self._bad_symbol(instrument_name)
        return found

    def find_id(self, instrument_name: str) -> Market | None:
        """Like :meth:`by_id`, ``None`` for an instrument not listed."""
        return self._by_id.get(instrument_name)

    def with_market(self, market: Market) -> DeribitMarkets:
        """A new table with ``market`` added (an instrument listed after these were
        loaded); this one is left as it is, so readers holding it see no change."""
        table = DeribitMarkets((), number=self.number)
        table._by_symbol = {**self._by_symbol, market.symbol: market}
        table._by_id = {**self._by_id, market.id: market}
        return table

    def __repr__(self) -> str:
        return f"<DeribitMarkets: {len(self)} markets>"

    @property
    def ids(self) -> list[str]:
        """Instrument names, sorted."""
        return sorted(self._by_id)

    def _bad_symbol(self, symbol: object) -> BadSymbol:
        text = str(symbol)[:60]
        message = f"deribit has no market {text!r}"
        candidates = list(self._by_symbol) + list(self._by_id)
        close = difflib.get_close_matches(text.upper(), candidates, n=3, cutoff=0.6)
        if close:
            message += "; did you mean " + ", ".join(repr(c) for c in dict.fromkeys(close)) + "?"
        return BadSymbol(message)
