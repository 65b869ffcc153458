"""Order books: the immutable :class:`OrderBook` users receive and the mutable
:class:`LocalOrderBook` the reader thread maintains.

Design notes (why, not what):

* Each side is an ascending list of keys, worst level first and best last, and the
  aligned list of their amounts. A level is found by ``bisect`` (a handful of
  comparisons); most diff levels touch prices that already exist, which costs one
  list store; only inserts and deletes move list items, and since the market changes
  the top of the book most, best-last keeps those moves short. Top-N is the lists'
  tail, reversed. No dict: the hashes of prices like ``65000.01`` share their low
  bits, so a dict keyed by them probes long chains (that cost more than the rest of
  the loop). ``benchmarks/bench_orderbook.py`` compares this with lazily sorted
  dicts and heaps.
* Ask keys are stored negated, so both sides are "ascending = best last" and share
  one code path.
* Wire prices are strings and are parsed exactly once, with ``float`` (default) or
  ``Decimal``; ``Decimal('1.10') == Decimal('1.1')``, so differently formatted
  strings for one price still land on one level (the first spelling stays). Live float
  books get levels that msgspec already turned into floats (``parsed=True``), which
  keeps the per-level loop free of function calls.
* Depth windows: a REST snapshot holds only the best ``depth`` levels per side, so
  prices beyond its worst level are unknown until they change. A side that may be
  truncated therefore gets a *bound* (its worst known price); diffs beyond the
  bound are ignored and every view is an exact prefix of the exchange's book. The
  price of that guarantee: a view can hold fewer than ``limit`` levels after the
  market consumes levels inside the window (see ``docs/order_books.md``).
* The per-level loop and the view copy run in C (``_book_levels.c``) when the
  optional extension was built, else in Python (``_book_levels_py``); the two give
  identical results. ``_LEVELS_IMPL`` says which one this process uses;
  ``CCXTPRO_SYNC_PURE_PYTHON=1`` forces the Python one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeAlias, overload

import msgspec

from . import _book_levels_py, _compiled
from ._numbers import N, Num
from ._structures import DictAccess, iso8601

__all__ = ["DiffLevels", "Level", "LocalOrderBook", "N", "Num", "OrderBook", "WireLevels"]

#: One ``[price, amount]`` pair, CCXT style.
Level: TypeAlias = list[N]
#: Levels as they come off the wire: ``[["0.0024", "10"], ...]``.
WireLevels: TypeAlias = Iterable[Sequence[str]]
#: What a diff applies: levels, or ``_book_levels.pack_levels``' bytes (parsed books).
DiffLevels: TypeAlias = WireLevels | bytes


class OrderBook(msgspec.Struct, DictAccess, Generic[N], frozen=True, kw_only=True, gc=False):
    """An immutable order book snapshot with CCXT's unified fields.

    ``bids`` are best (highest) first, ``asks`` best (lowest) first. Every snapshot
    owns fresh lists, so it is safe to hand to another thread; treat the lists as
    read-only if one snapshot is shared by several consumers. ``nonce`` is
    Binance's last update id. ``book["bids"]`` works too, for CCXT-style code.
    ``N`` is ``float`` or ``Decimal``, whichever the book was built with.
    """

    symbol: str
    bids: list[Level[N]]
    asks: list[Level[N]]
    timestamp: int | None = None
    datetime: str | None = None
    nonce: int | None = None

    @property
    def best_bid(self) -> N | None:
        """Highest bid price, or ``None`` when there are no bids."""
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> N | None:
        """Lowest ask price, or ``None`` when there are no asks."""
        return self.asks[0][0] if self.asks else None

    @property
    def spread(self) -> N | None:
        """``best_ask - best_bid``; ``None`` unless both sides have a level."""
        if not self.bids or not self.asks:
            return None
        return self.asks[0][0] - self.bids[0][0]

    @property
    def mid(self) -> N | None:
        """Mid price; ``None`` unless both sides have a level."""
        if not self.bids or not self.asks:
            return None
        return (self.asks[0][0] + self.bids[0][0]) / 2


#: Set (non-empty, not ``0``) to use the Python level loop even where the C one is built.
PURE_PYTHON_ENV = _compiled.PURE_PYTHON_ENV


def _levels_impl() -> tuple[str, Any]:
    """The level functions' module: the compiled one unless absent or refused."""
    compiled = _compiled.load(
        "_book_levels", "apply_levels", "top_levels", "pack_levels", "depth_frame"
    )
    if compiled is None:  # not built, ruled out or out of date: the Python loop
        return "python", _book_levels_py
    return "compiled", compiled


