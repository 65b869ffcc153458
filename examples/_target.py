"""Shared by the examples: the client to use, local by default.

Every example runs against the embedded local exchange unless ``--env prod``
(or testnet/demo) is given, so they work on a machine with no internet.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

import ccxtpro_sync


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--env", default="local", choices=["local", "prod", "testnet", "demo"])
    p.add_argument("--market", default="spot", choices=["spot", "usdm", "coinm"])
    p.add_argument("--seconds", type=float, default=5.0, help="how long to run")
    return p


@contextlib.contextmanager
def client(args: argparse.Namespace) -> Iterator[ccxtpro_sync.binance]:
    kind = {
        "spot": ccxtpro_sync.binance,
        "usdm": ccxtpro_sync.binanceusdm,
        "coinm": ccxtpro_sync.binancecoinm,
    }[args.market]
    if args.env != "local":
        with kind({"environment": args.env}) as remote:
            yield remote
        return
    from ccxtpro_sync.simulator import LocalExchange

    with LocalExchange() as exchange, kind({"environment": "local", "local": exchange}) as local:
        yield local


DEFAULT_SYMBOL = {"spot": "BTC/USDT", "usdm": "BTC/USDT:USDT", "coinm": "BTC/USD:BTC"}
