"""``close()`` while a TCP connect hangs (an address that never answers its SYN).

Every client's connect timeout here is far above PROMPT: a close() that waits for the
connect to time out fails. close() must return promptly, raise nothing, wake the
blocked call with ``ClientClosed`` and leave no thread (the autouse fixture) and no
connecting socket behind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ccxtpro_sync
from ccxtpro_sync import ClientClosed, WebSocketClient, deribit
from ccxtpro_sync.simulator import LocalDeribit, LocalExchange

from ..blackhole import black_hole, connects_hanging, wait_hanging
from .support import fast_config

#: close() must return within this; every connect timeout below is three times longer.
PROMPT = 10.0
CONNECT_TIMEOUT = 30.0


@pytest.fixture
def hole() -> Iterator[tuple[str, int]]:
    with black_hole() as address:
        yield address


def blocked(call: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """Run ``call`` on another thread; collect what it raises."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def close_promptly(client: Any, port: int, thread: threading.Thread) -> None:
    wait_hanging(port, timeout=PROMPT)
    started = time.monotonic()
    client.close()
    took = time.monotonic() - started
    thread.join(PROMPT)
    assert not thread.is_alive(), "the blocked call did not wake"
    assert took < PROMPT, f"close() took {took:.1f}s behind a hanging connect"
    assert connects_hanging(port) == 0, "a connecting socket was left behind"


def test_binance_close_cuts_a_hanging_websocket_connect(
    exchange: LocalExchange, hole: tuple[str, int]
) -> None:
    host, port = hole
    client = ccxtpro_sync.binance(
        fast_config(exchange, timeout=CONNECT_TIMEOUT, urls={"ws": f"ws://{host}:{port}"})
    )
    client.load_markets()  # over the local exchange's REST: only the websocket hangs
    thread, errors = blocked(lambda: client.watch_ticker("BTC/USDT", timeout=4 * PROMPT))
    close_promptly(client, port, thread)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed), errors


def test_binance_close_cuts_a_hanging_rest_connect(
    exchange: LocalExchange, hole: tuple[str, int]
) -> None:
    host, port = hole
    client = ccxtpro_sync.binance(
        fast_config(exchange, timeout=CONNECT_TIMEOUT, urls={"rest": f"http://{host}:{port}"})
    )
    thread, errors = blocked(client.load_markets)  # exchangeInfo, as a first watch does
    close_promptly(client, port, thread)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed), errors


def test_deribit_close_cuts_a_hanging_websocket_connect(hole: tuple[str, int]) -> None:
    host, port = hole
    with LocalDeribit(seed=3, auto_publish=False) as ex:
        client = deribit(
            {
                "environment": "local",
                "local": ex,
                "urls": {"ws": f"ws://{host}:{port}"},
                "timeout": CONNECT_TIMEOUT,
            }
        )
        client.load_markets()
        thread, errors = blocked(lambda: client.watch_ticker("BTC-PERPETUAL", timeout=4 * PROMPT))
        close_promptly(client, port, thread)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed), errors


def test_websocket_client_close_cuts_a_hanging_connect(hole: tuple[str, int]) -> None:
    host, port = hole
    client = WebSocketClient(
        f"ws://{host}:{port}", connect_timeout=CONNECT_TIMEOUT, timeout=4 * PROMPT
    )
    thread, errors = blocked(lambda: client.request({"method": "ping"}))
    close_promptly(client, port, thread)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed), errors


def test_deribit_close_cuts_a_hanging_rest_connect(hole: tuple[str, int]) -> None:
    host, port = hole
    with LocalDeribit(seed=3, auto_publish=False) as ex:
        client = deribit(
            {
                "environment": "local",
                "local": ex,
                "urls": {"rest": f"http://{host}:{port}"},
                "timeout": CONNECT_TIMEOUT,
            }
        )
        thread, errors = blocked(client.load_markets)  # get_instruments, as a first watch does
        close_promptly(client, port, thread)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed), errors
