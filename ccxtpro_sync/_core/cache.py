"""Bounded caches with CCXT Pro's semantics (``tradesLimit``, ``OHLCVLimit``,
``ordersLimit`` and ``newUpdates``).

* :class:`ArrayCache` — append-only, oldest evicted (trades, liquidations).
* :class:`ArrayCacheByTimestamp` — candles: an item whose timestamp is
  already cached replaces it in place (a live bar updating), else appends.
* :class:`ArrayCacheBySymbolById` — orders: an update replaces the cached
  item with the same ``(symbol, id)`` and moves it to the newest end.
* :class:`ArrayCacheBySymbolBySide` — positions: the same, keyed by ``(symbol, side)``.
* :class:`ArrayCacheBySymbol` — positions of a one-way account: one entry per symbol.

``newUpdates``: CCXT Pro counts, per symbol, how many entries arrived (or, for
the keyed caches, how many distinct entries changed) since the last read, so a
watcher can get only what is new. :meth:`get_limit` returns that count
(capped by ``limit``) and marks the counter to restart on the *next* append,
not immediately; so two readers woken by the same update both see it.
:meth:`read` combines ``get_limit`` with CCXT's "since, then the newest
``limit``" filter and returns a fresh ``list``.

Threading: no locks inside, by design. Each cache is written by one thread
(the library's reader) and must be read either on that thread or under the
lock that thread holds while appending. Reads return new lists, never the
live buffer, so results may be used freely after the lock is released. Items
are replaced, never mutated, so an item a reader holds never changes under it.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable, Iterable, Iterator
from typing import Generic, Protocol, TypeVar

__all__ = [
    "DEFAULT_LIMIT",
    "ArrayCache",
    "ArrayCacheBySymbol",
    "ArrayCacheBySymbolById",
    "ArrayCacheBySymbolBySide",
    "ArrayCacheByTimestamp",
]

#: CCXT Pro's default for ``tradesLimit``, ``OHLCVLimit`` and ``ordersLimit``.
DEFAULT_LIMIT = 1000


class HasTimestamp(Protocol):
    @property
    def timestamp(self) -> int | None: ...


class HasSymbol(HasTimestamp, Protocol):
    @property
    def symbol(self) -> str: ...


class HasId(HasSymbol, Protocol):
    @property
    def id(self) -> str | None: ...


class HasSide(HasSymbol, Protocol):
    @property
    def side(self) -> str | None: ...


TS = TypeVar("TS", bound=HasTimestamp)
TSym = TypeVar("TSym", bound=HasSymbol)
TId = TypeVar("TId", bound=HasId)
TSide = TypeVar("TSide", bound=HasSide)
_T = TypeVar("_T", bound=HasTimestamp)


def _check_size(maxsize: int) -> int:
    if maxsize < 1:
        raise ValueError(f"maxsize must be at least 1, got {maxsize}")
    return maxsize


def _tail(
    newest_first: Iterable[_T],
    count: int | None,
    since: int | None,
    symbol: str | None,
) -> list[_T]:
    """The newest ``count`` items (``None`` = all) at or after ``since`` and of
    ``symbol``, oldest first. Stops early when no ``since`` filter is needed."""
    if count is not None and count <= 0:
        return []
    out: list[_T] = []
    for item in newest_first:
        if symbol is not None and getattr(item, "symbol", None) != symbol:
            continue
        if since is not None:
            ts = item.timestamp
            if ts is None or ts < since:
                continue
        out.append(item)
        if count is not None and len(out) >= count:
            break
    out.reverse()
    return out


#: ``ArrayCache._only`` once entries of several symbols were appended.
_MIXED = object()


def _limit(new: int | None, limit: int | None) -> int | None:
    if new is None:
        return limit
    return new if limit is None else min(new, limit)


class ArrayCache(Generic[TSym]):
    """Append-only, at most ``maxsize`` items, oldest evicted (``tradesLimit``)."""

    __slots__ = ("_items", "_only", "_read", "_read_all", "_seq", "_total")

    def __init__(self, maxsize: int = DEFAULT_LIMIT) -> None:
        self._items: deque[TSym] = deque(maxlen=_check_size(maxsize))
        # Appends are counted, and each read notes (the count then, its answer): the new
        # entries are the count minus the count at the last read, so an append only
        # counts. A cache of one symbol (a stream's trades) counts once, overall; per
        # symbol counts are kept only once a second symbol arrives.
        self._total = 0
        #: The one symbol appended so far (None: none yet; _MIXED: several, see _seq).
        self._only: object = None
        self._seq: dict[str, int] = {}
        self._read: dict[str, tuple[int, int]] = {}
        self._read_all: tuple[int, int] | None = None

    @property
    def maxsize(self) -> int:
        maxlen = self._items.maxlen
        assert maxlen is not None
        return maxlen

    def append(self, item: TSym) -> None:
        """Add ``item`` as the newest entry (evicting the oldest when full)."""
        # binance/trade_stream.py inlines these lines (a call costs more than they do):
        # change both together; ``_items`` is never rebound.
        self._items.append(item)
        self._total += 1
        if item.symbol is not self._only:  # the same str object on a stream's hot path
            self._count_symbol(item.symbol)

    def _count_symbol(self, symbol: str) -> None:
        """``append``'s per-symbol count, unless every entry so far has ``symbol``."""
        only = self._only
        if only is None:
            self._only = symbol
        elif only is _MIXED:
            self._seq[symbol] = self._seq.get(symbol, 0) + 1
        elif symbol != only:  # a second symbol: count per symbol from now on
            assert isinstance(only, str)
            self._seq = {only: self._total - 1, symbol: 1}
            self._only = _MIXED

    def _count(self, symbol: str) -> int | None:
        """Entries appended for ``symbol`` (since ``clear``); None if none ever was."""
        only = self._only
        if only is _MIXED:
            return self._seq.get(symbol)
        return self._total if only is not None and symbol == only else None

    def get_limit(self, symbol: str | None, limit: int | None) -> int | None:
        """CCXT Pro's ``getLimit``: how many newest entries are new since the last
        read (for ``symbol``, or overall), capped by ``limit``; ``limit`` itself when
        nothing was ever appended for ``symbol``. Restarts the count on the next append."""
        if symbol is None:
            count: int | None = self._total
            mark = self._read_all
        else:
            count = self._count(symbol)
            if count is None:
                return limit
            mark = self._read.get(symbol)
        assert count is not None
        # Nothing appended since the last read: that read's answer again (two readers
        # woken by one update both see it); otherwise what arrived since it.
        new = count if mark is None else mark[1] if count == mark[0] else count - mark[0]
        if symbol is None:
            self._read_all = (count, new)
        else:
            self._read[symbol] = (count, new)
        return _limit(new, limit)

    def has_unread(self, symbol: str | None = None) -> bool:
        """Whether entries arrived (for ``symbol``) since the last read; touches nothing."""
        if symbol is None:
            count, mark = self._total, self._read_all
        else:
            count, mark = self._count(symbol) or 0, self._read.get(symbol)
        return count > (0 if mark is None else mark[0])

    def read(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        *,
        new_updates: bool = True,
    ) -> list[TSym]:
        """A copy of the cached entries for ``symbol`` (all when ``None``), oldest first.

        With ``new_updates`` only those that arrived since the previous read;
        then only ``timestamp >= since``, then at most the newest ``limit``.
        """
        count = self.get_limit(symbol, limit) if new_updates else limit
        if symbol is None and since is None:
            if count is None or count >= len(self._items):
                return list(self._items)
            return _tail(self._items.__reversed__(), count, None, None)
        return _tail(self._items.__reversed__(), count, since, symbol)

    def to_list(self) -> list[TSym]:
        """Every cached entry, oldest first (a copy; touches no counters)."""
        return list(self._items)

    def clear(self) -> None:
        """Drop every entry and counter (e.g. after a resubscribe)."""
        self._items.clear()
        self._only = None
        self._seq = {}
        self._total = 0
        self._read.clear()
        self._read_all = None

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[TSym]:
        return iter(list(self._items))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self)}/{self.maxsize}>"


