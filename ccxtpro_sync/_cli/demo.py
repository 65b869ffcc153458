"""``ccxtpro-sync demo``: a live ticker and the top of the book from the embedded exchange.

Needs nothing beyond the ``local`` extra (no rich).
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from typing import Any

from .common import positive_float, positive_int, seconds_float, symbol_text
from .output import decimals, iso


def add_parser(commands: Any) -> None:
    demo = commands.add_parser("demo", help="live ticker and order book from the local exchange")
    demo.add_argument(
        "--exchange", default="binance", choices=["binance", "deribit"], help="local exchange"
    )
    demo.add_argument(
        "--symbol",
        type=symbol_text,
        default=None,
        help="market to show (default BTC/USDT; deribit: BTC/USD:BTC)",
    )
    demo.add_argument("--seconds", type=seconds_float, default=5.0, help="0 runs until Ctrl-C")
    demo.add_argument("--interval", type=positive_float, default=0.5, help="seconds between lines")
    demo.add_argument(
        "--depth", type=positive_int, default=5, help="order book levels to subscribe"
    )
    demo.add_argument(
        "--seed", type=int, default=1, help="local exchange seed (same seed, same market)"
    )
    demo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import binance
    from ..simulator import LocalExchange

    deribit = getattr(args, "exchange", "binance") == "deribit"
    symbol = args.symbol or ("BTC/USD:BTC" if deribit else "BTC/USDT")
    with contextlib.ExitStack() as stack:
        if deribit:
            from .. import deribit as deribit_client
            from ..simulator import LocalDeribit

            exchange: Any = stack.enter_context(LocalDeribit(seed=args.seed))
            client: Any = stack.enter_context(
                deribit_client({"environment": "local", "local": exchange})
            )
            url = exchange.url
        else:
            exchange = stack.enter_context(LocalExchange(seed=args.seed))
            client = stack.enter_context(binance({"environment": "local", "local": exchange}))
            url = exchange.urls("spot")["ws"]
        print(f"local exchange at {url} — {symbol}, {args.seconds:g}s")
        lock = threading.Lock()
        state: dict[str, Any] = {}

        def on_ticker(ticker: Any) -> None:
            with lock:
                state["ticker"] = ticker

        def on_book(book: Any) -> None:
            with lock:
                state["book"] = book

        digits = decimals(client.market(symbol).precision.price)
        digits = 2 if digits is None else digits
        with client.on_ticker(symbol, on_ticker), client.on_order_book(symbol, on_book):
            deadline = None if args.seconds <= 0 else time.monotonic() + args.seconds
            while deadline is None or time.monotonic() < deadline:
                book = client.watch_order_book(symbol, limit=args.depth, timeout=10)
                with lock:
                    ticker = state.get("ticker")
                last = f"last {ticker.last:,.2f}" if ticker and ticker.last is not None else ""
                if ticker and ticker.percentage is not None:
                    last += f"  24h {ticker.percentage:+.2f}%"
                bid, ask = book.bids[0], book.asks[0]
                print(
                    f"{iso(book.timestamp)}  bid {bid[0]:,.{digits}f} x {bid[1]:.4f}  "
                    f"ask {ask[0]:,.{digits}f} x {ask[1]:.4f}  "
                    f"spread {ask[0] - bid[0]:.{digits}f}  {last}".rstrip(),
                    flush=True,
                )
                time.sleep(args.interval)
    return 0
