"""Lifecycle: close, context managers, atexit, threads and sockets, fork, event loops."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest

from ccxtpro_sync import ClientClosed, NetworkError
from ccxtpro_sync.simulator import LocalExchange
from tests.forking import report_from_child

from ..conftest import library_threads
from .conftest import SPOT, make, subprocess_env


def exchange_ports(exchange: LocalExchange) -> set[int]:
    urls = exchange.urls("spot")
    return {urlsplit(urls["ws"]).port, urlsplit(urls["rest"]).port}  # type: ignore[misc]


def client_sockets(exchange: LocalExchange) -> list[Any]:
    """This process's TCP sockets that connect *to* the exchange (not its server side)."""
    ports = exchange_ports(exchange)
    return [
        c for c in psutil.Process().net_connections(kind="tcp") if c.raddr and c.raddr.port in ports
    ]


def busy_client(exchange: LocalExchange) -> Any:
    """A client with every kind of thread running: reader, dispatcher, snapshot fetcher."""
    client = make(exchange)
    client.watch_ticker(SPOT)
    client.on_trades(SPOT, lambda trades: None)
    client.watch_order_book(SPOT)
    return client


def test_close_is_idempotent_and_leaves_no_thread_and_no_socket(exchange: LocalExchange) -> None:
    client = busy_client(exchange)
    names = {t.name for t in library_threads()}
    assert any(n.startswith("ccxtpro_sync-reader-") for n in names)
    assert f"ccxtpro_sync-{client.name}-dispatcher" in names
    assert f"ccxtpro_sync-{client.name}-snapshots" in names
    assert all(t.daemon for t in library_threads())
    assert client_sockets(exchange), "the client should hold sockets while open"
    client.close()
    client.close()
    assert client.closed
    assert library_threads() == []
    assert client_sockets(exchange) == []
    exchange.wait_for_connections(0, timeout=5)
    with pytest.raises(ClientClosed):
        client.watch_ticker(SPOT)


def test_context_manager_closes_even_on_error(exchange: LocalExchange) -> None:
    with pytest.raises(RuntimeError, match="user code"):
        with busy_client(exchange) as client:
            raise RuntimeError("user code")
    assert client.closed and library_threads() == [] and client_sockets(exchange) == []


ATEXIT_SCRIPT = """
import atexit, json, os, threading

def left():  # registered before the library's hook, so it runs after it (LIFO)
    names = sorted(t.name for t in threading.enumerate() if t.name.startswith("ccxtpro_sync"))
    print("library threads left: %s" % names, flush=True)

atexit.register(left)
import ccxtpro_sync
from ccxtpro_sync import signals

def closed(sender, **payload):
    print("closed will_reconnect=%s" % payload["will_reconnect"], flush=True)

signals.connection_closed.connect(closed)
client = ccxtpro_sync.binance(
    {"environment": "local", "urls": json.loads(os.environ["URLS"]), "timeout": 10}
)
client.watch_ticker("BTC/USDT")
client.on_trades("BTC/USDT", lambda trades: None)
client.watch_order_book("BTC/USDT")
stream = client.stream_ticker("BTC/USDT")
woken = threading.Event()

def wait_forever():
    try:
        client.watch_ticker("ETH/USDT", timeout=60)  # wakes up by update or by close()
    except ccxtpro_sync.ClientClosed:
        woken.set()

blocked = threading.Thread(target=wait_forever, daemon=True)
blocked.start()
print("ready", flush=True)
# ...and the script ends without close()
"""


