"""Callbacks: print every trade and ticker of a symbol for a few seconds.

    python examples/callbacks.py [--env prod] [--market usdm] [--seconds 10]

Handlers run on the client's dispatcher thread, never on the network thread:
a slow handler makes updates coalesce (tickers) or queue (trades), it never
stalls the feed. A handler that raises is logged and the next update goes on.
"""

from __future__ import annotations

import threading

from _target import DEFAULT_SYMBOL, client, parser

import ccxtpro_sync


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    symbol = DEFAULT_SYMBOL[args.market]
    done = threading.Event()

    def on_trades(trades: list[ccxtpro_sync.Trade]) -> None:
        for trade in trades:
            print(f"trade  {trade.datetime} {trade.side:<4} {trade.amount} @ {trade.price}")

    def on_ticker(ticker: ccxtpro_sync.Ticker) -> None:
        print(f"ticker {ticker.datetime} last {ticker.last} bid {ticker.bid} ask {ticker.ask}")

    with client(args) as exchange:
        trades = exchange.on_trades(symbol, on_trades)
        ticker = exchange.on_ticker(symbol, on_ticker)
        done.wait(args.seconds)  # the main thread is free; here it just waits
        trades.cancel()  # or use them as context managers
        ticker.cancel()


if __name__ == "__main__":
    main()
