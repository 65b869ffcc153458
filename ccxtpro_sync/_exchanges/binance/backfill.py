"""The thread that fetches public trades and candles missed during a gap.

``MarketData`` only *asks* (a ``GapWanted`` task, returned by value; the reader
hands it over with no lock held). This thread fetches each gap page by page over
REST within the shared weight budget (``SnapshotFetcher.admit``/``settled``),
waits out a ``Retry-After``, and hands every page to ``apply`` — which feeds the stream's
``GapFiller`` under the client's data lock and delivers the result — then
drains the held live items through ``drain`` until the hold closes.

Sources: ``aggTrades`` by ``fromId`` (spot and futures), ``historicalTrades``
by ``fromId`` for the spot ``@trade`` stream when an API key is configured
(else ``trades``, the recent ones only: older ids are reported missing), and
``klines`` by ``startTime``.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..._core.trade_gap import GapRequest
from ..._exceptions import CcxtproSyncError, ClientClosed, RateLimitExceeded
from ..._sync.lazy_thread import LazyThread

_log = logging.getLogger("ccxtpro_sync")


@dataclass(frozen=True, slots=True)
class BackfillJob:
    """One gap of one stream: ``timeframe`` is None for trades."""

    symbol: str
    timeframe: str | None
    request: GapRequest


#: Fetch one page: (job) → (items oldest first, whether the source pages by key).
Fetch = Callable[[BackfillJob], tuple[list[Any], bool]]
#: Feed a page (None: the gap failed) → the next page to fetch, if any.
Apply = Callable[[BackfillJob, "list[Any] | None", bool], "GapRequest | None"]
#: Release held live items → (hold closed, a new gap among them).
Drain = Callable[[BackfillJob], tuple[bool, "GapRequest | None"]]


class Backfiller(LazyThread):
    """Fetches gap pages on its own daemon thread (started on the first request)."""

    def __init__(
        self,
        fetch: Fetch,
        apply: Apply,
        drain: Drain,
        *,
        name: str = "ccxtpro_sync-backfill",
        patience: float = 30.0,
    ) -> None:
        self._fetch = fetch
        self._apply = apply
        self._drain = drain
        super().__init__(name)
        #: Longest wait on the REST budget (Retry-After, used-up minute) before giving up.
        self.patience = patience
        self._jobs: deque[BackfillJob] = deque()
        self.pages = 0
        self.failures = 0

    def request(self, job: BackfillJob) -> None:
        """Queue a gap; returns at once (safe under other locks)."""
        self._enqueue(lambda: self._jobs.append(job))

    def close(self, timeout: float = 5.0) -> None:
        self._shut(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._jobs.popleft()
            try:
                self._fill(job)
            except ClientClosed:
                return
            except Exception:  # a malformed page must not end the worker
                _log.exception("backfill of %s failed", job.symbol)

    def _fill(self, job: BackfillJob) -> None:
        while True:
            page = self._page(job)
            if self._closed:
                return
            if page is None:
                self.failures += 1
                follow = self._apply(job, None, False)
            else:
                self.pages += 1
                follow = self._apply(job, page[0], page[1])
            if follow is not None:  # the next page of the same gap
                job = BackfillJob(job.symbol, job.timeframe, follow)
                continue
            break
        while not self._closed:  # release the held live items, in order
            closed, again = self._drain(job)
            if again is not None:  # the held items open another gap
                self.request(BackfillJob(job.symbol, job.timeframe, again))
                return
            if closed:
                return

    def _page(self, job: BackfillJob) -> tuple[list[Any], bool] | None:
        deadline = time.monotonic() + self.patience
        while not self._closed:
            try:
                return self._fetch(job)
            except RateLimitExceeded as error:  # budget used up or Retry-After running
                wait = error.retry_after if error.retry_after is not None else 1.0
            except ClientClosed:
                raise
            except CcxtproSyncError as error:
                retry_after = getattr(error, "retry_after", None)
                if retry_after is None:
                    _log.warning("backfill of %s failed: %s", job.symbol, error)
                    return None
                wait = float(retry_after)
            except Exception:  # a page we cannot read: the gap is reported, not retried
                _log.exception("backfill of %s failed", job.symbol)
                return None
            now = time.monotonic()
            if now + wait > deadline:
                return None
            with self._cond:
                self._cond.wait_for(lambda: self._closed, wait)
        return None


#: Rows per page (Binance's maximum for trades; klines take up to 1000 everywhere).
PAGE = 1000


def fetch_gap(client: Any, job: BackfillJob) -> tuple[list[Any], bool]:
    """One page of ``job``'s gap from the client's REST API, within its weight budget:
    (items oldest first, whether the source pages by key)."""
    from .rest_market import PREFIX
    from .rest_parsers import (
        KlineRow,
        RestAggTrade,
        RestTrade,
        decode,
        parse_rest_agg_trade,
        parse_rest_kline,
        parse_rest_trade,
    )

    market = client.market(job.symbol)
    number = client.data.markets.number
    prefix = PREFIX[client.product]
    first, last = job.request.first, job.request.last
    if job.timeframe is not None:
        query = {
            "symbol": market.id,
            "interval": job.timeframe,
            "startTime": first,
            "endTime": last,
            "limit": PAGE,
        }
        weight = 2 if client.product == "spot" else 5
        body = client._rest_get(f"{prefix}/klines", query, weight, client.timeout)
        rows = decode(body, list[KlineRow], "klines")
        return [parse_rest_kline(row, market, number) for row in rows], True
    if client._trades_kind != "trade":
        query = {"symbol": market.id, "fromId": first, "limit": PAGE}
        weight = 4 if client.product == "spot" else 20
        body = client._rest_get(f"{prefix}/aggTrades", query, weight, client.timeout)
        aggregated = decode(body, list[RestAggTrade], "aggTrades")
        return [parse_rest_agg_trade(row, market, number) for row in aggregated], True
    credentials = getattr(client, "credentials", None)
    if credentials is None:  # /trades serves the most recent ones only
        query = {"symbol": market.id, "limit": PAGE}
        body = client._rest_get(f"{prefix}/trades", query, 25, client.timeout)
        rows_t = decode(body, list[RestTrade], "trades")
        return [parse_rest_trade(row, market, number) for row in rows_t], False
    query = {"symbol": market.id, "fromId": first, "limit": PAGE}
    fetcher = client._fetcher
    fetcher.admit(25, "GET historicalTrades")
    error: BaseException | None = None
    try:
        body = client.rest.get(  # close() can cut it short
            f"{prefix}/historicalTrades",
            query,
            timeout=client.timeout,
            headers={"X-MBX-APIKEY": credentials.api_key},
        )
    except BaseException as exc:
        error = exc
        raise
    finally:
        fetcher.settled(error)
    rows_h = decode(body, list[RestTrade], "historicalTrades")
    return [parse_rest_trade(row, market, number) for row in rows_h], True
