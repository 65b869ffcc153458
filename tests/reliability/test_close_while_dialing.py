"""``close()`` while a TCP connect hangs (an address that never answers its SYN).

Every client's connect timeout here is far above PROMPT: a close() that waits for the
connect to time out fails. close() must return promptly, raise nothing, wake the
blocked call with ``ClientClosed`` and leave no thread (the autouse fixture) and no
connecting socket behind.
"""

from __future__ import annotations

import ccxtpro_sync
from ccxtpro_sync import ClientClosed, DeribitClient, WebSocketClient, deribit
from ccxtpro_sync.simulator import LocalDeribit, LocalExchange

from ..blackhole import CONNECT_TIMEOUT, PROMPT, close_promptly
from .support import fast_config, run_in_thread


def local_deribit(ex: LocalDeribit, **urls: str) -> DeribitClient:
    """A Deribit client of ``ex`` with ``urls`` (the hole) and the long connect timeout."""
    return deribit({"environment": "local", "local": ex, "urls": urls, "timeout": CONNECT_TIMEOUT})


def test_binance_close_cuts_a_hanging_websocket_connect(
    exchange: LocalExchange, hole: tuple[str, int]
) -> None:
    host, port = hole
    client = ccxtpro_sync.binance(
        fast_config(exchange, timeout=CONNECT_TIMEOUT, urls={"ws": f"ws://{host}:{port}"})
    )
    client.load_markets()  # over the local exchange's REST: only the websocket hangs
    thread, errors = run_in_thread(lambda: client.watch_ticker("BTC/USDT", timeout=4 * PROMPT))
    close_promptly(client, port, thread)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed), errors


def test_binance_close_cuts_a_hanging_rest_connect(
    exchange: LocalExchange, hole: tuple[str, int]
) -> None:
    host, port = hole
    client = ccxtpro_sync.binance(
        fast_config(exchange, timeout=CONNECT_TIMEOUT, urls={"rest": f"http://{host}:{port}"})
    )
    thread, errors = run_in_thread(client.load_markets)  # exchangeInfo, as a first watch does
    close_promptly(client, port, thread)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed), errors


def test_deribit_close_cuts_a_hanging_websocket_connect(hole: tuple[str, int]) -> None:
    host, port = hole
    with LocalDeribit(seed=3, auto_publish=False) as ex:
        client = local_deribit(ex, ws=f"ws://{host}:{port}")
        client.load_markets()
        thread, errors = run_in_thread(
            lambda: client.watch_ticker("BTC-PERPETUAL", timeout=4 * PROMPT)
        )
        close_promptly(client, port, thread)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed), errors


def test_websocket_client_close_cuts_a_hanging_connect(hole: tuple[str, int]) -> None:
    host, port = hole
    client = WebSocketClient(
        f"ws://{host}:{port}", connect_timeout=CONNECT_TIMEOUT, timeout=4 * PROMPT
    )
    thread, errors = run_in_thread(lambda: client.request({"method": "ping"}))
    close_promptly(client, port, thread)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed), errors


def test_deribit_close_cuts_a_hanging_rest_connect(hole: tuple[str, int]) -> None:
    host, port = hole
    with LocalDeribit(seed=3, auto_publish=False) as ex:
        client = local_deribit(ex, rest=f"http://{host}:{port}")
        thread, errors = run_in_thread(client.load_markets)  # get_instruments, as a first watch
        close_promptly(client, port, thread)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed), errors
