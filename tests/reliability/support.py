"""Helpers for the reliability suite: fast clients, signal logs, book checks, wire views.

Everything here waits on conditions (signals, the simulator's registry, our own
``threading.Condition``) with a timeout; nothing sleeps to synchronise.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ccxtpro_sync
from ccxtpro_sync import default_reconnect_policy, signals
from ccxtpro_sync._sync.connection import Connection
from ccxtpro_sync.simulator import LocalExchange, Stats

T = TypeVar("T")
ClientKind = type[ccxtpro_sync.binance]

#: Seconds of silence before the client presumes a connection dead, in the tests that
#: make a silent (half-open) peer and wait for the client to notice.
READ_TIMEOUT = 1.0
#: The read timeout of every other test. The local exchange runs in the test's own
#: process: a loaded 2-core box that stalls the process for a second silences the
#: "server" too, and a spurious reconnect would fail a test that counts reconnects,
#: resyncs or memory. Only the silent-peer tests may give up on a peer that soon.
TOLERANT_READ_TIMEOUT = 10.0
#: Client ping period (also the read loop's wake-up period).
PING_INTERVAL = 0.25


def fast_config(exchange: LocalExchange, **extra: Any) -> dict[str, Any]:
    """A client config for the local exchange with every timer shrunk for quick tests
    (the read timeout only as far as a loaded box allows: a test that makes a silent
    peer passes ``readTimeout=READ_TIMEOUT``)."""
    config: dict[str, Any] = {
        "environment": "local",
        "local": exchange,
        "timeout": 10,
        "readTimeout": TOLERANT_READ_TIMEOUT,
        "pingInterval": PING_INTERVAL,
        "reconnect": default_reconnect_policy(initial=0.05, maximum=0.5),
    }
    config.update(extra)
    return config


def make_client(kind: ClientKind, exchange: LocalExchange, **extra: Any) -> Any:
    return kind(fast_config(exchange, **extra))


def wait_for(predicate: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll a library-side predicate (no event exists for it), bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        pause.wait(0.01)


# -- the client's and the exchange's view of subscriptions ---------------------------------------


def run_in_thread(call: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """Run a blocking call on another thread and collect what it raises."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def wire_connections(client: Any) -> list[Connection]:
    """The client's websocket connections (the engine objects, not their info snapshots)."""
    with client._lock:
        return [conn for pool in client._pools.values() for conn in pool]


def desired_streams(client: Any) -> Counter[str]:
    """Every stream the client wants, counted once per connection that wants it."""
    wanted: Counter[str] = Counter()
    for conn in wire_connections(client):
        wanted.update(conn.query(lambda p: p.book.desired()))  # type: ignore[attr-defined]
    return wanted


def exchange_streams(stats: Stats) -> Counter[tuple[str, str]]:
    """Every ``(market, stream)`` the exchange serves on a live (not stalled) connection."""
    served: Counter[tuple[str, str]] = Counter()
    for conn in stats.connections:
        if not conn.half_open:
            served.update((conn.market, stream) for stream in conn.subscriptions)
    return served


def client_streams(clients: Sequence[Any]) -> Counter[tuple[str, str]]:
    """Every ``(market, stream)`` the clients want (a client's product is its market)."""
    wanted: Counter[tuple[str, str]] = Counter()
    for client in clients:
        wanted.update((client.product, s) for s in desired_streams(client).elements())
    return wanted


def wait_wire_matches(
    exchange: LocalExchange, clients: Sequence[Any], timeout: float = 10.0
) -> Counter[tuple[str, str]]:
    """Wait until the exchange serves exactly what the clients want, each stream once,
    and every client connection has finished resuming."""

    def settled(stats: Stats) -> Counter[tuple[str, str]] | None:
        wanted = client_streams(clients)
        ready = all(c.is_ready() for client in clients for c in wire_connections(client))
        served = exchange_streams(stats)
        if ready and served == wanted and all(n == 1 for n in wanted.values()):
            return wanted or Counter({("", "<nothing>"): 0})
        return None

    try:
        return exchange.wait_until(settled, timeout, "wire subscriptions to match the client")
    except TimeoutError as error:
        wanted = client_streams(clients)
        served = exchange_streams(exchange.stats())
        raise AssertionError(
            f"{error}: client wants {sorted(wanted.elements())}, "
            f"exchange serves {sorted(served.elements())}"
        ) from None


