"""Gated order smoke test: place a non-marketable order, confirm it, cancel it, confirm cleanup.

    python examples/order_smoke.py                         # the embedded local exchange
    python examples/order_smoke.py --env testnet --really  # a real environment: needs --really
                                                           # and BINANCE_TESTNET_API_KEY/_SECRET

The order is a limit buy at 80% of the last price (90% of the best bid at most), so it
rests and never fills; it is cancelled at the end, and the script checks that nothing
of ours is left open. It refuses to touch a real environment without ``--really``.
"""

from __future__ import annotations

import argparse
import sys

import ccxtpro_sync


def smoke(client: ccxtpro_sync.binance, symbol: str, quote_amount: float) -> list[str]:
    """Returns the steps that passed; raises on the first failure."""
    steps: list[str] = []
    market = client.market(symbol)
    book = client.watch_order_book(symbol, limit=5, timeout=20)
    ticker = client.watch_ticker(symbol, timeout=20)
    tick = market.precision.price
    price = min(ticker.last * 0.8, book.bids[0][0] * 0.9)
    price = round(price / tick) * tick
    step = market.precision.amount
    amount = max(round(quote_amount / price / step) * step, market.limits.amount.min or step)
    steps.append(f"market {symbol}: best bid {book.bids[0][0]}, resting price {price}")

    with client.stream_orders(symbol, timeout=20) as updates:
        order = client.create_order_ws(symbol, "limit", "buy", amount, price)
        if order.status != "open":
            raise AssertionError(f"the order should rest, but it is {order.status}")
        steps.append(f"placed {order.id}: {order.amount} @ {order.price} ({order.status})")
        seen = next(updates)
        if not any(o.id == order.id and o.status == "open" for o in seen):
            raise AssertionError("no 'open' update arrived for the order")
        steps.append("user data confirmed the order is open")
        if order.id not in [o.id for o in client.fetch_open_orders_ws(symbol)]:
            raise AssertionError("the order is missing from the open orders")
        steps.append("the order is listed among the open orders")
        cancelled = client.cancel_order_ws(order.id, symbol)
        if cancelled.status != "canceled":
            raise AssertionError(f"cancel answered {cancelled.status}")
        while not any(o.id == order.id and o.status == "canceled" for o in seen):
            seen = next(updates)
        steps.append("cancelled, and user data confirmed it")
    leftovers = [o.id for o in client.fetch_open_orders_ws(symbol)]
    if order.id in leftovers:
        raise AssertionError("the order is still open after cancelling")
    steps.append("clean: the order is no longer open")
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--env", default="local", choices=["local", "testnet", "demo", "prod"])
    parser.add_argument("--really", action="store_true", help="allow a real environment")
    parser.add_argument("--symbol", default="BTC/USDT")
    parser.add_argument("--quote", type=float, default=20.0, help="order size in quote currency")
    args = parser.parse_args(argv)
    if args.env != "local" and not args.really:
        print(f"refusing to place orders on {args.env} without --really", file=sys.stderr)
        return 2
    if args.env == "local":
        from ccxtpro_sync.simulator import LocalExchange

        with LocalExchange() as exchange:
            account = exchange.create_test_account("ed25519")
            config = {"environment": "local", "local": exchange, "credentials": account.credentials}
            with ccxtpro_sync.binance(config) as client:
                steps = smoke(client, args.symbol, args.quote)
    else:
        with ccxtpro_sync.binance({"environment": args.env}) as client:  # keys from the env
            steps = smoke(client, args.symbol, args.quote)
    for line in steps:
        print("ok  ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
