"""``remote()``: the client faces (``watch_*``/``on_*``/``stream_*``) over the fan-out.

A :class:`RemoteClient` opens no exchange socket. One reader thread
(``ccxtpro_sync-remote-<name>-reader``) follows the Redis streams of the channels in use
with ``XREAD BLOCK``, decodes entries into the same Structs the collector's client made,
checks continuity, and hands updates to the usual hub and dispatcher, so callbacks,
iterators and waiters behave exactly as on an exchange client (slow callbacks never
stall the reader; ``close()`` wakes everyone).

Positions: a consumer starts at the newest entry (``start="latest"``, books from the
newest snapshot) or at the oldest one kept (``start="earliest"``). A **named** consumer
(``name=``) stores, per stream, the id of the last trade batch or book its callbacks
finished (tickers and candles: the last one read) in Redis and resumes after it on its
next start: within retention nothing is lost and nothing repeated. Continuity is
checked by exchange id: a trade id that does not follow the previous one (entries
trimmed away, or not published across a failover) sends ``fanout_gap``; a book diff
that does not apply to the rebuilt book sends ``fanout_book_resync`` and the book
restarts from the newest snapshot.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
import redis

from .._arguments import check_handler
from .._core.events import Delivery, Policy, RawMessage
from .._exceptions import InvalidArgument, NetworkError
from .._numbers import ascii_int
from .._orderbook import OrderBook
from .._signals import send
from .._structures import OHLCV, Ticker, Trade
from .._sync.base_client import BaseClient
from .._sync.consumers import Stream, Subscription
from .._sync.reconnect import default_reconnect_policy
from .books import BookReplica
from .codec import FIELD, decode_book, decode_ohlcv, decode_raw, decode_ticker, decode_trade
from .keys import DEFAULT_PREFIX, KeySchema
from .signals import fanout_signals
from .writer import backoff_delay

__all__ = ["RemoteClient", "remote"]

_log = logging.getLogger("ccxtpro_sync.fanout")
#: What decoding a foreign entry may raise: msgspec's errors, and RecursionError for a
#: value nested deeper than msgspec recurses.
_UNDECODABLE = (msgspec.DecodeError, msgspec.ValidationError, TypeError, RecursionError)

Kind = Literal["trades", "ticker", "ohlcv", "orderbook", "raw"]
Start = Literal["latest", "earliest"]


def _head(entry_id: str) -> int:
    return int(entry_id.partition("-")[0])


@dataclass
class _Follow:
    """One followed stream: where the reader is and what continuity it expects."""

    key: str
    kind: Kind
    symbol: str
    message_hash: str
    last_id: str
    refs: int = 1
    last_trade: int | None = None
    replica: BookReplica | None = None
    resyncing: bool = False
    #: Update id of the newest book handed out: a resync never hands out an older one.
    delivered: int = -1
    #: Update id of the last snapshot a resync started from: never the same one twice.
    tried: int = -1


class _CommittingStream(Stream[Any]):
    """A ``Stream`` that reports each value its loop takes (for named consumers)."""

    def __init__(self, *args: Any, commit: Callable[[Any], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._commit = commit

    def _take(self) -> Any:
        value = super()._take()
        self._commit(value)
        return value


class RemoteClient(BaseClient):
    """Market data from a fan-out in Redis, with an exchange client's consumer faces."""

    def __init__(
        self,
        redis_url: str,
        exchange: str = "binance",
        market: str = "spot",
        *,
        name: str | None = None,
        start: Start = "latest",
        prefix: str = DEFAULT_PREFIX,
        timeout: float = 30.0,
        block_ms: int = 100,
        batch: int = 1000,
    ) -> None:
        if start not in ("latest", "earliest"):
            raise InvalidArgument(f"start must be 'latest' or 'earliest', got {start!r}")
        try:
            connection = redis.Redis.from_url(
                redis_url,
                socket_timeout=max(5.0, block_ms / 1000 + 5),
                socket_connect_timeout=5.0,
            )
        except ValueError as error:
            raise InvalidArgument(f"bad Redis URL {redis_url!r}: {error}") from error
        super().__init__(name=f"remote-{exchange}-{market}-{name or 'anon'}", timeout=timeout)
        self.schema = KeySchema(exchange, market, prefix)
        self.consumer_name = name
        self.start = start
        self._redis = connection
        self._block_ms = block_ms
        self._batch = batch
        self._follows: dict[str, _Follow] = {}
        self._follows_lock = threading.Lock()  # leaf
        self._committed: dict[str, str] = {}
        self._saved: dict[str, str] = {}
        self._holds: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._reader: threading.Thread | None = None
        self._policy = default_reconnect_policy(initial=0.05, maximum=2.0)
        self.gaps = 0
        self.resyncs = 0

    # -- following streams -------------------------------------------------------------
    def _start_position(self, kind: Kind, key: str, symbol: str) -> _Follow:
        """Where a new follow starts (Redis I/O, done with no lock held)."""
        message_hash = self._hash(kind, key, symbol)
        follow = _Follow(key, kind, symbol, message_hash, "0-0")
        if kind == "orderbook":
            follow.replica = BookReplica(symbol)
        stored = None
        if self.consumer_name is not None:
            raw: Any = self._redis.hget(self.schema.consumer(self.consumer_name), key)
            stored = raw.decode() if isinstance(raw, bytes) else raw
        if stored:
            follow.last_id = stored
            if kind == "trades":
                follow.last_trade = _head(stored)
            if kind == "orderbook":
                follow.resyncing = True  # a book restarts from a snapshot: replay one
        elif self.start == "latest":
            newest: Any = self._redis.xrevrange(key, count=1)
            if newest:
                follow.last_id = newest[0][0].decode()
                if kind == "trades":
                    follow.last_trade = _head(follow.last_id)
            if kind == "orderbook":
                follow.resyncing = True  # from the newest snapshot, then its diffs
        return follow

    def _hash(self, kind: Kind, key: str, symbol: str) -> str:
        if kind == "raw":
            return "raw"
        if kind == "ohlcv":
            timeframe = key.removeprefix(f"{self.schema.base}:ohlcv:").partition(":")[0]
            return f"ohlcv:{symbol}:{timeframe}"
        return f"{kind}:{symbol}"

    def _acquire(self, kind: Kind, keys: Sequence[tuple[str, str]]) -> None:
        done: list[tuple[str, str]] = []
        for key, symbol in keys:
            with self._follows_lock:
                follow = self._follows.get(key)
                if follow is not None:
                    follow.refs += 1
                    done.append((key, symbol))
                    continue
            try:
                fresh = self._start_position(kind, key, symbol)
            except (redis.RedisError, OSError) as error:
                self._release(done)
                raise NetworkError(f"{self.name}: Redis unreachable: {error}") from error
            done.append((key, symbol))
            with self._follows_lock:
                follow = self._follows.get(key)
                if follow is not None:
                    follow.refs += 1
                else:
                    self._follows[key] = fresh
        self._ensure_reader()
        self._wake.set()

    def _release(self, keys: Sequence[tuple[str, str]]) -> None:
        with self._follows_lock:
            for key, _ in keys:
                follow = self._follows.get(key)
                if follow is not None:
                    follow.refs -= 1
                    if follow.refs <= 0:
                        del self._follows[key]

    def _ensure_reader(self) -> None:
        with self._lock:
            if self._reader is None and not self._closed:
                self._reader = threading.Thread(
                    target=self._read_loop, name=f"ccxtpro_sync-{self.name}-reader", daemon=True
                )
                self._reader.start()

    # -- reader thread -----------------------------------------------------------------
    def _read_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            with self._follows_lock:
                empty = not self._follows
            if empty:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                self._resync_books()  # may move a book's position: before reading positions
                with self._follows_lock:
                    positions: dict[Any, Any] = {f.key: f.last_id for f in self._follows.values()}
                answer: Any = self._redis.xread(
                    dict(positions), count=self._batch, block=self._block_ms
                )
                self._save_offsets()
                failures = 0
            except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
                failures += 1
                send(fanout_signals.fanout_redis_error, self, error=error)
                self._stop.wait(backoff_delay(self._policy, failures))
                continue
            deliveries: list[Delivery] = []
            for raw_key, entries in answer or ():
                key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
                with self._follows_lock:
                    follow = self._follows.get(key)
                if follow is None:
                    continue
                self._take(follow, entries, deliveries)
            if deliveries:
                self.hub.deliver_many(deliveries, "redis")

    def _take(self, follow: _Follow, entries: list[Any], out: list[Delivery]) -> None:
        trades: list[Trade] = []
        candles: list[OHLCV] = []
        for raw_id, fields in entries:
            entry_id = raw_id.decode()
            data = fields.get(FIELD)
            follow.last_id = entry_id
            try:
                if follow.kind == "trades":
                    trade = decode_trade(data)
                    self._check_trade(follow, trade)
                    trades.append(trade)
                elif follow.kind == "ticker":
                    out.append(Delivery(follow.message_hash, decode_ticker(data), Policy.LATEST))
                    self._committed[follow.key] = entry_id
                elif follow.kind == "ohlcv":
                    candles.append(decode_ohlcv(data))
                    self._committed[follow.key] = entry_id
                elif follow.kind == "raw":
                    candles.append(decode_raw(data))  # type: ignore[arg-type]
                    self._committed[follow.key] = entry_id
                else:
                    book = self._apply_book(follow, decode_book(data))
                    if book is not None:
                        out.append(Delivery(follow.message_hash, book, Policy.LATEST))
            except _UNDECODABLE as error:
                _log.error("fanout: undecodable entry %s of %s: %s", entry_id, follow.key, error)
                send(fanout_signals.fanout_gap, self, key=follow.key, after=entry_id,
                     before=entry_id, reason=f"undecodable entry: {error}")  # fmt: skip
        if trades:
            out.append(Delivery(follow.message_hash, trades, Policy.APPEND))
        if candles:
            out.append(Delivery(follow.message_hash, candles, Policy.APPEND))

    def _check_trade(self, follow: _Follow, trade: Trade) -> None:
        tid = trade.id
        number = None if tid is None else ascii_int(str(tid))
        if number is None:
            return
        last = follow.last_trade
        if last is not None and number != last + 1:
            self.gaps += 1
            _log.warning("fanout: gap in %s: trade %s follows %s", follow.key, number, last)
            send(fanout_signals.fanout_gap, self, key=follow.key, after=last, before=number,
                 reason="trade ids not consecutive")  # fmt: skip
        follow.last_trade = number

    def _apply_book(self, follow: _Follow, entry: Any) -> OrderBook[Any] | None:
        replica = follow.replica
        assert replica is not None
        if replica.nonce is not None and entry.nonce <= replica.nonce:
            return None  # already covered by the snapshot the book restarted from
        book = replica.apply(entry)
        if book is None and not replica.synced and not follow.resyncing:
            follow.resyncing = True
            self.resyncs += 1
            _log.warning("fanout: %s does not follow; resync from a snapshot", follow.key)
            send(fanout_signals.fanout_book_resync, self, symbol=follow.symbol,
                 key=follow.key, nonce=entry.nonce)  # fmt: skip
        if book is None:
            return None
        follow.resyncing = False
        return self._fresh(follow, book)

    @staticmethod
    def _fresh(follow: _Follow, book: OrderBook[Any]) -> OrderBook[Any] | None:
        """``book`` unless a newer one was handed out already (a resync from an older
        snapshot replays entries the consumer has seen)."""
        nonce = book.nonce if book.nonce is not None else -1
        if nonce <= follow.delivered:
            return None
        follow.delivered = nonce
        return book

    def _resync_books(self) -> None:
        """Books waiting for a snapshot take the newest one kept aside by the collector."""
        with self._follows_lock:
            waiting = [f for f in self._follows.values() if f.resyncing]
        deliveries = []
        for follow in waiting:
            found: Any = self._redis.hmget(
                self.schema.latest_snapshot(follow.symbol), ["nonce", "v"]
            )
            nonce, data = found
            if nonce is None or data is None:
                continue
            try:
                entry = decode_book(data)
            except _UNDECODABLE as error:
                # A malformed snapshot must not end the reader: wait for a newer one.
                _log.error("fanout: undecodable snapshot of %s: %s", follow.key, error)
                continue
            replica = follow.replica
            assert replica is not None
            if replica.nonce is not None and entry.nonce <= replica.nonce:
                continue
            if entry.nonce <= follow.tried:
                continue  # that one led to the break: wait for a newer snapshot
            follow.tried = entry.nonce
            book = replica.apply(entry)
            if book is not None:
                follow.resyncing = False
                follow.last_id = f"{entry.nonce}-1"
                fresh = self._fresh(follow, book)
                if fresh is not None:
                    deliveries.append(Delivery(follow.message_hash, fresh, Policy.LATEST))
        if deliveries:
            self.hub.deliver_many(deliveries, "redis")

    def _save_offsets(self) -> None:
        if self.consumer_name is None:
            return
        changed: dict[Any, Any] = {
            k: v for k, v in list(self._committed.items()) if self._saved.get(k) != v
        }
        if changed:
            self._redis.hset(self.schema.consumer(self.consumer_name), mapping=changed)
            self._saved.update(changed)

    def _commit(self, value: Any) -> None:
        """Record that ``value`` (a trade batch or a book) reached user code."""
        if isinstance(value, list):
            for trade in value:
                if isinstance(trade, Trade) and trade.id is not None:
                    self._committed[self.schema.trades(trade.symbol)] = f"{trade.id}-1"
        elif isinstance(value, OrderBook):
            self._committed[self.schema.order_book(value.symbol)] = f"{value.nonce}-1"

    def _committing(self, handler: Callable[[Any], object]) -> Callable[[Any], object]:
        """Runs ``handler``, then records how far this consumer got."""

        def run(value: Any) -> None:
            handler(value)
            self._commit(value)

        return run

    # -- lifecycle ---------------------------------------------------------------------
    def _close_resources(self, timeout: float) -> None:
        self._stop.set()
        self._wake.set()
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop reading, wake every waiter, store a named consumer's offsets. Idempotent."""
        first = not self._closed
        super().close(timeout)
        if first:
            try:
                self._save_offsets()
            except redis.RedisError as error:
                _log.warning("fanout: could not store offsets of %s: %s", self.name, error)
            self._redis.close()

    def __enter__(self) -> RemoteClient:
        self._check_open()
        return self

    # -- the faces ---------------------------------------------------------------------
    def _keys(
        self, kind: Kind, symbols: Sequence[str] | str, timeframe: str = ""
    ) -> list[tuple[str, str]]:
        if kind == "raw":
            return [(self.schema.raw(), "")]
        names = [symbols] if isinstance(symbols, str) else list(symbols)
        if not names or not all(isinstance(s, str) and s for s in names):
            raise InvalidArgument(
                f"symbols must be a non-empty str or list of str, got {symbols!r}"
            )
        schema = self.schema
        if kind == "trades":
            return [(schema.trades(s), s) for s in names]
        if kind == "ticker":
            return [(schema.ticker(s), s) for s in names]
        if kind == "ohlcv":
            return [(schema.ohlcv(s, timeframe), s) for s in names]
        return [(schema.order_book(s), s) for s in names]

    def _on(self, kind: Kind, keys: list[tuple[str, str]], handler: Any) -> Subscription:
        check_handler(handler)
        return self._add_handler(
            [self._hash(kind, k, s) for k, s in keys], handler,
            lambda: self._acquire(kind, keys), lambda: self._release(keys),
            f"remote {kind} {', '.join(s for _, s in keys)}",
            per_hash=lambda _: self._committing(handler),
        )  # fmt: skip

    def _stream(
        self, kind: Kind, keys: list[tuple[str, str]], policy: Policy, timeout: float | None
    ) -> Stream[Any]:
        # As BaseClient._open_stream, with a stream that commits what its loop takes.
        description = f"remote {kind} {', '.join(s for _, s in keys)}"
        stream: Stream[Any] = _CommittingStream(
            description,
            policy,
            timeout=self._timeout(timeout),
            commit=self._commit,
            feeding=self.hub.dispatcher.on_own_thread,
        )
        subscription = self._add_handler(
            [self._hash(kind, k, s) for k, s in keys], stream.push,
            lambda: self._acquire(kind, keys), lambda: self._release(keys), description,
            per_hash=stream.pusher,
        )  # fmt: skip
        stream.attach(subscription)
        self._streams.add(stream)
        return stream

    def _watch(self, kind: Kind, keys: list[tuple[str, str]], timeout: float | None) -> Any:
        def hold() -> None:
            with self._follows_lock:
                fresh = [(k, s) for k, s in keys if (kind, k) not in self._holds]
                self._holds.update((kind, k) for k, _ in fresh)
            if fresh:
                try:
                    self._acquire(kind, fresh)
                except BaseException:
                    with self._follows_lock:
                        self._holds.difference_update((kind, k) for k, _ in fresh)
                    raise

        return self._wait_next(
            [self._hash(kind, k, s) for k, s in keys], hold, timeout, f"remote {kind}"
        )

    def _unwatch(self, kind: Kind, keys: list[tuple[str, str]]) -> None:
        with self._follows_lock:
            held = [(k, s) for k, s in keys if (kind, k) in self._holds]
            self._holds.difference_update((kind, k) for k, _ in held)
        self._release(held)

    def watch_trades(self, symbol: str, *, timeout: float | None = None) -> list[Trade]:
        """Block for the next batch of trades of ``symbol`` (oldest first). Unlike the
        exchange client there is no trade cache here: each call returns the next batch
        read from Redis (use ``on_trades``/``stream_trades`` to see every trade)."""
        return list(self._watch("trades", self._keys("trades", symbol), timeout))

    def on_trades(
        self, symbols: Sequence[str] | str, handler: Callable[[list[Trade]], object]
    ) -> Subscription:
        """Call ``handler(trades)`` with each batch of new trades."""
        return self._on("trades", self._keys("trades", symbols), handler)

    def stream_trades(
        self, symbols: Sequence[str] | str, *, timeout: float | None = None
    ) -> Stream[list[Trade]]:
        return self._stream("trades", self._keys("trades", symbols), Policy.APPEND, timeout)

    def un_watch_trades(self, symbol: str) -> None:
        self._unwatch("trades", self._keys("trades", symbol))

    def watch_ticker(self, symbol: str, *, timeout: float | None = None) -> Ticker:
        """Block for the next ticker of ``symbol``."""
        result: Ticker = self._watch("ticker", self._keys("ticker", symbol), timeout)
        return result

    def on_ticker(
        self, symbols: Sequence[str] | str, handler: Callable[[Ticker], object]
    ) -> Subscription:
        return self._on("ticker", self._keys("ticker", symbols), handler)

    def stream_ticker(
        self, symbols: Sequence[str] | str, *, timeout: float | None = None
    ) -> Stream[Ticker]:
        return self._stream("ticker", self._keys("ticker", symbols), Policy.LATEST, timeout)

    def un_watch_ticker(self, symbol: str) -> None:
        self._unwatch("ticker", self._keys("ticker", symbol))

    def watch_ohlcv(
        self, symbol: str, timeframe: str = "1m", *, timeout: float | None = None
    ) -> list[OHLCV]:
        """Block for the next candle update(s) of ``symbol``."""
        return list(self._watch("ohlcv", self._keys("ohlcv", symbol, timeframe), timeout))

    def on_ohlcv(
        self, symbol: str, timeframe: str, handler: Callable[[list[OHLCV]], object]
    ) -> Subscription:
        return self._on("ohlcv", self._keys("ohlcv", symbol, timeframe), handler)

    def stream_ohlcv(
        self, symbol: str, timeframe: str = "1m", *, timeout: float | None = None
    ) -> Stream[list[OHLCV]]:
        return self._stream("ohlcv", self._keys("ohlcv", symbol, timeframe), Policy.APPEND, timeout)

    def watch_order_book(
        self, symbol: str, limit: int | None = None, *, timeout: float | None = None
    ) -> OrderBook[Any]:
        """Block for the next book of ``symbol`` (rebuilt exactly as the collector saw it)."""
        book: OrderBook[Any] = self._watch("orderbook", self._keys("orderbook", symbol), timeout)
        if limit is not None:
            book = msgspec.structs.replace(book, bids=book.bids[:limit], asks=book.asks[:limit])
        return book

    def on_order_book(
        self, symbols: Sequence[str] | str, handler: Callable[[OrderBook[Any]], object]
    ) -> Subscription:
        return self._on("orderbook", self._keys("orderbook", symbols), handler)

    def stream_order_book(
        self, symbols: Sequence[str] | str, *, timeout: float | None = None
    ) -> Stream[OrderBook[Any]]:
        return self._stream("orderbook", self._keys("orderbook", symbols), Policy.LATEST, timeout)

    def un_watch_order_book(self, symbol: str) -> None:
        self._unwatch("orderbook", self._keys("orderbook", symbol))

    def on_raw(self, handler: Callable[[list[RawMessage]], object]) -> Subscription:
        """Call ``handler(messages)`` with the raw payloads a collector publishes with
        its ``raw`` channel (every frame of its client, as received)."""
        return self._on("raw", self._keys("raw", ""), handler)

    def __repr__(self) -> str:
        return f"<RemoteClient {self.schema.base}{' closed' if self._closed else ''}>"


def remote(
    redis_url: str,
    exchange: str = "binance",
    market: str = "spot",
    **options: Any,
) -> RemoteClient:
    """A :class:`RemoteClient` reading ``exchange``/``market`` from the fan-out at ``redis_url``.

    Options: ``name`` (a named consumer resumes where it stopped), ``start``
    (``"latest"`` or ``"earliest"``), ``prefix``, ``timeout``, ``block_ms``, ``batch``.
    """
    return RemoteClient(redis_url, exchange, market, **options)
