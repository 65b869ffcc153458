"""``ccxtpro-sync smoke``: load markets and take one update of each public stream."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from .._exceptions import NetworkError
from .common import add_target_options, open_client, target
from .errors import describe
from .output import table


def add_parser(commands: Any) -> None:
    smoke = commands.add_parser("smoke", help="public checks: markets and one of each stream")
    smoke.add_argument(
        "--symbol", default=None, help="BTC/USDT, BTC/USDT:USDT or BTC/USD:BTC by --market"
    )
    smoke.add_argument(
        "--private",
        action="store_true",
        help="also the private read-only checks: the same as `preflight --private`",
    )
    add_target_options(smoke)
    smoke.set_defaults(run=run)


def checks(client: Any, symbol: str) -> list[tuple[str, Callable[[], str]]]:
    """(name, check) pairs; a check returns a short detail or raises."""
    timeout = client.timeout

    def markets() -> str:
        found = client.load_markets()
        if symbol not in found:
            raise AssertionError(f"{symbol} not among {len(found)} markets")
        return f"{len(found)} markets"

    def ticker() -> str:
        return f"last {client.watch_ticker(symbol, timeout=timeout).last}"

    def bids_asks() -> str:
        quote = client.watch_bids_asks([symbol], timeout=timeout)[symbol]
        return f"{quote.bid} / {quote.ask}"

    def trades() -> str:
        return f"{len(client.watch_trades(symbol, timeout=timeout))} trades"

    def ohlcv() -> str:
        return f"{len(client.watch_ohlcv(symbol, '1m', timeout=timeout))} candles"

    def book() -> str:
        found = client.watch_order_book(symbol, limit=5, timeout=timeout)
        return f"bid {found.bids[0][0]} ask {found.asks[0][0]} nonce {found.nonce}"

    def mark() -> str:
        return f"mark {client.watch_mark_price(symbol, timeout=timeout).markPrice}"

    def funding() -> str:
        return f"rate {client.watch_funding_rate(symbol, timeout=timeout).fundingRate}"

    found = [
        ("load markets", markets),
        ("ticker", ticker),
        ("bids/asks", bids_asks),
        ("trades", trades),
        ("ohlcv 1m", ohlcv),
        ("order book", book),
    ]
    if getattr(client, "product", "spot") != "spot":  # Binance futures
        found += [("mark price", mark), ("funding rate", funding)]
    return found


def run(args: argparse.Namespace) -> int:
    if args.private:
        from . import preflight

        for name, value in preflight.DEFAULTS.items():
            if not hasattr(args, name):
                setattr(args, name, value)
        return preflight.run(args)
    market, symbol = target(args)
    rows: list[list[Any]] = []
    stopped = None
    with open_client(args, market) as client:
        for name, check in checks(client, symbol):
            started = time.monotonic()
            try:
                detail, ok = check(), True
            except Exception as error:  # a failed check is a row, not a crash
                summary = describe(error, getattr(args, "connect_error", None))[1]
                detail, ok = f"{type(error).__name__}: {summary}", False
                if args.verbose:
                    traceback.print_exc()
                if isinstance(error, NetworkError):
                    # the next checks would wait on the same connection: stop here
                    rows.append([name, "FAIL", time.monotonic() - started, detail])
                    stopped = summary
                    break
            rows.append([name, "pass" if ok else "FAIL", time.monotonic() - started, detail])
    failed = sum(1 for row in rows if row[1] != "pass")
    table(
        f"smoke: {args.env} {market} {symbol}",
        ["check", "result", "seconds", "detail"],
        rows,
    )
    print(f"{len(rows) - failed} passed, {failed} failed")
    if stopped is not None:
        print(f"ccxtpro-sync smoke: stopped at the first connection failure: {stopped}",
              file=sys.stderr)  # fmt: skip
    return 1 if failed else 0
