"""Real parts (PostgreSQL, Redis, ...) that a CI run must not silently skip.

Locally a test whose real part cannot be had is skipped, saying why. Under CI (``CI``
set to a true value, as ``.ci/run`` does) the same situation fails the test instead,
so a green CI run means every real part really ran.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest

_TRUE = {"1", "true", "yes", "on"}


def in_ci() -> bool:
    """True when ``CI`` is set to a true value (GitHub Actions, GitLab and ``.ci/run``)."""
    return os.environ.get("CI", "").strip().lower() in _TRUE


def unavailable(part: str, why: str) -> NoReturn:
    """``part`` cannot be had: skip the test locally, fail it under CI."""
    message = f"{part} tests cannot run: {why}"
    if in_ci():
        pytest.fail(f"{message} (a real part is required under CI=true)", pytrace=False)
    # also usable at import time (a conftest or test module), where it skips the module
    pytest.skip(message, allow_module_level=True)


def import_required(module: str, part: str, hint: str) -> ModuleType:
    """Import ``module`` for ``part``'s tests, or :func:`unavailable` if it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        unavailable(part, f"{module} is not installed ({error}); {hint}")
