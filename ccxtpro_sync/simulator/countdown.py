"""Futures countdown cancel-all (``POST /fapi/v1/countdownCancelAll``, ``/dapi/v1/...``).

A dead-man switch per (account, market, symbol): each call sets the countdown
to ``countdownTime`` ms from now, replacing the running one ("call it
repeatedly as heartbeats"); ``0`` stops it. When a countdown expires, every
open order of that account on that symbol is cancelled, each with its usual
user-data event. Binance checks about every 10 ms; so does the sweep here,
which runs on the server loop only while some countdown is armed. Weight 10
(TRADE, SIGNED); the reply echoes ``countdownTime`` as a string.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, Final

from .accounts import Account
from .auth import require, verify_rest
from .catalog import MarketName
from .engine import now_ms
from .order_input import symbol_of
from .rest import POOLS, ApiError, RestRequest
from .ws_methods import Call

if TYPE_CHECKING:
    from .private import PrivateExchange

#: Sweep period (Binance: "checked approximately every 10 milliseconds").
SWEEP_INTERVAL: Final = 0.01
WEIGHT: Final = 10
_ROOTS: Final[dict[MarketName, str]] = {"usdm": "/fapi", "coinm": "/dapi"}

Key = tuple[int, MarketName, str]  # (account uid, market, symbol)


class Countdowns:
    """Armed countdowns and their expiry (state under its own small lock)."""

    def __init__(self, core: PrivateExchange) -> None:
        self.core = core
        self._lock = threading.Lock()
        self._deadlines: dict[Key, float] = {}
        self._accounts: dict[int, Account] = {}
        self._sweeping = False
        #: Accepted calls (heartbeats and stops) per key.
        self.calls: Counter[Key] = Counter()
        #: Orders cancelled by expired countdowns, ``(market, symbol, order id)``.
        self.fired: list[tuple[MarketName, str, int]] = []

    def armed(self) -> dict[Key, float]:
        """Seconds left per armed countdown."""
        now = time.monotonic()
        with self._lock:
            return {k: max(0.0, d - now) for k, d in self._deadlines.items()}

    def set(self, call: Call) -> dict[str, Any]:
        spec = symbol_of(call.core.catalog, call.market, call.params)
        raw = call.params.get("countdownTime")
        if raw is None or raw == "":
            raise ApiError(
                -1102,
                "Mandatory parameter 'countdownTime' was not sent, was empty/null, or malformed.",
            )
        text = str(raw)
        if not text.isdigit():
            raise ApiError(
                -1100,
                "Illegal characters found in parameter 'countdownTime'; "
                "legal range is '^[0-9]{1,20}$'.",
            )
        ms = int(text)
        key: Key = (call.key.account.uid, call.market, spec.symbol)
        start = False
        with self._lock:
            self.calls[key] += 1
            if ms == 0:
                self._deadlines.pop(key, None)
            else:
                self._deadlines[key] = time.monotonic() + ms / 1000
                self._accounts[key[0]] = call.key.account
                start = not self._sweeping
                self._sweeping = True
        self.core.changed()
        if start:
            with contextlib.suppress(RuntimeError):  # the exchange is closing
                self.core.ws.loop.call_soon_threadsafe(self._sweep)
        return {"symbol": spec.symbol, "countdownTime": text}

    def _sweep(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [k for k, d in self._deadlines.items() if d <= now]
            for k in due:
                del self._deadlines[k]
            more = bool(self._deadlines)
            self._sweeping = more
        for key in due:
            self._expire(key)
        if more and not self.core.ws.loop.is_closed():
            self.core.ws.loop.call_later(SWEEP_INTERVAL, self._sweep)

    def _expire(self, key: Key) -> None:
        uid, market, symbol = key
        core = self.core
        with core.engine.lock:
            account = self._accounts[uid]
            for order in list(core.matching.open_orders(account, market, symbol)):
                core.matching.cancel(order)
                self.fired.append((market, symbol, order.order_id))
        core.changed()


def install(core: PrivateExchange) -> Countdowns:
    """Register the countdown routes of USD-M and COIN-M; returns the shared state."""
    countdowns = Countdowns(core)
    for market, root in _ROOTS.items():
        core.rest.route(
            "POST",
            f"{root}/v1/countdownCancelAll",
            _handler(core, market, countdowns),
            weight=WEIGHT,
            pool=POOLS[market],
        )
    return countdowns


def _handler(core: PrivateExchange, market: MarketName, countdowns: Countdowns) -> Any:
    def handler(req: RestRequest) -> Any:
        key = verify_rest(req, core.accounts, now_ms())
        require(key, "TRADE")
        return countdowns.set(Call(market, dict(req.params), key, core))

    return handler
