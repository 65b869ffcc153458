"""The project's local exchange (``ccxtpro_sync.simulator``) in a process of its own.

The memory benchmark measures a client with ``tracemalloc``, which counts every
allocation of its process; the exchange's per-stream state must not be among them.
:class:`LocalServer` starts an idle ``LocalExchange`` (no generator running: nothing
is published, so the client's memory is what its subscriptions cost) with extra
synthetic spot symbols, in a ``spawn`` child, and answers over a pipe.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from multiprocessing.connection import Connection as Pipe
from typing import Any


def _child_main(pipe: Pipe, extra_symbols: int) -> None:
    from _blaster import synthetic_specs

    from ccxtpro_sync.simulator import LocalExchange
    from ccxtpro_sync.simulator.catalog import DEFAULT_SYMBOLS

    symbols = {"spot": [*DEFAULT_SYMBOLS["spot"], *synthetic_specs(extra_symbols)]}
    with LocalExchange(auto_publish=False, symbols=symbols) as exchange:
        pipe.send(exchange.urls("spot"))
        while True:
            try:
                name, args = pipe.recv()
            except EOFError:
                return
            if name == "stop":
                return
            try:
                if name == "wait_streams":
                    count, timeout = args
                    got = exchange.wait_until(
                        lambda s, n=count: _streams(s) if _streams(s) >= n else None,
                        timeout,
                        f"{count} subscribed streams",
                    )
                    pipe.send(("ok", got))
                else:
                    pipe.send(("error", f"unknown command {name!r}"))
            except Exception as error:
                pipe.send(("error", repr(error)))


def _streams(stats: Any) -> int:
    return sum(len(c.subscriptions) for c in stats.connections)


class LocalServer:
    """Driver-side handle of the local exchange process; ``urls`` as ``LocalExchange.urls``."""

    def __init__(self, extra_symbols: int = 0) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pipe, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_child_main, args=(child, extra_symbols), daemon=True, name="bench-local"
        )
        self._process.start()
        if not self._pipe.poll(120):
            raise RuntimeError("the local exchange did not start")
        self.urls: dict[str, str] = self._pipe.recv()

    def wait_streams(self, count: int, timeout: float = 120.0) -> int:
        """Block until the exchange holds at least ``count`` subscribed streams."""
        self._pipe.send(("wait_streams", (count, timeout)))
        status, value = self._pipe.recv()
        if status != "ok":
            raise RuntimeError(f"local exchange: {value}")
        got: int = value
        return got

    def close(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self._pipe.send(("stop", ()))
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
