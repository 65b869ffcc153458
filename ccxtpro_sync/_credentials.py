"""API credentials that sign requests and never reveal themselves.

A :class:`Credentials` holds an API key plus either an HMAC secret or an
RSA/Ed25519 private key (PEM, optionally encrypted). It can sign a payload and
say which key type it is, and nothing else: ``repr``/``str`` show a masked key
id, pickling and copying refuse or share, and no error message quotes secret
material. Exchange-neutral: what is signed is each exchange's business.

Loading from the environment uses only one environment's variables, named by
the exchange's adapter with an :class:`EnvVariables` (``<PREFIX>_<ENV>_<ROLE>``,
e.g. ``_exchanges/binance/credentials.py``). There is deliberately no fallback
from one environment's variables to another's: a typo must not send test
orders to a real account. A ``.env`` file may supply the same names; the
process environment wins over it, as usual for dotenv.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final, Self

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from ._exceptions import AuthenticationError, BadRequest, InvalidArgument, NotSupported
from ._keys import KeyType, PrivateKey, VerifyKey, sign

__all__ = [
    "Credentials",
    "EnvVariables",
    "SecretHolder",
    "parse_dotenv",
    "read_dotenv",
    "read_env",
]

_PEM_MARK: Final = "-----BEGIN"


@dataclass(frozen=True, slots=True)
class EnvVariables:
    """How one exchange names its credential variables: ``<PREFIX>_<ENV>_<SUFFIX>``.

    ``suffixes`` maps each role (``api_key``, ``secret``, ...) to its suffix;
    ``environments`` lists the environments that have their own set;
    ``subject`` names what an unknown environment is in the error message.
    """

    prefix: str
    environments: tuple[str, ...]
    suffixes: Mapping[str, str]
    subject: str = "environment"

    def names(self, environment: str) -> dict[str, str]:
        """The variable names one environment reads, by role."""
        if environment not in self.environments:
            raise BadRequest(
                f"unknown {self.subject} {environment!r}; expected one of "
                f"{', '.join(self.environments)}"
            )
        prefix = f"{self.prefix}_{environment.upper()}_"
        return {role: prefix + suffix for role, suffix in self.suffixes.items()}


# --------------------------------------------------------------------------- .env


def _unquote(value: str, line_no: int) -> str:
    quote = value[0]
    end = value.find(quote, 1)
    while quote == '"' and end > 0 and value[end - 1] == "\\":
        end = value.find(quote, end + 1)
    if end < 0:
        raise BadRequest(f".env line {line_no}: unterminated quoted value")
    inner = value[1:end]
    if quote == '"':
        inner = (
            inner.replace("\\n", "\n")
            .replace("\\t", "\t")
            .replace('\\"', '"')
            .replace("\\\\", "\\")
        )
    return inner


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse ``.env`` text: ``[export ]NAME=value`` lines, ``#`` comments, blank lines.

    Values may be bare (an inline `` #`` starts a comment), single-quoted
    (literal) or double-quoted (``\\n``, ``\\t``, ``\\"``, ``\\\\`` escapes).
    No variable expansion and no multi-line values: a small, predictable subset.
    Errors name the line, never its value (it may be a secret).
    """
    result: dict[str, str] = {}
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.replace("_", "").isalnum() or name[0].isdigit():
            raise BadRequest(f".env line {line_no}: expected NAME=value")
        value = value.strip()
        if value[:1] in ("'", '"'):
            value = _unquote(value, line_no)
        else:
            hash_at = value.find(" #")
            if hash_at >= 0:
                value = value[:hash_at].rstrip()
        result[name] = value
    return result


def read_dotenv(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse a ``.env`` file (UTF-8). The process environment is not modified."""
    return parse_dotenv(Path(path).read_text(encoding="utf-8"))


def read_env(
    names: Mapping[str, str],
    *,
    environ: Mapping[str, str] | None = None,
    dotenv: str | os.PathLike[str] | None = None,
    path_roles: Collection[str] = (),
) -> dict[str, str | None]:
    """Each role's value (``None`` when unset or empty) from ``environ`` (default
    ``os.environ``), else from the ``dotenv`` file. A relative path given by the
    file for one of ``path_roles`` is resolved against the file's directory."""
    source = os.environ if environ is None else environ
    file_values: dict[str, str] = {}
    base: Path | None = None
    if dotenv is not None:
        file_values = read_dotenv(dotenv)
        base = Path(dotenv).resolve().parent
    values: dict[str, str | None] = {}
    for role, name in names.items():
        value = source.get(name)
        if not value:
            value = file_values.get(name)
            if value and role in path_roles and base is not None:
                path = Path(value).expanduser()
                value = str(path if path.is_absolute() else base / path)
        values[role] = value or None
    return values


