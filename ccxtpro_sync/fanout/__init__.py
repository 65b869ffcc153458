"""Fan-out through Redis Streams: one collector holds the exchange sockets, any number of
processes on any machine consume the same updates (see docs/scale-out.md).

* :class:`Collector` publishes a client's trades, tickers, candles and order books.
* :func:`remote` gives the ``watch_*``/``on_*``/``stream_*`` faces over Redis.
* :func:`shard_of` is the stable symbol → shard assignment; :class:`KeySchema` the key names.

Needs redis-py: ``pip install 'ccxtpro_sync[redis]'``.
"""

from __future__ import annotations

from .books import BookDiffer, BookReplica
from .codec import BookEntry
from .collector import CHANNELS, Collector
from .keys import DEFAULT_PREFIX, KeySchema, parse_shard, shard_of
from .remote import RemoteClient, remote
from .signals import FanoutSignals, fanout_signals

__all__ = [
    "CHANNELS",
    "DEFAULT_PREFIX",
    "BookDiffer",
    "BookEntry",
    "BookReplica",
    "Collector",
    "FanoutSignals",
    "KeySchema",
    "RemoteClient",
    "fanout_signals",
    "parse_shard",
    "remote",
    "shard_of",
]