class ArrayCacheByTimestamp(Generic[TS]):
    """Candles of one symbol and timeframe (``OHLCVLimit``).

    An item with a cached timestamp replaces that entry where it stands (the
    live bar updating); a new timestamp appends, evicting the oldest when full.
    ``newUpdates`` counts distinct timestamps touched since the last read.
    """

    __slots__ = ("_clear", "_items", "_maxsize", "_new", "_timestamps")

    def __init__(self, maxsize: int = DEFAULT_LIMIT) -> None:
        self._maxsize = _check_size(maxsize)
        self._items: deque[TS] = deque()
        self._timestamps: set[int | None] = set()
        self._new: set[int | None] = set()
        self._clear = False

    @property
    def maxsize(self) -> int:
        return self._maxsize

    def append(self, item: TS) -> None:
        """Add or replace the candle with ``item.timestamp``."""
        items = self._items
        ts = item.timestamp
        if items and items[-1].timestamp == ts:
            items[-1] = item
        elif ts in self._timestamps:
            for index in range(len(items) - 2, -1, -1):
                if items[index].timestamp == ts:
                    items[index] = item
                    break
        else:
            if len(items) >= self._maxsize:
                self._timestamps.discard(items.popleft().timestamp)
            items.append(item)
            self._timestamps.add(ts)
        if self._clear:
            self._clear = False
            self._new.clear()
        self._new.add(ts)

    def has_unread(self, symbol: str | None = None) -> bool:
        """Whether a candle changed since the last read; touches nothing."""
        return not self._clear and bool(self._new)

    def get_limit(self, symbol: str | None, limit: int | None) -> int | None:
        """CCXT Pro's ``getLimit``; ``symbol`` is accepted for symmetry and ignored."""
        self._clear = True
        return _limit(len(self._new), limit)

    def read(
        self,
        since: int | None = None,
        limit: int | None = None,
        *,
        new_updates: bool = True,
    ) -> list[TS]:
        """A copy of the candles, oldest first; filters as :meth:`ArrayCache.read`."""
        count = self.get_limit(None, limit) if new_updates else limit
        if since is None and (count is None or count >= len(self._items)):
            return list(self._items)
        return _tail(self._items.__reversed__(), count, since, None)

    def to_list(self) -> list[TS]:
        """Every cached candle, oldest first (a copy; touches no counters)."""
        return list(self._items)

    def clear(self) -> None:
        """Drop every candle and counter."""
        self._items.clear()
        self._timestamps.clear()
        self._new.clear()
        self._clear = False

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[TS]:
        return iter(list(self._items))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self)}/{self.maxsize}>"


