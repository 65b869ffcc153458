"""Secrets and tokens never leave the process (issue 12): listenKeys, API secrets."""

from __future__ import annotations

import logging

import pytest

import ccxtpro_sync
from ccxtpro_sync.contrib.logging import log_signals
from ccxtpro_sync.simulator import LocalExchange

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
            key = client._listen_key.listen_key
            assert key
            user = f"{client.name}-user-data"
            logs["connection_started"].wait_for(1, where=lambda p: p["name"] == user)
            assert exchange.faults.drop() >= 1  # a drop: closed, then started again
            logs["connection_closed"].wait_for(1, where=lambda p: p["name"] == user)
            logs["connection_started"].wait_for(2, where=lambda p: p["name"] == user)
            # What ConnectionInfo (and so connection_info(), metrics labels) is built from.
            info = client._user_stream.info()
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
