"""A ``WebSocketClient`` URL that names no host or an impossible port is refused by
the constructor: on the reader an empty host is a resolver error retried forever."""

from __future__ import annotations

import pytest

from ccxtpro_sync import WebSocketClient


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("wss://:443/ws", "names no host"),
        ("ws:///ws", "names no host"),
        ("ws://example.org:99999/ws", "Port out of range"),
        ("ws://example.org:port/ws", "Port could not be cast"),
    ],
)
def test_a_url_without_a_usable_address_is_refused(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        WebSocketClient(url, reconnect=False).close()
