"""``ccxtpro-sync sim``: run the local exchange, print its URLs, wait for Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

from .common import URLS_VARIABLE, port_int, positive_float, seconds_float


def add_parser(commands: Any) -> None:
    sim = commands.add_parser("sim", help="run the local exchange until Ctrl-C")
    sim.add_argument(
        "--exchange",
        choices=("binance", "deribit"),
        default="binance",
        help="which local exchange to run (deribit serves WS and HTTP on --ws-port)",
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sim.add_argument(
        "--ws-port", type=port_int, default=0, help="websocket port (0: any free port)"
    )
    sim.add_argument("--rest-port", type=port_int, default=0, help="REST port (0: any free port)")
    sim.add_argument("--seed", type=int, default=1, help="market seed (same seed, same market)")
    sim.add_argument(
        "--speed", type=positive_float, default=1.0, help="speed-up of the simulated market"
    )
    sim.add_argument(
        "--seconds", type=seconds_float, default=0.0, help="stop after this long (0: never)"
    )
    sim.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "exchange", "binance") == "deribit":
        return _run_deribit(args)
    from ..simulator import LocalExchange
    from ..simulator.catalog import MARKETS

    try:
        exchange = LocalExchange(
            host=args.host,
            ws_port=args.ws_port,
            rest_port=args.rest_port,
            seed=args.seed,
            speed=args.speed,
        ).start()
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        ports = " or ".join(str(p) for p in (args.ws_port, args.rest_port) if p) or "its port"
        where = f"{args.host} port {ports}"  # the error itself may not say which one
        raise OSError(errno.EADDRINUSE, "address already in use", where) from error
    with exchange:
        urls = {market: exchange.urls(market) for market in MARKETS}
        for market, found in urls.items():
            print(f"{market:6} ws={found['ws']}  ws_api={found['ws_api']}  rest={found['rest']}")
        print(f"export {URLS_VARIABLE}='{json.dumps(urls, separators=(',', ':'))}'")
        print("Ctrl-C to stop.", flush=True)
        deadline = None if args.seconds <= 0 else time.monotonic() + args.seconds
        stop = threading.Event()
        try:
            with _terminate_as_interrupt():
                while deadline is None or time.monotonic() < deadline:
                    remaining = 1.0 if deadline is None else deadline - time.monotonic()
                    stop.wait(max(0.0, min(1.0, remaining)))
        except KeyboardInterrupt:
            print("stopping.", flush=True)
    return 0


def _run_deribit(args: argparse.Namespace) -> int:
    """The local Deribit: one port for the JSON-RPC WebSocket and HTTP GET."""
    from ..simulator import LocalDeribit

    with LocalDeribit(host=args.host, port=args.ws_port, seed=args.seed) as exchange:
        urls = exchange.urls()
        client_id, secret = exchange.credentials
        print(f"deribit ws={urls['ws']}  rest={urls['rest']}")
        print(f"local test key: client_id={client_id} client_secret={secret}")
        print(f"export {URLS_VARIABLE}='{json.dumps(urls, separators=(',', ':'))}'")
        print("Ctrl-C to stop.", flush=True)
        deadline = None if args.seconds <= 0 else time.monotonic() + args.seconds
        stop = threading.Event()
        try:
            with _terminate_as_interrupt():
                while deadline is None or time.monotonic() < deadline:
                    remaining = 1.0 if deadline is None else deadline - time.monotonic()
                    stop.wait(max(0.0, min(1.0, remaining)))
        except KeyboardInterrupt:
            print("stopping.", flush=True)
    return 0


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM stops like Ctrl-C, so the exchange closes its sockets (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