def library_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ccxtpro_sync")]


# -- signals ---------------------------------------------------------------------------------------


@dataclass
class Event:
    at: float
    payload: dict[str, Any]


class SignalLog:
    """Records one signal's payloads (from one sender, or all) with their arrival time."""

    def __init__(self, signal: Any, sender: Any = None) -> None:
        self.events: list[Event] = []
        self._cond = threading.Condition()
        self._signal = signal
        if sender is None:
            signal.connect(self._on, weak=False)
        else:
            signal.connect(self._on, sender=sender, weak=False)

    def _on(self, sender: Any, **payload: Any) -> None:
        with self._cond:
            self.events.append(Event(time.monotonic(), payload))
            self._cond.notify_all()

    @property
    def payloads(self) -> list[dict[str, Any]]:
        with self._cond:
            return [e.payload for e in self.events]

    def __len__(self) -> int:
        with self._cond:
            return len(self.events)

    def wait_for(
        self,
        count: int,
        timeout: float = 10.0,
        where: Callable[[dict[str, Any]], bool] = lambda payload: True,
    ) -> list[Event]:
        """Wait until ``count`` recorded events satisfy ``where``; returns those events."""

        def matching() -> list[Event]:
            return [e for e in self.events if where(e.payload)]

        with self._cond:
            ok = self._cond.wait_for(lambda: len(matching()) >= count, timeout)
            assert ok, f"expected {count} {self._signal.name} events, got {self.payloads}"
            return matching()

    def wait_until(
        self, predicate: Callable[[list[dict[str, Any]]], object], timeout: float, what: str
    ) -> list[dict[str, Any]]:
        """Wait until ``predicate`` holds for all payloads recorded so far; returns them.
        Counters are updated before their signal is sent (never under a library lock),
        so a test that read a counter waits here for the signals to catch up."""

        def payloads() -> list[dict[str, Any]]:
            return [e.payload for e in self.events]

        with self._cond:
            ok = self._cond.wait_for(lambda: predicate(payloads()), timeout)
            assert ok, f"timed out after {timeout}s waiting for {what}; got {payloads()}"
            return payloads()

    def close(self) -> None:
        self._signal.disconnect(self._on)


#: Signals sent for every frame or update; logging them retains one payload per message.
BUSY_SIGNALS = frozenset({"message_received", "message_hash_resolved"})


@contextmanager
def signal_logs(sender: Any = None, *, busy: bool = False) -> Iterator[dict[str, SignalLog]]:
    """A :class:`SignalLog` per library signal (the per-message ones only with ``busy``),
    disconnected afterwards."""
    logs = {
        name: SignalLog(sig, sender)
        for name, sig in signals.all().items()
        if busy or name not in BUSY_SIGNALS
    }
    try:
        yield logs
    finally:
        for log in logs.values():
            log.close()


# -- order books -----------------------------------------------------------------------------------