#: ``"compiled"`` or ``"python"``: which level loop this process's books use.
_LEVELS_IMPL, _levels_module = _levels_impl()
# Module globals, looked up per call, so tests can run one process both ways.
_apply_levels: Callable[..., Any] = _levels_module.apply_levels
_top_levels: Callable[..., list[list[Any]]] = _levels_module.top_levels
#: A depth diff's JSON level array to the packed pairs ``_apply_levels`` also takes, or
#: None (the text is for the general decoder); only with the C loop: without it the
#: float decoder's pairs cost less than packing in Python (see _book_levels_py).
_pack_levels: Callable[[Any], bytes | None] | None = (
    _levels_module.pack_levels if _LEVELS_IMPL == "compiled" else None
)
#: With it, a whole combined depth frame read in C (``_book_levels.depth_frame``).
_depth_frame: Callable[..., Any] | None = (
    _levels_module.depth_frame if _LEVELS_IMPL == "compiled" else None
)


class _Side(Generic[N]):
    """One side of a book: ascending keys, worst level first and best last, and their
    amounts. Keys are ``price`` for bids and ``-price`` for asks (``neg``), so both
    sides share one code path; see ``_book_levels_py`` for why this layout."""

    __slots__ = ("amounts", "bound", "keys", "limit", "neg")

    def __init__(self, neg: bool, limit: int | None) -> None:
        self.neg = neg
        self.limit = limit
        self.keys: list[N] = []
        #: ``amounts[i]`` is the amount at ``keys[i]``.
        self.amounts: list[N] = []
        #: Worst key whose neighbourhood is known; keys below it are ignored.
        self.bound: N | None = None

    def reset(
        self, levels: WireLevels, parse: Callable[[str], N] | None, depth: int | None
    ) -> None:
        """Replace the side; ``parse=None`` means the levels are numbers already."""
        pairs: Iterable[Sequence[Any]] = (
            levels if parse is None else [(parse(p), parse(q)) for p, q in levels]
        )
        neg = self.neg
        qty: dict[N, N] = {}
        n_in = 0
        for price, amount in pairs:
            n_in += 1
            if amount:
                qty[-price if neg else price] = amount
        keys = sorted(qty)
        cap = self.limit
        if depth is not None and (cap is None or depth < cap):
            cap = depth
        bound = None
        if cap is not None and n_in >= cap:
            # The source may have had more levels than it showed us.
            del keys[: max(len(keys) - cap, 0)]
            bound = keys[0] if keys else None
        self.keys = keys
        self.amounts = [qty[k] for k in keys]
        self.bound = bound

    def restore_bound(self, price: N | None) -> None:
        """Set the bound to ``price`` (``None``: the whole side is known), as a book
        written elsewhere had it; ``ValueError`` if a kept level lies beyond it."""
        key = None if price is None else (-price if self.neg else price)
        if key is not None and self.keys and self.keys[0] < key:
            raise ValueError(f"bound {price!r} lies inside the side's levels")
        self.bound = key

    def update(self, levels: DiffLevels, parse: Callable[[str], N] | None) -> None:
        """Apply absolute quantities; ``parse=None`` means the levels are numbers already
        (as packed levels always are).

        The hot path of every depth stream: one call into the level loop (C where
        built), no per-level calls here when the decoder has already produced numbers
        (msgspec's float levels).
        """
        pairs: Iterable[Sequence[Any]] | bytes = (
            levels
            if parse is None or isinstance(levels, bytes)
            else [(parse(p), parse(q)) for p, q in levels]
        )
        self.bound = _apply_levels(self.keys, self.amounts, self.bound, self.neg, self.limit, pairs)

    def top(self, n: int | None) -> list[list[N]]:
        """The best ``n`` levels (all if ``None``), best first, as fresh lists."""
        return _top_levels(self.keys, self.amounts, n, self.neg)

    def clear(self) -> None:
        self.keys = []
        self.amounts = []
        self.bound = None