class _KeyedCache(Generic[TSym]):
    """Shared machinery of the keyed caches: an insertion-ordered dict where an
    update replaces its key's entry and moves it to the newest end."""

    __slots__ = ("_all_new", "_clear_all", "_clear_symbols", "_items", "_maxsize", "_new")

    def __init__(self, maxsize: int = DEFAULT_LIMIT) -> None:
        self._maxsize = _check_size(maxsize)
        self._items: OrderedDict[tuple[str, Hashable], TSym] = OrderedDict()
        self._new: dict[str, set[Hashable]] = {}
        self._clear_symbols: set[str] = set()
        self._all_new: set[tuple[str, Hashable]] = set()
        self._clear_all = False

    def _subkey(self, item: TSym) -> Hashable:
        raise NotImplementedError

    @property
    def maxsize(self) -> int:
        return self._maxsize

    def append(self, item: TSym) -> None:
        """Insert ``item`` or replace the entry with its key; either way it becomes newest."""
        symbol = item.symbol
        subkey = self._subkey(item)
        key = (symbol, subkey)
        items = self._items
        if key in items:
            items[key] = item
            items.move_to_end(key)
        else:
            if len(items) >= self._maxsize:
                items.popitem(last=False)
            items[key] = item
        if symbol in self._clear_symbols:
            self._clear_symbols.discard(symbol)
            self._new[symbol] = {subkey}
        else:
            self._new.setdefault(symbol, set()).add(subkey)
        if self._clear_all:
            self._clear_all = False
            self._all_new = set()
        self._all_new.add(key)

    def has_unread(self, symbol: str | None = None) -> bool:
        """Whether an entry (for ``symbol``) changed since the last read; touches nothing."""
        if symbol is None:
            return not self._clear_all and bool(self._all_new)
        return symbol not in self._clear_symbols and bool(self._new.get(symbol))

    def get_limit(self, symbol: str | None, limit: int | None) -> int | None:
        """CCXT Pro's ``getLimit``: distinct entries changed since the last read."""
        if symbol is None:
            new: int | None = len(self._all_new)
            self._clear_all = True
        else:
            changed = self._new.get(symbol)
            new = None if changed is None else len(changed)
            self._clear_symbols.add(symbol)
        return _limit(new, limit)

    def read(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        *,
        new_updates: bool = True,
    ) -> list[TSym]:
        """A copy of the entries, least recently updated first; filters as
        :meth:`ArrayCache.read`. With ``new_updates``, only entries changed since
        the previous read (they are the newest, as updates move to the end)."""
        count = self.get_limit(symbol, limit) if new_updates else limit
        return _tail(reversed(self._items.values()), count, since, symbol)

    def to_list(self) -> list[TSym]:
        """Every entry, least recently updated first (a copy; touches no counters)."""
        return list(self._items.values())

    def clear(self) -> None:
        """Drop every entry and counter."""
        self._items.clear()
        self._new.clear()
        self._clear_symbols.clear()
        self._all_new = set()
        self._clear_all = False

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[TSym]:
        return iter(list(self._items.values()))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self)}/{self.maxsize}>"


class ArrayCacheBySymbolById(_KeyedCache[TId]):
    """Orders (``ordersLimit``): keyed by ``(symbol, id)``; the least recently
    updated entry is evicted when full. Merging a partial update into the
    previous state is the caller's job (see :meth:`get`)."""

    __slots__ = ()

    def _subkey(self, item: TId) -> Hashable:
        return item.id

    def get(self, symbol: str, order_id: str) -> TId | None:
        """The cached entry for ``(symbol, order_id)``, if any."""
        return self._items.get((symbol, order_id))


class ArrayCacheBySymbolBySide(_KeyedCache[TSide]):
    """Positions: one entry per ``(symbol, side)`` (hedge mode has a long and a short)."""

    __slots__ = ()

    def _subkey(self, item: TSide) -> Hashable:
        return item.side

    def get(self, symbol: str, side: str | None) -> TSide | None:
        """The cached entry for ``(symbol, side)``, if any."""
        return self._items.get((symbol, side))


class ArrayCacheBySymbol(_KeyedCache[TSym]):
    """Positions of a one-way account (Deribit): one entry per symbol, whatever its
    side, so a long that goes flat or short replaces itself."""

    __slots__ = ()

    def _subkey(self, item: TSym) -> Hashable:
        return None

    def get(self, symbol: str) -> TSym | None:
        """The cached entry for ``symbol``, if any."""
        return self._items.get((symbol, None))
