"""``Recorder``: raw payloads and unified structures from a client into a database.

The recorder is an ordinary consumer. Its callbacks run on the client's dispatcher
thread and only hand batches to a bounded in-memory queue; one writer thread
(``ccxtpro_sync-recorder-<exchange>``) takes up to ``batch_size`` rows at a time and
writes them in one transaction. What happens when the database is slower than the
feed is the ``overflow`` policy:

* ``"block"`` (default): a callback waits up to ``block_timeout`` seconds for room,
  then drops its batch. While it waits the dispatcher holds back other callbacks of
  this client, and the client's own bounded pending store (see docs/threading.md)
  coalesces or drops the oldest updates, never the reader.
* ``"drop"``: a full queue drops the batch at once.

Dropped rows are counted by table (``report().dropped``) and logged. A failed write
is retried ``retries`` times (a connection the server killed is replaced); after
that the writer stops, keeps what it could not write (``pending()``,
``unwritten()``) and logs a summary. ``close()`` cancels the subscriptions, flushes
everything queued and returns a :class:`Report`.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import msgspec
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from .._arguments import check_timeout
from .._exceptions import BadRequest, NotSupported
from ._sink import Batch, Sink
from .schema import Numbers, Schema, connect

__all__ = ["STREAMS", "Recorder", "Report", "numbers_of"]

_log = logging.getLogger("ccxtpro_sync.persistence")

#: Streams a recorder can follow, and the table each one fills.
STREAMS: dict[str, str] = {
    "trades": "trades",
    "ohlcv": "ohlcv",
    "ticker": "tickers",
    "order_book": "order_books",
    "funding_rate": "funding_rates",
    "liquidations": "liquidations",
    "orders": "orders",
    "my_trades": "my_trades",
    "balance": "balances",
    "positions": "positions",
}
#: User-data streams: the client method each one needs.
_PRIVATE = {
    "orders": "on_orders",
    "my_trades": "on_my_trades",
    "balance": "on_balance",
    "positions": "on_positions",
}

_live: weakref.WeakSet[Recorder] = weakref.WeakSet()


def numbers_of(client: Any) -> Numbers:
    """``"decimal"`` for a client made with ``numbers="decimal"``, else ``"float"``."""
    return "decimal" if getattr(client, "_number", None) is Decimal else "float"


@atexit.register
def _close_at_exit() -> None:
    """Flush recorders nobody closed (runs before the clients' own exit hook)."""
    for recorder in list(_live):
        try:
            recorder.close(timeout=5.0)
        except Exception:  # exiting anyway
            _log.debug("closing %r at exit failed", recorder, exc_info=True)


@dataclass(frozen=True)
class Report:
    """What a recorder wrote and what it did not, by table (rows)."""

    written: dict[str, int] = field(default_factory=dict)
    #: Queued, in flight or left by a failed writer: not in the database.
    pending: dict[str, int] = field(default_factory=dict)
    #: Refused by the overflow policy, or offered after the writer failed or closed.
    dropped: dict[str, int] = field(default_factory=dict)
    #: Structures lacking a natural-key value (never writable).
    skipped: dict[str, int] = field(default_factory=dict)
    #: Why the writer stopped, if it failed.
    error: str | None = None
    #: When the oldest pending batch was handed over (epoch seconds).
    oldest_pending: float | None = None

    @property
    def clean(self) -> bool:
        """Nothing pending, nothing dropped, no failure."""
        return not self.pending and not self.dropped and self.error is None

    def __str__(self) -> str:
        def fmt(counts: Mapping[str, int]) -> str:
            return ", ".join(f"{t}={n}" for t, n in sorted(counts.items())) or "none"

        parts = [f"written: {fmt(self.written)}"]
        if self.pending:
            since = ""
            if self.oldest_pending is not None:
                since = f" (oldest handed over {time.time() - self.oldest_pending:.1f}s ago)"
            parts.append(f"NOT WRITTEN (pending): {fmt(self.pending)}{since}")
        if self.dropped:
            parts.append(f"dropped: {fmt(self.dropped)}")
        if self.skipped:
            parts.append(f"skipped (no key): {fmt(self.skipped)}")
        if self.error:
            parts.append(f"writer failed: {self.error}")
        return "; ".join(parts)


class Recorder:
    """Record ``client``'s raw payloads and unified structures into ``url``.

    ``symbols`` and ``streams`` (keys of :data:`STREAMS`) choose what to subscribe;
    ``timeframes`` applies to ``ohlcv``, ``order_book_depth`` to ``order_book`` (top-N
    levels per snapshot). The user-data streams (``orders``, ``my_trades``,
    ``balance``, ``positions``) need a client with the matching ``on_*`` method.
    ``raw`` records every payload the client receives, whoever subscribed it.
    They follow the whole account (every symbol), whatever ``symbols`` says.
    ``exchange`` (default: the client's class name, e.g. ``binanceusdm``) and
    ``account`` fill the context columns. ``numbers`` (default: the client's own
    ``numbers`` setting) chooses float64 or exact (``Decimal``) number columns for the
    tables the recorder creates, and how values are written.
    """

    def __init__(
        self,
        client: Any,
        url: str | Engine = "sqlite:///ccxtpro_sync.db",
        *,
        symbols: Sequence[str] = (),
        streams: Iterable[str] = ("trades",),
        timeframes: Sequence[str] = ("1m",),
        order_book_depth: int = 10,
        raw: bool = True,
        markets: bool = True,
        exchange: str | None = None,
        account: str = "default",
        info: bool = True,
        prefix: str = "",
        batch_size: int = 1000,
        flush_interval: float = 0.05,
        max_pending: int = 100_000,
        overflow: Literal["block", "drop"] = "block",
        block_timeout: float = 0.5,
        retries: int = 3,
        retry_wait: float = 0.2,
        numbers: Numbers | None = None,
    ) -> None:
        wanted = list(streams)
        unknown = [s for s in wanted if s not in STREAMS]
        if unknown:
            raise BadRequest(f"unknown streams {unknown}; expected some of {list(STREAMS)}")
        if overflow not in ("block", "drop"):
            raise BadRequest(f"overflow must be 'block' or 'drop', not {overflow!r}")
        for stream in wanted:
            method = _PRIVATE.get(stream)
            if method is not None and not callable(getattr(client, method, None)):
                raise NotSupported(
                    f"{type(client).__name__} has no {method}(): cannot record {stream}"
                )
        self.client = client
        self.exchange = exchange or type(client).__name__
        self.account = account
        self.order_book_depth = order_book_depth
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self.overflow = overflow
        self.block_timeout = block_timeout
        self.retries = retries
        self.retry_wait = retry_wait
        self.numbers: Numbers = numbers if numbers is not None else numbers_of(client)
        self.schema = Schema(prefix=prefix, numbers=self.numbers)
        self._own_engine = not isinstance(url, Engine)
        self.engine = connect(url, schema=self.schema)
        self._sink = Sink(self.engine, self.schema, info=info)

        self._cond = threading.Condition()
        self._queue: deque[Batch] = deque()
        self._inflight: list[Batch] = []
        self._failed: list[Batch] = []
        self._rows = 0  # queued + in flight
        self._offered = 0  # batches accepted, ever
        self._done = 0  # batches written (or skipped), ever
        self._written: Counter[str] = Counter()
        self._dropped: Counter[str] = Counter()
        self._skipped: Counter[str] = Counter()
        self._error: BaseException | None = None
        self._stopping = False
        #: Offers are taken until the writer has drained and ended (late callbacks of a
        #: dispatch in progress during close() still land).
        self._accepting = True
        self._closed = False
        self._report: Report | None = None
        self._abort = threading.Event()
        self._warned_drop = False
        self._subscriptions: list[Any] = []
        self._writer = threading.Thread(
            target=self._run, name=f"ccxtpro_sync-recorder-{self.exchange}", daemon=True
        )
        self._writer.start()
        _live.add(self)
        try:
            if markets:
                self.offer("markets", list(client.load_markets().values()))
            if raw:
                self._subscriptions.append(client.on_raw(self._handler("raw_messages")))
            self._subscribe(wanted, list(symbols), list(timeframes))
        except BaseException:
            self.close(flush=False)
            raise

    # -- subscriptions ------------------------------------------------------------------
    def _handler(self, table: str, **context: Any) -> Callable[[Any], None]:
        ctx = {"exchange": self.exchange, "account": self.account, **context}

        def handle(value: Any) -> None:
            self.offer(table, value if isinstance(value, list) else [value], ctx)

        return handle

    def _subscribe(self, streams: list[str], symbols: list[str], timeframes: list[str]) -> None:
        client, subs = self.client, self._subscriptions
        public = [s for s in streams if s not in _PRIVATE]
        if public and not symbols:
            raise BadRequest(f"recording {public} needs symbols=[...]")
        for stream in streams:
            table = STREAMS[stream]
            if stream == "trades":
                subs.append(client.on_trades(symbols, self._handler(table)))
            elif stream == "ohlcv":
                for symbol in symbols:
                    unified = client.market(symbol).symbol
                    for tf in timeframes:
                        handler = self._handler(table, symbol=unified, timeframe=tf)
                        subs.append(client.on_ohlcv(symbol, tf, handler))
            elif stream == "ticker":
                subs.extend(client.on_ticker(s, self._handler(table)) for s in symbols)
            elif stream == "order_book":
                subs.append(client.on_order_book(symbols, self._book_handler()))
            elif stream == "funding_rate":
                subs.append(client.on_funding_rate(symbols, self._handler(table)))
            elif stream == "liquidations":
                subs.append(client.on_liquidations(symbols, self._handler(table)))
            else:  # on_orders/on_my_trades/on_positions/on_balance: account-wide
                subs.append(getattr(client, _PRIVATE[stream])(handler=self._handler(table)))

    def _book_handler(self) -> Callable[[Any], None]:
        handle, depth = self._handler("order_books"), self.order_book_depth

        def book(value: Any) -> None:
            handle(msgspec.structs.replace(value, bids=value.bids[:depth], asks=value.asks[:depth]))

        return book

    # -- the queue ------------------------------------------------------------------------
    def offer(
        self, table: str, values: Sequence[Any], context: Mapping[str, Any] | None = None
    ) -> bool:
        """Queue structures for ``table`` (what the callbacks do); False if dropped."""
        n = len(values)
        if not n:
            return True
        ctx = (
            context if context is not None else {"exchange": self.exchange, "account": self.account}
        )
        batch = Batch(table, list(values), ctx, time.time())
        with self._cond:
            if self._error is not None or not self._accepting:
                why = "the writer failed" if self._error is not None else "the recorder is closed"
                self._drop(batch, why)
                return False
            if self.overflow == "block" and not self._fits(n):
                deadline = time.monotonic() + self.block_timeout
                while not self._fits(n) and self._error is None and self._accepting:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            if not self._fits(n) or self._error is not None or not self._accepting:
                self._drop(batch, f"{self._rows} rows already queued (max_pending)")
                return False
            self._queue.append(batch)
            self._rows += n
            self._offered += 1
            self._cond.notify_all()
        return True

    def _fits(self, n: int) -> bool:
        return self._rows == 0 or self._rows + n <= self.max_pending

    def _drop(self, batch: Batch, why: str) -> None:
        self._dropped[batch.table] += batch.rows
        if not self._warned_drop:  # once: a slow database would flood the log
            self._warned_drop = True
            _log.warning(
                "recorder %s: dropping %d %s rows: %s (counted in report().dropped)",
                self.exchange,
                batch.rows,
                batch.table,
                why,
            )

    # -- the writer -----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    self._accepting = False
                    return
                deadline = time.monotonic() + self.flush_interval
                while not self._stopping and self._queued_rows() < self.batch_size:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                taken: list[Batch] = []
                rows = 0
                while self._queue and (not taken or rows + self._queue[0].rows <= self.batch_size):
                    batch = self._queue.popleft()
                    taken.append(batch)
                    rows += batch.rows
                self._inflight = taken
            try:
                sent, skipped = self._write(taken)
            except BaseException as error:
                self._fail(error)
                return
            with self._cond:
                self._written.update(sent)
                self._skipped.update(skipped)
                self._rows -= rows
                self._done += len(taken)
                self._inflight = []
                self._cond.notify_all()

    def _queued_rows(self) -> int:
        return sum(b.rows for b in self._queue)

    def _write(self, batches: list[Batch]) -> tuple[dict[str, int], dict[str, int]]:
        attempt = 0
        while True:
            try:
                return self._sink.write(batches)
            except SQLAlchemyError as error:
                if attempt >= self.retries or self._abort.is_set():
                    raise
                wait = self.retry_wait * 2**attempt
                attempt += 1
                _log.warning(
                    "recorder %s: write failed (%s); retry %d/%d in %.1fs",
                    self.exchange,
                    _short(error),
                    attempt,
                    self.retries,
                    wait,
                )
                if self._abort.wait(wait):
                    raise

    def _fail(self, error: BaseException) -> None:
        with self._cond:
            self._error = error
            self._accepting = False
            self._failed = [*self._inflight, *self._queue, *self._failed]
            self._inflight = []
            self._queue.clear()
            self._rows = 0
            self._cond.notify_all()
        _log.error("recorder %s: writer stopped: %s", self.exchange, self.report())

    # -- inspection -----------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued before this call is written; False on timeout or failure.

        ``timeout=None`` waits as long as the writer works (it stops on failure or close).
        """
        deadline = None if timeout is None else time.monotonic() + check_timeout(timeout)
        with self._cond:
            target = self._offered
            while self._done < target and self._error is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
            return self._error is None

    def pending(self) -> dict[str, int]:
        """Rows not (yet) in the database, by table: queued, in flight, or left by a failure."""
        with self._cond:
            return dict(_count([*self._inflight, *self._queue, *self._failed]))

    def unwritten(self) -> list[Batch]:
        """The pending batches themselves (structures or raw messages), to salvage them."""
        with self._cond:
            return [*self._inflight, *self._queue, *self._failed]

    @property
    def error(self) -> BaseException | None:
        """Why the writer stopped, or ``None``."""
        return self._error

    def report(self) -> Report:
        """Counts so far (see :class:`Report`)."""
        with self._cond:
            left = [*self._inflight, *self._queue, *self._failed]
            return Report(
                written=dict(self._written),
                pending=dict(_count(left)),
                dropped=dict(self._dropped),
                skipped=dict(self._skipped),
                error=None if self._error is None else _short(self._error),
                oldest_pending=min((b.at for b in left), default=None),
            )

    # -- lifecycle ------------------------------------------------------------------------
    def close(self, timeout: float = 30.0, *, flush: bool = True) -> Report:
        """Stop recording; with ``flush`` write everything queued first. Idempotent.

        Returns the final :class:`Report` and logs it as a warning unless it is clean.
        """
        timeout = check_timeout(timeout)
        with self._cond:
            if self._closed and self._report is not None:
                return self._report
            self._closed = True
        for sub in reversed(self._subscriptions):  # raw last: it saw every frame they saw
            try:
                sub.cancel()
            except Exception:
                _log.debug("cancelling %r failed", sub, exc_info=True)
        with self._cond:
            self._stopping = True
            if not flush:
                self._abort.set()
                self._accepting = False
                self._failed = [*self._queue, *self._failed]
                self._queue.clear()
            self._cond.notify_all()
        self._writer.join(timeout)
        if self._writer.is_alive():
            self._abort.set()
            _log.error("recorder %s: writer still busy after %.1fs", self.exchange, timeout)
        report = self.report()
        if not report.clean:
            _log.warning("recorder %s closed: %s", self.exchange, report)
        if self._own_engine and not self._writer.is_alive():
            self.engine.dispose()
        self._report = report
        _live.discard(self)
        return report

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Recorder {self.exchange} → {self.engine.url.render_as_string()}>"


def _count(batches: Iterable[Batch]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for batch in batches:
        counts[batch.table] += batch.rows
    return counts


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"
