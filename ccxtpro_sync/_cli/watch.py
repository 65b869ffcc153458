"""``ccxtpro-sync watch ticker|trades|book|ohlcv SYMBOL`` and the live ``book`` view."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from .common import (
    add_target_options,
    count_int,
    open_client,
    positive_int,
    seconds_float,
    symbol_text,
    target,
)
from .output import HAVE_RICH, NEED_RICH, console, decimals, iso, padded

KINDS = ("ticker", "trades", "book", "ohlcv")
#: Decimals of a market's tick size and step size (None when unknown).
Digits = tuple[int | None, int | None]


def add_parser(commands: Any) -> None:
    watch = commands.add_parser("watch", help="print a stream: ticker, trades, book or ohlcv")
    watch.add_argument("kind", choices=KINDS, help="which stream")
    watch.add_argument(
        "symbol",
        nargs="?",
        type=symbol_text,
        default=None,
        help="BTC/USDT, BTC/USDT:USDT or BTC/USD:BTC by --market",
    )
    watch.add_argument(
        "--count",
        type=count_int,
        default=0,
        help="stop after N updates (trades for `trades`; 0: never)",
    )
    watch.add_argument("--seconds", type=seconds_float, default=0.0, help="stop after S (0: never)")
    watch.add_argument("--timeframe", default="1m", help="for ohlcv")
    watch.add_argument("--depth", type=positive_int, default=5, help="for book")
    watch.add_argument("--json", action="store_true", help="one JSON document per update")
    add_target_options(watch)
    watch.set_defaults(run=run_watch)

    book = commands.add_parser("book", help="a live order book in the terminal (rich)")
    book.add_argument(
        "symbol",
        nargs="?",
        type=symbol_text,
        default=None,
        help="BTC/USDT, BTC/USDT:USDT or BTC/USD:BTC by --market",
    )
    book.add_argument("--depth", type=positive_int, default=10, help="levels per side")
    book.add_argument("--seconds", type=seconds_float, default=0.0, help="stop after S (0: never)")
    add_target_options(book)
    book.set_defaults(run=run_book)


def _target(args: argparse.Namespace) -> tuple[str, str]:
    return target(args)


def _deadline(seconds: float) -> float | None:
    return None if seconds <= 0 else time.monotonic() + seconds


def _until(items: Iterable[Any], deadline: float | None) -> Iterable[Any]:
    for item in items:
        yield item
        if deadline is not None and time.monotonic() >= deadline:
            return


def _bid_ask(value: Any) -> str:
    # futures 24h tickers carry no bid/ask: print them only when the stream has them
    quotes = (("bid", value.bid), ("ask", value.ask))
    return "".join(f"  {name} {price}" for name, price in quotes if price is not None)


def _line(kind: str, value: Any, args: argparse.Namespace, digits: Digits) -> list[str]:
    if kind == "ticker":
        pct = f"{value.percentage:+.2f}%" if value.percentage is not None else "-"
        return [
            f"{iso(value.timestamp)}  {value.symbol}  last {value.last}{_bid_ask(value)}  24h {pct}"
        ]
    if kind == "trades":
        return [
            f"{iso(t.timestamp)}  {t.symbol}  {t.side:<4} {t.amount} @ {t.price}" for t in value
        ]
    if kind == "book":
        bid, ask = value.bids[0], value.asks[0]
        price, amount = digits
        return [
            f"{iso(value.timestamp)}  {value.symbol}  "
            f"bid {padded(bid[0], price)} x {padded(bid[1], amount)}  "
            f"ask {padded(ask[0], price)} x {padded(ask[1], amount)}  "
            f"spread {padded(ask[0] - bid[0], price)}  nonce {value.nonce}"
        ]
    c = value[-1]
    return [
        f"{iso(c.timestamp)}  {args.symbol} {args.timeframe}  "
        f"o {c.open}  h {c.high}  l {c.low}  c {c.close}  v {c.volume}"
    ]


def _digits(client: Any, symbol: str) -> Digits:
    """Decimals of the market's tick and step sizes, so book columns line up."""
    precision = client.market(symbol).precision
    return decimals(precision.price), decimals(precision.amount)


def run_watch(args: argparse.Namespace) -> int:
    market, args.symbol = _target(args)
    deadline = _deadline(args.seconds)
    count = 0
    with open_client(args, market) as client:
        client.load_markets()
        digits = _digits(client, args.symbol)
        streams: dict[str, Callable[[], Any]] = {
            "ticker": lambda: client.stream_ticker(args.symbol, timeout=args.timeout),
            "trades": lambda: client.stream_trades(args.symbol, timeout=args.timeout),
            "book": lambda: client.stream_order_book(args.symbol, timeout=args.timeout),
            "ohlcv": lambda: client.stream_ohlcv(args.symbol, args.timeframe, timeout=args.timeout),
        }
        with streams[args.kind]() as updates:
            for update in _until(updates, deadline):
                value = update
                if args.kind == "book":
                    value = msgspec.structs.replace(
                        update, bids=update.bids[: args.depth], asks=update.asks[: args.depth]
                    )
                if args.kind == "trades" and args.count:
                    value = value[: args.count - count]  # --count counts trades, not batches
                if args.json:
                    print(msgspec.json.encode(value).decode(), flush=True)
                else:
                    for line in _line(args.kind, value, args, digits):
                        print(line, flush=True)
                count += len(value) if args.kind == "trades" else 1
                if args.count and count >= args.count:
                    break
    return 0


def _render_book(book: Any, depth: int, updates: int, digits: Digits) -> Any:
    from rich.table import Table

    view = Table(
        title=f"{book.symbol}  nonce {book.nonce}  {iso(book.timestamp)}",
        caption=f"{updates} updates · Ctrl-C to stop",
    )
    for column, style in (
        ("bid size", "green"),
        ("bid", "bold green"),
        ("ask", "bold red"),
        ("ask size", "red"),
    ):
        view.add_column(column, justify="right", style=style)
    price, amount = digits
    bids, asks = book.bids[:depth], book.asks[:depth]
    for i in range(max(len(bids), len(asks))):
        bid = (padded(bids[i][0], price), padded(bids[i][1], amount)) if i < len(bids) else ("", "")
        ask = (padded(asks[i][0], price), padded(asks[i][1], amount)) if i < len(asks) else ("", "")
        view.add_row(bid[1], bid[0], ask[0], ask[1])
    return view


def run_book(args: argparse.Namespace) -> int:
    if not HAVE_RICH:
        print(f"ccxtpro-sync book: {NEED_RICH}", file=sys.stderr)
        return 1
    from rich.live import Live

    market, symbol = _target(args)
    deadline = _deadline(args.seconds)
    with (
        open_client(args, market) as client,
        client.stream_order_book(symbol, timeout=args.timeout) as books,
    ):
        digits = _digits(client, symbol)
        first = next(books)
        view = _render_book(first, args.depth, 1, digits)
        with Live(view, console=console(), refresh_per_second=8) as live:
            for updates, book in enumerate(_until(books, deadline), start=2):
                live.update(_render_book(book, args.depth, updates, digits))
    return 0
