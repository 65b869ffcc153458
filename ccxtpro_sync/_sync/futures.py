"""Settling the library's internal futures (waiters and in-flight requests)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from concurrent.futures import Future, InvalidStateError
from typing import Any


def resolve(futures: Iterable[Future[Any]], value: Any) -> int:
    """Set a result on each future still pending; returns how many were resolved."""
    resolved = 0
    for future in futures:
        try:
            future.set_result(value)
            resolved += 1
        except InvalidStateError:  # timed out or resolved through another hash
            pass
    return resolved


def reject(futures: Iterable[Future[Any]], error: BaseException) -> None:
    """Set an exception on each future still pending."""
    for future in futures:
        with contextlib.suppress(InvalidStateError):
            future.set_exception(error)
