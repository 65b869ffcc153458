"""``python -m ccxtpro_sync.simulator``: run the local exchange until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import threading

from . import LocalExchange
from .catalog import MARKETS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Binance-compatible exchange.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ws-port", type=int, default=0)
    parser.add_argument("--rest-port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with LocalExchange(
        host=args.host, ws_port=args.ws_port, rest_port=args.rest_port, seed=args.seed
    ) as ex:
        for market in MARKETS:
            urls = ex.urls(market)
            print(
                f"{market:6} ws={urls['ws']}  ws_api={urls['ws_api']}  rest={urls['rest']}",
                flush=True,
            )
        print("Ctrl-C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
