"""Release preflight: the operational checks to pass before promoting a release.

:func:`run_preflight` takes a *client factory* (any callable returning a client of this
library) and runs, in order: the public smoke, the private read-only smoke (with key
permissions), the gated order smoke, the soak, telemetry and clean shutdown. Every
check goes through the client's public surface only (``load_markets``, ``watch_*``,
``on_*``, ``fetch_*``, ``create_order``/``cancel_order``, ``connections()``, the
signals), so another exchange's client plugs in unchanged. ``ccxtpro-sync preflight``
is the command-line front; docs/operations.md says what each check proves.

The order smoke's order is always cancelled: a failing step, a timeout or Ctrl-C
(``KeyboardInterrupt``) all go through one ``finally`` that cancels it by its client
order id (known before the order is sent, so even an order whose reply was lost is
found) and checks it is no longer open.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from ._signals import signals

__all__ = ["CheckResult", "PreflightConfig", "PreflightReport", "run_preflight"]

#: Signals a run that opened connections and received data must have emitted.
EXPECTED_SIGNALS = ("connection_started", "connection_closed")
#: Threads of this library are named so (readers, dispatchers, workers).
THREAD_PREFIX = "ccxtpro_sync-"


@dataclass
class PreflightConfig:
    """What to check, and the thresholds the soak is judged against."""

    symbol: str
    private: bool = False
    #: Permission names the application needs (``TRADE``, ``USER_DATA``, ...).
    require: frozenset[str] = frozenset()
    order_smoke: bool = False
    #: 0: no soak.
    soak_seconds: float = 0.0
    #: The largest pause allowed between two updates of one stream (seconds).
    max_gap: float = 60.0
    #: The longest wait allowed for a stream's first update (seconds).
    max_first_update: float = 10.0
    #: Seconds per blocking call.
    timeout: float = 30.0
    #: How far below the best bid the order smoke's buy rests (0.8: 20 % below).
    order_price_factor: float = 0.8


@dataclass
class CheckResult:
    """One row of the report."""

    name: str
    ok: bool
    seconds: float
    detail: str
    warning: str | None = None


@dataclass
class PreflightReport:
    """All checks run, in order; ``ok`` when every one passed."""

    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(r) for r in self.results]}


class _Recorder:
    """Runs checks and keeps their rows; ``progress`` sees each row as it lands."""

    def __init__(self, report: PreflightReport, progress: Callable[[CheckResult], None]) -> None:
        self.report = report
        self.progress = progress

    def add(self, result: CheckResult) -> CheckResult:
        self.report.results.append(result)
        self.progress(result)
        return result

    def run(self, name: str, check: Callable[[], str | tuple[str, str | None]]) -> bool:
        started = time.monotonic()
        try:
            outcome = check()
        except Exception as error:  # a failed check is a row, not a crash
            detail = f"{type(error).__name__}: {error}"
            self.add(CheckResult(name, False, time.monotonic() - started, detail))
            return False
        detail, warning = outcome if isinstance(outcome, tuple) else (outcome, None)
        self.add(CheckResult(name, True, time.monotonic() - started, detail, warning))
        return True


class _Telemetry:
    """Counts the signals sent by one client; also what user-data confirmations it saw.

    Receivers take only this object's lock, never one of the library's.
    """

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.seen: dict[str, int] = {}
        #: WS API user-data subscriptions the server acknowledged (``subscriptionId``).
        self.user_subscriptions = 0
        self._receivers: list[tuple[Any, Any]] = []

    def attach(self, client: Any) -> None:
        for name, signal in signals.all().items():

            def receiver(sender: Any, _name: str = name, **payload: Any) -> None:
                result = payload.get("result")
                with self.changed:
                    self.seen[_name] = self.seen.get(_name, 0) + 1
                    if isinstance(result, dict) and "subscriptionId" in result:
                        self.user_subscriptions += 1
                    self.changed.notify_all()

            signal.connect(receiver, sender=client, weak=False)
            self._receivers.append((signal, receiver))

    def detach(self) -> None:
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)  # from every sender (see docs/telemetry.md)
        self._receivers.clear()

    def counts(self) -> dict[str, int]:
        with self.changed:
            return dict(self.seen)

    def wait_for(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Re-check ``ready`` after each signal until it holds; ``TimeoutError`` after
        ``timeout`` seconds. ``ready`` runs without this lock (it may call the client)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.changed:
                seen = sum(self.seen.values())
            if ready():
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{what} not confirmed within {timeout:g}s")
            with self.changed:
                self.changed.wait_for(partial(self._moved, seen), left)

    def _moved(self, seen: int) -> bool:
        return sum(self.seen.values()) != seen


def _user_data_confirmed(client: Any, telemetry: _Telemetry, since: int) -> Callable[[], bool]:
    """Whether the exchange confirmed the user-data subscription: a user-data connection
    open with its stream confirmed (futures listenKey), or a WS API subscription the
    server acknowledged after ``since`` acknowledgements (spot ``userDataStream``)."""

    def ready() -> bool:
        if telemetry.user_subscriptions > since:
            return True
        return any(
            i.kind == "user_data" and i.state == "open" and i.confirmed >= 1
            for i in client.connections()
        )

    return ready


def _library_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and t.is_alive()}


def run_preflight(
    factory: Callable[[], Any],
    config: PreflightConfig,
    *,
    progress: Callable[[CheckResult], None] | None = None,
) -> PreflightReport:
    """Run the checks ``config`` asks for against a client made by ``factory``.

    ``progress`` is called with each row as soon as it is known (the command line
    prints it). ``KeyboardInterrupt`` propagates after the order smoke's cleanup and
    the client's ``close()``.
    """
    report = PreflightReport()
    rec = _Recorder(report, progress or (lambda _: None))
    before = _library_threads()
    telemetry = _Telemetry()
    started = time.monotonic()
    try:
        client = factory()
    except Exception as error:
        rec.add(CheckResult("client", False, time.monotonic() - started, f"{error}"))
        return report
    telemetry.attach(client)
    try:
        try:
            public_ok = _public_smoke(rec, client, config)
            if config.private and public_ok:
                # one confirmed order stream serves the user-data check and the order
                # smoke: resubscribing in between could race the order's own update
                with contextlib.ExitStack() as held:
                    orders = _private_smoke(rec, client, config, telemetry, held)
                    if config.order_smoke and orders is not None:
                        _order_smoke(rec, client, config, orders)
            if config.soak_seconds > 0 and public_ok:
                _soak(rec, client, config)
        finally:
            closed_at = time.monotonic()
            close_error: BaseException | None = None
            try:
                client.close()
            except Exception as error:
                close_error = error
        _shutdown(
            rec,
            client,
            before=before,
            closed_at=closed_at,
            close_error=close_error,
            timeout=config.timeout,
        )
        _telemetry(rec, telemetry, closed_at)
    finally:
        telemetry.detach()
    return report


# -- 1. public smoke ---------------------------------------------------------------------
def _public_smoke(rec: _Recorder, client: Any, config: PreflightConfig) -> bool:
    symbol, timeout = config.symbol, config.timeout

    def markets() -> str:
        found = client.load_markets()
        if symbol not in found:
            raise AssertionError(f"{symbol} not among {len(found)} markets")
        return f"{len(found)} markets"

    def ticker() -> str:
        return f"last {client.watch_ticker(symbol, timeout=timeout).last}"

    def trades() -> str:
        return f"{len(client.watch_trades(symbol, timeout=timeout))} trades"

    def book() -> str:
        found = client.watch_order_book(symbol, limit=5, timeout=timeout)
        if found.nonce is None or not found.bids or not found.asks:
            raise AssertionError("the order book is not synced (no nonce or an empty side)")
        return f"synced at nonce {found.nonce}: bid {found.bids[0][0]} ask {found.asks[0][0]}"

    if not rec.run("public: markets", markets):
        return False
    results = [
        rec.run("public: ticker", ticker),
        rec.run("public: trades", trades),
        rec.run("public: order book", book),
    ]
    return all(results)


# -- 2. private read-only smoke ----------------------------------------------------------
def _private_smoke(
    rec: _Recorder,
    client: Any,
    config: PreflightConfig,
    telemetry: _Telemetry,
    held: contextlib.ExitStack,
) -> Iterator[list[Any]] | None:
    """The private rows; returns the confirmed order stream (kept open in ``held``)
    if every check passed, else None."""
    stream: dict[str, Iterator[list[Any]]] = {}
    symbol, timeout = config.symbol, config.timeout

    def permissions() -> tuple[str, str | None]:
        found = client.fetch_permissions(timeout=timeout)
        granted = ", ".join(sorted(found.granted)) or "none"
        missing = found.missing(config.require)
        if missing:
            raise AssertionError(
                f"the key lacks {', '.join(missing)} (it has: {granted}; "
                f"--require {','.join(sorted(config.require))})"
            )
        warning = None
        if "WITHDRAW" in found.granted:
            warning = "THIS KEY CAN WITHDRAW FUNDS: an application key should not"
        return f"granted: {granted}", warning

    def balance() -> str:
        found = client.fetch_balance(timeout=timeout)
        return f"{len(found.total)} assets"

    def open_orders() -> str:
        return f"{len(client.fetch_open_orders(symbol, timeout=timeout))} open"

    def user_data() -> str:
        since = telemetry.user_subscriptions
        stream["orders"] = held.enter_context(client.stream_orders(symbol, timeout=timeout))
        ready = _user_data_confirmed(client, telemetry, since)
        telemetry.wait_for(ready, timeout, "the user-data subscription")
        names = [f"{i.name} ({i.kind})" for i in client.connections() if i.state == "open"]
        return f"subscription confirmed (open: {', '.join(names)})"

    results = [
        rec.run("private: key permissions", permissions),
        rec.run("private: balance", balance),
        rec.run("private: open orders", open_orders),
        rec.run("private: user data", user_data),
    ]
    return stream["orders"] if all(results) else None


# -- 3. order smoke ----------------------------------------------------------------------
def _order_smoke(
    rec: _Recorder, client: Any, config: PreflightConfig, updates: Iterator[list[Any]]
) -> None:
    symbol, timeout = config.symbol, config.timeout
    cid = "preflight" + secrets.token_hex(8)
    placed: dict[str, Any] = {}

    def resting_order() -> tuple[float, float]:
        market = client.market(symbol)
        book = client.watch_order_book(symbol, limit=5, timeout=timeout)
        tick = market.precision.price
        price = round(book.bids[0][0] * config.order_price_factor / tick) * tick
        step = market.precision.amount
        amount = market.limits.amount.min or step
        min_cost = market.limits.cost.min
        if min_cost and (market.spot or market.linear):
            amount = max(amount, math.ceil(min_cost * 1.2 / price / step) * step)
        return float(client.price_to_precision(symbol, price)), float(
            client.amount_to_precision(symbol, amount)
        )

    def place_and_confirm() -> str:
        price, amount = resting_order()
        placed["sent"] = True
        order = client.create_order(
            symbol, "limit", "buy", amount, price, {"clientOrderId": cid}, timeout=timeout
        )
        placed["id"] = order.id
        rec.progress(CheckResult("order: placed", True, 0.0, f"{cid} {amount} @ {price}"))
        if order.status != "open":
            raise AssertionError(f"the order should rest, but it is {order.status}")
        for batch in _until(updates, timeout):
            if any(o.clientOrderId == cid and o.status == "open" for o in batch):
                break
        listed = [o.clientOrderId for o in client.fetch_open_orders(symbol, timeout=timeout)]
        if cid not in listed:
            raise AssertionError("the order is missing from the open orders")
        return f"{cid}: {amount} @ {price}, open on user data and in open orders"

    try:
        rec.run("order: place and confirm", place_and_confirm)
    finally:
        if placed.get("sent"):
            rec.run(
                "order: cancelled, cleanup confirmed", lambda: _cancel(client, symbol, cid, timeout)
            )


def _until(updates: Iterator[list[Any]], timeout: float) -> Iterator[list[Any]]:
    """Batches from an order stream until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    for batch in updates:
        yield batch
        if time.monotonic() > deadline:
            raise TimeoutError(f"no 'open' update for the order within {timeout}s")


