"""``ccxtpro-sync collect --redis URL SYMBOLS… [--shard i/n]``: publish to Redis Streams."""

from __future__ import annotations

import argparse
import json
import threading
from typing import Any

from .common import add_target_options, market_of, open_target, symbol_text
from .sim import _terminate_as_interrupt


def add_parser(commands: Any) -> None:
    collect = commands.add_parser(
        "collect", help="publish trades, tickers and books to Redis Streams (fan-out)"
    )
    collect.add_argument(
        "symbols", nargs="+", type=symbol_text, help="every symbol of the deployment"
    )
    collect.add_argument("--redis", required=True, help="redis://host:port/db or unix:///path")
    collect.add_argument("--shard", default="1/1", help="this collector's shard i/n (default 1/1)")
    collect.add_argument(
        "--channels",
        default="trades,ticker,orderbook",
        help="comma-separated: trades,ticker,ohlcv,orderbook",
    )
    collect.add_argument("--timeframes", default="1m", help="comma-separated, for ohlcv")
    collect.add_argument(
        "--lease-ttl", type=float, default=5.0, help="seconds before a standby takes over"
    )
    collect.add_argument(
        "--maxlen", type=int, default=100_000, help="entries kept per stream (MAXLEN ~)"
    )
    collect.add_argument(
        "--buffer", type=int, default=100_000, help="entries held while Redis is away"
    )
    collect.add_argument(
        "--snapshot-every", type=int, default=100, help="book entries per snapshot"
    )
    collect.add_argument("--prefix", default="ccxtpro_sync", help="key prefix")
    collect.add_argument("--owner", default=None, help="lease owner id (default: random)")
    collect.add_argument("--seconds", type=float, default=0.0, help="stop after S (0: never)")
    add_target_options(collect)
    collect.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..fanout import Collector, parse_shard
    from ..fanout.signals import fanout_signals

    shard = parse_shard(args.shard)  # InvalidArgument: one line, exit 2 (see errors.py)
    markets = {args.market or market_of(s) for s in args.symbols}
    if len(markets) != 1:
        print(f"collect: one market per collector; got {sorted(markets)} (use --market)")
        return 2
    market = markets.pop()

    def report(sender: Any, **payload: Any) -> None:
        print(
            json.dumps({"event": "lease", "owner": payload["owner"], "active": payload["active"]}),
            flush=True,
        )

    fanout_signals.fanout_lease.connect(report)
    stop = threading.Event()
    with open_target(args, market) as (client, _):
        collector = Collector(
            client,
            args.redis,
            args.symbols,
            channels=[c for c in args.channels.split(",") if c],
            timeframes=[t for t in args.timeframes.split(",") if t],
            shard=shard,
            lease_ttl=args.lease_ttl,
            maxlen=args.maxlen,
            max_buffer=args.buffer,
            snapshot_every=args.snapshot_every,
            prefix=args.prefix,
            owner=args.owner,
        )
        with collector:
            print(
                json.dumps(
                    {"event": "started", "owner": collector.owner, "symbols": collector.symbols}
                ),
                flush=True,
            )
            try:
                with _terminate_as_interrupt():
                    stop.wait(args.seconds if args.seconds > 0 else None)
            except KeyboardInterrupt:
                pass
            stats = collector.stats()
        print(
            json.dumps(
                {"event": "stopped", **{k: v for k, v in stats.items() if k != "dropped_by_key"}}
            ),
            flush=True,
        )
    return 0
