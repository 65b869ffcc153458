"""BINANCE_PRO_ENV: environment selection, credentials of that environment only, no mixing,
one environment per process (issue 17)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import ccxtpro_sync
from ccxtpro_sync._exchanges.binance import env_selection
from ccxtpro_sync._exchanges.binance.env_selection import select_environment


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "BINANCE_PRO_ENV",
        "BINANCE_PROD_API_KEY",
        "BINANCE_PROD_API_SECRET",
        "BINANCE_TESTNET_API_KEY",
        "BINANCE_TESTNET_API_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    env_selection.reset_pin()
    yield
    env_selection.reset_pin()


def test_the_variable_selects_and_an_explicit_config_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    assert select_environment({}, environ={}) == "prod"
    monkeypatch.setenv("BINANCE_PRO_ENV", "testnet")
    with ccxtpro_sync.binance() as client:
        assert client.environment == "testnet"
        assert client.endpoints.rest == "https://testnet.binance.vision"
    with ccxtpro_sync.binance({"environment": "demo"}) as client:
        assert client.environment == "demo"


def test_credentials_come_only_from_the_selected_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BINANCE_PROD_API_KEY", "P" * 64)
    monkeypatch.setenv("BINANCE_PROD_API_SECRET", "S" * 64)
    monkeypatch.setenv("BINANCE_PRO_ENV", "TESTNET")
    with ccxtpro_sync.binance() as client:
        assert client.environment == "testnet" and client.credentials is None
        with pytest.raises(ccxtpro_sync.AuthenticationError, match="BINANCE_TESTNET_API_KEY"):
            client.fetch_balance()
    monkeypatch.setenv("BINANCE_TESTNET_API_KEY", "T" * 64)
    with pytest.raises(ccxtpro_sync.AuthenticationError, match="BINANCE_TESTNET_API_SECRET"):
        ccxtpro_sync.binance()


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINANCE_PRO_ENV", "production")
    with pytest.raises(ccxtpro_sync.BadRequest, match="BINANCE_PRO_ENV='production'"):
        ccxtpro_sync.binance()


def test_a_config_that_mixes_environments_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ccxtpro_sync.BadRequest, match=r"mixes environments.*prod host"):
        ccxtpro_sync.binance(
            {"environment": "testnet", "urls": {"rest": "https://api.binance.com"}}
        )
    monkeypatch.setenv("BINANCE_PRO_ENV", "prod")
    with pytest.raises(ccxtpro_sync.BadRequest, match=r"mixes environments.*testnet host"):
        ccxtpro_sync.binance({"urls": {"ws": "wss://stream.testnet.binance.vision"}})
    # an override on a host Binance does not list (a proxy) is the caller's choice
    ccxtpro_sync.binance(
        {"environment": "testnet", "urls": {"rest": "https://proxy.example"}}
    ).close()


def test_one_environment_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINANCE_PRO_ENV", "testnet")
    ccxtpro_sync.binance().close()
    ccxtpro_sync.binanceusdm().close()  # the same environment again: fine
    monkeypatch.setenv("BINANCE_PRO_ENV", "prod")
    with pytest.raises(ccxtpro_sync.BadRequest, match="one environment per process"):
        ccxtpro_sync.binance()
    ccxtpro_sync.binance({"environment": "prod"}).close()  # named in code: deliberate
