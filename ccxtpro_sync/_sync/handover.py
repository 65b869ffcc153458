"""Make-before-break for a connection that carries requests and one account's events.

Exchange-neutral. A WS API session or a user-data stream is one connection, not a
pool of streams, so its rotation is simpler than the planner's but keeps two rules
the planner does not need:

* **Requests are never sent twice.** Requests are not moved: new ones go to the
  replacement once it is installed, and those already in flight on the old
  connection finish there. The old connection closes only once none is in
  flight, or after ``drain`` seconds; a request still unanswered then fails with
  ``ClientClosed`` and its caller resolves it as for any lost reply (an order:
  looked up by its client order id, never re-sent).
* **Events are not lost or doubled.** The replacement must be ready (logged on,
  its user-data subscription confirmed) before it is installed, so the old one
  covers everything up to then; ``begin``/``end`` bracket the time both deliver,
  for the owner's deduplication.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .._exceptions import BadRequest
from .connection import Connection

__all__ = ["handover"]

_log = logging.getLogger("ccxtpro_sync")


def handover(
    old: Connection,
    new: Connection,
    install: Callable[[Connection], bool],
    *,
    timeout: float,
    drain: float,
    begin: Callable[[], None] = lambda: None,
    end: Callable[[], None] = lambda: None,
) -> Connection:
    """Start ``new``, wait until it is ready, ``install`` it, then retire ``old``.

    ``install(new)`` switches the owner to ``new`` under the owner's lock and
    returns False if ``old`` is no longer the one in use (closed or replaced
    meanwhile): then ``new`` is closed, ``old`` left alone and ``BadRequest``
    raised. If ``new`` is not ready within ``timeout``, it is closed, ``old``
    carries on, and the error is raised. Call with no lock held: it blocks for up
    to ``timeout + drain``."""
    begin()
    try:
        try:
            new.start()
            new.wait_ready(timeout)
        except BaseException:
            new.close(timeout)
            raise
        if not install(new):
            new.close(timeout)
            raise BadRequest(f"{old.name} was closed or replaced while it was being rotated")
        if not old.wait_idle(drain):
            _log.warning(
                "%s: requests still unanswered %.1fs after its replacement took over; "
                "closing it (their outcome is resolved by their callers)",
                old.name,
                drain,
            )
        old.close(timeout)
        return new
    finally:
        end()
