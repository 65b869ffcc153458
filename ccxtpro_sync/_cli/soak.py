"""``ccxtpro-sync soak --minutes N``: hold a few streams and report how the feed held up."""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from contextlib import ExitStack
from typing import Any

from .._signals import signals
from .common import (
    DEFAULT_SYMBOL,
    add_target_options,
    market_of,
    open_target,
    positive_float,
    seconds_float,
)
from .output import HAVE_RICH, console, seconds, table

STREAMS = ("ticker", "trades", "book")


def add_parser(commands: Any) -> None:
    soak = commands.add_parser("soak", help="hold streams for N minutes, report gaps and drops")
    soak.add_argument(
        "--minutes", type=positive_float, default=5.0, help="how long to hold the streams"
    )
    soak.add_argument(
        "--symbol", default=None, help="BTC/USDT, BTC/USDT:USDT or BTC/USD:BTC by --market"
    )
    soak.add_argument(
        "--chaos",
        type=seconds_float,
        default=0.0,
        help="embedded exchange only: drop every connection each S seconds (0: never)",
    )
    add_target_options(soak)
    soak.set_defaults(run=run)


class Tally:
    """Counts updates per stream and the client's signals, from any thread."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.lock = threading.Lock()
        self.updates: Counter[str] = Counter()
        self.events: Counter[str] = Counter()

    def update(self, stream: str) -> Any:
        def count(_: Any) -> None:
            with self.lock:
                self.updates[stream] += 1

        return count

    def receiver(self, name: str) -> Any:
        def count(sender: Any, **payload: Any) -> None:
            if name == "connection_closed" and not payload.get("will_reconnect"):
                return  # our own close at the end
            with self.lock:
                self.events[name] += 1

        return count


def run(args: argparse.Namespace) -> int:
    market = args.market or (market_of(args.symbol) if args.symbol else "spot")
    symbol = args.symbol or DEFAULT_SYMBOL[market]
    duration = args.minutes * 60.0
    watched = ("connection_closed", "reconnect_scheduled", "message_dropped",
               "order_book_resync", "protocol_error", "callback_error")  # fmt: skip
    with open_target(args, market) as (client, exchange), ExitStack() as stack:
        tally = Tally(client)
        for name in watched:
            receiver = tally.receiver(name)
            signal = signals.all()[name]
            signal.connect(receiver, sender=client, weak=False)
            stack.callback(signal.disconnect, receiver)  # from every sender: see telemetry.md
        stack.enter_context(client.on_ticker(symbol, tally.update("ticker")))
        stack.enter_context(client.on_trades(symbol, tally.update("trades")))
        stack.enter_context(client.on_order_book(symbol, tally.update("book")))
        _wait(duration, tally, exchange, args.chaos)
        infos = client.connections()
        with tally.lock:
            updates, events = dict(tally.updates), dict(tally.events)
    header = ["connection", "state", "streams", "messages", "first update", "max gap"]
    header += ["reconnects", "last message", "dropped"]
    table(f"soak: {args.env} {market} {symbol}, {duration:g}s", header, [_row(i) for i in infos])
    print("updates: " + "  ".join(f"{s} {updates.get(s, 0)}" for s in STREAMS))
    print("events: " + ("  ".join(f"{k} {v}" for k, v in sorted(events.items())) or "none"))
    missing = [s for s in STREAMS if not updates.get(s)]
    if missing:
        print(f"FAIL: no updates for {', '.join(missing)}")
        return 1
    print("ok")
    return 0


def _row(info: Any) -> list[Any]:
    return [
        info.name,
        info.state,
        len(info.subscriptions),
        info.messages,
        seconds(info.first_update_latency),
        seconds(info.max_gap),
        info.reconnects,
        seconds(info.last_message_age),
        info.dropped,
    ]


def _wait(duration: float, tally: Tally, exchange: Any, chaos: float) -> None:
    """Wait ``duration`` seconds (a progress bar with rich), dropping sockets if asked."""
    stop = threading.Event()
    deadline = time.monotonic() + duration
    next_chaos = time.monotonic() + chaos if chaos > 0 and exchange is not None else None

    def step() -> bool:
        nonlocal next_chaos
        now = time.monotonic()
        if next_chaos is not None and now >= next_chaos:
            exchange.faults.drop()
            next_chaos = now + chaos
        stop.wait(max(0.0, min(0.25, deadline - now)))
        return time.monotonic() < deadline

    if not HAVE_RICH:
        while step():
            pass
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("soak"),
        BarColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[n]}"),
    )
    with Progress(*columns, console=console(), transient=True) as progress:
        task = progress.add_task("soak", total=duration, n="")
        started = time.monotonic()
        while step():
            with tally.lock:
                n = " ".join(f"{s} {tally.updates.get(s, 0)}" for s in STREAMS)
            progress.update(task, completed=time.monotonic() - started, n=n)
