"""Order-book printer: a synchronised local book, redrawn as it changes.

    python examples/order_book_printer.py [--env prod] [--market usdm] [--depth 10]

The book is kept exactly as Binance prescribes (buffered diffs, a REST
snapshot, sequence checks); a gap resynchronises that symbol on its own and
the book you get is never crossed.
"""

from __future__ import annotations

import time

from _target import DEFAULT_SYMBOL, client, parser


def render(book: object, depth: int) -> str:
    bids = book.bids[:depth]  # type: ignore[attr-defined]
    asks = book.asks[:depth]  # type: ignore[attr-defined]
    lines = [f"{book.symbol}  nonce {book.nonce}  {book.datetime}"]  # type: ignore[attr-defined]
    lines += [f"{'':>24}  {price:>14,.2f}  {amount:>12.6f}" for price, amount in reversed(asks)]
    lines.append("-" * 56)
    lines += [f"{amount:>12.6f}  {price:>14,.2f}" for price, amount in bids]
    return "\n".join(lines)


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--depth", type=int, default=10)
    args = p.parse_args()
    symbol = DEFAULT_SYMBOL[args.market]
    with client(args) as exchange:
        deadline = time.monotonic() + args.seconds
        with exchange.stream_order_book(symbol, timeout=10) as books:
            for book in books:  # only the newest book is kept while we print
                print("\033[2J\033[H" + render(book, args.depth), flush=True)
                if time.monotonic() > deadline:
                    break


if __name__ == "__main__":
    main()
