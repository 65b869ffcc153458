"""The app's market client: one per server process, made from ``settings.CCXTPRO_SYNC``."""

from django.conf import settings

import ccxtpro_sync
from ccxtpro_sync.contrib.django import DjangoClient


def make_client() -> ccxtpro_sync.binance:
    return ccxtpro_sync.binance(settings.CCXTPRO_SYNC)


#: ``market_client.get()`` in views; closed at interpreter exit.
market_client = DjangoClient(make_client)
