"""public/auth params, the client_signature HMAC, token refresh deadlines and
per-environment credentials."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from ccxtpro_sync._exceptions import AuthenticationError, BadRequest, InvalidArgument, ProtocolError
from ccxtpro_sync._exchanges.deribit.auth import (
    TokenState,
    client_credentials_params,
    client_signature_params,
    refresh_params,
    string_to_sign,
)
from ccxtpro_sync._exchanges.deribit.credentials import DeribitCredentials, env_var_names
from ccxtpro_sync._exchanges.deribit.environments import DeribitEndpoints, endpoints
from ccxtpro_sync._exchanges.deribit.rpc import Response, decode_frame

from ._fixtures import load, raw

# The client id and secret of the documented client_credentials request.
CLIENT_ID = "fo7WAPRm4P"
SECRET = "W0H6FJW4IRPZ1MOQ8FP6KMC5RZDUUKXS"


def test_client_credentials_params_match_the_documented_request() -> None:
    creds = DeribitCredentials(CLIENT_ID, SECRET)
    assert (
        client_credentials_params(creds) == load("auth_request_client_credentials.json")["params"]
    )
    scoped = client_credentials_params(creds, scope="session:bot trade:read_write")
    assert scoped["scope"] == "session:bot trade:read_write"


def test_client_signature_against_independent_hmacs() -> None:
    # Expected values computed with OpenSSL, not with this code:
    #   printf '1699999999999\n1699999999999\n' | openssl dgst -sha256 -hmac SECRET
    creds = DeribitCredentials("api_key", SECRET)
    params = client_signature_params(creds, 1699999999999, nonce="1699999999999")
    documented = load("auth_request_client_signature.json")["params"]
    assert set(params) == set(documented)
    assert {k: v for k, v in params.items() if k != "signature"} == {
        k: v for k, v in documented.items() if k != "signature"
    }
    assert params["signature"] == (
        "51b0ed1c0e4f28f4604fa313b4d537f93e8d82694dcb5a5c50ff66eba61d5360"
    )
    #   printf '1699999999999\nabc123\nsome data' | openssl dgst -sha256 -hmac SECRET
    with_data = client_signature_params(creds, 1699999999999, nonce="abc123", data="some data")
    assert with_data["signature"] == (
        "b4471902e08b4d8028d1a05e8f76917c1da1503077407084afd483611c11428f"
    )
    assert string_to_sign(1, "n", "d") == "1\nn\nd"


def test_signature_nonces_are_fresh_and_arguments_checked() -> None:
    creds = DeribitCredentials("api_key", SECRET)
    first = client_signature_params(creds, 1699999999999)
    second = client_signature_params(creds, 1699999999999)
    assert first["nonce"] != second["nonce"] and first["signature"] != second["signature"]
    for bad in (0, -5, True, 1.5):
        with pytest.raises(InvalidArgument):
            client_signature_params(creds, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        client_signature_params(creds, 1, nonce="a\nb")


def test_token_state_refreshes_at_80_percent_of_its_lifetime() -> None:
    frame = decode_frame(raw("auth_result.json"))
    assert isinstance(frame, Response)
    token = TokenState.from_result(frame.result, now=1000.0)
    assert token.access_token.startswith("1582628593469.1MbQ")
    assert token.expires_at == 1000.0 + 31536000
    assert token.next_deadline(1000.0) == 1000.0 + 31536000 * 0.8
    assert token.connection_scoped  # "connection mainaccount"
    short = TokenState.from_result(dict(frame.result, expires_in=900), now=50.0)
    assert short.next_deadline(60.0) == 50.0 + 720.0
    assert short.next_deadline(800.0) == 800.0  # overdue: refresh now
    assert not short.expired(949.0) and short.expired(950.0)
    assert refresh_params(short) == {
        "grant_type": "refresh_token",
        "refresh_token": frame.result["refresh_token"],
    }
    session = TokenState.from_result(dict(frame.result, scope="session:bot mainaccount"), 0.0)
    assert not session.connection_scoped


def test_token_state_rejects_bad_results_and_hides_tokens() -> None:
    frame = decode_frame(raw("auth_result.json"))
    assert isinstance(frame, Response)
    for broken in (
        dict(frame.result, expires_in=0),
        dict(frame.result, expires_in="x"),
        dict(frame.result, access_token=None),
        "ok",
    ):
        with pytest.raises(ProtocolError):
            TokenState.from_result(broken, 0.0)
    token = TokenState.from_result(frame.result, 0.0)
    assert "1582628593469" not in repr(token)
    with pytest.raises(TypeError):
        pickle.dumps(token)


def test_credentials_never_show_the_secret() -> None:
    creds = DeribitCredentials(CLIENT_ID, SECRET)
    assert SECRET not in repr(creds) and SECRET not in str(creds)
    assert CLIENT_ID not in repr(creds)  # masked
    with pytest.raises(TypeError):
        pickle.dumps(creds)
    assert copy.deepcopy(creds) is creds
    with pytest.raises(AuthenticationError):
        DeribitCredentials(CLIENT_ID, "")
    with pytest.raises(InvalidArgument):
        DeribitCredentials(CLIENT_ID, b"bytes")  # type: ignore[arg-type]


def test_environment_variables_of_one_environment_only() -> None:
    assert env_var_names("test") == {
        "client_id": "DERIBIT_TEST_CLIENT_ID",
        "client_secret": "DERIBIT_TEST_CLIENT_SECRET",
    }
    environ = {"DERIBIT_PROD_CLIENT_ID": "prod-id", "DERIBIT_PROD_CLIENT_SECRET": "prod-secret"}
    prod = DeribitCredentials.from_env("prod", environ=environ)
    assert prod is not None and prod.client_id == "prod-id"
    assert DeribitCredentials.from_env("test", environ=environ) is None  # no fallback
    assert DeribitCredentials.from_env("local", environ=environ) is None
    with pytest.raises(BadRequest):
        DeribitCredentials.from_env("testnet", environ=environ)
    with pytest.raises(AuthenticationError, match="DERIBIT_TEST_CLIENT_SECRET") as info:
        DeribitCredentials.from_env("test", environ={"DERIBIT_TEST_CLIENT_ID": "id-value-42"})
    assert "id-value-42" not in str(info.value)


def test_dotenv_fills_in_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "DERIBIT_TEST_CLIENT_ID=file-id\nDERIBIT_TEST_CLIENT_SECRET='file secret'\n"
        "DERIBIT_PROD_CLIENT_ID=prod-file-id\n",
        encoding="utf-8",
    )
    from_file = DeribitCredentials.from_env("test", environ={}, dotenv=dotenv)
    assert from_file is not None and from_file.client_id == "file-id"
    assert from_file.credentials_params()["client_secret"] == "file secret"
    overridden = DeribitCredentials.from_env(
        "test", environ={"DERIBIT_TEST_CLIENT_ID": "env-id"}, dotenv=dotenv
    )
    assert overridden is not None and overridden.client_id == "env-id"
    with pytest.raises(AuthenticationError):  # prod has an id but no secret
        DeribitCredentials.from_env("prod", environ={}, dotenv=dotenv)


def test_arguments_win_over_the_environment() -> None:
    environ = {"DERIBIT_TEST_CLIENT_ID": "env-id", "DERIBIT_TEST_CLIENT_SECRET": "env-secret"}
    given = DeribitCredentials.resolve(
        "test", client_id="arg-id", client_secret="arg-secret", environ=environ
    )
    assert given is not None and given.client_id == "arg-id"
    from_env = DeribitCredentials.resolve("test", environ=environ)
    assert from_env is not None and from_env.client_id == "env-id"
    assert DeribitCredentials.resolve("prod", environ=environ) is None
    with pytest.raises(AuthenticationError):
        DeribitCredentials.resolve("test", client_id="arg-id", environ=environ)
    with pytest.raises(BadRequest):
        DeribitCredentials.resolve("demo", client_id="a", client_secret="b")


def test_endpoints() -> None:
    assert endpoints("prod").ws == "wss://www.deribit.com/ws/api/v2"
    assert endpoints("test").rest == "https://test.deribit.com/api/v2"
    local = DeribitEndpoints.local("http://127.0.0.1:40123")
    assert (local.ws, local.rest) == (
        "ws://127.0.0.1:40123/ws/api/v2",
        "http://127.0.0.1:40123/api/v2",
    )
    with pytest.raises(BadRequest, match=r"DeribitEndpoints\.local"):
        endpoints("local")
    with pytest.raises(BadRequest):
        DeribitEndpoints.local("127.0.0.1:1")
