"""Credentials: key-type detection, env loading without cross-environment fallback, no leaks."""

import copy
import logging
import pickle
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

import ccxtpro_sync._credentials
from ccxtpro_sync._credentials import Credentials as KeyCredentials
from ccxtpro_sync._credentials import EnvVariables, parse_dotenv, read_env
from ccxtpro_sync._exceptions import AuthenticationError, BadRequest, NotSupported
from ccxtpro_sync._exchanges.binance.credentials import Credentials, env_var_names
from ccxtpro_sync._exchanges.binance.signing import hmac_sha256_hex

SECRET = "s3cr3t-value-that-must-never-leak"
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


def pem(private, password=None):
    encryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


@pytest.fixture(scope="module")
def ed_key():
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_hmac_credentials_sign_like_the_signer():
    creds = Credentials(API_KEY, secret=SECRET)
    assert creds.key_type == "hmac" and not creds.can_log_on
    assert creds.sign("a=1") == hmac_sha256_hex(SECRET, "a=1")
    assert creds.verify_key().verify("a=1", creds.sign("a=1"))


def test_key_type_detection_from_pem_bytes_path_and_secret(tmp_path, ed_key, rsa_key):
    ed = Credentials(API_KEY, private_key=pem(ed_key))
    assert ed.key_type == "ed25519" and ed.can_log_on
    assert ed.verify_key().verify("x", ed.sign("x"))
    path = tmp_path / "rsa.pem"
    path.write_bytes(pem(rsa_key, "pw"))
    rsa_creds = Credentials(API_KEY, private_key_path=path, private_key_password="pw")
    assert rsa_creds.key_type == "rsa"
    assert rsa_creds.verify_key().verify("x", rsa_creds.sign("x"))
    # a PEM passed as the "secret" is a private key, as in CCXT
    assert Credentials(API_KEY, secret=pem(ed_key).decode()).key_type == "ed25519"
    assert Credentials(API_KEY, private_key=ed_key).key_type == "ed25519"


def test_bad_keys_raise_without_quoting_them(tmp_path, rsa_key):
    encrypted = pem(rsa_key, "right")
    for kwargs in (
        {"private_key": encrypted},
        {"private_key": encrypted, "private_key_password": "wrong"},
        {"private_key": b"-----BEGIN PRIVATE KEY-----\n" + SECRET.encode()},
        {"private_key_path": tmp_path / "missing.pem"},
    ):
        with pytest.raises(AuthenticationError) as info:
            Credentials(API_KEY, **kwargs)
        assert SECRET not in str(info.value) and "right" not in str(info.value)
        assert info.value.__cause__ is None
    with pytest.raises(AuthenticationError):
        Credentials(API_KEY)
    with pytest.raises(AuthenticationError):
        Credentials(API_KEY, secret=SECRET, private_key_path="x")
    with pytest.raises(AuthenticationError):
        Credentials("", secret=SECRET)


def test_secrets_never_appear_in_repr_str_logs_or_pickles(caplog, ed_key):
    creds = Credentials(API_KEY, secret=SECRET)
    text = repr(creds) + str(creds) + f"{creds}" + f"{creds!r}"
    assert SECRET not in text and API_KEY not in text
    assert "vmPU" in text and "hmac" in text
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("ccxtpro_sync").info("using %s / %r", creds, creds)
    assert SECRET not in caplog.text
    for obj in (creds, Credentials(API_KEY, private_key=pem(ed_key))):
        with pytest.raises(TypeError):
            pickle.dumps(obj)
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            with pytest.raises(TypeError):
                pickle.dumps({"nested": [obj]}, protocol=protocol)
        assert copy.copy(obj) is obj and copy.deepcopy(obj) is obj
    assert not hasattr(creds, "__dict__")


def env_for(environment, **values):
    names = env_var_names(environment)
    return {names[k]: v for k, v in values.items()}


def test_from_env_reads_only_its_own_environment():
    environ = env_for("prod", api_key="PRODKEY", secret="prodsecret")
    assert Credentials.from_env("prod", environ=environ).api_key == "PRODKEY"
    # no fallback from testnet (or anything else) to prod
    assert Credentials.from_env("testnet", environ=environ) is None
    assert Credentials.from_env("demo", environ=environ) is None
    assert Credentials.from_env("local", environ=environ) is None
    with pytest.raises(BadRequest):
        Credentials.from_env("staging", environ=environ)


