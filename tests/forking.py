"""Tests across ``os.fork()``: a child that reports what it saw through a pipe and never
returns into pytest (a forked pytest would run the rest of the session twice)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any

import ccxtpro_sync


def report_from_child(child: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Fork; the child runs ``child`` and sends its JSON report back. The child must exit 0."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        status = 1
        try:
            os.close(read_end)
            os.write(write_end, json.dumps(child()).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report: dict[str, Any] = json.loads(pipe.read() or "{}")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return report


def report_from_a_callback_fork(config: dict[str, Any], child: Callable[[], str]) -> str:
    """A Binance client made from ``config`` whose first trades callback forks: what
    ``child`` returns in the child process, which then leaves at once."""
    read, write = os.pipe()
    forked = threading.Event()
    children: list[int] = []

    def fork_once(_trades: Any) -> None:
        if forked.is_set():
            return
        forked.set()
        pid = os.fork()
        if pid == 0:  # the child: report and leave at once
            try:
                os.write(write, child().encode())
            finally:
                os._exit(0)
        children.append(pid)

    try:
        with ccxtpro_sync.binance(config) as client:
            client.on_trades("BTC/USDT", fork_once)
            assert forked.wait(10)
            report = os.read(read, 4096).decode()  # blocks until the child wrote
        os.waitpid(children[0], 0)
    finally:
        os.close(read)
        os.close(write)
    return report
