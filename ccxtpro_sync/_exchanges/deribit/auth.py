"""``public/auth`` params and access-token state, sans-I/O.

Grants (protocol reference §2):

* ``client_credentials``: ``client_id`` + ``client_secret``.
* ``client_signature``: ``client_id``, ``timestamp`` (ms), ``nonce``, ``data``
  and ``signature`` = lower-case hex HMAC-SHA256(secret,
  ``timestamp + "\\n" + nonce + "\\n" + data``). The caller passes the
  timestamp (this module reads no clock) and a fresh nonce.
* ``refresh_token``: the refresh token of the current pair.

:class:`TokenState` holds one ``public/auth`` result and computes when to
refresh: at 80 % of ``expires_in`` after it was granted, on the same
connection (connection-scoped tokens do not survive a reconnect: after one,
authenticate again from credentials). ``now`` values are seconds on any clock
the caller uses consistently (``time.monotonic()`` in the adapter).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, Final

from ..._exceptions import InvalidArgument, ProtocolError
from .credentials import DeribitCredentials

__all__ = [
    "REFRESH_FRACTION",
    "TokenState",
    "client_credentials_params",
    "client_signature_params",
    "refresh_params",
    "string_to_sign",
]

#: Refresh the token once this fraction of its lifetime has passed.
REFRESH_FRACTION: Final = 0.8


def string_to_sign(timestamp: int, nonce: str, data: str = "") -> str:
    """``Timestamp + "\\n" + Nonce + "\\n" + Data``."""
    return f"{timestamp}\n{nonce}\n{data}"


def _scope(params: dict[str, Any], scope: str | None) -> dict[str, Any]:
    if scope is not None:
        if not isinstance(scope, str) or not scope.strip():
            raise InvalidArgument("scope must be a non-empty space-separated string")
        params["scope"] = scope
    return params


def client_credentials_params(
    credentials: DeribitCredentials, *, scope: str | None = None
) -> dict[str, Any]:
    """``public/auth`` params of the ``client_credentials`` grant."""
    return _scope(credentials.credentials_params(), scope)


def client_signature_params(
    credentials: DeribitCredentials,
    timestamp: int,
    *,
    nonce: str | None = None,
    data: str = "",
    scope: str | None = None,
) -> dict[str, Any]:
    """``public/auth`` params of the ``client_signature`` grant. ``timestamp`` is
    epoch ms; ``nonce`` defaults to random hex (never reused)."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp <= 0:
        raise InvalidArgument("timestamp must be a positive int of epoch milliseconds")
    chosen = secrets.token_hex(8) if nonce is None else nonce
    if not isinstance(chosen, str) or not chosen or "\n" in chosen or "\n" in data:
        raise InvalidArgument("nonce must be non-empty text, nonce and data without newlines")
    params = {
        "grant_type": "client_signature",
        "client_id": credentials.client_id,
        "timestamp": timestamp,
        "signature": credentials.sign(string_to_sign(timestamp, chosen, data)),
        "nonce": chosen,
        "data": data,
    }
    return _scope(params, scope)


def refresh_params(token: TokenState) -> dict[str, Any]:
    """``public/auth`` params of the ``refresh_token`` grant."""
    return {"grant_type": "refresh_token", "refresh_token": token.refresh_token}


class TokenState:
    """One granted token pair and its refresh deadline (secrets kept out of repr)."""

    __slots__ = ("_access", "_refresh", "expires_at", "granted_at", "refresh_at", "scope")

    def __init__(
        self,
        access_token: str,
        refresh_token: str,
        expires_in: float,
        now: float,
        scope: str = "",
    ) -> None:
        if not access_token or not refresh_token:
            raise ProtocolError("deribit auth result without tokens")
        if isinstance(expires_in, bool) or not 0 < expires_in < float("inf"):
            raise ProtocolError("deribit auth result with a bad expires_in")
        self._access = access_token
        self._refresh = refresh_token
        self.scope = scope
        #: When the token was granted and when it expires (the caller's clock, s).
        self.granted_at = now
        self.expires_at = now + expires_in
        #: When to refresh it: 80 % of its lifetime in.
        self.refresh_at = now + expires_in * REFRESH_FRACTION

    @classmethod
    def from_result(cls, result: Any, now: float) -> TokenState:
        """From a ``public/auth`` result received at ``now``."""
        if not isinstance(result, Mapping):
            raise ProtocolError("deribit auth result is not an object")
        access, refresh = result.get("access_token"), result.get("refresh_token")
        expires_in = result.get("expires_in")
        if not isinstance(access, str) or not isinstance(refresh, str):
            raise ProtocolError("deribit auth result without tokens")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            raise ProtocolError("deribit auth result without a numeric expires_in")
        scope = result.get("scope")
        return cls(access, refresh, float(expires_in), now, scope if isinstance(scope, str) else "")

    @property
    def access_token(self) -> str:
        return self._access

    @property
    def refresh_token(self) -> str:
        return self._refresh

    @property
    def connection_scoped(self) -> bool:
        """True unless the token has a ``session:`` scope (then it survives reconnects)."""
        return not any(part.startswith("session:") for part in self.scope.split())

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def next_deadline(self, now: float) -> float:
        """When the adapter should next act: the refresh time, or ``now`` if it has
        passed (refresh immediately; if the token expired meanwhile, re-authenticate)."""
        return max(now, self.refresh_at)

    def __repr__(self) -> str:
        return (
            f"TokenState(scope={self.scope!r}, granted_at={self.granted_at}, "
            f"expires_at={self.expires_at})"
        )

    def __reduce__(self) -> Any:
        raise TypeError("token state is not picklable: pickles would carry the tokens")
