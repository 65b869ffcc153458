"""``public/auth`` grants, tokens, scopes and the signature check (reference §2).

Sans-I/O: times are passed in, connections are plain integer ids. Tokens are
opaque strings with an expiry; a ``connection``-scoped pair is bound to the
connection that obtained it, a ``session:<name>`` pair survives reconnects.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Final

from . import errors as E
from .errors import RpcError, bad_param

GRANTS: Final = ("client_credentials", "client_signature", "refresh_token")
#: Scope levels per area; ``read_write`` implies ``read``.
_LEVELS: Final = {"none": 0, "read": 1, "read_write": 2}
AREAS: Final = ("account", "trade", "wallet", "block_trade", "custody")


def signature(secret: str, timestamp: int, nonce: str, data: str) -> str:
    """``HEX(HMAC-SHA256(secret, f"{timestamp}\\n{nonce}\\n{data}"))``, lower case."""
    message = f"{timestamp}\n{nonce}\n{data}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass
class Token:
    access: str
    refresh: str
    client_id: str
    conn_id: int
    session: str | None  # None = connection scope
    scope: dict[str, int]
    expires_at_ms: int
    refresh_expires_at_ms: int
    valid: bool = True

    def scope_text(self) -> str:
        parts = ["session:" + self.session if self.session else "connection", "mainaccount"]
        levels = {v: k for k, v in _LEVELS.items()}
        parts += [f"{area}:{levels[level]}" for area, level in sorted(self.scope.items())]
        parts.append(f"name:{self.client_id}")
        return " ".join(parts)


def parse_scope(text: Any) -> tuple[str | None, dict[str, int]]:
    """Requested scope → (session name or None, level per area); defaults read_write."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise bad_param("scope", "must be a string")
    session: str | None = None
    levels = dict.fromkeys(AREAS, _LEVELS["read_write"])
    for part in text.split():
        key, _, value = part.partition(":")
        if key == "session" and value:
            session = value
        elif key in AREAS and value in _LEVELS:
            levels[key] = _LEVELS[value]
        elif key in ("connection", "expires", "ip", "mainaccount", "name"):
            continue
        else:
            raise bad_param("scope", f"unknown scope {part!r}")
    return session, levels


def has_scope(token: Token, area: str, level: str) -> bool:
    return token.scope.get(area, 0) >= _LEVELS[level]


