"""The ``ccxtpro-sync`` command line (also ``python -m ccxtpro_sync``).

One module per command: ``demo``, ``watch`` (and the live ``book``), ``sim``,
``smoke`` and ``soak``. Market commands default to an embedded local exchange;
``--env prod`` talks to Binance. Only ``demo`` is guaranteed without rich.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import collect, demo, sim, smoke, soak, watch

DESCRIPTION = """\
Live Binance data, threaded and synchronous. `demo` shows a live ticker and order
book from the embedded local exchange; `watch`, `book`, `smoke` and `soak` run
against the local exchange by default (`--env prod` for Binance); `sim` runs the
local exchange on its own."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccxtpro-sync", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (demo, watch, sim, smoke, soak, collect):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (130 after Ctrl-C, 141 on a closed pipe)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `ccxtpro-sync watch ticker | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


__all__ = ["build_parser", "main"]
