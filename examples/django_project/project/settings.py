"""Settings of the example project: no database, one app (``markets``).

The market client's configuration is ``CCXTPRO_SYNC``: Binance by default, or the
local exchange whose URLs ``ccxtpro-sync sim`` prints as ``CCXTPRO_SYNC_URLS``.
"""

import json
import os

SECRET_KEY = "example-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
INSTALLED_APPS = ["markets.apps.MarketsConfig"]
ROOT_URLCONF = "project.urls"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

CCXTPRO_SYNC: dict[str, object] = {"timeout": 10}
if urls := os.environ.get("CCXTPRO_SYNC_URLS"):
    found = json.loads(urls)
    CCXTPRO_SYNC |= {"environment": "local", "urls": found.get("spot", found)}

#: The Redis of a ``ccxtpro-sync collect`` fan-out, read by ``/redis/ticker/``.
CCXTPRO_SYNC_REDIS = os.environ.get("CCXTPRO_SYNC_REDIS", "redis://localhost:6379/0")
CCXTPRO_SYNC_FANOUT_PREFIX = os.environ.get("CCXTPRO_SYNC_FANOUT_PREFIX", "ccxtpro_sync")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"ccxtpro_sync": {"handlers": ["console"], "level": "INFO"}},
}
