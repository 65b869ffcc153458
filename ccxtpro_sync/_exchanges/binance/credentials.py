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

from typing import ClassVar, Final

from ..._credentials import Credentials as KeyCredentials
from ..._credentials import EnvVariables

__all__ = ["ENV_NAMES", "ENV_VARIABLES", "Credentials", "can_log_on", "env_var_names"]

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
