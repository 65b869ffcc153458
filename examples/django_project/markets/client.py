"""The app's market client: one per server process, made from ``settings.CCXTPRO_SYNC``."""

from typing import TYPE_CHECKING

from django.conf import settings

import ccxtpro_sync
from ccxtpro_sync.contrib.django import DjangoClient

if TYPE_CHECKING:
    from ccxtpro_sync.fanout import RemoteClient


def make_client() -> ccxtpro_sync.binance:
    return ccxtpro_sync.binance(settings.CCXTPRO_SYNC)


#: ``market_client.get()`` in views; closed at interpreter exit.
market_client = DjangoClient(make_client)


def make_remote() -> "RemoteClient":
    """A client of the Redis fan-out (``settings.CCXTPRO_SYNC_REDIS``): no exchange socket."""
    from ccxtpro_sync.fanout import remote

    return remote(
        settings.CCXTPRO_SYNC_REDIS,
        prefix=getattr(settings, "CCXTPRO_SYNC_FANOUT_PREFIX", "ccxtpro_sync"),
        timeout=10,
    )


#: ``remote_client.get()`` in views that read from Redis (``/redis/ticker/``).
remote_client = DjangoClient(make_remote)
