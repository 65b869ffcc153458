"""With a proxy in the environment, a host that websocket-client would reach directly
(``no_proxy`` as a subnet, which it honours) is dialled by the library, so ``close()``
still cuts a TCP connect that never answers instead of waiting for its timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ccxtpro_sync import ClientClosed, WebSocketClient

from ..blackhole import black_hole, connects_hanging, wait_hanging

PROMPT = 10.0
CONNECT_TIMEOUT = 30.0


@pytest.fixture
def hole() -> Iterator[tuple[str, int]]:
    with black_hole() as address:
        yield address


def test_close_cuts_a_direct_connect_when_no_proxy_names_a_subnet(
    hole: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = hole
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # never used: no_proxy covers host
    monkeypatch.setenv("no_proxy", "127.0.0.0/8")
    client = WebSocketClient(
        f"ws://{host}:{port}", connect_timeout=CONNECT_TIMEOUT, timeout=4 * PROMPT
    )
    errors: list[BaseException] = []

    def request() -> None:
        try:
            client.request({"method": "ping"})
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=request)
    thread.start()
    wait_hanging(port, timeout=PROMPT)  # the direct connect (not one to the proxy) hangs
    started = time.monotonic()
    client.close()
    took = time.monotonic() - started
    thread.join(PROMPT)
    assert not thread.is_alive(), "the blocked call did not wake"
    assert took < PROMPT, f"close() took {took:.1f}s behind a hanging connect"
    assert connects_hanging(port) == 0, "a connecting socket was left behind"
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed), errors