class LocalOrderBook(Generic[N]):
    """The mutable book owned by one thread (the reader). Not thread-safe by design:
    other threads get copies from :meth:`snapshot`.

    ``limit`` caps the levels kept per side (and so the size of views); ``number``
    is the parser for wire strings (``float`` or ``Decimal``). ``parsed=True`` says
    levels arrive as ``number`` values already (a typed decoder converted them), so
    no per-level conversion is done.
    """

    __slots__ = (
        "_asks",
        "_bids",
        "limit",
        "nonce",
        "parse",
        "parsed",
        "symbol",
        "timestamp",
    )

    @overload
    def __init__(
        self: LocalOrderBook[float],
        symbol: str,
        *,
        limit: int | None = None,
        parsed: bool = False,
    ) -> None: ...
    @overload
    def __init__(
        self,
        symbol: str,
        *,
        limit: int | None = None,
        number: Callable[[str], N],
        parsed: bool = False,
    ) -> None: ...
    def __init__(
        self,
        symbol: str,
        *,
        limit: int | None = None,
        number: Callable[[str], Any] = float,
        parsed: bool = False,
    ) -> None:
        # An integer: a float limit would fail every diff in the C level loop alone.
        if limit is not None and (type(limit) is not int or limit < 1):
            raise ValueError(f"limit must be an integer >= 1 or None, got {limit!r}")
        self.symbol = symbol
        self.limit = limit
        self.parse: Callable[[str], N] = number
        self.parsed = parsed
        self._bids: _Side[N] = _Side(False, limit)
        self._asks: _Side[N] = _Side(True, limit)
        #: Last applied update id; ``None`` until the first snapshot.
        self.nonce: int | None = None
        self.timestamp: int | None = None

    def reset(
        self,
        bids: WireLevels,
        asks: WireLevels,
        nonce: int,
        timestamp: int | None = None,
        *,
        depth: int | None = None,
        bounds: tuple[N | None, N | None] | None = None,
    ) -> None:
        """Replace the book with a snapshot.

        ``depth`` is the level count the source was asked for (e.g. the REST
        ``limit``): a side that came back that full may be truncated, so its worst
        level becomes the side's bound. Leave it ``None`` for a complete source.
        ``bounds`` (bid, ask) sets each side's bound instead, as a book written
        elsewhere had them (a raw-log fence); ``ValueError`` if a level lies beyond one.
        """
        parse = None if self.parsed else self.parse
        self._bids.reset(bids, parse, depth)
        self._asks.reset(asks, parse, depth)
        if bounds is not None:
            self._bids.restore_bound(bounds[0])
            self._asks.restore_bound(bounds[1])
        self.nonce = nonce
        self.timestamp = timestamp

    def apply(
        self, bids: DiffLevels, asks: DiffLevels, nonce: int, timestamp: int | None = None
    ) -> bool:
        """Apply absolute level quantities (0 removes) and advance to ``nonce``; returns
        ``is_crossed()`` of the result (the caller's next question, asked here once).

        Sequencing is the caller's job (see ``BookSync``); this only edits levels.
        """
        b = self._bids
        a = self._asks
        if self.parsed:
            # The live path: straight into the level loop, no per-side method call.
            b.bound = _apply_levels(b.keys, b.amounts, b.bound, False, b.limit, bids)
            a.bound = _apply_levels(a.keys, a.amounts, a.bound, True, a.limit, asks)
        else:
            b.update(bids, self.parse)
            a.update(asks, self.parse)
        self.nonce = nonce
        if timestamp is not None:
            self.timestamp = timestamp
        bk = b.keys
        ak = a.keys
        return bool(bk) and bool(ak) and bk[-1] >= -ak[-1]

    def clear(self) -> None:
        """Forget everything (after a desync); the book is unusable until ``reset``."""
        self._bids.clear()
        self._asks.clear()
        self.nonce = None
        self.timestamp = None

    def snapshot(self, limit: int | None = None) -> OrderBook[N]:
        """An immutable copy of the best ``limit`` levels per side (all if ``None``)."""
        ts = self.timestamp
        return OrderBook(
            symbol=self.symbol,
            bids=self._bids.top(limit),
            asks=self._asks.top(limit),
            timestamp=ts,
            datetime=iso8601(ts),
            nonce=self.nonce,
        )

    # Best levels are at the lists' ends; ask keys are negated prices.
    def best_bid(self) -> N | None:
        keys = self._bids.keys
        return keys[-1] if keys else None

    def best_ask(self) -> N | None:
        keys = self._asks.keys
        return -keys[-1] if keys else None

    def is_crossed(self) -> bool:
        """True when best bid >= best ask, which a healthy exchange book never is."""
        b = self._bids.keys
        a = self._asks.keys
        return bool(b) and bool(a) and b[-1] >= -a[-1]

    @property
    def bid_count(self) -> int:
        return len(self._bids.keys)

    @property
    def ask_count(self) -> int:
        return len(self._asks.keys)

    @property
    def bid_bound(self) -> N | None:
        """Worst bid price still tracked exactly (``None``: the whole side is known)."""
        return self._bids.bound

    @property
    def ask_bound(self) -> N | None:
        """Worst ask price still tracked exactly (``None``: the whole side is known)."""
        b = self._asks.bound
        return None if b is None else -b
