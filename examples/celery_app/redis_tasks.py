"""Celery tasks that read market data from Redis: no exchange socket in any worker.

    ccxtpro-sync collect --redis redis://localhost:6379/0 BTC/USDT ETH/USDT   # once, anywhere
    export CCXTPRO_SYNC_REDIS=redis://localhost:6379/0
    celery -A redis_tasks worker --pool=prefork --concurrency=8 --loglevel=INFO

The variant of ``market_tasks`` for many workers: a collector (``ccxtpro-sync collect``)
holds the Binance connections and publishes to Redis Streams; each prefork child gets a
``ccxtpro_sync.fanout.remote`` client (made on ``worker_process_init`` by
``worker_client``, as in ``market_tasks``) with the same ``watch_*`` methods. Eight
workers cost Binance one set of connections instead of eight.

Configuration (environment): ``CCXTPRO_SYNC_REDIS`` (the fan-out's Redis, default
``redis://localhost:6379/0``), ``CCXTPRO_SYNC_FANOUT_PREFIX`` (key prefix, default
``ccxtpro_sync``), and the broker settings of ``market_tasks`` (``CELERY_BROKER_URL``,
``CELERY_RESULT_BACKEND``; default: a filesystem broker under ``CELERY_DATA_DIR``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery

from ccxtpro_sync.contrib.celery import worker_client
from ccxtpro_sync.fanout import RemoteClient, remote

DATA = Path(os.environ.get("CELERY_DATA_DIR", ".celery-data")).resolve()


def _config() -> dict[str, Any]:
    if "CELERY_BROKER_URL" in os.environ:
        return {
            "broker_url": os.environ["CELERY_BROKER_URL"],
            "result_backend": os.environ.get("CELERY_RESULT_BACKEND"),
        }
    for folder in ("queue", "processed", "results", "control"):
        (DATA / folder).mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(DATA / "queue"),
            "data_folder_out": str(DATA / "queue"),
            "processed_folder": str(DATA / "processed"),
            "control_folder": str(DATA / "control"),
            "store_processed": False,
            "polling_interval": 0.1,
        },
        "result_backend": f"file://{DATA / 'results'}",
    }


app = Celery("redis_tasks")
app.conf.update(_config(), broker_connection_retry_on_startup=True)


def make_remote() -> RemoteClient:
    return remote(
        os.environ.get("CCXTPRO_SYNC_REDIS", "redis://localhost:6379/0"),
        prefix=os.environ.get("CCXTPRO_SYNC_FANOUT_PREFIX", "ccxtpro_sync"),
        timeout=10,
    )


market_client = worker_client(make_remote)


@app.task
def last_price(symbol: str = "BTC/USDT") -> dict[str, Any]:
    """The next ticker of ``symbol``, read from Redis."""
    ticker = market_client.get().watch_ticker(symbol, timeout=10)
    return {
        "symbol": ticker.symbol,
        "last": ticker.last,
        "pid": os.getpid(),
        "parent": os.getppid(),
    }


@app.task
def top_of_book(symbol: str = "BTC/USDT") -> dict[str, Any]:
    """Best bid and ask of the book rebuilt from the collector's snapshots and diffs."""
    book = market_client.get().watch_order_book(symbol, limit=1, timeout=10)
    return {"symbol": book.symbol, "bid": book.bids[0], "ask": book.asks[0], "nonce": book.nonce}
