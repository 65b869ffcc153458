"""Run order-book tests with each level loop in one process: the compiled one
(``ccxtpro_sync._book_levels``) and the Python one (``_book_levels_py``).

A test module opts in with::

    from .book_impls import book_levels  # noqa: F401  (the fixture)
    pytestmark = pytest.mark.usefixtures("book_levels")

Where the extension was not built the compiled run skips locally and fails under
``CI=true`` (tests/required.py), so the fast path cannot silently vanish from CI.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from ccxtpro_sync import _book_levels_py, _orderbook
from tests.required import unavailable

IMPLS = ("compiled", "python")


def compiled() -> ModuleType | None:
    """The built extension, or ``None`` where it was not built."""
    try:
        return importlib.import_module("ccxtpro_sync._book_levels")
    except ImportError:
        return None


def levels_module(impl: str) -> ModuleType:
    """The module for ``impl``; skips (fails under CI) when the C one is missing."""
    if impl == "python":
        return _book_levels_py
    module = compiled()
    if module is None:
        unavailable(
            "compiled order book",
            "ccxtpro_sync._book_levels is not built (pip install -e . compiles it with a C "
            "compiler; `python setup.py build_ext --inplace` rebuilds it)",
        )
    return module


@pytest.fixture(params=IMPLS)
def book_levels(request: pytest.FixtureRequest) -> Iterator[str]:
    """Point every ``LocalOrderBook`` at one implementation for the test."""
    module = levels_module(request.param)
    names = ("_apply_levels", "_top_levels", "_pack_levels", "_depth_frame")
    saved = [getattr(_orderbook, name) for name in names]
    _orderbook._apply_levels = module.apply_levels
    _orderbook._top_levels = module.top_levels
    # the live book reads diffs' text in C only with the C loop (_pack_levels, _depth_frame)
    compiled = request.param == "compiled"
    _orderbook._pack_levels = module.pack_levels if compiled else None
    _orderbook._depth_frame = module.depth_frame if compiled else None
    try:
        yield request.param
    finally:
        for name, value in zip(names, saved, strict=True):
            setattr(_orderbook, name, value)


def exact(x: Any) -> tuple[str, str]:
    """A value with its type and every bit (``-0.0`` differs from ``0.0``)."""
    if type(x) is float:
        return ("float", x.hex())
    return (type(x).__name__, repr(x))


def side(neg: bool, limit: int | None, snapshot: list[Any], depth: int | None) -> Any:
    """A side as a book's ``reset`` leaves it (``depth`` may give it a bound)."""
    new: Any = _orderbook._Side(neg, limit)
    new.reset(snapshot, None, depth)
    return new


def state(s: Any) -> Any:
    """A side's keys, amounts and bound, every bit of each."""
    return ([exact(k) for k in s.keys], [exact(a) for a in s.amounts], exact(s.bound))


def run(module: ModuleType, s: Any, levels: Any) -> tuple[str, str] | None:
    """Apply ``levels`` (pairs or packed bytes) as ``_Side.update`` does; the error
    (type, message) if any."""
    try:
        s.bound = module.apply_levels(s.keys, s.amounts, s.bound, s.neg, s.limit, levels)
    except Exception as error:
        return (type(error).__name__, str(error))
    return None