# --------------------------------------------------------------------------- keys


def _load_private_key(pem: bytes, password: str | bytes | None) -> PrivateKey:
    secret = password.encode() if isinstance(password, str) else password
    try:
        key = serialization.load_pem_private_key(pem, password=secret)
    except TypeError:
        # cryptography: a password was given for a plain key, or none for an encrypted one.
        reason = (
            "it is encrypted and no password was given"
            if secret is None
            else ("a password was given but the key is not encrypted")
        )
        raise AuthenticationError(f"cannot load the private key: {reason}") from None
    except (ValueError, UnsupportedAlgorithm):
        raise AuthenticationError(
            "cannot load the private key: not a PEM private key, or a wrong password"
        ) from None
    if not isinstance(key, RSAPrivateKey | Ed25519PrivateKey):
        raise AuthenticationError(
            f"API keys must be RSA or Ed25519 private keys, not {type(key).__name__}"
        )
    return key


def _check_types(**arguments: tuple[object, tuple[type, ...]]) -> None:
    """``InvalidArgument`` naming the argument and its type (never its value: it may
    be a secret) for any argument that is not ``None`` or one of its types."""
    for name, (value, allowed) in arguments.items():
        if value is not None and not isinstance(value, allowed):
            expected = " or ".join(t.__name__ for t in allowed)
            raise InvalidArgument(f"{name} must be {expected}, not {type(value).__name__}")


def _text(secret: str | bytes) -> str | None:
    """``secret`` as text, or None if it is bytes that are not UTF-8 (the decode error
    is dropped here: its ``object`` attribute would hold the secret)."""
    if not isinstance(secret, bytes):
        return secret
    try:
        return secret.decode()
    except UnicodeDecodeError:
        return None


def _mask(api_key: str) -> str:
    if len(api_key) <= 8:
        return "***"
    return f"{api_key[:4]}...{api_key[-4:]}"


class SecretHolder:
    """Mixin for objects that hold a secret: never pickled, never duplicated.

    Copies return the same object so a secret lives in one place only.
    """

    __slots__ = ()

    def __reduce__(self) -> Any:
        raise TypeError("credentials are not picklable: pickles would carry the secret")

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self