def test_from_env_half_configured_is_an_error_naming_variables_not_values():
    with pytest.raises(AuthenticationError) as info:
        Credentials.from_env("testnet", environ=env_for("testnet", secret=SECRET))
    assert "BINANCE_TESTNET_API_KEY" in str(info.value) and SECRET not in str(info.value)
    with pytest.raises(AuthenticationError):
        Credentials.from_env("testnet", environ=env_for("testnet", api_key="K"))
    with pytest.raises(AuthenticationError):
        Credentials.from_env(
            "testnet",
            environ=env_for("testnet", api_key="K", secret="s", private_key_path="/x"),
        )


def test_from_env_with_dotenv_file(tmp_path, ed_key):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "ed.pem").write_bytes(pem(ed_key, "pw"))
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\n"
        "export BINANCE_DEMO_API_KEY=demokey  # trailing comment\n"
        "BINANCE_DEMO_PRIVATE_KEY_PATH='keys/ed.pem'\n"
        'BINANCE_DEMO_PRIVATE_KEY_PASSWORD="pw"\n'
        "BINANCE_PROD_API_KEY=prodkey\n"
        "BINANCE_PROD_API_SECRET=prodsecret\n"
    )
    creds = Credentials.from_env("demo", environ={}, dotenv=dotenv)
    assert creds is not None and creds.api_key == "demokey" and creds.key_type == "ed25519"
    # the process environment wins over the file
    override = Credentials.from_env(
        "prod", environ={"BINANCE_PROD_API_KEY": "fromenv"}, dotenv=dotenv
    )
    assert override.api_key == "fromenv"
    assert Credentials.from_env("testnet", environ={}, dotenv=dotenv) is None


def test_parse_dotenv_subset():
    parsed = parse_dotenv(
        'A=1\n\n  # c\nB = \'x # not a comment\'\nC="line\\nnext \\"q\\""\nD=plain # c\nE=\n'
    )
    assert parsed == {
        "A": "1",
        "B": "x # not a comment",
        "C": 'line\nnext "q"',
        "D": "plain",
        "E": "",
    }
    with pytest.raises(BadRequest) as info:
        parse_dotenv("GOOD=1\nnot a line with secret\n")
    assert "line 2" in str(info.value) and "secret" not in str(info.value)
    with pytest.raises(BadRequest):
        parse_dotenv("A='unterminated\n")


def test_the_generic_module_reads_the_variables_an_exchange_names(tmp_path):
    variables = EnvVariables(
        prefix="ACME",
        environments=("live", "sandbox"),
        suffixes={
            "api_key": "KEY",
            "secret": "SECRET",
            "private_key_path": "PEM",
            "private_key_password": "PEM_PASSWORD",
        },
        subject="acme environment",
    )
    environ = {"ACME_LIVE_KEY": "livekey", "ACME_LIVE_SECRET": "livesecret"}
    creds = KeyCredentials.from_env("live", variables=variables, environ=environ)
    assert creds is not None and creds.api_key == "livekey" and creds.key_type == "hmac"
    assert KeyCredentials.from_env("sandbox", variables=variables, environ=environ) is None
    with pytest.raises(AuthenticationError, match="ACME_SANDBOX_KEY"):
        KeyCredentials.from_env(
            "sandbox", variables=variables, environ={"ACME_SANDBOX_SECRET": SECRET}
        )
    with pytest.raises(BadRequest, match="unknown acme environment 'prod'"):
        KeyCredentials.from_env("prod", variables=variables, environ=environ)
    # Binance's variables are Binance's: the generic class names none of its own.
    with pytest.raises(NotSupported):
        KeyCredentials.from_env("prod", environ=env_for("prod", api_key="K", secret="s"))
    source = Path(ccxtpro_sync._credentials.__file__).read_text(encoding="utf-8")
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert "BINANCE_" not in source and not any("_exchanges" in line for line in imports)


def test_read_env_prefers_the_process_environment_and_resolves_file_paths(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("X_PATH=keys/a.pem\nX_NAME=fromfile\nX_EMPTY=\n")
    names = {"path": "X_PATH", "name": "X_NAME", "empty": "X_EMPTY", "absent": "X_ABSENT"}
    values = read_env(names, environ={"X_NAME": "fromenv"}, dotenv=dotenv, path_roles=("path",))
    assert values == {
        "path": str(tmp_path.resolve() / "keys" / "a.pem"),
        "name": "fromenv",
        "empty": None,
        "absent": None,
    }
