"""Deribit API credentials: a client id and a client secret that never reveal themselves.

Loading from the environment reads only one environment's variables::

    DERIBIT_<ENV>_CLIENT_ID
    DERIBIT_<ENV>_CLIENT_SECRET

with ``ENV`` one of PROD, TEST, LOCAL. Production and test are separate
accounts with separate keys, so there is deliberately no fallback from one
environment to another: a typo must not send test orders to a real account.
A ``.env`` file may supply the same names; the process environment wins.
``repr`` shows a masked id; pickling refuses; no error quotes the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any, Final

from ..._credentials import EnvVariables, SecretHolder, read_env
from ..._exceptions import AuthenticationError, InvalidArgument

__all__ = ["ENVIRONMENTS", "ENV_VARIABLES", "DeribitCredentials", "env_var_names"]

#: Environments that have their own set of variables.
ENVIRONMENTS: Final = ("prod", "test", "local")

ENV_VARIABLES: Final = EnvVariables(
    prefix="DERIBIT",
    environments=ENVIRONMENTS,
    suffixes={"client_id": "CLIENT_ID", "client_secret": "CLIENT_SECRET"},
    subject="deribit environment",
)


def env_var_names(environment: str) -> dict[str, str]:
    """The variable names one environment reads, by role."""
    return ENV_VARIABLES.names(environment)


def _mask(client_id: str) -> str:
    return "***" if len(client_id) <= 6 else f"{client_id[:3]}...{client_id[-2:]}"


class DeribitCredentials(SecretHolder):
    """A Deribit client id and secret (see the module docstring)."""

    __slots__ = ("_client_id", "_secret")

    def __init__(self, client_id: str, client_secret: str) -> None:
        for name, value in (("client_id", client_id), ("client_secret", client_secret)):
            if not isinstance(value, str):
                raise InvalidArgument(f"{name} must be str, not {type(value).__name__}")
        if not client_id.strip():
            raise AuthenticationError("a deribit client_id is required")
        if not client_secret:
            raise AuthenticationError("the deribit client_secret is empty")
        self._client_id = client_id.strip()
        self._secret = client_secret.encode()

    @classmethod
    def from_env(
        cls,
        environment: str,
        *,
        environ: Mapping[str, str] | None = None,
        dotenv: str | os.PathLike[str] | None = None,
    ) -> DeribitCredentials | None:
        """One environment's credentials, or ``None`` when neither variable is set.
        Half-configured credentials raise ``AuthenticationError`` naming the
        variables, never their values."""
        names = env_var_names(environment)
        values = read_env(names, environ=environ, dotenv=dotenv)
        client_id, secret = values["client_id"], values["client_secret"]
        if client_id is None and secret is None:
            return None
        if client_id is None or secret is None:
            missing = names["client_id"] if client_id is None else names["client_secret"]
            present = names["client_secret"] if client_id is None else names["client_id"]
            raise AuthenticationError(f"{present} is set but {missing} is not")
        return cls(client_id, secret)

    @classmethod
    def resolve(
        cls,
        environment: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        environ: Mapping[str, str] | None = None,
        dotenv: str | os.PathLike[str] | None = None,
    ) -> DeribitCredentials | None:
        """Credentials from the arguments when given (both, or neither), else from
        ``environment``'s variables (:meth:`from_env`); ``None`` when there are none."""
        env_var_names(environment)  # an unknown environment fails either way
        if client_id is not None or client_secret is not None:
            if client_id is None or client_secret is None:
                raise AuthenticationError("give both client_id and client_secret, or neither")
            return cls(client_id, client_secret)
        return cls.from_env(environment, environ=environ, dotenv=dotenv)

    @property
    def client_id(self) -> str:
        """The client id (sent in clear; not a secret)."""
        return self._client_id

    def sign(self, string_to_sign: str) -> str:
        """Lower-case hex HMAC-SHA256 of ``string_to_sign`` under the client secret."""
        return hmac.new(self._secret, string_to_sign.encode(), hashlib.sha256).hexdigest()

    def credentials_params(self) -> dict[str, Any]:
        """``public/auth`` params of the ``client_credentials`` grant (they carry
        the secret: send them, never log them)."""
        return {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret.decode(),
        }

    def __repr__(self) -> str:
        client_id = getattr(self, "_client_id", None)
        shown = "?" if client_id is None else _mask(client_id)
        return f"DeribitCredentials(client_id={shown!r})"

    __str__ = __repr__
