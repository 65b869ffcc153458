"""The optional C extensions, loaded only when they fit the Python code around them.

Each one is used when it was built, is not ruled out (``CCXTPRO_SYNC_PURE_PYTHON``),
and has every function the code calls: an editable install updated (``git pull``)
without rebuilding keeps the older compiled file, which lacks what newer code calls.
Such a module is left out with a warning naming the rebuild, and the pure-Python twin
runs instead, with the same results: slower, never broken."""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType
from typing import Final

#: Set (non-empty, not ``0``) to run the Python code even where the C is built.
PURE_PYTHON_ENV: Final = "CCXTPRO_SYNC_PURE_PYTHON"

_log = logging.getLogger("ccxtpro_sync")


def pure_python() -> bool:
    """True when ``CCXTPRO_SYNC_PURE_PYTHON`` rules the compiled modules out."""
    return os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0")


def load(name: str, *needs: str) -> ModuleType | None:
    """``ccxtpro_sync.<name>`` if it is built, not ruled out, and has ``needs``; else None."""
    if pure_python():
        return None
    try:
        module = importlib.import_module(f"ccxtpro_sync.{name}")
    except ImportError:  # not built (no compiler at install time)
        return None
    missing = [attr for attr in needs if not hasattr(module, attr)]
    if missing:
        _log.warning(
            "ccxtpro_sync.%s was built from older sources (it lacks %s): the Python code "
            "runs instead; rebuild it with `pip install -e .` or "
            "`python setup.py build_ext --inplace`",
            name,
            ", ".join(missing),
        )
        return None
    return module
