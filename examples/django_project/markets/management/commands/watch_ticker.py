"""``python manage.py watch_ticker BTC/USDT --count 3``: print live tickers.

A management command runs its own client for its own lifetime; the app's
long-lived client is not started in management commands.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

import ccxtpro_sync
from markets.client import market_client


class Command(BaseCommand):
    help = "Print live tickers of a symbol until Ctrl-C (or --count updates)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("symbol", nargs="?", default="BTC/USDT")
        parser.add_argument("--count", type=int, default=0, help="stop after N (0: never)")
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verbosity"] >= 2:
            self.stdout.write(f"app client started: {market_client.started}")
        count = options["count"]
        with ccxtpro_sync.binance(settings.CCXTPRO_SYNC) as client:
            tickers = client.stream_ticker(options["symbol"], timeout=options["timeout"])
            with tickers:
                for n, ticker in enumerate(tickers, start=1):
                    self.stdout.write(
                        f"{ticker.datetime}  {ticker.symbol}  last {ticker.last}  "
                        f"bid {ticker.bid}  ask {ticker.ask}"
                    )
                    if count and n >= count:
                        break
