"""Binance's credential variables, and the public ``Credentials`` that reads them.

Loading from the environment uses only one environment's variables::

    BINANCE_<ENV>_API_KEY
    BINANCE_<ENV>_API_SECRET              (HMAC)
    BINANCE_<ENV>_PRIVATE_KEY_PATH        (RSA or Ed25519 PEM)
    BINANCE_<ENV>_PRIVATE_KEY_PASSWORD    (optional)

with ``ENV`` one of PROD, DEMO, TESTNET, LOCAL; ``BINANCE_PRO_ENV`` selects the
environment (``env_selection.py``). There is deliberately no fallback from
``TESTNET`` to ``PROD`` variables (or any other pair).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, ClassVar, Final

from ..._credentials import Credentials as KeyCredentials
from ..._credentials import EnvVariables
from ..._exceptions import AuthenticationError

__all__ = [
    "ENV_NAMES",
    "ENV_VARIABLES",
    "SECRET_KEYS",
    "Credentials",
    "can_log_on",
    "env_var_names",
    "load_credentials",
    "take_credentials",
]

#: Environments that have their own set of variables.
ENV_NAMES: Final = ("prod", "demo", "testnet", "local")

ENV_VARIABLES: Final = EnvVariables(
    prefix="BINANCE",
    environments=ENV_NAMES,
    suffixes={
        "api_key": "API_KEY",
        "secret": "API_SECRET",
        "private_key_path": "PRIVATE_KEY_PATH",
        "private_key_password": "PRIVATE_KEY_PASSWORD",
    },
)


def env_var_names(environment: str) -> dict[str, str]:
    """The variable names one environment reads, by role."""
    return ENV_VARIABLES.names(environment)


def can_log_on(credentials: KeyCredentials) -> bool:
    """Whether ``session.logon`` accepts this key (Ed25519 only, §6.3)."""
    return credentials.key_type == "ed25519"


class Credentials(KeyCredentials):
    """An API key and the means to sign with it; :meth:`from_env` reads the
    ``BINANCE_<ENV>_*`` variables (see the module docstring)."""

    __slots__ = ()

    env_variables: ClassVar[EnvVariables | None] = ENV_VARIABLES

    @property
    def can_log_on(self) -> bool:
        """Whether ``session.logon`` accepts this key (Ed25519 only, §6.3)."""
        return can_log_on(self)


#: Config keys holding secret material: taken out of the caller's dict when read.
SECRET_KEYS = ("secret", "privateKey", "password")


def take_credentials(*sources: Any) -> KeyCredentials | None:
    """Credentials from ``apiKey`` + ``secret``/``privateKey``/``privateKeyPath`` in the
    config dicts, with the secret material popped out of them first (each dict that
    can be changed is consumed), so that neither the caller's dict nor any frame an
    error reporter captures holds a secret afterwards. None without an ``apiKey``."""
    secrets: dict[str, Any] = {}
    api_key = key_path = None
    for source in sources:
        if not isinstance(source, Mapping):
            continue
        for name in SECRET_KEYS:
            if name in source:
                if isinstance(source, MutableMapping):
                    secrets[name] = source.pop(name)
                else:  # read-only: nothing to take it out of
                    secrets[name] = source[name]
        api_key = source.get("apiKey", api_key)
        key_path = source.get("privateKeyPath", key_path)
    if not api_key:
        secrets.clear()
        return None
    try:
        return Credentials(
            api_key,
            secret=secrets.get("secret"),
            private_key=secrets.get("privateKey"),
            private_key_path=key_path,
            private_key_password=secrets.get("password"),
        )
    finally:
        secrets.clear()  # nothing left in this frame for a traceback to show


def load_credentials(
    settings: Mapping[str, Any], environment: str, taken: KeyCredentials | None = None
) -> KeyCredentials | None:
    """Credentials from the config (``credentials``, or those ``take_credentials``
    built from ``apiKey`` and its secret) or from this environment's variables
    (optionally a ``dotenv`` file); never another environment's."""
    given = settings.get("credentials")
    if given is not None:
        if not isinstance(given, KeyCredentials):
            raise AuthenticationError("credentials must be a ccxtpro_sync.Credentials")
        return given
    if taken is not None:
        return taken
    return Credentials.from_env(environment, dotenv=settings.get("dotenv"))
