"""Celery tasks that read live market data, one client per worker process.

    celery -A market_tasks worker --pool=prefork --concurrency=2 --loglevel=INFO

``market_client`` (``ccxtpro_sync.contrib.celery.worker_client``) creates the
client in each prefork child on ``worker_process_init`` and closes it on
``worker_process_shutdown``; the parent never has one, so no socket or thread
crosses the fork. ``--pool=solo`` works too (no fork; one client in the worker).

Configuration (environment):

* ``CCXTPRO_SYNC_URLS``: the local exchange's URLs (``ccxtpro-sync sim`` prints them);
  without it the tasks talk to Binance;
* ``CELERY_BROKER_URL``, ``CELERY_RESULT_BACKEND``: default to a filesystem broker and a
  file result backend under ``CELERY_DATA_DIR`` (default ``./.celery-data``), so the
  example needs no server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from celery import Celery

import ccxtpro_sync
from ccxtpro_sync.contrib.celery import worker_client

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


app = Celery("market_tasks")
app.conf.update(_config(), broker_connection_retry_on_startup=True)


def make_client() -> ccxtpro_sync.binance:
    config: dict[str, Any] = {"timeout": 10}
    if urls := os.environ.get("CCXTPRO_SYNC_URLS"):
        found = json.loads(urls)
        config |= {"environment": "local", "urls": found.get("spot", found)}
    return ccxtpro_sync.binance(config)


market_client = worker_client(make_client)


@app.task
def last_price(symbol: str = "BTC/USDT") -> dict[str, Any]:
    """The next ticker of ``symbol``; the stream stays subscribed for the next task."""
    client = market_client.get()
    ticker = client.watch_ticker(symbol, timeout=10)
    return {
        "symbol": ticker.symbol,
        "last": ticker.last,
        "pid": os.getpid(),
        "parent": os.getppid(),
        "client": id(client),
    }


@app.task
def top_of_book(symbol: str = "BTC/USDT") -> dict[str, Any]:
    """Best bid and ask from the synced local order book."""
    book = market_client.get().watch_order_book(symbol, limit=1, timeout=10)
    return {"symbol": book.symbol, "bid": book.bids[0], "ask": book.asks[0], "nonce": book.nonce}
