"""docs/threading.md: no library lock is held across network I/O -- markets included."""

from __future__ import annotations

import http.server
import threading
import urllib.request
from typing import Any

import ccxtpro_sync
from ccxtpro_sync.simulator import LocalExchange

from .support import make_client

WAIT = 10.0


class HoldingProxy:
    """Forwards REST calls to the local exchange; holds the second exchangeInfo
    until ``release`` is set, with ``held`` set while it waits."""

    def __init__(self, upstream: str) -> None:
        self.held = threading.Event()
        self.release = threading.Event()
        self.exchange_infos = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if "exchangeInfo" in self.path:
                    proxy.exchange_infos += 1
                    if proxy.exchange_infos == 2:
                        proxy.held.set()
                        proxy.release.wait(WAIT)
                with urllib.request.urlopen(upstream + self.path, timeout=WAIT) as reply:
                    body = reply.read()
                    status = reply.status
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            # shutdown() waits for the loop to poll: 0.5 s by default
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(WAIT)


def test_markets_stay_readable_while_a_reload_waits_for_exchange_info() -> None:
    with LocalExchange(seed=6, auto_publish=False) as ex:
        proxy = HoldingProxy(ex.urls("spot")["rest"])
        try:
            client = make_client(ccxtpro_sync.binance, ex, urls={"rest": proxy.url})
            with client:
                assert "BTC/USDT" in client.load_markets()
                reloading = threading.Thread(target=client.load_markets, kwargs={"reload": True})
                reloading.start()
                assert proxy.held.wait(WAIT)  # the reload is on the wire now
                read: list[Any] = []
                reader = threading.Thread(target=lambda: read.append(client.markets))
                reader.start()
                reader.join(2.0)
                blocked = reader.is_alive()
                proxy.release.set()
                reader.join(WAIT)
                reloading.join(WAIT)
                assert not blocked, "client.markets waited for another thread's REST request"
                assert "BTC/USDT" in read[0]
                assert proxy.exchange_infos == 2
        finally:
            proxy.close()
