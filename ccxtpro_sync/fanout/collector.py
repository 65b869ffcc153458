"""``Collector``: one client's market data into Redis Streams, for any number of consumers.

The collector is an ordinary consumer of the client's public API (``on_trades``,
``on_ticker``, ``on_ohlcv``, ``on_order_book``). Its callbacks run on the client's
dispatcher thread, encode the update (see :mod:`.codec`) and hand it to the
:class:`~.writer.Writer`, which never blocks them.

Shards and failover: a collector owns shard ``i`` of ``n`` (the symbols with
``shard_of(symbol, n) == i``) while it holds that shard's lease in Redis. Any number of
collectors may run for one shard; one is active, the others are hot standbys: they
follow the same streams and keep the last ``standby_buffer`` trades, tickers and
candle updates per stream. When the active one stops renewing (killed, partitioned) its
lease expires after ``lease_ttl`` seconds and a standby takes it: it writes what it
buffered (entry ids come from the exchange's data, see :mod:`.entry_ids`, so what the
stream has already is refused and nothing is written twice) and restarts every book
with a snapshot. Trades older than the standby's buffer are a gap, which consumers
see and report (``fanout_gap``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

import redis
from tenacity import Retrying

from .._core.events import RawMessage
from .._exceptions import InvalidArgument
from .._signals import send
from .._structures import OHLCV, Ticker, Trade
from .._sync.consumers import Subscription
from .books import BookDiffer
from .codec import encode
from .entry_ids import candle_entry_id, ticker_entry_id, trade_entry_id
from .keys import DEFAULT_PREFIX, KeySchema, shard_of
from .lease import Lease
from .signals import fanout_signals
from .writer import Entry, Writer

__all__ = ["CHANNELS", "Collector"]

_log = logging.getLogger("ccxtpro_sync.fanout")

#: Channels a collector can publish.
CHANNELS = ("trades", "ticker", "ohlcv", "orderbook", "raw")


class Collector:
    """Publishes ``symbols`` (those of this shard) from ``client`` to Redis.

    Args:
        client: a ccxtpro_sync client (``binance``, ``binanceusdm``, ``binancecoinm``).
        redis_url: ``redis://host:port/db`` or ``unix:///path``.
        symbols: every symbol of the deployment; this collector keeps its shard's.
        channels: any of ``trades``, ``ticker``, ``ohlcv``, ``orderbook``, ``raw`` (the
            client's raw payloads, for recorders; not sharded: every frame of the client).
        timeframes: candle timeframes for ``ohlcv``.
        shard: ``(i, n)``, 0-based; ``(0, 1)`` carries every symbol.
        lease_ttl: seconds after which a silent active collector's shard is taken over.
        maxlen: retention per stream (``XADD MAXLEN ~``: at least this many entries stay).
        max_buffer: entries held while Redis is slow or away; older ones are dropped.
        standby_buffer: trades, tickers or candle updates per stream a standby keeps
            to fill the takeover gap.
        snapshot_every: order-book entries between two snapshots.
        reconnect: the tenacity policy for Redis reconnects.
    """

    def __init__(
        self,
        client: Any,
        redis_url: str,
        symbols: Sequence[str],
        *,
        channels: Sequence[str] = ("trades", "ticker", "orderbook"),
        timeframes: Sequence[str] = ("1m",),
        shard: tuple[int, int] = (0, 1),
        lease_ttl: float = 5.0,
        maxlen: int = 100_000,
        max_buffer: int = 100_000,
        batch_size: int = 500,
        standby_buffer: int = 10_000,
        snapshot_every: int = 100,
        prefix: str = DEFAULT_PREFIX,
        reconnect: Retrying | None = None,
        owner: str | None = None,
    ) -> None:
        unknown = set(channels) - set(CHANNELS)
        if unknown:
            raise InvalidArgument(f"unknown channel(s) {sorted(unknown)}; expected {CHANNELS}")
        index, count = shard
        if count < 1 or not 0 <= index < count:
            raise InvalidArgument(f"shard must be (i, n) with 0 <= i < n, got {shard!r}")
        self.client = client
        self.schema = KeySchema("binance", str(getattr(client, "product", "spot")), prefix)
        self.symbols = [s for s in symbols if shard_of(s, count) == index]
        self.channels = tuple(channels)
        self.timeframes = tuple(timeframes)
        self.maxlen = maxlen
        self.owner = owner or f"{uuid.uuid4().hex[:12]}"
        try:
            self._redis = redis.Redis.from_url(
                redis_url, socket_timeout=5.0, socket_connect_timeout=5.0
            )
        except ValueError as error:
            raise InvalidArgument(f"bad Redis URL {redis_url!r}: {error}") from error
        self.lease = Lease(self._redis, self.schema.lease(index, count), self.owner, lease_ttl)
        self._standby_buffer = standby_buffer
        self._state = threading.Lock()  # leaf: active flag, standby buffers, book differs
        self._active = False
        self._active_changed = threading.Condition(self._state)
        self._held: dict[str, deque[Entry]] = {}
        self._differs = {s: BookDiffer(snapshot_every) for s in self.symbols}
        self._need_snapshot: set[str] = set()
        self._writer = Writer(
            self._redis,
            name=self.owner,
            max_buffer=max_buffer,
            batch_size=batch_size,
            reconnect=reconnect,
            on_book_lost=self._book_lost,
        )
        self._subscriptions: list[Subscription] = []
        self._stop = threading.Event()
        self._lease_thread = threading.Thread(
            target=self._lease_loop, name=f"ccxtpro_sync-fanout-lease-{self.owner}", daemon=True
        )
        self._started = False
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> Collector:
        """Subscribe to the shard's streams and start competing for the lease."""
        if self._started:
            return self
        self._started = True
        c = self.client
        try:
            for symbol in self.symbols:
                if "trades" in self.channels:
                    self._subscriptions.append(c.on_trades(symbol, handler=self._on_trades))
                if "ticker" in self.channels:
                    self._subscriptions.append(c.on_ticker(symbol, handler=self._on_ticker))
                if "ohlcv" in self.channels:
                    for tf in self.timeframes:
                        self._subscriptions.append(
                            c.on_ohlcv(symbol, tf, handler=self._ohlcv_handler(symbol, tf))
                        )
                if "orderbook" in self.channels:
                    self._subscriptions.append(c.on_order_book(symbol, handler=self._on_book))
            if "raw" in self.channels:
                self._subscriptions.append(c.on_raw(handler=self._on_raw))
        except BaseException:
            self.close()
            raise
        self._lease_thread.start()
        return self

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def active(self) -> bool:
        """True while this collector holds its shard's lease and publishes."""
        return self._active

    def wait_active(self, timeout: float) -> bool:
        """Block until this collector holds the lease; False after ``timeout`` seconds."""
        with self._active_changed:
            return self._active_changed.wait_for(lambda: self._active, timeout)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything published so far is in Redis; False on timeout."""
        return self._writer.flush(timeout)

    def stats(self) -> dict[str, Any]:
        """Writer counters (``written``, ``duplicates``, ``dropped`` ...) and ``active``."""
        return {**self._writer.stats(), "active": self._active, "symbols": list(self.symbols)}

    def close(self, timeout: float = 5.0) -> None:
        """Stop publishing, write what is queued, give the lease up. Idempotent.
        The client stays open (it is the caller's)."""
        if self._closed:
            return
        self._closed = True
        for subscription in self._subscriptions:
            subscription.cancel()
        self._stop.set()
        if self._lease_thread.is_alive():
            self._lease_thread.join(timeout)
        self._writer.close(timeout)
        try:
            if self._active:
                self.lease.release()
        except redis.RedisError:
            pass  # it expires by itself
        with self._active_changed:
            self._active = False
            self._active_changed.notify_all()
        self._redis.close()

    # -- callbacks (client's dispatcher thread) ----------------------------------------
    def _emit(self, key: str, entries: list[Entry], hold: bool) -> None:
        # Queued under the state lock, so a takeover's held trades can never be queued
        # after live ones with higher ids (Redis would refuse the held ones).
        with self._state:
            if not self._active:
                if hold:
                    buffer = self._held.get(key)
                    if buffer is None:
                        buffer = self._held[key] = deque(maxlen=self._standby_buffer)
                    buffer.extend(entries)
                return
            dropped = self._writer.put(entries, report=False)
        self._writer.report_dropped(dropped)

    def _on_trades(self, trades: list[Trade]) -> None:
        if not trades:
            return
        key = self.schema.trades(trades[0].symbol)
        self._emit(
            key, [Entry(key, trade_entry_id(t), encode(t), self.maxlen) for t in trades], True
        )

    def _on_ticker(self, ticker: Ticker) -> None:
        key = self.schema.ticker(ticker.symbol)
        entry_id = ticker_entry_id(ticker)
        # Held by a standby only with an exchange-derived id (a repeat is then refused).
        self._emit(key, [Entry(key, entry_id, encode(ticker), self.maxlen)], entry_id != "*")

    def _ohlcv_handler(self, symbol: str, timeframe: str) -> Any:
        key = self.schema.ohlcv(symbol, timeframe)

        def on_ohlcv(candles: list[OHLCV]) -> None:
            entries = [Entry(key, candle_entry_id(c), encode(c), self.maxlen) for c in candles]
            self._emit(key, entries, all(e.entry_id != "*" for e in entries))

        return on_ohlcv

    def _on_raw(self, messages: list[RawMessage]) -> None:
        key = self.schema.raw()
        self._emit(key, [Entry(key, "*", encode(m), self.maxlen) for m in messages], False)

    def _on_book(self, book: Any) -> None:
        symbol = book.symbol
        key = self.schema.order_book(symbol)
        with self._state:
            differ = self._differs.get(symbol)
            if differ is None:
                return
            if not self._active:
                return  # a standby starts its books with a snapshot when it takes over
            if symbol in self._need_snapshot:
                self._need_snapshot.discard(symbol)
                differ.reset()
            entry = differ.entry(book)
            if entry is None:
                return
            latest = self.schema.latest_snapshot(symbol) if entry.snapshot else None
            item = Entry(
                key, f"{entry.nonce}-1", encode(entry), self.maxlen, symbol, latest, entry.nonce
            )
            dropped = self._writer.put([item], report=False)
        self._writer.report_dropped(dropped)

    def _raw_fence(self) -> list[Entry]:
        """The raw stream resumes from this collector's client: a fence and its books'
        state first (see the client's ``_raw_fence``), so that a replay of the stream
        restarts its books here instead of waiting for a snapshot that never comes
        (a standby's books were synced long before; the frames in between are lost).
        Under the state lock: no raw frame of this client is queued before them."""
        fence = getattr(self.client, "_raw_fence", None)
        if "raw" not in self.channels or fence is None:
            return []
        key = self.schema.raw()
        return [Entry(key, "*", encode(m), self.maxlen) for m in fence(self.owner)]

    def _book_lost(self, symbol: str) -> None:
        """An entry of ``symbol``'s book did not reach Redis: restart with a snapshot."""
        with self._state:
            self._need_snapshot.add(symbol)

    # -- lease thread ------------------------------------------------------------------
    def _lease_loop(self) -> None:
        ttl = self.lease.ttl
        last_renewed = 0.0
        while not self._stop.is_set():
            try:
                if self._active:
                    if self.lease.renew():
                        last_renewed = time.monotonic()
                    else:
                        self._set_active(False)
                elif self.lease.acquire():
                    last_renewed = time.monotonic()
                    self._set_active(True)
            except (redis.RedisError, OSError) as error:
                send(fanout_signals.fanout_redis_error, self, error=error)
                if self._active and time.monotonic() - last_renewed > ttl:
                    self._set_active(False)  # the lease has expired: someone may hold it
            self._stop.wait(ttl / 3)

    def _set_active(self, active: bool) -> None:
        dropped: list[Entry] = []
        with self._active_changed:
            if active == self._active:
                return
            if active:
                # Held entries go first, before any live entry can see the flag: the
                # stream refuses ids below its newest, so the order decides what lands.
                held = [entry for buffer in self._held.values() for entry in buffer]
                self._held.clear()
                self._need_snapshot.update(self.symbols)
                dropped = self._writer.put([*held, *self._raw_fence()], report=False)
            self._active = active
            self._active_changed.notify_all()
        _log.info(
            "fanout: %s %s lease %s", self.owner, "took" if active else "lost", self.lease.key
        )
        send(fanout_signals.fanout_lease, self, key=self.lease.key, owner=self.owner, active=active)
        self._writer.report_dropped(dropped)
