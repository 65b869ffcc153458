"""What the market commands share: target options and opening a client."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
from collections.abc import Iterator
from typing import Any

from .._exchanges.binance.client import binance, binancecoinm, binanceusdm
from .._signals import signals

CLIENTS: dict[str, type[binance]] = {
    "spot": binance,
    "usdm": binanceusdm,
    "coinm": binancecoinm,
}
DEFAULT_SYMBOL = {"spot": "BTC/USDT", "usdm": "BTC/USDT:USDT", "coinm": "BTC/USD:BTC"}
#: Where ``--urls`` comes from when not given (``ccxtpro-sync sim`` prints it).
URLS_VARIABLE = "CCXTPRO_SYNC_URLS"


# -- option types: a bad number is a usage error (exit 2) naming the option, not an
# IndexError/OverflowError from deep inside, or a run that never ends ("--seconds -1").


def _number(kind: type[float] | type[int], text: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def positive_int(text: str) -> int:
    """An ``int`` >= 1."""
    value = int(_number(int, text))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def count_int(text: str) -> int:
    """An ``int`` >= 0 (0: no limit)."""
    value = int(_number(int, text))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or more, not {text}")
    return value


def port_int(text: str) -> int:
    """A TCP port, 0 for any free one."""
    value = int(_number(int, text))
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port 0..65535 (0: any free), not {text}")
    return value


def positive_float(text: str) -> float:
    """A finite ``float`` > 0."""
    value = _number(float, text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def seconds_float(text: str) -> float:
    """A finite ``float`` >= 0 (0: no limit)."""
    value = _number(float, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or more, not {text}")
    return value


def symbol_text(text: str) -> str:
    """A market symbol argument: an empty one is a mistake, not "the default symbol"."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must be a symbol such as BTC/USDT, not {text!r}")
    return text


def add_target_options(parser: argparse.ArgumentParser, *, market: bool = True) -> None:
    """``--env``, ``--market``, and the local exchange's ``--seed``/``--speed``/``--urls``."""
    group = parser.add_argument_group("target")
    group.add_argument(
        "--exchange",
        default="binance",
        choices=["binance", "deribit"],
        help="binance (spot, usdm, coinm) or deribit (testnet/demo: test.deribit.com)",
    )
    group.add_argument(
        "--env",
        default="local",
        choices=["local", "prod", "testnet", "demo"],
        help="local: an embedded local exchange; prod: Binance; testnet/demo: its test venues",
    )
    if market:
        group.add_argument(
            "--market",
            choices=sorted(CLIENTS),
            help="spot, usdm or coinm; None takes it from the symbol",
        )
    group.add_argument(
        "--seed", type=int, default=1, help="local exchange seed (same seed, same market)"
    )
    group.add_argument(
        "--speed",
        type=positive_float,
        default=1.0,
        help="local exchange speed-up of the simulated market",
    )
    group.add_argument(
        "--urls",
        default=os.environ.get(URLS_VARIABLE),
        help=f"JSON URLs of a running `ccxtpro-sync sim` instead of an embedded one; "
        f"the default comes from ${URLS_VARIABLE}",
    )
    group.add_argument(
        "--timeout", type=positive_float, default=30.0, help="seconds per blocking call"
    )


#: Deribit's default symbol (the BTC perpetual) for the market commands.
DERIBIT_SYMBOL = "BTC/USD:BTC"


def target(args: argparse.Namespace) -> tuple[str, str]:
    """``(market, symbol)`` of the command line (market ``deribit`` for Deribit)."""
    if getattr(args, "exchange", "binance") == "deribit":
        return "deribit", args.symbol or DERIBIT_SYMBOL
    market = args.market or (market_of(args.symbol) if args.symbol else "spot")
    return market, args.symbol or DEFAULT_SYMBOL[market]


def market_of(symbol: str) -> str:
    """``BTC/USDT`` → spot, ``BTC/USDT:USDT`` → usdm, ``BTC/USD:BTC`` → coinm."""
    if ":" not in symbol:
        return "spot"
    pair, settle = symbol.split(":", 1)
    quote = pair.split("/")[-1]
    return "usdm" if settle == quote else "coinm"


@contextlib.contextmanager
def open_target(args: argparse.Namespace, market: str) -> Iterator[tuple[binance, Any]]:
    """A client of ``market`` for ``args.env`` and the embedded exchange it uses (or None)."""
    config: dict[str, Any] = {"timeout": args.timeout}
    exchange: Any = None
    with contextlib.ExitStack() as stack:
        if market == "deribit":
            client, exchange = _open_deribit(args, config, stack)
        elif args.env == "local":
            config["environment"] = "local"
            if args.urls:
                urls = json.loads(args.urls)
                config["urls"] = urls.get(market, urls)
            else:
                from ..simulator import LocalExchange

                exchange = stack.enter_context(LocalExchange(seed=args.seed, speed=args.speed))
                config["local"] = exchange
        else:
            config["environment"] = args.env
        if market != "deribit":
            client = stack.enter_context(CLIENTS[market](config))

        def remember(sender: Any, **payload: Any) -> None:
            # a stream that cannot connect ends in a timeout: keep why, to report it
            args.connect_error = payload.get("error")

        signals.reconnect_scheduled.connect(remember, sender=client, weak=False)
        # from every sender: blinker keeps a receiver disconnected from one sender only
        stack.callback(signals.reconnect_scheduled.disconnect, remember)
        yield client, exchange


def _open_deribit(
    args: argparse.Namespace, config: dict[str, Any], stack: contextlib.ExitStack
) -> tuple[Any, Any]:
    """A Deribit client (``testnet``/``demo`` mean test.deribit.com) and its local exchange."""
    from .._exchanges.deribit.client import deribit

    exchange: Any = None
    if args.env == "local":
        config["environment"] = "local"
        if args.urls:
            config["urls"] = {k: v for k, v in json.loads(args.urls).items() if k in ("ws", "rest")}
        else:
            from ..simulator import LocalDeribit

            exchange = stack.enter_context(LocalDeribit(seed=args.seed))
            config["local"] = exchange
    else:
        config["environment"] = "prod" if args.env == "prod" else "test"
    return stack.enter_context(deribit(config)), exchange


@contextlib.contextmanager
def open_client(args: argparse.Namespace, market: str) -> Iterator[binance]:
    """A client of ``market`` for ``args.env``, with its local exchange if it needs one."""
    with open_target(args, market) as (client, _):
        yield client
