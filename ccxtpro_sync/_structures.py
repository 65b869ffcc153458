"""CCXT's unified structures as typed ``msgspec.Struct``s.

Field names are CCXT's, spelled exactly as CCXT spells them (``bidVolume``,
``clientOrderId``, ``takerOrMaker`` ...), so code and JSON written against CCXT
keep working: ``msgspec.json.encode(trade)`` gives CCXT's keys, and
``trade["price"]`` works alongside ``trade.price``.

Design notes:

* Numbers are ``Num`` (``float`` by default, ``Decimal`` in exact mode); the
  parser that builds a structure decides which. Encode Decimal-mode structures
  with ``msgspec.json.Encoder(decimal_format="number")`` for JSON numbers.
* ``info`` holds the exchange's payload. For stream data the attribute is the
  decoded wire struct (no extra copy on the hot path); ``x["info"]`` and
  ``x.to_dict()`` convert it, only when asked, to the original JSON object with
  Binance's own keys, so ``ticker["info"]["c"]`` works as in CCXT. The ``info`` of
  a ticker or funding rate may be stored undecoded, and decoded when read
  (:class:`_LazyInfo`).
* Dict-likeness (:class:`DictAccess`): ``in``, iteration, ``len``,
  ``keys/values/items/get``, ``dict(x)``; ``x.to_dict()`` gives JSON-ready
  builtins (``Decimal`` as ``str``). ``json.dumps`` cannot serialise a struct
  itself: use ``json.dumps(x.to_dict())`` or
  ``json.dumps(x, default=ccxtpro_sync.to_jsonable)``.
* Every key CCXT defines is present (``None`` when unknown), as in CCXT, so
  encoded output has CCXT's key set; only ``Fee`` omits an absent ``rate``.
* Structs are created with ``gc=False``: thousands sit in caches and none
  of them forms reference cycles, so the cyclic GC need not track them.
* ``OrderBook`` lives in ``ccxtpro_sync._orderbook``, not here.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Literal, TypeAlias

import msgspec

from ._numbers import Num

__all__ = [
    "OHLCV",
    "Balance",
    "Balances",
    "Fee",
    "FundingRate",
    "Limits",
    "Liquidation",
    "MarginModes",
    "Market",
    "MinMax",
    "Num",
    "Order",
    "OrderSide",
    "OrderStatus",
    "Position",
    "Precision",
    "Side",
    "TakerOrMaker",
    "Ticker",
    "Trade",
    "iso8601",
    "to_jsonable",
]

Side: TypeAlias = Literal["buy", "sell"]
OrderSide: TypeAlias = Side
TakerOrMaker: TypeAlias = Literal["taker", "maker"]
OrderStatus: TypeAlias = Literal["open", "closed", "canceled", "expired", "rejected"]
MarketKindName: TypeAlias = Literal["spot", "margin", "swap", "future", "option"]

# --------------------------------------------------------------------------- time

_DAY_MS = 86_400_000
_EPOCH = _dt.date(1970, 1, 1)
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the datetime module's limit
_MILLIS = tuple(f".{i:03d}Z" for i in range(1000))
_TWO_DIGITS = tuple(f"{i:02d}" for i in range(60))
# (second, "YYYY-MM-DDTHH:MM:SS") of the last call, and (day, "YYYY-MM-DDT"):
# stream timestamps arrive in order, so most calls hit the cached second and
# cost one string concatenation. Each cache is swapped as one tuple, so a
# racing thread sees the old pair or the new one, never a mix.
_last_second: tuple[int, str] = (-1, "")
_last_day: tuple[int, str] = (-1, "")


def _format_second(second: int) -> str:
    global _last_day
    day, rem = divmod(second, 86_400)
    cached = _last_day
    if cached[0] != day:
        cached = (day, (_EPOCH + _dt.timedelta(days=day)).isoformat() + "T")
        _last_day = cached
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    two = _TWO_DIGITS
    return cached[1] + two[hours] + ":" + two[minutes] + ":" + two[seconds]


def iso8601(ms: int | None) -> str | None:
    """Format epoch milliseconds like CCXT: ``2023-01-01T00:00:00.000Z``.

    Returns ``None`` for ``None``, negative or out-of-range input (CCXT's
    ``iso8601`` gives ``undefined`` there). ~0.1 µs when the second is cached.
    """
    global _last_second
    if ms is None or not 0 <= ms <= _MAX_MS:
        return None
    if type(ms) is not int:
        ms = int(ms)
    second, millis = divmod(ms, 1000)
    cached = _last_second
    if cached[0] != second:
        cached = (second, _format_second(second))
        _last_second = cached
    return cached[1] + _MILLIS[millis]


# --------------------------------------------------------------------------- base


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready builtins: wire structs become the exchange's own
    keys, ``Decimal`` becomes ``str``; an already plain ``dict`` is returned as is."""
    if value is None or type(value) is dict:
        return value
    if isinstance(value, msgspec.Raw):
        return _raw_json(value)
    return msgspec.to_builtins(value, enc_hook=_raw_hook)