def _cancel(client: Any, symbol: str, cid: str, timeout: float) -> str:
    """Cancel by client order id, then check nothing of ours is left open."""
    problem: BaseException | None = None
    try:
        client.cancel_order(None, symbol, {"clientOrderId": cid}, timeout=timeout)
    except Exception as error:  # judged by the open orders below
        problem = error
    still = [o for o in client.fetch_open_orders(symbol, timeout=timeout) if o.clientOrderId == cid]
    if still:
        reason = f": {type(problem).__name__}: {problem}" if problem is not None else ""
        raise AssertionError(f"order {cid} is STILL OPEN after cancelling{reason}")
    return f"{cid} is no longer open"


# -- 4. soak -----------------------------------------------------------------------------
@dataclass
class _StreamTimes:
    subscribed: float
    first: float | None = None
    last: float | None = None
    max_gap: float = 0.0
    updates: int = 0


def _soak(rec: _Recorder, client: Any, config: PreflightConfig) -> None:
    symbol = config.symbol
    lock = threading.Lock()
    times: dict[str, _StreamTimes] = {}
    done = threading.Event()

    def handler(stream: str) -> Callable[[Any], None]:
        def update(_: Any) -> None:
            now = time.monotonic()
            with lock:
                t = times[stream]
                if t.first is None:
                    t.first = now
                elif t.last is not None:
                    t.max_gap = max(t.max_gap, now - t.last)
                t.last = now
                t.updates += 1

        return update

    subscribe: dict[str, Callable[[Callable[[Any], None]], Any]] = {
        "ticker": lambda h: client.on_ticker(symbol, handler=h),
        "trades": lambda h: client.on_trades(symbol, handler=h),
        "order book": lambda h: client.on_order_book(symbol, handler=h),
    }
    with contextlib.ExitStack() as stack:
        for stream, on in subscribe.items():
            with lock:
                times[stream] = _StreamTimes(time.monotonic())
            stack.enter_context(on(handler(stream)))
        done.wait(config.soak_seconds)  # the soak's length is the point: nothing to wait on
        ended = time.monotonic()
    with lock:
        measured = dict(times)
    for stream, t in measured.items():

        def judge(t: _StreamTimes = t) -> str:
            if t.first is None:
                raise AssertionError(
                    f"no update in {config.soak_seconds:g}s "
                    f"(--max-first-update {config.max_first_update:g}s)"
                )
            first = t.first - t.subscribed
            assert t.last is not None
            gap = max(t.max_gap, ended - t.last)  # a stream that stopped counts to the end
            failures = []
            if first > config.max_first_update:
                failures.append(f"first update after {first:.2f}s > {config.max_first_update:g}s")
            if gap > config.max_gap:
                failures.append(f"max gap {gap:.2f}s > {config.max_gap:g}s")
            detail = f"{t.updates} updates, first after {first:.2f}s, max gap {gap:.2f}s"
            if failures:
                raise AssertionError("; ".join(failures) + f" ({detail})")
            return detail

        rec.run(f"soak: {stream}", judge)


