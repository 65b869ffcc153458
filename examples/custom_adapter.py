"""A complete adapter for a small JSON-RPC exchange, and the exchange itself.

The exchange (``MiniExchange``, a tiny local websocket server shipped with this
example) speaks a Deribit-like JSON-RPC dialect:

* ``public/auth`` with ``client_credentials`` (or ``refresh_token``) returns a
  token that expires after ``expires_in`` seconds;
* ``public/set_heartbeat`` starts ``test_request`` heartbeats; one left
  unanswered closes the connection (code 4000), as Deribit does;
* ``public/subscribe`` to ``ticker.<COIN>`` channels (unknown ones are silently
  left out of the acknowledgement), ``private/subscribe`` to ``user.orders``
  needs a login;
* ``private/enable_cancel_on_disconnect`` re-enables trading safety.

``MiniAdapter`` is everything the exchange needs on the client side; the
generic ``AdapterClient`` does the rest. Run it:

    python examples/custom_adapter.py

It watches a ticker, drops every connection on the server side, and shows the
wire of each session: connect, heartbeat set-up, login, subscriptions restored,
trading resumed -- in that order, after every drop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import threading
from collections.abc import Sequence
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed as ServerClosed

from ccxtpro_sync import AuthenticationError, ExchangeError
from ccxtpro_sync.adapters import AdapterClient, Decoded, Delivery, Limits, Policy, Reply

# -- the client side: one adapter ------------------------------------------------------


class MiniAdapter:
    """The adapter: names, frames and parsing for MiniExchange. No I/O, no threads."""

    name = "mini"
    limits = Limits(max_streams=100, messages_per_second=20.0)
    heartbeat = {"type": "jsonrpc", "interval": 10}
    credential_env = ("MINI_CLIENT_ID", "MINI_CLIENT_SECRET")

    def __init__(self, url: str, client_id: str = "", client_secret: str = "") -> None:
        self._url = url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token: str | None = None
        self._refresh_at = math.inf

    def url(self) -> str:
        return self._url

    # stream names -> message hashes: "ticker.BTC" -> "ticker:BTC"
    def hashes(self, stream: str) -> list[str]:
        kind, _, rest = stream.partition(".")
        return [f"{kind}:{rest}"]

    def _frame(self, request_id: int, method: str, params: dict[str, Any]) -> str:
        return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})

    # authentication on open, and the token refresh before expiry
    def authenticate(self, request_id: int) -> str | None:
        if not self._client_id:
            return None  # public data only
        params = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        return self._frame(request_id, "public/auth", params)

    def authenticated(self, result: Any, now: float) -> None:
        self._refresh_token = result["refresh_token"]
        self._refresh_at = now + 0.8 * float(result["expires_in"])  # refresh at 80 %

    def next_deadline(self) -> float:
        return self._refresh_at

    def on_timer(self, now: float, request_id: int) -> str | None:
        if now < self._refresh_at or self._refresh_token is None:
            return None
        self._refresh_at = math.inf  # until the reply sets the next one
        params = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        return self._frame(request_id, "public/auth", params)

    # subscriptions and their acknowledgements
    def subscribe(self, streams: Sequence[str], request_id: int) -> str:
        private = any(stream.startswith("user.") for stream in streams)
        method = "private/subscribe" if private else "public/subscribe"
        return self._frame(request_id, method, {"channels": list(streams)})

    def unsubscribe(self, streams: Sequence[str], request_id: int) -> str:
        return self._frame(request_id, "public/unsubscribe", {"channels": list(streams)})

    def refused(self, streams: Sequence[str], result: Any) -> list[str]:
        granted = set(result or [])  # bad channels are dropped silently: compare
        return [stream for stream in streams if stream not in granted]

    # resume: re-enable trading safety once everything else is back
    def resume(self, request_id: int) -> str | None:
        if not self._client_id:
            return None
        return self._frame(
            request_id, "private/enable_cancel_on_disconnect", {"scope": "connection"}
        )

    def request(self, method: str, params: Any, request_id: int) -> str:
        return self._frame(request_id, method, params or {})

    # frames -> deliveries and replies
    def decode(self, data: bytes, now: float) -> Decoded:
        try:
            message = json.loads(data)
        except (ValueError, RecursionError) as error:  # (nested deeper than json recurses)
            return Decoded(errors=[ExchangeError(f"mini: not JSON: {error}")])
        if "id" in message:
            error = message.get("error")
            if error is None:
                return Decoded(replies=[Reply(message["id"], message.get("result"))])
            kind = AuthenticationError if error.get("code") == 13004 else ExchangeError
            failure = kind(f"mini: {error.get('message')}", code=error.get("code"))
            return Decoded(replies=[Reply(message["id"], error=failure)])
        if message.get("method") == "subscription":
            params = message["params"]
            (message_hash,) = self.hashes(params["channel"])
            return Decoded(deliveries=[Delivery(message_hash, params["data"], Policy.LATEST)])
        return Decoded()

    def on_disconnect(self) -> list[Delivery]:
        # The exchange cancels this connection's orders when it drops (cancel on
        # disconnect): tell the user, whose open orders are gone.
        return [Delivery("cancel_on_disconnect:all", {"reason": "connection lost"})]


# -- the exchange side: a tiny local server --------------------------------------------


class MiniExchange:
    """A JSON-RPC websocket exchange on 127.0.0.1 in a daemon thread."""

    KEYS = {"demo-id": "demo-secret"}
    COINS = ("BTC", "ETH")

    def __init__(self, *, token_lifetime: float = 1.0, heartbeat_every: float = 0.3) -> None:
        self.token_lifetime = token_lifetime
        self.heartbeat_every = heartbeat_every
        #: The methods each connection received, in order.
        self.sessions: list[list[str]] = []
        self.heartbeat_closes = 0
        self.heartbeat_closed = threading.Event()
        self.refreshes = 0
        self._live: set[ServerConnection] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def start() -> Server:
            return await serve(self._serve, "127.0.0.1", 0)

        self._server = asyncio.run_coroutine_threadsafe(start(), self._loop).result(5)
        self.url = f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def drop_all(self) -> None:
        """Close every connection, as a maintenance restart would."""

        async def drop() -> None:
            for ws in list(self._live):
                await ws.close(1012, "restart")

        asyncio.run_coroutine_threadsafe(drop(), self._loop).result(5)

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _serve(self, ws: ServerConnection) -> None:
        wire: list[str] = []
        self.sessions.append(wire)
        self._live.add(ws)
        state: dict[str, Any] = {"authed": False, "channels": set(), "answered": asyncio.Event()}
        tasks = [asyncio.create_task(self._publish(ws, state))]
        try:
            async for raw in ws:
                request = json.loads(raw)
                wire.append(request["method"])
                answer = self._handle(request, state)
                if answer == "heartbeat":
                    tasks.append(asyncio.create_task(self._heartbeats(ws, state)))
                    answer = {"result": "ok"}
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": request["id"], **answer}))
        except ServerClosed:
            pass
        finally:
            self._live.discard(ws)
            for task in tasks:
                task.cancel()

    def _handle(self, request: dict[str, Any], state: dict[str, Any]) -> Any:
        method, params = request["method"], request.get("params") or {}
        if method == "public/set_heartbeat":
            return "heartbeat"
        if method == "public/test":
            state["answered"].set()
            return {"result": {"version": "1.0"}}
        if method == "public/auth":
            grant = params.get("grant_type")
            ok = (grant == "client_credentials" and
                  self.KEYS.get(params.get("client_id")) == params.get("client_secret")) or (
                  grant == "refresh_token" and params.get("refresh_token") == "rt")  # fmt: skip
            if not ok:
                return {"error": {"code": 13004, "message": "invalid_credentials"}}
            self.refreshes += grant == "refresh_token"
            state["authed"] = True
            token = {"access_token": "at", "refresh_token": "rt", "expires_in": self.token_lifetime}
            return {"result": token}
        if method.startswith("private/") and not state["authed"]:
            return {"error": {"code": 13009, "message": "unauthorized"}}
        if method in ("public/subscribe", "private/subscribe"):
            known = {f"ticker.{coin}" for coin in self.COINS}
            if state["authed"]:
                known.add("user.orders")
            granted = [c for c in params.get("channels", []) if c in known]
            state["channels"].update(granted)
            return {"result": granted}
        if method == "public/unsubscribe":
            state["channels"].difference_update(params.get("channels", []))
            return {"result": params.get("channels", [])}
        if method == "private/enable_cancel_on_disconnect":
            return {"result": "ok"}
        return {"error": {"code": -32601, "message": "method not found"}}

    async def _heartbeats(self, ws: ServerConnection, state: dict[str, Any]) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_every)
            state["answered"].clear()
            test = {"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}
            await ws.send(json.dumps(test))
            try:
                await asyncio.wait_for(state["answered"].wait(), 2 * self.heartbeat_every)
            except TimeoutError:
                self.heartbeat_closes += 1
                self.heartbeat_closed.set()
                await ws.close(4000, "heartbeat close")
                return

    async def _publish(self, ws: ServerConnection, state: dict[str, Any]) -> None:
        price = 100.0
        while True:
            await asyncio.sleep(0.05)
            price += 0.5
            for channel in sorted(state["channels"]):
                if channel.startswith("ticker."):
                    data = {"coin": channel.split(".", 1)[1], "last": price}
                    note = {"jsonrpc": "2.0", "method": "subscription",
                            "params": {"channel": channel, "data": data}}  # fmt: skip
                    with contextlib.suppress(ServerClosed):
                        await ws.send(json.dumps(note))


# -- putting it together ------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="how long to watch")
    args = parser.parse_args(argv)

    exchange = MiniExchange()
    client = AdapterClient(lambda: MiniAdapter(exchange.url, "demo-id", "demo-secret"), timeout=10)
    try:
        ticks: list[Any] = []
        seen = threading.Event()

        def on_ticker(ticker: Any) -> None:
            ticks.append(ticker)
            seen.set()

        with client.on("ticker.ETH", handler=on_ticker):
            print("ticker", client.watch("ticker.BTC"))
            print("refused channel:", _refusal(client, "ticker.DOGE"))
            exchange.drop_all()  # every subscription must come back by itself
            print("after the drop", client.watch("ticker.BTC"))
            seen.clear()
            if not seen.wait(10):
                print("no ETH ticker after the drop", file=sys.stderr)
                return 1
            threading.Event().wait(args.seconds)  # long enough for a token refresh
        print(f"ETH tickers: {len(ticks)}; token refreshes: {exchange.refreshes}")
        print(f"connections closed for a missed heartbeat: {exchange.heartbeat_closes}")
    finally:
        client.close()
        exchange.close()
    for number, wire in enumerate(exchange.sessions, 1):
        print(f"session {number}: {' '.join(wire)}")
    return 0


def _refusal(client: AdapterClient, stream: str) -> str:
    try:
        client.watch(stream, timeout=5)
    except ExchangeError as error:
        return type(error).__name__
    return "none"


if __name__ == "__main__":
    sys.exit(main())
