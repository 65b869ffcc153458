"""With a proxy in the environment, a host that websocket-client would reach directly
(``no_proxy`` as a subnet, which it honours) is dialled by the library, so ``close()``
still cuts a TCP connect that never answers instead of waiting for its timeout."""

from __future__ import annotations

import pytest

from ccxtpro_sync import ClientClosed, WebSocketClient

from ..blackhole import CONNECT_TIMEOUT, PROMPT, close_promptly
from .support import run_in_thread


def test_close_cuts_a_direct_connect_when_no_proxy_names_a_subnet(
    hole: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = hole
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # never used: no_proxy covers host
    monkeypatch.setenv("no_proxy", "127.0.0.0/8")
    client = WebSocketClient(
        f"ws://{host}:{port}", connect_timeout=CONNECT_TIMEOUT, timeout=4 * PROMPT
    )
    thread, errors = run_in_thread(lambda: client.request({"method": "ping"}))
    # the direct connect to the hole (not one to the proxy) hangs, and close() cuts it
    close_promptly(client, port, thread)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed), errors