def test_an_unclosed_client_is_closed_at_exit_and_the_process_exits_promptly(
    exchange: LocalExchange,
) -> None:
    env = subprocess_env(URLS=json.dumps(exchange.urls("spot")))
    proc = subprocess.Popen(
        [sys.executable, "-c", ATEXIT_SCRIPT],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Promptly: the close at exit neither waits for the watcher blocked for 60 s nor
        # gives up on a thread it could not join (it would be listed below). (No
        # readline() first: on a loaded box its read took the lines after "ready" into
        # the text buffer, which communicate(), reading the pipe itself, never sees.)
        out, err = proc.communicate(timeout=45)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.splitlines()[:1] == ["ready"], out + err
    assert "library threads left: []" in out, out
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Exception" not in err, err
    assert "closed will_reconnect=False" in out  # the atexit hook closed the socket cleanly
    exchange.wait_for_connections(0, timeout=5)


FORK_SCRIPT = """
import json, os, sys
import ccxtpro_sync

client = ccxtpro_sync.binance(
    {"environment": "local", "urls": json.loads(os.environ["URLS"]), "timeout": 10}
)
client.watch_ticker("BTC/USDT")
pid = os.fork()
if pid == 0:
    try:
        client.watch_ticker("BTC/USDT", timeout=2)
        print("child: no error", flush=True)
    except ccxtpro_sync.NetworkError as error:
        print("child: NetworkError:", error, flush=True)
    sys.exit(0)  # a normal exit: the child's atexit hooks run
os.waitpid(pid, 0)
client.watch_ticker("BTC/USDT")
print("parent: reconnects", client.connections()[0].reconnects, flush=True)
client.close()
"""


def test_a_forked_child_gets_network_error_and_leaves_the_parent_alone(
    exchange: LocalExchange,
) -> None:
    env = subprocess_env(URLS=json.dumps(exchange.urls("spot")))
    done = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "child: NetworkError:" in done.stdout and "worker_process_init" in done.stdout
    # The child's exit did not send a close frame or shut the parent's socket down.
    assert "parent: reconnects 0" in done.stdout, done.stdout + done.stderr
    assert exchange.stats().disconnect_reasons.get("dropped", 0) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_in_process_child_must_create_its_own_client(exchange: LocalExchange) -> None:
    client = make(exchange)
    try:
        client.watch_ticker(SPOT)

        def in_child() -> dict[str, Any]:
            report: dict[str, Any] = {}
            try:
                client.watch_ticker(SPOT, timeout=2)
            except NetworkError as error:
                report["error"] = str(error)
            client.close()  # marks the inherited copy closed; the parent's socket stays
            with make(exchange) as fresh:
                report["fresh"] = fresh.watch_ticker(SPOT).symbol
            return report

        report = report_from_child(in_child)
        assert "cannot cross a fork" in report["error"]
        assert report["fresh"] == SPOT
        assert client.watch_ticker(SPOT).symbol == SPOT
        assert client.connections()[0].reconnects == 0
    finally:
        client.close()


# -- notebooks -----------------------------------------------------------------------------


def test_blocking_calls_work_inside_a_running_event_loop(exchange: LocalExchange) -> None:
    """A Jupyter cell runs inside the kernel's asyncio loop; blocking calls still work."""

    async def cell() -> dict[str, Any]:
        asyncio.get_running_loop()  # we really are inside a running loop
        found: dict[str, Any] = {}
        with make(exchange) as client:
            found["ticker"] = client.watch_ticker(SPOT)
            with client.stream_trades(SPOT, timeout=10) as batches:
                found["trades"] = next(batches)
            # The recommended way to get callback data into a cell: a queue.
            updates: queue.Queue[Any] = queue.Queue()
            with client.on_ticker(
                SPOT, lambda t: updates.put((threading.current_thread().name, t))
            ):
                found["thread"], found["callback"] = updates.get(timeout=10)
        return found

    found = asyncio.run(cell())
    assert found["ticker"].symbol == SPOT and found["trades"]
    assert found["callback"].symbol == SPOT
    assert found["thread"].startswith("ccxtpro_sync-") and found["thread"].endswith("-dispatcher")


def test_a_client_made_in_a_notebook_style_loop_cell_can_be_used_from_the_next(
    exchange: LocalExchange,
) -> None:
    """Cells come and go; the client and its threads outlive each cell's coroutine."""
    client = make(exchange)
    try:

        async def first_cell() -> None:
            client.watch_ticker(SPOT)

        async def second_cell() -> Any:
            return client.watch_order_book(SPOT, limit=5)

        asyncio.run(first_cell())
        book = asyncio.run(second_cell())
        assert len(book.bids) <= 5 and book.symbol == SPOT
    finally:
        client.close()
