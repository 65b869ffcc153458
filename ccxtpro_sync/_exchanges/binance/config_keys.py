"""The keys a Binance client's config (and its ``options``) may hold.

A misspelt key (``number`` for ``numbers``) used to be dropped without a word and
the client ran with the default; it is now an ``InvalidArgument`` naming the key and
the closest known one. Keys of CCXT's constructor that make no sense here are
accepted and ignored, so a config written for CCXT still builds a client.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..._exceptions import InvalidArgument

__all__ = ["CONFIG_KEYS", "IGNORED_CONFIG_KEYS", "IGNORED_OPTIONS", "OPTIONS", "check_config"]

#: Top-level keys this library reads (documented on ``binance``).
CONFIG_KEYS: Final = frozenset(
    {
        "options",
        "environment",
        "local",
        "urls",
        "timeout",
        "newUpdates",
        "tradesLimit",
        "OHLCVLimit",
        "liquidationsLimit",
        "ordersLimit",
        "numbers",
        "reconnect",
        "readTimeout",
        "pingInterval",
        "maxPending",
        "callbackOverflow",
        "maxLag",
        "threadAffinity",
        "threadSlice",
        "freshness",
        "userDataQuietAfter",
        "cancelOnDisconnect",
        "cancelOnDisconnectCountdown",
        "recvWindow",
        "credentials",
        "apiKey",
        "secret",
        "privateKey",
        "privateKeyPath",
        "password",
        "dotenv",
    }
)

#: CCXT constructor keys accepted and ignored: request pacing is this library's own
#: (weights and ``Retry-After``), logging goes through ``logging``, and the rest are
#: account fields Binance does not use. (Keys that would change where or how requests
#: go — proxies, headers, hostname — are not here: ignoring them would be wrong, so
#: they are refused like any unknown key.)
IGNORED_CONFIG_KEYS: Final = frozenset(
    {
        "enableRateLimit",
        "rateLimit",
        "verbose",
        "userAgent",
        "uid",
        "login",
        "twofa",
        "walletAddress",
        "substituteCommonCurrencyCodes",
        "reduceFees",
    }
)

#: ``options`` keys this library reads.
OPTIONS: Final = frozenset(
    {
        "defaultType",
        "maxStreamsPerConnection",
        "tradesStream",
        "depthSpeed",
        "snapshotLimit",
        "snapshotConcurrency",
        "maxMessageSize",
        "maxResponseSize",
        "listenKeyKeepalive",
        "orderBookDepth",
        "orderBookViewLimit",
        "tradesBackfill",
        "maxConnectionAge",
        "rotationJitter",
        "rotationStagger",
        "rotationTimeout",
        "rotateOnServerShutdown",
    }
)

#: CCXT ``options`` accepted and ignored (they tune CCXT behaviour this library does
#: not have: warnings, broker ids, its own market loading).
IGNORED_OPTIONS: Final = frozenset(
    {
        "warnOnFetchOpenOrdersWithoutSymbol",
        "broker",
        "fetchMarkets",
        "fetchCurrencies",
    }
)


def check_config(settings: Mapping[str, Any]) -> None:
    """``InvalidArgument`` for the first key of ``settings`` (or of its ``options``)
    that is neither read nor deliberately ignored, with the closest known key."""
    _check(settings, CONFIG_KEYS, IGNORED_CONFIG_KEYS, "config")
    options = settings.get("options")
    if options is None:
        return
    if not isinstance(options, Mapping):
        raise InvalidArgument(f"options must be a dict, not {type(options).__name__}")
    _check(options, OPTIONS, IGNORED_OPTIONS, "options")


def _check(given: Iterable[Any], known: frozenset[str], ignored: frozenset[str], what: str) -> None:
    for key in given:
        if key in known or key in ignored:
            continue
        if not isinstance(key, str):
            raise InvalidArgument(f"{what} keys are strings, not {key!r}")
        hint = _closest(key, known)
        also = f"; did you mean {hint!r}?" if hint else ""
        raise InvalidArgument(f"unknown {what} key {key!r}{also}")


def _closest(key: str, known: frozenset[str]) -> str | None:
    by_lower = {name.lower(): name for name in known}
    exact = by_lower.get(key.lower())
    if exact is not None:
        return exact
    found = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None
