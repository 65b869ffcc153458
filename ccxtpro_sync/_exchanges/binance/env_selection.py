"""Which Binance environment a client talks to, and the one-environment-per-process rule.

* An explicit ``environment`` in the config wins.
* Otherwise ``BINANCE_PRO_ENV`` (``prod``, ``demo`` or ``testnet``) selects it; unset,
  the default is ``prod``. Credentials are then read only from that environment's
  ``BINANCE_<ENV>_*`` variables (see ``credentials.py``): never another's.
* A config that mixes environments (``environment: testnet`` with a ``urls`` override
  on a production host, or the reverse) is a ``BadRequest`` naming both.
* One environment per process: the first client that takes its environment from
  ``BINANCE_PRO_ENV`` pins it; a later client that the variable would send elsewhere
  (the variable changed mid-process) raises ``BadRequest`` instead of quietly trading
  on two venues. Clients with an explicit ``environment`` are not affected: naming it
  in code is a deliberate choice.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from ..._exceptions import BadRequest, NotSupported
from .environments import MARKET_TYPES, endpoints

#: The variable that selects the environment when the config names none.
VARIABLE: Final = "BINANCE_PRO_ENV"
CHOICES: Final = ("prod", "demo", "testnet")
DEFAULT: Final = "prod"

_lock = threading.Lock()
_pinned: str | None = None


def select_environment(
    settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> str:
    """The environment for a client built from ``settings`` (see module docstring)."""
    explicit = settings.get("environment")
    if explicit is not None:
        environment = str(explicit)
        _check_urls(environment, settings.get("urls"))
        return environment
    source = os.environ if environ is None else environ
    raw = source.get(VARIABLE, "").strip()
    if not raw:
        return DEFAULT
    environment = raw.lower()
    if environment not in CHOICES:
        raise BadRequest(f"{VARIABLE}={raw!r} is not one of {', '.join(CHOICES)}")
    _check_urls(environment, settings.get("urls"))
    _pin(environment)
    return environment


def _pin(environment: str) -> None:
    global _pinned
    with _lock:
        if _pinned is None:
            _pinned = environment
            return
        pinned = _pinned
    if pinned != environment:
        raise BadRequest(
            f"{VARIABLE}={environment} but this process already selected {pinned!r} through "
            f"{VARIABLE}: one environment per process (name the environment in the config "
            "to use another one deliberately)"
        )


def reset_pin() -> None:
    """Forget the pinned environment (tests; a process that re-execs its configuration)."""
    global _pinned
    with _lock:
        _pinned = None


def _hosts() -> dict[str, str]:
    """Every documented Binance host → the environment it belongs to."""
    found: dict[str, str] = {}
    for environment in CHOICES:
        for market in MARKET_TYPES:
            try:
                known = endpoints(environment, market)
            except NotSupported:
                continue
            for url in (known.ws, known.ws_api, known.rest):
                host = urlsplit(url).hostname if url else None
                if host:
                    found[host] = environment
    return found


def _check_urls(environment: str, urls: object) -> None:
    if environment == "local" or not isinstance(urls, Mapping):
        return
    hosts = _hosts()
    for service, url in urls.items():
        host = urlsplit(str(url)).hostname
        other = hosts.get(host or "")
        if other is not None and other != environment:
            raise BadRequest(
                f"the config mixes environments: environment {environment!r} but "
                f"urls[{service!r}] is a {other} host ({host})"
            )


__all__ = ["CHOICES", "DEFAULT", "VARIABLE", "reset_pin", "select_environment"]
