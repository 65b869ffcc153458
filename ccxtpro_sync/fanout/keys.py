"""The Redis key schema of the fan-out, and the stable shard assignment.

Every key starts with a prefix (``ccxtpro_sync`` unless configured) and names the
exchange and market (``<p>:<exchange>:<market>``, written ``<b>`` below), so several
collectors and exchanges can share one Redis:

* ``<b>:trades:<symbol>``: stream, one entry per trade, id ``<trade id>-1``;
* ``<b>:ticker:<symbol>``: stream, one entry per ticker, id ``<E>-<L + 1>``;
* ``<b>:ohlcv:<timeframe>:<symbol>``: stream, one entry per candle update, id
  ``<open time>-<volume's ordered bits>``;
* ``<b>:orderbook:<symbol>``: stream of snapshots and diffs, id ``<update id>-1``;
* ``<b>:orderbook:<symbol>:latest``: hash, the newest snapshot (``nonce``, ``v``);
* ``<b>:raw``: stream, the raw payloads of a collector's client (``raw`` channel), id
  chosen by Redis;
* ``<b>:lease:<i>/<n>``: string with a TTL, the collector holding shard i of n;
* ``<b>:consumer:<name>``: hash, a named consumer's last entry id per stream key.

Entry ids derived from the exchange's data (trade id, order-book update id, ticker
event time and last trade id, candle open time and volume; see :mod:`.entry_ids`) are
what makes writes idempotent: Redis refuses an id not above the stream's newest, so a
standby collector taking over cannot write an entry twice.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from .._exceptions import InvalidArgument

__all__ = ["DEFAULT_PREFIX", "KeySchema", "parse_shard", "shard_of"]

DEFAULT_PREFIX = "ccxtpro_sync"


@dataclass(frozen=True)
class KeySchema:
    """Key names for one exchange and market (``binance``/``spot``, ``binance``/``usdm``...)."""

    exchange: str = "binance"
    market: str = "spot"
    prefix: str = DEFAULT_PREFIX

    @property
    def base(self) -> str:
        return f"{self.prefix}:{self.exchange}:{self.market}"

    def trades(self, symbol: str) -> str:
        return f"{self.base}:trades:{symbol}"

    def ticker(self, symbol: str) -> str:
        return f"{self.base}:ticker:{symbol}"

    def ohlcv(self, symbol: str, timeframe: str) -> str:
        return f"{self.base}:ohlcv:{timeframe}:{symbol}"

    def order_book(self, symbol: str) -> str:
        return f"{self.base}:orderbook:{symbol}"

    def latest_snapshot(self, symbol: str) -> str:
        return f"{self.order_book(symbol)}:latest"

    def raw(self) -> str:
        return f"{self.base}:raw"

    def lease(self, shard: int, shards: int) -> str:
        return f"{self.base}:lease:{shard}/{shards}"

    def consumer(self, name: str) -> str:
        return f"{self.base}:consumer:{name}"


def shard_of(symbol: str, shards: int) -> int:
    """The shard (0-based) that carries ``symbol``: a CRC-32 of the name, so every
    process on every machine agrees without coordination."""
    if shards < 1:
        raise InvalidArgument("shards must be at least 1")
    return zlib.crc32(symbol.encode()) % shards


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` (1-based ``i``, as on the command line) → ``(i - 1, n)``."""
    head, sep, tail = text.partition("/")
    try:
        index, count = int(head), int(tail)
    except ValueError:
        index = count = 0
    if not sep or count < 1 or not 1 <= index <= count:
        raise InvalidArgument(f"shard must look like i/n with 1 <= i <= n, got {text!r}")
    return index - 1, count