# -- 5. telemetry, 6. shutdown -----------------------------------------------------------
def _telemetry(rec: _Recorder, telemetry: _Telemetry, closed_at: float) -> None:
    def check() -> str:
        seen = telemetry.counts()
        missing = [name for name in EXPECTED_SIGNALS if not seen.get(name)]
        shown = ", ".join(f"{k} {v}" for k, v in sorted(seen.items())) or "none"
        if missing:
            raise AssertionError(f"never sent: {', '.join(missing)} (seen: {shown})")
        return shown

    rec.run("telemetry: signals seen", check)


def _shutdown(
    rec: _Recorder,
    client: Any,
    *,
    before: set[threading.Thread],
    closed_at: float,
    close_error: BaseException | None,
    timeout: float,
) -> None:
    def check() -> str:
        if close_error is not None:
            raise AssertionError(f"close() raised {type(close_error).__name__}: {close_error}")
        # A closed client lists no connection; one listed is one close() left running.
        left = client.connections()
        if left:
            names = ", ".join(f"{i.name} ({i.state})" for i in left)
            raise AssertionError(f"connections still open after close(): {names}")
        deadline = time.monotonic() + timeout
        alive = _library_threads() - before
        for thread in alive:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = {t for t in alive if t.is_alive()}
        if alive:
            names = ", ".join(sorted(t.name for t in alive))
            raise AssertionError(f"library threads alive after close(): {names}")
        return f"no connection held, no library thread left ({time.monotonic() - closed_at:.2f}s)"

    rec.run("shutdown: clean", check)
