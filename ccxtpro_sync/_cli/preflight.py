"""``ccxtpro-sync preflight``: the release checks as one command (see ccxtpro_sync.preflight).

On ``--env local`` the embedded local exchange gets a fresh funded test account whose
key has the permissions ``--local-permissions`` names; with ``--urls`` (a running
``ccxtpro-sync sim``) or a real environment the key comes from that environment's
``BINANCE_<ENV>_*`` variables. The order smoke refuses a real environment without
``--really``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from .._exchanges.binance.key_permissions import PERMISSION_NAMES
from ..preflight import CheckResult, PreflightConfig, run_preflight
from .common import CLIENTS, DEFAULT_SYMBOL, add_target_options, market_of
from .errors import USAGE
from .output import table

_LOCAL_PERMISSIONS = "TRADE,USER_DATA,USER_STREAM"
#: What ``smoke --private`` (an alias of ``preflight --private``) leaves at its default.
DEFAULTS: dict[str, Any] = {
    "require": "",
    "order_smoke": False,
    "really": False,
    "soak_minutes": 0.0,
    "max_gap": 60.0,
    "max_first_update": 10.0,
    "json": False,
    "local_permissions": _LOCAL_PERMISSIONS,
}


def add_parser(commands: Any) -> None:
    p = commands.add_parser("preflight", help="release checks: smoke, private, order, soak")
    p.add_argument(
        "--symbol", default=None, help="BTC/USDT, BTC/USDT:USDT or BTC/USD:BTC by --market"
    )
    p.add_argument("--private", action="store_true", help="private read-only checks (API key)")
    p.add_argument(
        "--require",
        default="",
        help="permissions the app needs, e.g. TRADE,USER_DATA (checked with --private)",
    )
    p.add_argument(
        "--order-smoke",
        action="store_true",
        help="place a resting order far from the market and cancel it (needs --private)",
    )
    p.add_argument(
        "--really", action="store_true", help="allow the order smoke on a real environment"
    )
    p.add_argument("--soak-minutes", type=float, default=0.0, help="hold streams N minutes")
    p.add_argument("--max-gap", type=float, default=60.0, help="soak: max seconds between updates")
    p.add_argument(
        "--max-first-update", type=float, default=10.0, help="soak: max seconds to first update"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--local-permissions",
        default=_LOCAL_PERMISSIONS,
        help="embedded local exchange only: the test key's permissions",
    )
    add_target_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    market = args.market or (market_of(args.symbol) if args.symbol else "spot")
    symbol = args.symbol or DEFAULT_SYMBOL[market]
    if args.order_smoke and not args.private:
        print("ccxtpro-sync preflight: --order-smoke needs --private", file=sys.stderr)
        return USAGE
    if args.order_smoke and args.env != "local" and not args.really:
        print(
            f"ccxtpro-sync preflight: refusing to place an order on {args.env} without --really",
            file=sys.stderr,
        )
        return USAGE
    require = frozenset(p.strip().upper() for p in args.require.split(",") if p.strip())
    unknown = sorted(require - set(PERMISSION_NAMES))
    if unknown:
        print(
            f"ccxtpro-sync preflight: --require: unknown permission {', '.join(unknown)} "
            f"(known: {','.join(PERMISSION_NAMES)})",
            file=sys.stderr,
        )
        return USAGE
    config = PreflightConfig(
        symbol=symbol,
        private=args.private,
        require=require,
        order_smoke=args.order_smoke,
        soak_seconds=args.soak_minutes * 60.0,
        max_gap=args.max_gap,
        max_first_update=args.max_first_update,
        timeout=args.timeout,
    )
    with contextlib.ExitStack() as stack:
        client_config: dict[str, Any] = {"timeout": args.timeout, "environment": args.env}
        if args.env == "local":
            if args.urls:
                urls = json.loads(args.urls)
                client_config["urls"] = urls.get(market, urls)
            else:
                from ..simulator import LocalExchange

                exchange = stack.enter_context(LocalExchange(seed=args.seed, speed=args.speed))
                client_config["local"] = exchange
                if args.private:
                    names = [p.strip() for p in args.local_permissions.split(",") if p.strip()]
                    account = exchange.create_test_account("ed25519", permissions=names)
                    client_config["credentials"] = account.credentials

        def progress(result: CheckResult) -> None:
            if not args.json:
                mark = "pass" if result.ok else "FAIL"
                print(f"  {mark}  {result.name}: {result.detail}", file=sys.stderr, flush=True)

        report = run_preflight(
            lambda: CLIENTS[market](dict(client_config)), config, progress=progress
        )
    if args.json:
        print(json.dumps({"env": args.env, "market": market, "symbol": symbol, **report.to_dict()}))
    else:
        rows = [
            [
                r.name,
                "pass" if r.ok else "FAIL",
                r.seconds,
                r.detail + (f"  WARNING: {r.warning}" if r.warning else ""),
            ]
            for r in report.results
        ]
        table(
            f"preflight: {args.env} {market} {symbol}",
            ["check", "result", "seconds", "detail"],
            rows,
        )
        failed = sum(1 for r in report.results if not r.ok)
        print(f"{len(rows) - failed} passed, {failed} failed")
        for r in report.results:
            if r.warning:
                print(f"WARNING: {r.name}: {r.warning}", file=sys.stderr)
    return 0 if report.ok else 1
