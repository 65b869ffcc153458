"""Printing: rich when it is installed (extra ``cli``), plain text otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

try:
    import rich  # noqa: F401

    HAVE_RICH = True
except ImportError:
    HAVE_RICH = False

NEED_RICH = "this view needs rich: pip install 'ccxtpro_sync[local]'"


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a table to stdout."""
    cells = [[_cell(v) for v in row] for row in rows]
    if HAVE_RICH:
        from rich.table import Table

        view = Table(title=title)
        for column in columns:
            view.add_column(column)
        for row in cells:
            view.add_row(*row)
        console().print(view)
        return
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print(title)
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def console() -> Any:
    """A rich console on the current stdout (wide enough when not a terminal)."""
    from rich.console import Console

    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 120)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}s"


def iso(milliseconds: float | None) -> str:
    """A UTC ISO 8601 time with milliseconds; the current time for ``None``.

    The REST snapshot that starts an order book carries no time: its row shows when it
    arrived rather than a blank.
    """
    if milliseconds is None:
        milliseconds = time.time() * 1000
    moment = datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decimals(step: float | Decimal | None) -> int | None:
    """Digits after the point of a tick or step size (0.01 → 2, 1.0 → 0), None if unknown."""
    if not step or step <= 0:
        return None
    exponent = Decimal(str(step)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else None


def padded(value: float, digits: int | None) -> str:
    """``value`` with exactly ``digits`` decimals (as given when the step is unknown)."""
    return str(value) if digits is None else f"{value:.{digits}f}"
