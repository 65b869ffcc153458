"""Secrets and tokens never leave the process (issue 12): listenKeys, API secrets."""

from __future__ import annotations

import logging
import re

import pytest

import ccxtpro_sync
from ccxtpro_sync.contrib.logging import log_signals
from ccxtpro_sync.simulator import LocalExchange

from ..ports import refused_port
from ..reliability.support import signal_logs


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.__dict__.get('payload', '')}")


def test_the_futures_listen_key_is_redacted_wherever_a_url_leaves(
    exchange: LocalExchange,
) -> None:
    account = exchange.create_test_account("hmac")
    records = _Records()
    logger = logging.getLogger("ccxtpro_sync.test_secrets")
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    library = logging.getLogger("ccxtpro_sync")
    library.addHandler(records)
    config = {"environment": "local", "local": exchange, "credentials": account.credentials}
    try:
        with (
            signal_logs() as logs,
            log_signals(logger),
            ccxtpro_sync.binanceusdm(config) as client,
            client.on_orders(handler=lambda orders: None),
        ):
            key = client._private.listen_keys.listen_key
            assert key
            user = f"{client.name}-user-data"
            logs["connection_started"].wait_for(1, where=lambda p: p["name"] == user)
            assert exchange.faults.drop() >= 1  # a drop: closed, then started again
            logs["connection_closed"].wait_for(1, where=lambda p: p["name"] == user)
            logs["connection_started"].wait_for(2, where=lambda p: p["name"] == user)
            # What ConnectionInfo (and so connection_info(), metrics labels) is built from.
            info = client._private.user_stream.info()
            assert info["url"] and info["subscriptions"]
            shown = [
                repr(client),
                repr(info),
                repr(client.connections()),
                *(repr(log.payloads) for log in logs.values()),
                *records.lines,
            ]
        assert records.lines  # the INFO records of log_signals were written
        assert not [text for text in shown if key in text]
        assert info["url"].split("?")[0].endswith("/stream")
        assert key[:4] in info["url"]  # redacted, not removed: keys stay tell-apart
    finally:
        logger.removeHandler(records)
        library.removeHandler(records)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("wss://x/private/stream?streams=AbCdEfGhIjKl", "wss://x/private/stream?streams=AbCd…[redacted]"),
        ("wss://x/ws/AbCdEfGhIjKl", "wss://x/ws/AbCd…[redacted]"),
        ("wss://x/private/ws?listenKey=AbCdEfGh&events=ORDER", "wss://x/private/ws?listenKey=AbCd…[redacted]&events=ORDER"),
        ("wss://x/stream?streams=btcusdt@trade/!bookTicker", "wss://x/stream?streams=btcusdt@trade/!bookTicker"),
        ("wss://x/ws/btcusdt@depth@100ms", "wss://x/ws/btcusdt@depth@100ms"),
        ("https://x/api?signature=abc&apiKey=k", "https://x/api?signature=[redacted]&apiKey=[redacted]"),
    ],
)  # fmt: skip
def test_redact_url(url: str, shown: str) -> None:
    from ccxtpro_sync._exchanges.binance.environments import redact_url

    assert redact_url(url) == shown


def _captured_locals(error: BaseException) -> list[str]:
    """What a Sentry-style reporter with ``capture_locals`` keeps: the repr of every
    local of every frame of the traceback (raising if a repr raises)."""
    shown: list[str] = []
    assert error.__traceback__ is not None
    tb = error.__traceback__.tb_next  # the library's frames, below the test's own
    while tb is not None:
        shown += [f"{name}={value!r}" for name, value in tb.tb_frame.f_locals.items()]
        tb = tb.tb_next
    return shown


def test_the_config_dict_is_consumed_and_the_client_still_signs(exchange: LocalExchange) -> None:
    key, secret = "K" * 64, "S" * 64
    exchange.add_account(api_key=key, secret=secret)
    config = {"environment": "local", "local": exchange, "apiKey": key, "secret": secret}
    with ccxtpro_sync.binance(config) as client:
        assert "secret" not in config and config["apiKey"] == key
        assert client.fetch_balance_ws().total is not None


