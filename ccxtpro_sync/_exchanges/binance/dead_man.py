"""Cancel-on-disconnect (``cancelOnDisconnect``): a dead-man switch for open orders.

* USD-M / COIN-M: Binance's countdown cancel-all. For every symbol with open
  orders (as the client's order state knows them) the client sends
  ``POST {fapi|dapi}/v1/countdownCancelAll`` with ``countdownTime`` and repeats
  it as a heartbeat every quarter of that time while its user-data stream is
  healthy; it sends ``countdownTime=0`` once the symbol's last order closed.
  If the process dies, hangs or loses the network, the heartbeats stop and
  Binance itself cancels the orders when the countdown expires.
* Spot, which has no such switch: when the WS API connection is lost, before
  it reconnects, the client cancels the open orders of each symbol it knows
  through signed REST (``DELETE /api/v3/openOrders``) and sends
  ``signals.orders_cancelled_on_disconnect``. This needs a live process: it
  cannot act if the process dies.

:class:`CountdownPlan` is the sans-I/O schedule; :class:`DeadManSwitch` does
the REST calls on the client's worker thread (futures) or on the WS API
reader thread (spot).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec

from ..._exceptions import CcxtproSyncError, InvalidArgument, OrderNotFound
from ..._signals import send, signals
from ..._structures import Order
from .private_parsers import parse_order_result
from .private_wire import OrderResult

if TYPE_CHECKING:
    from ..._sync.connection import Connection
    from .private_client import BinancePrivate

__all__ = ["CancelOnDisconnectState", "CountdownPlan", "DeadManSwitch"]

_log = logging.getLogger("ccxtpro_sync")

#: Binance's example: a 120 s countdown refreshed every 30 s.
DEFAULT_COUNTDOWN_MS: Final = 120_000
COUNTDOWN_PATHS: Final[dict[str, str]] = {
    "usdm": "/fapi/v1/countdownCancelAll",
    "coinm": "/dapi/v1/countdownCancelAll",
}
SPOT_CANCEL_PATH: Final = "/api/v3/openOrders"
#: The user-data hold that keeps order state current while the switch is on.
HOLD: Final = ("cancelOnDisconnect",)

_decode_rows = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_order = msgspec.json.Decoder(OrderResult).decode


@dataclass(frozen=True)
class CancelOnDisconnectState:
    """What ``client.cancel_on_disconnect`` reports.

    ``mode`` is ``"off"``, ``"countdown"`` (futures: Binance cancels when the
    heartbeats stop) or ``"rest"`` (spot: the client cancels on a detected loss).
    ``armed`` are the symbols with a running countdown; ``last_heartbeat`` the
    ``time.time()`` of the latest accepted one; ``cancelled`` how many orders the
    spot fallback cancelled so far.
    """

    enabled: bool
    mode: str
    countdown_ms: int
    armed: tuple[str, ...]
    last_heartbeat: float | None
    cancelled: int
    last_error: str | None


class CountdownPlan:
    """Which symbols need a heartbeat and which a clear (no I/O, no threads)."""

    def __init__(self, countdown_ms: int) -> None:
        if isinstance(countdown_ms, bool) or not isinstance(countdown_ms, int) or countdown_ms <= 0:
            raise InvalidArgument(
                f"cancelOnDisconnectCountdown must be a positive number of ms, not {countdown_ms!r}"
            )
        self.countdown_ms = countdown_ms
        #: Well inside the countdown: three heartbeats may be lost before it expires.
        self.refresh_every = countdown_ms / 4000
        self.armed: dict[str, float] = {}  # symbol -> monotonic time of its last heartbeat

    def due(self, open_symbols: set[str], healthy: bool, now: float) -> tuple[list[str], list[str]]:
        """``(heartbeat, clear)``: a symbol with open orders not armed yet is armed at
        once; an armed one is refreshed when due, but only while ``healthy``, so the
        countdown runs out when we lost sight of the account; a symbol armed with no
        open order left is cleared."""
        beat = sorted(
            s
            for s in open_symbols
            if s not in self.armed or (healthy and now - self.armed[s] >= self.refresh_every)
        )
        clear = sorted(s for s in self.armed if s not in open_symbols)
        return beat, clear

    def beaten(self, symbol: str, now: float) -> None:
        self.armed[symbol] = now

    def cleared(self, symbol: str) -> None:
        self.armed.pop(symbol, None)


class DeadManSwitch:
    """Drives cancel-on-disconnect for one client (see module docstring)."""

    def __init__(self, client: BinancePrivate, *, enabled: bool, countdown_ms: int) -> None:
        self._client = client
        self.enabled = enabled
        self.futures = client.host.product in COUNTDOWN_PATHS
        self._plan = CountdownPlan(countdown_ms)
        self._lock = threading.Lock()  # guards the fields below and the plan
        #: One heartbeat round at a time (worker vs the thread that placed an order), so a
        #: clear computed before an order was tracked cannot land after its heartbeat.
        self._rounds = threading.Lock()
        self._started = False
        self._holding = False
        self._last_heartbeat: float | None = None
        self._cancelled = 0
        self._last_error: str | None = None
        self._tick_every = min(1.0, self._plan.refresh_every / 4)

    # -- client hooks ---------------------------------------------------------------------
    def note(self, order: Order) -> None:
        """An order the client placed: track it and make sure the switch covers it."""
        if not self.enabled or order.status != "open":
            return
        client = self._client
        client.user_state().track(order)
        with self._lock:
            first, self._started = not self._started, True
            hold, self._holding = not self._holding, True
            armed = order.symbol in self._plan.armed
        if self.futures:
            # Covered before create_order returns: arm a new symbol now, on this thread.
            if not armed:
                self._tick(reschedule=False)
            if first:
                client.worker.submit(lambda: self._tick(reschedule=True))
        if hold:
            # Live order events keep the state current (fills and cancels clear symbols).
            try:
                client.hold_user_data(HOLD)
            except CcxtproSyncError as error:  # the order is placed: never fail its caller
                _log.error("%s: cancelOnDisconnect: no user data: %s", client.host.name, error)
                with self._lock:
                    self._holding = False  # the next order tries again
                    self._last_error = f"user data: {error}"

    def on_ws_api_lost(self, conn: Connection, error: BaseException) -> None:
        """Spot: cancel what we know is open, before the reader reconnects."""
        if not self.enabled or self.futures or self._client.host.closed:
            return
        if conn is not self._client.ws_api:
            return  # a session retired by a rotation: its replacement is live
        self._cancel_spot(str(error))

    def state(self) -> CancelOnDisconnectState:
        mode = "off" if not self.enabled else ("countdown" if self.futures else "rest")
        with self._lock:
            return CancelOnDisconnectState(
                self.enabled,
                mode,
                self._plan.countdown_ms,
                tuple(sorted(self._plan.armed)),
                self._last_heartbeat,
                self._cancelled,
                self._last_error,
            )

    # -- futures ----------------------------------------------------------------------------
    def _open_symbols(self) -> set[str]:
        user = self._client.user
        if user is None:
            return set()
        with user.lock:
            return {o.symbol for o in user.orders.values()}

    def _healthy(self) -> bool:
        stream = self._client.user_stream
        return stream is not None and stream.is_ready()

    def _tick(self, *, reschedule: bool) -> None:
        client = self._client
        if client.host.closed:
            return
        with self._rounds:
            self._round()
        if reschedule:
            client.worker.submit(lambda: self._tick(reschedule=True), delay=self._tick_every)

    def _round(self) -> None:
        now = time.monotonic()
        open_symbols = self._open_symbols()
        with self._lock:
            beat, clear = self._plan.due(open_symbols, self._healthy(), now)
        for symbol in beat:
            if self._countdown(symbol, self._plan.countdown_ms):
                with self._lock:
                    self._plan.beaten(symbol, now)
                    self._last_heartbeat = time.time()
        for symbol in clear:
            if self._countdown(symbol, 0):
                with self._lock:
                    self._plan.cleared(symbol)

    def _countdown(self, symbol: str, countdown_ms: int) -> bool:
        client = self._client
        try:
            market = client.host.market(symbol)
            client.host.rest.signed_raw(
                "POST",
                COUNTDOWN_PATHS[client.host.product],
                client.require_credentials(),
                {"symbol": market.id, "countdownTime": countdown_ms},
                recv_window=client.recv_window,
            )
        except CcxtproSyncError as error:
            _log.warning("%s: countdownCancelAll %s failed: %s", client.host.name, symbol, error)
            with self._lock:
                self._last_error = f"{symbol}: {error}"
            return False
        return True

    # -- spot -------------------------------------------------------------------------------
    def _cancel_spot(self, why: str) -> None:
        client = self._client
        user = client.user
        symbols = user.tracked_symbols() if user is not None else []
        if not symbols:
            return
        name = client.host.name
        _log.warning("%s: WS API lost (%s); cancelling open orders of %s", name, why, symbols)
        cancelled: list[Order] = []
        errors: dict[str, BaseException] = {}
        for symbol in symbols:
            try:
                cancelled.extend(self._cancel_symbol(symbol))
            except OrderNotFound:
                continue  # -2011: nothing was open any more
            except CcxtproSyncError as error:
                errors[symbol] = error
                _log.error("%s: cancelling open orders of %s failed: %s", name, symbol, error)
        with self._lock:
            self._cancelled += len(cancelled)
            if errors:
                self._last_error = "; ".join(f"{s}: {e}" for s, e in errors.items())
        send(
            signals.orders_cancelled_on_disconnect,
            client.host,
            name=client.host.name,
            symbols=symbols,
            orders=cancelled,
            errors=errors,
        )

    def _cancel_symbol(self, symbol: str) -> list[Order]:
        client = self._client
        market = client.host.market(symbol)
        body = client.host.rest.signed_raw(
            "DELETE",
            SPOT_CANCEL_PATH,
            client.require_credentials(),
            {"symbol": market.id},
            recv_window=client.recv_window,
        )
        number: Any = client.host.data.markets.number  # float or Decimal, fixed per client
        orders = []
        for raw in _decode_rows(body):
            try:
                result = _decode_order(raw)
            except msgspec.ValidationError:
                continue  # an order list's summary row: its orders are listed too
            orders.append(parse_order_result(result, market, number))
        return orders
