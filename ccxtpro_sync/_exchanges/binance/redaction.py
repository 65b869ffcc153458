"""Scrubbing a failed HTTP request's exception before it leaves the REST layer.

``requests`` and ``urllib3`` put the whole request URL in their exception text and
attributes: on a signed call that is the ``timestamp`` and ``signature``, on a listenKey
call the key itself. What the library raises, logs and signals names the method and
path only; the original exception stays chained for debugging, with every URL in it
(text, ``args``, ``url`` attributes, the prepared request) cut down to its path.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Final

#: A query string inside an exception's text (up to a quote, bracket or space).
_QUERY: Final = re.compile(r"\?(?!\[redacted\])[^\s'\")\]>]*")
MARK: Final = "?[redacted]"


def redact_text(text: str, secrets: list[str]) -> str:
    """``text`` with each query string replaced by a marker, and each of ``secrets`` too
    (a token may also appear outside a query, e.g. in a header echoed back)."""
    text = _QUERY.sub(MARK, text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def _scrub_value(value: Any, secrets: list[str], seen: set[int]) -> Any:
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, BaseException):
        scrub_exception(value, secrets, seen)
    return value


def scrub_exception(
    error: BaseException, secrets: list[str], seen: set[int] | None = None
) -> BaseException:
    """Redact ``error`` in place, with its chain and the exceptions its ``args`` hold."""
    seen = set() if seen is None else seen
    if id(error) in seen:
        return error
    seen.add(id(error))
    with contextlib.suppress(AttributeError, TypeError):  # exotic exception types
        error.args = tuple(_scrub_value(arg, secrets, seen) for arg in error.args)
    for name in ("url", "reason", "request", "response"):
        value = vars(error).get(name) if hasattr(error, "__dict__") else None
        if value is None:
            continue
        if name in ("request", "response"):
            # requests keeps the PreparedRequest (its .url has the query): drop it
            setattr(error, name, None)
        else:
            setattr(error, name, _scrub_value(value, secrets, seen))
    for linked in (error.__cause__, error.__context__):
        if linked is not None:
            scrub_exception(linked, secrets, seen)
    return error


__all__ = ["MARK", "redact_text", "scrub_exception"]