def test_a_non_utf8_secret_raises_with_no_copy_of_it_attached() -> None:
    secret = b"\xff\xfenot-utf8-secret-material"
    config = {"apiKey": "K" * 64, "secret": secret}
    with pytest.raises(ccxtpro_sync.AuthenticationError) as caught:
        ccxtpro_sync.binance(config)
    error = caught.value
    assert error.__cause__ is None and error.__context__ is None
    assert "secret" not in config
    shown = _captured_locals(error)
    assert shown and not [text for text in shown if "not-utf8-secret" in text]


def test_a_half_built_client_has_a_repr_and_its_frames_hold_no_secret() -> None:
    config = {"apiKey": "K" * 64, "secret": "S" * 64, "numbers": "bogus"}
    with pytest.raises(ccxtpro_sync.BadRequest) as caught:
        ccxtpro_sync.binance(config)  # raises half way through the constructor
    shown = _captured_locals(caught.value)  # repr() of the half-built client included
    assert any(text.startswith("self=<binance") for text in shown)
    assert not [text for text in shown if "S" * 64 in text]
    with pytest.raises(ccxtpro_sync.BadRequest) as early:
        ccxtpro_sync.binance({"options": {"defaultType": "bogus"}})  # before any attribute
    assert any(text.startswith("self=<binance") for text in _captured_locals(early.value))


def _everything_said(error: BaseException) -> list[str]:
    """The text of ``error``, of every exception in its chain and in their ``args``
    (and the ``url`` attributes urllib3 keeps), as a traceback or a reporter shows them."""
    said: list[str] = []
    seen: set[int] = set()
    todo: list[object] = [error]
    while todo:
        item = todo.pop()
        if id(item) in seen or item is None:
            continue
        seen.add(id(item))
        said.append(repr(item))
        said.append(str(item))
        if isinstance(item, BaseException):
            todo += [item.__cause__, item.__context__, *item.args]
            todo += [getattr(item, name, None) for name in ("url", "reason", "request")]
            request = getattr(item, "request", None)
            if request is not None:
                said.append(str(getattr(request, "url", "")))
    return said


def test_a_failed_signed_call_shows_method_and_path_only(
    exchange: LocalExchange, caplog: pytest.LogCaptureFixture
) -> None:
    account = exchange.create_test_account("hmac")
    with refused_port() as port:  # a port nobody listens on: requests to it fail
        dead = f"http://127.0.0.1:{port}"
        client = ccxtpro_sync.binance(
            {
                "environment": "local",
                "local": exchange,
                "urls": {"rest": dead},
                "credentials": account.credentials,
                "timeout": 5.0,
            }
        )
        caplog.set_level(logging.DEBUG)
        try:
            with pytest.raises(ccxtpro_sync.ExchangeNotAvailable) as caught:
                client.fetch_balance()
        finally:
            client.close()
    error = caught.value
    # method, path and the server's origin: never the query (timestamp, signature)
    assert re.match(r"GET /api/v3/account to http://[^/?\s]+ failed: ", str(error)), str(error)
    assert error.__cause__ is not None  # the original stays chained, scrubbed
    said = _everything_said(error) + [r.getMessage() for r in caplog.records]
    for text in said:
        assert "signature" not in text and "timestamp" not in text, text
        assert dead + "/api/v3/account?" not in text, text


def test_a_failed_listen_key_request_does_not_carry_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ccxtpro_sync._exchanges.binance.rest import BinanceRest

    key = "LK" + "x" * 58
    credentials = ccxtpro_sync.Credentials("K" * 64, secret="S" * 64)
    caplog.set_level(logging.DEBUG)
    with refused_port() as port:
        rest = BinanceRest(f"http://127.0.0.1:{port}", "usdm", timeout=5.0)
        try:
            with pytest.raises(ccxtpro_sync.ExchangeNotAvailable) as caught:
                rest.with_api_key("PUT", "/fapi/v1/listenKey", credentials, {"listenKey": key})
        finally:
            rest.close()
    error = caught.value
    assert re.match(r"PUT /fapi/v1/listenKey to http://[^/?\s]+ failed: ", str(error)), str(error)
    assert error.__cause__ is not None
    said = _everything_said(error) + [r.getMessage() for r in caplog.records]
    assert [text for text in said if key in text or "listenKey=" in text] == []
