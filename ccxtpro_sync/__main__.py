"""Command line: ``ccxtpro-sync demo`` (also ``python -m ccxtpro_sync demo``).

The commands live in ``ccxtpro_sync._cli``; run ``ccxtpro-sync --help``.
"""

from __future__ import annotations

import sys

from ._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