class Auth:
    """Known keys and issued tokens."""

    def __init__(self, keys: dict[str, str], ttl: float, signature_skew_ms: int) -> None:
        self.keys = dict(keys)
        self.ttl = ttl
        self.skew_ms = signature_skew_ms
        self.by_access: dict[str, Token] = {}
        self.by_refresh: dict[str, Token] = {}

    def grant(self, params: dict[str, Any], conn_id: int, now_ms: int) -> Token:
        grant = params.get("grant_type")
        if grant not in GRANTS:
            raise bad_param(
                "grant_type", "must be client_credentials, client_signature or refresh_token"
            )
        session, scope = parse_scope(params.get("scope"))
        if grant == "refresh_token":
            old = self._refreshable(params.get("refresh_token"), conn_id, now_ms)
            old.valid = False
            self._drop(old)
            return self._issue(old.client_id, conn_id, old.session, old.scope, now_ms)
        client_id = params.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise bad_param("client_id", "value must be present")
        secret = self.keys.get(client_id)
        if grant == "client_credentials":
            given = params.get("client_secret")
            if (
                secret is None
                or not isinstance(given, str)
                or not hmac.compare_digest(given, secret)
            ):
                raise RpcError(E.INVALID_CREDENTIALS, {"reason": "invalid credentials"})
        else:
            self._check_signature(params, secret, now_ms)
        return self._issue(client_id, conn_id, session, scope, now_ms)

    def _check_signature(self, params: dict[str, Any], secret: str | None, now_ms: int) -> None:
        timestamp, sig = params.get("timestamp"), params.get("signature")
        if isinstance(timestamp, bool) or not isinstance(timestamp, int):
            raise bad_param("timestamp", "value must be an integer (ms)")
        if not isinstance(sig, str) or not sig:
            raise bad_param("signature", "value must be present")
        nonce, data = params.get("nonce", ""), params.get("data", "")
        if not isinstance(nonce, str) or not isinstance(data, str):
            raise bad_param("nonce", "nonce and data must be strings")
        if abs(now_ms - timestamp) > self.skew_ms:
            raise RpcError(
                E.INVALID_CREDENTIALS, {"reason": "timestamp outside the allowed window"}
            )
        if secret is None or not hmac.compare_digest(
            sig.lower(), signature(secret, timestamp, nonce, data)
        ):
            raise RpcError(E.INVALID_CREDENTIALS, {"reason": "invalid signature"})

    def _refreshable(self, refresh: Any, conn_id: int, now_ms: int) -> Token:
        token = self.by_refresh.get(refresh) if isinstance(refresh, str) else None
        if token is None or not token.valid:
            raise RpcError(E.UNAUTHORIZED, {"reason": "invalid_token", "param": "refresh_token"})
        if now_ms >= token.refresh_expires_at_ms:
            raise RpcError(
                E.UNAUTHORIZED, {"reason": "token has expired", "param": "refresh_token"}
            )
        if token.session is None and token.conn_id != conn_id:
            raise RpcError(
                E.UNAUTHORIZED,
                {"reason": "connection scope can't be reused for other connections",
                 "param": "refresh_token"},
            )  # fmt: skip
        return token

    def _issue(
        self, client_id: str, conn_id: int, session: str | None, scope: dict[str, int], now_ms: int
    ) -> Token:
        def make() -> str:
            return f"{now_ms}.{secrets.token_urlsafe(6)}.{secrets.token_urlsafe(24)}"

        life = int(self.ttl * 1000)
        token = Token(make(), make(), client_id, conn_id, session, scope, now_ms + life,
                      now_ms + life + 30 * 86_400_000)  # fmt: skip
        self.by_access[token.access] = token
        self.by_refresh[token.refresh] = token
        return token

    def result(self, token: Token, now_ms: int, state: Any = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "access_token": token.access,
            "token_type": "bearer",
            "expires_in": max(0, (token.expires_at_ms - now_ms) // 1000),
            "refresh_token": token.refresh,
            "scope": token.scope_text(),
            "enabled_features": [],
            "sid": f"sim.{token.conn_id}",
        }
        if state is not None:
            out["state"] = state
        return out

    def check(self, token: Token | None, conn_id: int, now_ms: int) -> Token:
        """The token a private call runs under, or ``13009`` (no, bad or expired token)."""
        if token is None or not token.valid:
            raise RpcError(E.UNAUTHORIZED, {"reason": "invalid_token", "param": "access_token"})
        if now_ms >= token.expires_at_ms:
            raise RpcError(E.UNAUTHORIZED, {"reason": "token has expired", "param": "access_token"})
        if token.session is None and token.conn_id != conn_id:
            raise RpcError(E.UNAUTHORIZED, {"reason": "invalid_token", "param": "access_token"})
        return token

    def _drop(self, token: Token) -> None:
        """Forget a token that can never be used again: a later use of it meets the same
        ``invalid_token`` as an unknown one, and the tables stay bounded under churn."""
        if self.by_access.get(token.access) is token:
            del self.by_access[token.access]
        if self.by_refresh.get(token.refresh) is token:
            del self.by_refresh[token.refresh]

    def forget_connection(self, conn_id: int) -> None:
        """The connection ``conn_id`` closed: its connection-scoped tokens (no
        ``session:`` scope) are bound to it and die with it."""
        for token in [t for t in self.by_access.values() if t.conn_id == conn_id]:
            if token.session is None:
                token.valid = False
                self._drop(token)

    def lookup(self, access: Any) -> Token | None:
        return self.by_access.get(access) if isinstance(access, str) else None

    def expire_all(self, now_ms: int, client_id: str | None = None) -> int:
        """Fault: every matching access token expires now (refresh tokens stay usable)."""
        hit = 0
        for token in self.by_access.values():
            if token.valid and (client_id is None or token.client_id == client_id):
                token.expires_at_ms = min(token.expires_at_ms, now_ms)
                hit += 1
        return hit

    def invalidate_session(self, token: Token) -> None:
        """``private/logout``: every token of the caller's session (or connection)."""
        for other in list(self.by_access.values()):
            if other.client_id == token.client_id and (
                (token.session and other.session == token.session)
                or (not token.session and other.conn_id == token.conn_id)
            ):
                other.valid = False
                self._drop(other)
