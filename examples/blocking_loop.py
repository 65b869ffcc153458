"""Notebook style: a plain blocking loop, one update at a time.

    python examples/blocking_loop.py [--env prod] [--seconds 10]

This is what a Jupyter cell does. ``watch_*`` blocks the calling thread only
(it never touches the notebook's asyncio loop), so it works inside a running
kernel. Every call takes a timeout and raises ``RequestTimeout`` (also a
``TimeoutError``) when nothing arrives in time.
"""

from __future__ import annotations

import time

from _target import DEFAULT_SYMBOL, client, parser


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    symbol = DEFAULT_SYMBOL[args.market]
    with client(args) as exchange:
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            ticker = exchange.watch_ticker(symbol, timeout=10)
            trades = exchange.watch_trades(symbol, timeout=10)  # new since the last call
            volume = sum(t.amount for t in trades)
            print(f"{ticker.datetime} last {ticker.last}  {len(trades)} new trades, {volume:.4f}")
        # the same updates as an iterator:
        with exchange.stream_ohlcv(symbol, "1m", timeout=10) as candles:
            for batch in candles:
                print("candle", list(batch[-1]))
                break


if __name__ == "__main__":
    main()
