"""A client's config is checked key by key: a misspelt key is a typed error naming the
closest known key, not a silently ignored setting; CCXT's constructor keys that this
library does not use are accepted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import InvalidArgument
from ccxtpro_sync._exchanges.binance.config_keys import (
    CONFIG_KEYS,
    IGNORED_CONFIG_KEYS,
    IGNORED_OPTIONS,
    OPTIONS,
)

#: No network: the client connects lazily, on first use.
QUIET: dict[str, Any] = {"environment": "testnet"}


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"number": Decimal}, "unknown config key 'number'; did you mean 'numbers'?"),
        ({"ohlcvLimit": 5}, "unknown config key 'ohlcvLimit'; did you mean 'OHLCVLimit'?"),
        ({"timeOut": 5}, "did you mean 'timeout'?"),
        ({"proxies": {"https": "http://p:1"}}, "unknown config key 'proxies'"),
        ({"options": {"defaultTyp": "future"}}, "unknown options key 'defaultTyp'; did you mean"),
        ({"options": {"maxMessageSise": 1}}, "did you mean 'maxMessageSize'?"),
        ({"options": ["defaultType"]}, "options must be a dict"),
    ],
)
def test_an_unknown_key_is_refused_with_the_closest_known_one(
    config: dict[str, Any], says: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        ccxtpro_sync.binance({**QUIET, **config})
    assert says in str(caught.value)


def test_unknown_keys_given_as_keyword_arguments_too() -> None:
    with pytest.raises(InvalidArgument, match="'number'"):
        ccxtpro_sync.binanceusdm(QUIET, number="decimal")


def test_ccxt_constructor_keys_are_accepted_and_ignored() -> None:
    ignored = {key: True for key in IGNORED_CONFIG_KEYS}
    options = {key: True for key in IGNORED_OPTIONS}
    with ccxtpro_sync.binance({**QUIET, **ignored, "options": options}) as client:
        assert client.environment == "testnet"
    assert not IGNORED_CONFIG_KEYS & CONFIG_KEYS and not IGNORED_OPTIONS & OPTIONS


def test_known_keys_still_configure_the_client() -> None:
    config = {**QUIET, "numbers": "decimal", "options": {"snapshotLimit": 500}}
    with ccxtpro_sync.binance(config) as client:
        assert client._snapshot_limit == 500


@pytest.mark.parametrize("bad", [0, 33, 2.0, "4", True])
def test_snapshot_concurrency_is_a_small_positive_int(bad: Any) -> None:
    with pytest.raises(ccxtpro_sync.BadRequest, match="snapshotConcurrency"):
        ccxtpro_sync.binance({**QUIET, "options": {"snapshotConcurrency": bad}})
    with ccxtpro_sync.binance({**QUIET, "options": {"snapshotConcurrency": 2}}) as client:
        assert client._fetcher._scheduler.max_in_flight == 2