class BookNonces:
    """An ``on_order_book`` handler that keeps the nonce of every book, in order."""

    def __init__(self) -> None:
        self.nonces: list[int] = []
        self._cond = threading.Condition()

    def __call__(self, book: Any) -> None:
        with self._cond:
            self.nonces.append(book.nonce)
            self._cond.notify_all()

    def count(self) -> int:
        with self._cond:
            return len(self.nonces)

    def wait_count(self, count: int, timeout: float) -> bool:
        """True once ``count`` books came, False if ``timeout`` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.nonces) >= count, timeout)


@dataclass
class BookHistory:
    latest: Any = None
    updates: int = 0
    nonces: list[int] = field(default_factory=list)


class BookWatcher:
    """An ``on_order_book`` handler that checks every book it is shown.

    It records (rather than raises, which the dispatcher would only log) any
    crossed or empty-sided book and any nonce that goes backwards, and lets the
    test wait until a symbol's book reaches a given update id.
    """

    def __init__(self) -> None:
        self.books: dict[str, BookHistory] = {}
        self.violations: list[str] = []
        self._cond = threading.Condition()

    def __call__(self, book: Any) -> None:
        with self._cond:
            history = self.books.setdefault(book.symbol, BookHistory())
            if not book.bids or not book.asks:
                self.violations.append(f"{book.symbol} one-sided book at {book.nonce}")
            elif book.bids[0][0] >= book.asks[0][0]:
                self.violations.append(
                    f"{book.symbol} crossed at {book.nonce}: {book.bids[0]} >= {book.asks[0]}"
                )
            if history.nonces and book.nonce < history.nonces[-1]:
                self.violations.append(
                    f"{book.symbol} went back from {history.nonces[-1]} to {book.nonce}"
                )
            history.latest = book
            history.updates += 1
            history.nonces.append(book.nonce)
            self._cond.notify_all()

    def updates(self, symbol: str) -> int:
        with self._cond:
            history = self.books.get(symbol)
            return history.updates if history else 0

    def reached(self, symbol: str, nonce: int) -> bool:
        with self._cond:
            history = self.books.get(symbol)
            return history is not None and history.latest.nonce >= nonce

    def reached_within(self, symbol: str, nonce: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._at_least(symbol, nonce), timeout)

    def wait_nonce(self, symbol: str, nonce: int, timeout: float = 10.0) -> Any:
        with self._cond:
            ok = self._cond.wait_for(lambda: self._at_least(symbol, nonce), timeout)
            history = self.books.get(symbol)
            at = history.latest.nonce if history else None
            assert ok, f"{symbol} book never reached {nonce} (at {at})"
            assert history is not None
            return history.latest

    def _at_least(self, symbol: str, nonce: int) -> bool:
        history = self.books.get(symbol)
        return history is not None and history.latest.nonce >= nonce


def assert_same_book(local: Any, true: Any, levels: int) -> None:
    """The local book equals the exchange's true book at the same update id."""
    assert local.nonce == true.last_update_id, (local.nonce, true.last_update_id)
    want_bids = [[float(p), float(q)] for p, q in true.bids[:levels]]
    want_asks = [[float(p), float(q)] for p, q in true.asks[:levels]]
    assert [[float(p), float(q)] for p, q in local.bids[:levels]] == want_bids
    assert [[float(p), float(q)] for p, q in local.asks[:levels]] == want_asks


def converge_books(
    exchange: LocalExchange,
    market: str,
    watcher: BookWatcher,
    symbols: Iterable[tuple[str, str]],
    *,
    levels: int = 20,
    timeout: float = 10.0,
) -> None:
    """Publish one diff and check that every ``(unified, raw)`` book equals the true one.

    With ``auto_publish=False`` the exchange only moves on ``tick()``, so after one
    tick each synced local book must reach the true book's update id exactly.
    A book still resyncing may need more diffs to bridge its snapshot, so the
    exchange is ticked again (bounded) until every book has caught up.
    """
    pairs = list(symbols)
    deadline = time.monotonic() + timeout
    pending = pairs
    while pending:
        exchange.tick(1)
        truth = {raw: exchange.book(market, raw).last_update_id for _, raw in pairs}
        stage = time.monotonic() + 0.5
        for symbol, raw in pending:
            left = min(stage, deadline) - time.monotonic()
            target = truth[raw]
            with watcher._cond:
                watcher._cond.wait_for(
                    lambda s=symbol, n=target: watcher._at_least(s, n),  # type: ignore[misc]
                    left,
                )
        pending = [(s, r) for s, r in pairs if not watcher.reached(s, truth[r])]
        if pending and time.monotonic() >= deadline:
            raise AssertionError(f"books never converged: {pending}")
        if not pending:
            for symbol, raw in pairs:
                true = exchange.book(market, raw, depth=levels)
                local = watcher.books[symbol].latest
                if local.nonce != true.last_update_id:  # a late update overtook; go again
                    pending = pairs
                    break
                assert_same_book(local, true, levels)
