"""Django helpers (extra ``django``): one client per server process.

In your app's ``AppConfig``::

    from ccxtpro_sync.contrib.django import DjangoClient

    market_client = DjangoClient(lambda: ccxtpro_sync.binance())

    class MarketsConfig(AppConfig):
        name = "markets"

        def ready(self) -> None:
            market_client.start_if_serving()     # not in the reloader, not in `migrate`

and in a view ``market_client.get().watch_ticker("BTC/USDT")``. The client is
closed at interpreter exit (and by ``market_client.close()``); a forked worker
(gunicorn ``--preload``) makes its own on first use.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

try:
    import django  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "ccxtpro_sync.contrib.django needs Django: pip install 'ccxtpro_sync[django]'"
    ) from error

from .._sync.base_client import BaseClient
from ._process import ProcessLocalClient

__all__ = ["SERVING_COMMANDS", "DjangoClient", "management_command", "should_start_client"]

C = TypeVar("C", bound=BaseClient)

#: Management commands that serve requests, so they get the app's client.
SERVING_COMMANDS = ("runserver",)
_MANAGE = ("manage.py", "django-admin", "django-admin.py", "__main__.py")


def management_command(argv: Sequence[str] | None = None) -> str | None:
    """The management command this process runs (``manage.py migrate`` → ``migrate``), or None."""
    argv = sys.argv if argv is None else argv
    if not argv or os.path.basename(argv[0]) not in _MANAGE:
        return None
    if os.path.basename(argv[0]) == "__main__.py" and "django" not in argv[0]:
        return None  # python -m something_else
    return argv[1] if len(argv) > 1 else None  # Django takes the subcommand from argv[1] too


def should_start_client(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    commands: Sequence[str] = SERVING_COMMANDS,
) -> bool:
    """Whether this process should start the app's long-lived client.

    False in management commands other than ``commands`` (``migrate``,
    ``shell``, ``test``...: they would open sockets for nothing) and in the
    autoreloader's watcher process of ``runserver`` (only its child, with
    ``RUN_MAIN=true``, serves requests). True under a WSGI/ASGI server.
    """
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    command = management_command(argv)
    if command is None:
        return True
    if command not in commands:
        return False
    if command == "runserver" and "--noreload" not in argv:
        return environ.get("RUN_MAIN") == "true"
    return True


class DjangoClient(ProcessLocalClient[C]):
    """A :class:`~ccxtpro_sync.contrib.ProcessLocalClient` closed at interpreter exit."""

    def __init__(self, factory: Callable[[], C]) -> None:
        super().__init__(factory)
        atexit.register(self.close)

    def start_if_serving(self, *, commands: Sequence[str] = SERVING_COMMANDS) -> bool:
        """Create the client now if :func:`should_start_client` says so; returns whether it did."""
        if not should_start_client(commands=commands):
            return False
        self.start()
        return True
