"""The ``ccxtpro-sync`` command line (also ``python -m ccxtpro_sync``).

One module per command: ``demo``, ``watch`` (and the live ``book``), ``sim``,
``smoke``, ``soak`` and ``preflight``. Market commands default to an embedded local exchange;
``--env prod`` talks to Binance. A failure prints one line on stderr (``--verbose``
adds the traceback) and exits 2 for a usage mistake, 1 for a run-time error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from . import collect, demo, preflight, sim, smoke, soak, watch
from .errors import USAGE, describe

DESCRIPTION = """\
Live Binance data, threaded and synchronous. `demo` shows a live ticker and order
book from the embedded local exchange; `watch`, `book`, `smoke` and `soak` run
against the local exchange by default (`--env prod` for Binance); `sim` runs the
local exchange on its own."""


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line (``--help`` still shows the whole usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="ccxtpro-sync", description=DESCRIPTION)
    parser.add_argument(
        "--verbose", action="store_true", help="print the traceback of a failure (default: off)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (demo, watch, sim, smoke, soak, collect, preflight):
        module.add_parser(commands)
    for command in commands.choices.values():
        command.formatter_class = argparse.ArgumentDefaultsHelpFormatter
        # after the command too (`ccxtpro-sync watch ... --verbose`); SUPPRESS keeps the
        # top-level value when only that one is given
        command.add_argument(
            "--verbose",
            action="store_true",
            default=argparse.SUPPRESS,
            help="print the traceback of a failure (default: off)",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (130 after Ctrl-C, 141 on a closed pipe)."""
    args = build_parser().parse_args(argv)
    library = logging.getLogger("ccxtpro_sync")
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    elif not library.hasHandlers():
        # its warnings (each reconnect attempt) would bury the one line below
        library.addHandler(logging.NullHandler())
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `ccxtpro-sync watch ticker | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:
        if args.verbose:
            traceback.print_exc()
        code, line = describe(error, getattr(args, "connect_error", None))
        print(f"ccxtpro-sync {args.command}: {line}", file=sys.stderr)
        return code


__all__ = ["build_parser", "main"]