class Credentials(SecretHolder):
    """An API key and the means to sign with it (see module docstring).

    Pass ``secret`` for an HMAC key, or ``private_key`` (PEM bytes/str or a
    loaded ``cryptography`` key) / ``private_key_path`` for RSA or Ed25519. A
    ``secret`` that is itself a PEM private key is treated as one, as CCXT does.
    """

    __slots__ = ("_api_key", "_key", "_key_type")

    #: The variables :meth:`from_env` reads when not given any (set by an exchange's
    #: subclass; roles ``api_key``, ``secret``, ``private_key_path``,
    #: ``private_key_password``).
    env_variables: ClassVar[EnvVariables | None] = None

    def __init__(
        self,
        api_key: str,
        *,
        secret: str | bytes | None = None,
        private_key: str | bytes | PrivateKey | None = None,
        private_key_path: str | os.PathLike[str] | None = None,
        private_key_password: str | bytes | None = None,
    ) -> None:
        _check_types(
            api_key=(api_key, (str,)),
            secret=(secret, (str, bytes)),
            private_key=(private_key, (str, bytes, RSAPrivateKey, Ed25519PrivateKey)),
            private_key_path=(private_key_path, (str, os.PathLike)),
            private_key_password=(private_key_password, (str, bytes)),
        )
        if not isinstance(api_key, str) or not api_key.strip():
            raise AuthenticationError("an API key is required")
        given = [x is not None for x in (secret, private_key, private_key_path)]
        if sum(given) != 1:
            raise AuthenticationError(
                "give exactly one of secret (HMAC), private_key or private_key_path (RSA/Ed25519)"
            )
        if secret is not None:
            text = _text(secret)
            if text is None:
                # Raised outside any except block and with the argument dropped, so
                # neither the exception chain nor this frame's locals hold the bytes.
                secret = None
                raise AuthenticationError("the API secret is not UTF-8 text")
            if text.lstrip().startswith(_PEM_MARK):
                private_key = text
            elif not text:
                raise AuthenticationError("the API secret is empty")
            else:
                self._api_key = api_key.strip()
                self._key: bytes | PrivateKey = text.encode()
                self._key_type: KeyType = "hmac"
                return
        if private_key_path is not None:
            try:
                private_key = Path(private_key_path).read_bytes()
            except OSError as error:
                raise AuthenticationError(
                    f"cannot read the private key file {os.fspath(private_key_path)!r}: "
                    f"{error.strerror}"
                ) from None
        if isinstance(private_key, RSAPrivateKey | Ed25519PrivateKey):
            key = private_key
        else:
            assert private_key is not None
            pem = private_key.encode() if isinstance(private_key, str) else private_key
            key = _load_private_key(pem, private_key_password)
        self._api_key = api_key.strip()
        self._key = key
        self._key_type = "ed25519" if isinstance(key, Ed25519PrivateKey) else "rsa"

    # -- loading -------------------------------------------------------------------
    @classmethod
    def from_env(
        cls,
        environment: str,
        *,
        variables: EnvVariables | None = None,
        environ: Mapping[str, str] | None = None,
        dotenv: str | os.PathLike[str] | None = None,
    ) -> Self | None:
        """Credentials of one environment from its variables, or ``None`` if none are set.

        ``variables`` (default: the class's ``env_variables``) names them;
        ``environ`` defaults to ``os.environ``; ``dotenv`` names a ``.env`` file
        whose values fill in names the environment lacks. A relative
        ``PRIVATE_KEY_PATH`` from the file is resolved against the file's
        directory. Half-configured credentials (a secret without a key, or
        both a secret and a key file) raise ``AuthenticationError`` naming the
        variables, never their values.
        """
        variables = variables or cls.env_variables
        if variables is None:
            raise NotSupported(f"{cls.__name__}.from_env needs the variables' names")
        names = variables.names(environment)
        values = read_env(names, environ=environ, dotenv=dotenv, path_roles=("private_key_path",))
        api_key, secret, key_path = values["api_key"], values["secret"], values["private_key_path"]
        if api_key is None and secret is None and key_path is None:
            return None
        if api_key is None:
            raise AuthenticationError(
                f"{names['secret']} or {names['private_key_path']} is set but {names['api_key']} "
                "is not"
            )
        if secret is None and key_path is None:
            raise AuthenticationError(
                f"{names['api_key']} is set but neither {names['secret']} nor "
                f"{names['private_key_path']} is"
            )
        if secret is not None and key_path is not None:
            raise AuthenticationError(
                f"set either {names['secret']} or {names['private_key_path']}, not both"
            )
        return cls(
            api_key,
            secret=secret,
            private_key_path=key_path,
            private_key_password=values["private_key_password"],
        )

    # -- use -----------------------------------------------------------------------
    @property
    def api_key(self) -> str:
        """The API key (sent in clear with each request; not a secret)."""
        return self._api_key

    @property
    def key_type(self) -> KeyType:
        return self._key_type

    def sign(self, payload: str) -> str:
        """Sign a payload built by the exchange's signing rules (see ``_keys.sign``)."""
        return sign(self._key, payload)

    def verify_key(self) -> VerifyKey:
        """The verifying half, as the exchange would register it (tests, local exchange)."""
        key = self._key
        if isinstance(key, bytes):
            return VerifyKey.hmac(key)
        return VerifyKey.from_public_key(key.public_key())

    # -- never leak ----------------------------------------------------------------
    def __repr__(self) -> str:
        # Safe half-built too (the constructor raised): error reporters repr frame locals.
        api_key = getattr(self, "_api_key", None)
        shown = "?" if api_key is None else _mask(api_key)
        return f"Credentials(api_key={shown!r}, key_type={getattr(self, '_key_type', '?')!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__