def _raw_hook(value: Any) -> Any:
    """``to_builtins`` hook: an undecoded ``msgspec.Raw`` payload becomes its JSON."""
    if isinstance(value, msgspec.Raw):
        return _raw_json(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _raw_json(raw: msgspec.Raw) -> Any:
    """An undecoded payload's JSON object. A lax stream decode skips keys it does not
    know without converting their values, so a hostile payload it took may hold one
    the plain decode refuses (a number no float holds, a string that is not UTF-8):
    such a value is kept as its text (bad bytes replaced), never an error -- the
    ticker was delivered, and a recorder or fan-out writing it must not stop."""
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        text = bytes(raw).decode("utf-8", "replace")
        return json.loads(
            text, parse_float=_finite_or_text, parse_int=_int_or_text, parse_constant=str
        )


def _finite_or_text(text: str) -> float | str:
    number = float(text)
    return number if math.isfinite(number) else text


def _int_or_text(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:  # more digits than int() converts
        return text


def to_jsonable(obj: Any) -> Any:
    """``json.dumps``'s ``default`` hook for this package's structures.

    ``json.dumps(ticker, default=ccxtpro_sync.to_jsonable)`` gives CCXT's JSON:
    unified structures, order books and balances become dicts, candles lists,
    ``info`` the exchange's original object, ``Decimal`` a string. (``json``
    only serialises real ``dict``/``list`` objects, which a ``msgspec.Struct``
    cannot be, so the hook is needed; ``msgspec.json.encode(x)`` needs none.)
    """
    if isinstance(obj, OHLCV):
        return obj.to_list()  # CCXT's candle is a list
    to_dict = getattr(obj, "to_dict", None)
    if to_dict is not None and isinstance(obj, msgspec.Struct):
        return to_dict()
    if isinstance(obj, msgspec.Struct | msgspec.Raw | Decimal):
        return _plain(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


class DictAccess:
    """The read side of CCXT's dicts, mixed into the unified structures and order
    books (a mixin, so frozen and mutable structs can both have it).

    ``x["field"]``, ``"field" in x``, iteration over the keys, ``len(x)``,
    ``keys()/values()/items()/get()`` and ``dict(x)`` behave as on CCXT's dict;
    attribute access (``x.field``) stays the fast path. ``info`` is special: the
    attribute is what the parser stored (for stream data the decoded wire struct,
    no copy on the hot path), while ``x["info"]`` (and ``get``/``values``/``items``/
    ``to_dict``) converts it to the exchange's original dict when asked, so
    ``ticker["info"]["c"]`` works as in CCXT.
    """

    __slots__ = ()
    __struct_fields__: tuple[str, ...]

    def __getitem__(self, key: str) -> Any:
        if key in self.__struct_fields__:
            if key == "info":
                return _plain(_stored_info(self))
            return getattr(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self.__struct_fields__

    def __iter__(self) -> Iterator[str]:
        return iter(self.__struct_fields__)

    def __len__(self) -> int:
        return len(self.__struct_fields__)

    def get(self, key: str, default: Any = None) -> Any:
        """``dict.get`` for CCXT-style code."""
        if key in self.__struct_fields__:
            return self[key]
        return default

    def keys(self) -> tuple[str, ...]:
        """The CCXT keys, in CCXT's order."""
        return self.__struct_fields__

    def values(self) -> list[Any]:
        """The values in key order (``info`` as the exchange's dict)."""
        return [self[k] for k in self.__struct_fields__]

    def items(self) -> list[tuple[str, Any]]:
        """``(key, value)`` pairs in key order (``info`` as the exchange's dict)."""
        return [(k, self[k]) for k in self.__struct_fields__]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready ``dict`` of builtins, CCXT's shape: nested structures become
        dicts (candles lists), ``info`` the exchange's original object, and
        ``Decimal`` numbers strings (exact, as CCXT's string-number mode);
        floats stay floats. ``json.dumps(x.to_dict())`` always works."""
        result: dict[str, Any] = msgspec.to_builtins(self, enc_hook=_raw_hook)
        return result


class _Unified(msgspec.Struct, DictAccess, kw_only=True, gc=False):
    """Base of the dict-like structures: ``x["field"]`` reads a field, as in CCXT."""


# --------------------------------------------------------------------------- market data


def _repr_reading_info(obj: Any) -> str:
    """msgspec's repr, with ``info`` as its attribute reads (msgspec's own would show
    an undecoded one as ``<msgspec.Raw object>``)."""
    fields = ", ".join(f"{k}={_shown(obj, k)!r}" for k in obj.__struct_fields__)
    return f"{type(obj).__name__}({fields})"


class Ticker(_Unified, kw_only=False):
    """CCXT ticker. ``watch_bids_asks`` tickers fill only the bid/ask fields;
    ``watch_mark_price`` tickers fill only ``markPrice``/``indexPrice``.

    The fields may also be given by position, in the order below (the stream parsers
    do: 22 keywords cost several times more than 22 positions). A stream parser may
    store ``info`` undecoded (see :class:`_LazyInfo`); ``ticker.info`` still gives the
    exchange's payload.
    """

    symbol: str
    timestamp: int | None = None
    datetime: str | None = None
    high: Num | None = None
    low: Num | None = None
    bid: Num | None = None
    bidVolume: Num | None = None
    ask: Num | None = None
    askVolume: Num | None = None
    vwap: Num | None = None
    open: Num | None = None
    close: Num | None = None
    last: Num | None = None
    previousClose: Num | None = None
    change: Num | None = None
    percentage: Num | None = None
    average: Num | None = None
    baseVolume: Num | None = None
    quoteVolume: Num | None = None
    markPrice: Num | None = None
    indexPrice: Num | None = None
    info: Any = None

    def __repr__(self) -> str:
        return _repr_reading_info(self)


def _shown(obj: Any, field: str) -> Any:
    """A field for ``repr``: an undecoded info whose strict decode refuses the payload
    (one only the lax decode took) shows as its JSON object; repr never raises."""
    if field != "info":
        return getattr(obj, field)
    try:
        return obj.info
    except Exception:  # the exchange's decoder refused it: show what x["info"] gives
        return _plain(_stored_info(obj))


class _LazyInfo:
    """The ``info`` attribute of a structure whose payload may be kept undecoded.

    A hot stream parser decodes its payload once, straight to the numbers it needs, and
    stores the payload's bytes (``msgspec.Raw``) as ``info`` instead of decoding it a
    second time into the wire struct. Reading ``x.info`` decodes it then, with the
    decoder the exchange registered (:func:`set_info_decoder`); every other way out
    already handles ``msgspec.Raw``: ``x["info"]``, ``to_dict()`` and ``to_jsonable``
    give the payload's JSON object, ``msgspec.json.encode(x)`` its bytes verbatim.
    (``msgspec.msgpack.encode`` would copy the JSON bytes as msgpack: convert first.)

    msgspec reads and writes fields by slot, never through this descriptor, so
    construction, equality, encoding and pickling are unchanged. Nothing is cached:
    a read decodes afresh, so a shared structure is never written by its readers.
    """

    __slots__ = ("_slot", "decode")

    def __init__(self, slot: Any) -> None:
        self._slot = slot
        #: ``Raw`` -> the exchange's info object; the exchange's parsers set it.
        self.decode: Callable[[msgspec.Raw], Any] = msgspec.json.decode

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = self._slot.__get__(obj, owner)
        if type(value) is msgspec.Raw:
            return self.decode(value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        self._slot.__set__(obj, value)


def _stored_info(obj: Any) -> Any:
    """``obj.info`` as stored: an undecoded payload stays ``msgspec.Raw``, so that
    ``x["info"]`` gives the payload's JSON object, as ``to_dict()`` does."""
    lazy = getattr(type(obj), "info", None)
    if isinstance(lazy, _LazyInfo):
        return lazy._slot.__get__(obj, type(obj))
    return obj.info


def set_info_decoder(cls: type[Ticker | FundingRate], decode: Callable[[msgspec.Raw], Any]) -> None:
    """Register how an undecoded ``info`` of ``cls`` is decoded when read (one
    decoder per structure: the exchange whose parsers store ``msgspec.Raw``)."""
    lazy = cls.__dict__["info"]
    assert isinstance(lazy, _LazyInfo)
    lazy.decode = decode


class Fee(_Unified, kw_only=True, omit_defaults=True):
    """A fee paid in ``currency``; ``rate`` is the fraction, when known."""

    currency: str | None = None
    cost: Num | None = None
    rate: Num | None = None


class Trade(_Unified, kw_only=True):
    """CCXT trade (public or private). ``side`` of a public trade is the taker's side."""

    id: str | None = None
    order: str | None = None
    timestamp: int | None = None
    datetime: str | None = None
    symbol: str
    type: str | None = None
    side: Side | None = None
    takerOrMaker: TakerOrMaker | None = None
    price: Num | None = None
    amount: Num | None = None
    cost: Num | None = None
    fee: Fee | None = None
    fees: list[Fee] = msgspec.field(default_factory=list)
    info: Any = None


class OHLCV(msgspec.Struct, array_like=True, gc=False):
    """One candle. Encodes as CCXT's ``[timestamp, open, high, low, close, volume]``
    and unpacks like it (``ts, o, h, l, c, v = candle``; ``candle[4]``).

    The only structure without ``info``: CCXT's candle is a bare list.
    JSON: ``candle.to_list()`` is CCXT's list (what a candle is in every JSON this
    package writes); ``candle.to_dict()`` names the fields, for code that wants a
    mapping from every structure. ``Decimal`` numbers become strings in both.
    """

    timestamp: int
    open: Num | None
    high: Num | None
    low: Num | None
    close: Num | None
    volume: Num | None

    def __getitem__(self, index: int) -> Any:
        return msgspec.structs.astuple(self)[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(msgspec.structs.astuple(self))

    def __len__(self) -> int:
        return 6

    def to_list(self) -> list[Any]:
        """CCXT's candle, JSON-ready: ``[timestamp, open, high, low, close, volume]``."""
        result: list[Any] = msgspec.to_builtins(self)
        return result

    def to_dict(self) -> dict[str, Any]:
        """The candle's fields by name, JSON-ready: ``{"timestamp": …, "open": …,
        "high": …, "low": …, "close": …, "volume": …}``."""
        return dict(zip(self.__struct_fields__, self.to_list(), strict=True))


class FundingRate(_Unified, kw_only=True):
    """CCXT funding-rate structure, filled from the futures mark-price stream.

    As in CCXT's Binance, ``fundingTimestamp`` is the next settlement (the one
    ``fundingRate`` applies to); ``nextFunding*`` and ``previousFunding*`` stay
    ``None`` because the stream does not carry them.
    """

    symbol: str
    timestamp: int | None = None
    datetime: str | None = None
    markPrice: Num | None = None
    indexPrice: Num | None = None
    interestRate: Num | None = None
    estimatedSettlePrice: Num | None = None
    fundingRate: Num | None = None
    fundingTimestamp: int | None = None
    fundingDatetime: str | None = None
    nextFundingRate: Num | None = None
    nextFundingTimestamp: int | None = None
    nextFundingDatetime: str | None = None
    previousFundingRate: Num | None = None
    previousFundingTimestamp: int | None = None
    previousFundingDatetime: str | None = None
    interval: str | None = None
    info: Any = None

    def __repr__(self) -> str:
        return _repr_reading_info(self)


# Stream parsers may keep these structures' payload undecoded (see _LazyInfo).
Ticker.info = _LazyInfo(Ticker.__dict__["info"])
FundingRate.info = _LazyInfo(FundingRate.__dict__["info"])


class Liquidation(_Unified, kw_only=True):
    """CCXT liquidation. ``baseValue``/``quoteValue`` are the liquidated size in
    base and quote currency, derived from ``contracts`` and ``contractSize``."""

    symbol: str
    timestamp: int | None = None
    datetime: str | None = None
    price: Num | None = None
    side: Side | None = None
    contracts: Num | None = None
    contractSize: Num | None = None
    baseValue: Num | None = None
    quoteValue: Num | None = None
    info: Any = None


# --------------------------------------------------------------------------- private


class Order(_Unified, kw_only=True):
    """CCXT order. ``stopPrice`` mirrors ``triggerPrice`` (CCXT keeps both)."""

    id: str
    clientOrderId: str | None = None
    timestamp: int | None = None
    datetime: str | None = None
    lastTradeTimestamp: int | None = None
    lastUpdateTimestamp: int | None = None
    symbol: str
    type: str | None = None
    timeInForce: str | None = None
    side: OrderSide | None = None
    price: Num | None = None
    average: Num | None = None
    amount: Num | None = None
    filled: Num | None = None
    remaining: Num | None = None
    cost: Num | None = None
    status: OrderStatus | None = None
    fee: Fee | None = None
    fees: list[Fee] = msgspec.field(default_factory=list)
    trades: list[Trade] = msgspec.field(default_factory=list)
    reduceOnly: bool | None = None
    postOnly: bool | None = None
    triggerPrice: Num | None = None
    stopPrice: Num | None = None
    takeProfitPrice: Num | None = None
    stopLossPrice: Num | None = None
    info: Any = None


class Balance(_Unified, kw_only=True):
    """One currency's balance: ``used`` is locked in orders, ``total = free + used``."""

    free: Num | None = None
    used: Num | None = None
    total: Num | None = None


_BALANCES_META = frozenset({"info", "timestamp", "datetime", "free", "used", "total"})


class Balances(msgspec.Struct, kw_only=True, gc=False):
    """An account's balances, typed per currency.

    CCXT's balance is one dict mixing metadata with per-currency entries
    (``b["BTC"]["free"]``) and per-field views (``b["free"]["BTC"]``). Both
    spellings work here (``b["BTC"]``, ``b["free"]``), backed by one typed
    ``balances`` dict; ``to_ccxt()`` builds CCXT's exact dict shape.
    """

    balances: dict[str, Balance] = msgspec.field(default_factory=dict)
    timestamp: int | None = None
    datetime: str | None = None
    info: Any = None

    @property
    def free(self) -> dict[str, Num | None]:
        """``{currency: free}``, a fresh dict."""
        return {c: b.free for c, b in self.balances.items()}

    @property
    def used(self) -> dict[str, Num | None]:
        """``{currency: used}``, a fresh dict."""
        return {c: b.used for c, b in self.balances.items()}

    @property
    def total(self) -> dict[str, Num | None]:
        """``{currency: total}``, a fresh dict."""
        return {c: b.total for c, b in self.balances.items()}

    def __getitem__(self, key: str) -> Any:
        if key in _BALANCES_META:
            return _plain(self.info) if key == "info" else getattr(self, key)
        return self.balances[key]

    def __contains__(self, key: object) -> bool:
        """A currency, or one of CCXT's balance keys (``"free"``, ``"info"`` ...):
        whatever ``b[key]`` answers."""
        return key in self.balances or key in _BALANCES_META

    def __iter__(self) -> Iterator[str]:
        return iter(self.balances)

    def __len__(self) -> int:
        return len(self.balances)

    def get(self, currency: str, default: Balance | None = None) -> Balance | None:
        """The currency's balance, or ``default``."""
        return self.balances.get(currency, default)

    def keys(self) -> list[str]:
        """The currencies (iteration and ``len`` count currencies too)."""
        return list(self.balances)

    def values(self) -> list[Balance]:
        """Each currency's :class:`Balance`."""
        return list(self.balances.values())

    def items(self) -> list[tuple[str, Balance]]:
        """``(currency, Balance)`` pairs."""
        return list(self.balances.items())

    def to_dict(self) -> dict[str, Any]:
        """CCXT's balance dict (see :meth:`to_ccxt`) as JSON-ready builtins:
        ``info`` the exchange's original object, ``Decimal`` numbers strings."""
        result: dict[str, Any] = msgspec.to_builtins(self.to_ccxt(), enc_hook=_raw_hook)
        return result

    def to_ccxt(self) -> dict[str, Any]:
        """CCXT's balance dict: metadata, ``free``/``used``/``total`` views and
        one ``{free, used, total}`` dict per currency."""
        out: dict[str, Any] = {
            "info": self.info,
            "timestamp": self.timestamp,
            "datetime": self.datetime,
            "free": self.free,
            "used": self.used,
            "total": self.total,
        }
        for currency, bal in self.balances.items():
            out[currency] = {"free": bal.free, "used": bal.used, "total": bal.total}
        return out


class Position(_Unified, kw_only=True):
    """CCXT position (futures). ``side`` is ``"long"``/``"short"``."""

    symbol: str
    id: str | None = None
    timestamp: int | None = None
    datetime: str | None = None
    lastUpdateTimestamp: int | None = None
    isolated: bool | None = None
    hedged: bool | None = None
    side: Literal["long", "short"] | None = None
    contracts: Num | None = None
    contractSize: Num | None = None
    entryPrice: Num | None = None
    markPrice: Num | None = None
    lastPrice: Num | None = None
    notional: Num | None = None
    leverage: Num | None = None
    collateral: Num | None = None
    initialMargin: Num | None = None
    initialMarginPercentage: Num | None = None
    maintenanceMargin: Num | None = None
    maintenanceMarginPercentage: Num | None = None
    unrealizedPnl: Num | None = None
    realizedPnl: Num | None = None
    liquidationPrice: Num | None = None
    marginMode: Literal["cross", "isolated"] | None = None
    marginRatio: Num | None = None
    percentage: Num | None = None
    stopLossPrice: Num | None = None
    takeProfitPrice: Num | None = None
    info: Any = None


# --------------------------------------------------------------------------- markets


class MinMax(_Unified, kw_only=True):
    """An inclusive range; ``None`` means unbounded/unknown."""

    min: Num | None = None
    max: Num | None = None


class Limits(_Unified, kw_only=True):
    """Order limits. ``market`` is the amount range for market orders."""

    amount: MinMax = msgspec.field(default_factory=MinMax)
    price: MinMax = msgspec.field(default_factory=MinMax)
    cost: MinMax = msgspec.field(default_factory=MinMax)
    leverage: MinMax = msgspec.field(default_factory=MinMax)
    market: MinMax = msgspec.field(default_factory=MinMax)


class Precision(_Unified, kw_only=True):
    """Precision in CCXT's TICK_SIZE mode: each value is the smallest step
    (``price=0.01`` means prices are multiples of 0.01), not a digit count."""

    amount: Num | None = None
    price: Num | None = None
    cost: Num | None = None
    base: Num | None = None
    quote: Num | None = None


class MarginModes(_Unified, kw_only=True):
    """Which margin modes the market supports, when known."""

    cross: bool | None = None
    isolated: bool | None = None


class Market(_Unified, kw_only=True):
    """CCXT market. ``lowercaseId`` is the id as it appears in stream names."""

    id: str
    lowercaseId: str
    symbol: str
    base: str
    quote: str
    settle: str | None = None
    baseId: str
    quoteId: str
    settleId: str | None = None
    type: MarketKindName
    subType: Literal["linear", "inverse"] | None = None
    spot: bool
    margin: bool = False
    swap: bool
    future: bool
    option: bool = False
    index: bool | None = None
    active: bool | None = None
    contract: bool
    linear: bool | None = None
    inverse: bool | None = None
    taker: Num | None = None
    maker: Num | None = None
    contractSize: Num | None = None
    expiry: int | None = None
    expiryDatetime: str | None = None
    strike: Num | None = None
    optionType: Literal["call", "put"] | None = None
    precision: Precision = msgspec.field(default_factory=Precision)
    limits: Limits = msgspec.field(default_factory=Limits)
    marginModes: MarginModes = msgspec.field(default_factory=MarginModes)
    created: int | None = None
    percentage: bool | None = True
    tierBased: bool | None = None
    feeSide: str | None = None
    info: dict[str, Any] = msgspec.field(default_factory=dict)
