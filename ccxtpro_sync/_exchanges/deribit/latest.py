"""The newest ticker and best bid/ask per symbol, for ``watch_tickers``/``watch_bids_asks``.

``watch_tickers(symbols)`` answers with the tickers of the symbols asked, not only
the one whose update woke it: CCXT's unified ``watchTickers`` as its examples use it
(``tickers[a]``, ``tickers[b]`` after one call), which is what CCXT's Deribit returns
with ``newUpdates`` off. The adapters of every connection of one client
write here on their reader threads, before the update is delivered, so a watcher
woken by an update always finds it (or a newer one) here. As in CCXT, a value is
kept after ``un_watch_*`` (its ``timestamp`` tells its age); memory is bounded by
the number of markets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from ..._structures import Ticker

__all__ = ["LatestTickers"]


class LatestTickers:
    """Newest value per message hash (``ticker:<symbol>``, ``bidask:<symbol>``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # a leaf lock: held for one dict operation
        self._values: dict[str, Ticker] = {}

    def put(self, message_hash: str, ticker: Ticker) -> None:
        with self._lock:
            self._values[message_hash] = ticker

    def pick(self, message_hashes: Iterable[str]) -> dict[str, Ticker]:
        """``{symbol: ticker}`` for the hashes that have a value, in the order asked."""
        with self._lock:
            found = [self._values.get(h) for h in message_hashes]
        return {t.symbol: t for t in found if t is not None}
