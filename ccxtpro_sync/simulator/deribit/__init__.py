"""A local Deribit-compatible exchange for tests and demos (simulator side only).

``LocalDeribit`` serves Deribit's JSON-RPC 2.0 API over one WebSocket
(``/ws/api/v2``) and the HTTP GET form of public methods (``/api/v2/public/...``)
on 127.0.0.1, fed by a seeded market generator, with accounts, a matching
engine, heartbeats, cancel-on-disconnect, credit rate limits and faults. It is
written from the Deribit protocol reference, not from any client code.

Example::

    with LocalDeribit(seed=1) as ex:
        ws_url = ex.url  # ws://127.0.0.1:<port>/ws/api/v2
        key, secret = ex.credentials

See ``docs/simulator.md`` ("Deribit") for methods, channels and faults.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from .accounts import Account
from .auth import Auth, signature
from .exchange import Exchange
from .faults import Faults
from .instruments import Catalog, build_catalog
from .limits import RateLimits
from .market import Market
from .observe import ConnInfo, Registry, Stats
from .server import DeribitServer, now_ms

__all__ = ["BookView", "ConnInfo", "Faults", "LocalDeribit", "RateLimits", "Stats", "signature"]

T = TypeVar("T")
DEFAULT_KEY = ("sim-client-id", "sim-client-secret")


@dataclass(frozen=True)
class BookView:
    """The true book of one instrument at ``change_id`` (levels best first)."""

    instrument: str
    change_id: int
    bids: list[list[float]]
    asks: list[list[float]]


class LocalDeribit:
    """Deribit-compatible local exchange. All options are keyword-only.

    Args:
        host, port: bind address; port 0 picks a free one.
        seed: seeds the market generator (same seed + same ticks = same books/trades).
        auto_publish: tick in the background every ``tick_interval`` seconds;
            with ``False`` drive the market with :meth:`tick`.
        tick_interval: generator period (one aggregated book change per tick).
        book_levels: generator levels per side.
        api_keys: ``{client_id: client_secret}``; default one key (:attr:`credentials`).
        token_ttl: access token lifetime in seconds (``expires_in``).
        signature_skew: allowed clock skew of ``client_signature`` timestamps, seconds.
        min_heartbeat: smallest ``set_heartbeat`` interval accepted (Deribit: 10 s).
        idle_timeout: a connection with no subscription, no heartbeat and no inbound
            frame for this long is dropped.
        max_connections: open WebSocket connections before handshakes get HTTP 429.
        rate_limits: credit pools (:class:`RateLimits`).
        testnet: value of the ``testnet`` field of every reply.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        auto_publish: bool = True,
        tick_interval: float = 0.1,
        book_levels: int = 10,
        api_keys: Mapping[str, str] | None = None,
        token_ttl: float = 31_536_000.0,
        signature_skew: float = 60.0,
        min_heartbeat: float = 10.0,
        idle_timeout: float = 60.0,
        max_connections: int = 32,
        rate_limits: RateLimits | None = None,
        testnet: bool = False,
    ) -> None:
        if tick_interval <= 0 or book_levels < 1:
            raise ValueError("tick_interval must be positive and book_levels at least 1")
        keys = dict(api_keys) if api_keys is not None else dict([DEFAULT_KEY])
        if not keys:
            raise ValueError("api_keys must name at least one key")
        self.catalog = Catalog(build_catalog(now_ms()))
        self.market = Market(self.catalog, seed=seed, levels=book_levels, now_ms=now_ms())
        self.auth = Auth(keys, token_ttl, int(signature_skew * 1000))
        self.exchange = Exchange(
            self.catalog, self.market, self.auth, rate_limits or RateLimits(),
            testnet=testnet, min_heartbeat=min_heartbeat,
        )  # fmt: skip
        self.registry = Registry()
        self.server = DeribitServer(
            self.exchange, self.registry, host=host, port=port, tick_interval=tick_interval,
            auto_publish=auto_publish, idle_timeout=idle_timeout, max_connections=max_connections,
        )  # fmt: skip
        self.faults = Faults(self.server)
        self.credentials: tuple[str, str] = next(iter(keys.items()))
        self.host = host
        self._started = False
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> LocalDeribit:
        """Start the server (idempotent); returns ``self``."""
        if self._closed:
            raise RuntimeError("LocalDeribit cannot be restarted after close()")
        if not self._started:
            self._started = True
            self.server.start()
        return self

    def close(self) -> None:
        """Close every socket and join the server thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.server.close()

    def __enter__(self) -> LocalDeribit:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()

    # -- addresses ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The WebSocket JSON-RPC endpoint."""
        return f"ws://{self.host}:{self.server.port}/ws/api/v2"

    def urls(self) -> dict[str, str]:
        """``ws``: JSON-RPC WebSocket; ``rest``: HTTP base (``/public/<method>`` follows)."""
        return {"ws": self.url, "rest": f"http://{self.host}:{self.server.port}/api/v2"}

    # -- market control -------------------------------------------------------------------------
    def tick(self, n: int = 1) -> None:
        """Run ``n`` generator steps and publish what they produce."""
        for _ in range(n):
            self.server.call(self.server.tick)

    def trade(self, instrument: str, direction: str, amount: float) -> list[dict[str, Any]]:
        """A synthetic taker ``direction`` (``buy``/``sell``) of ``amount`` hits the book
        (resting user orders at the best level fill first); returns the public trades."""
        if direction not in ("buy", "sell"):
            raise ValueError("direction must be buy or sell")
        if instrument not in self.market.states:
            raise ValueError(f"unknown instrument {instrument!r}")

        def run() -> list[dict[str, Any]]:
            now = now_ms()
            trades, fills = self.market.take(instrument, direction, amount, now)
            events: list[tuple[str, str, Any]] = []
            self.market.flush(instrument, now, events)
            if trades:
                events.append(("trades", instrument, trades))
            user = self.exchange.matching.settle_makers(fills, now)
            self.server.publish(events, user, now)
            return trades

        return self.server.call(run)

    def book(self, instrument: str, depth: int | None = None) -> BookView:
        """The true book (what a subscriber holds after applying every change)."""
        if instrument not in self.market.states:
            raise ValueError(f"unknown instrument {instrument!r}")

        def read() -> BookView:
            book = self.market.states[instrument].book
            return BookView(instrument, book.change_id, book.bids.levels(depth),
                            book.asks.levels(depth))  # fmt: skip

        return self.server.call(read)

    def account(self, client_id: str | None = None) -> Account:
        """The live account object (read it only while the market is quiet)."""
        return self.exchange.matching.accounts[client_id or self.credentials[0]]

    # -- observability --------------------------------------------------------------------------
    def stats(self) -> Stats:
        return self.registry.stats()

    def connections(self) -> list[ConnInfo]:
        return list(self.registry.stats().connections)

    def wait_until(
        self, predicate: Callable[[Stats], T | None], timeout: float = 5.0, what: str = "condition"
    ) -> T:
        """Block until ``predicate(stats())`` is truthy; ``TimeoutError`` otherwise."""
        return self.registry.wait(predicate, timeout, what)

    def wait_for_connections(self, n: int, timeout: float = 5.0) -> list[ConnInfo]:
        """Wait until exactly ``n`` WebSocket connections are open."""

        def check(s: Stats) -> tuple[list[ConnInfo]] | None:
            return (list(s.connections),) if len(s.connections) == n else None

        return self.wait_until(check, timeout, f"{n} open connection(s)")[0]


def sign_now(secret: str, data: str = "") -> dict[str, Any]:
    """``public/auth`` params of a ``client_signature`` grant signed now (test helper)."""
    ts = int(time.time() * 1000)
    return {"timestamp": ts, "nonce": str(ts), "data": data,
            "signature": signature(secret, ts, str(ts), data)}  # fmt: skip
