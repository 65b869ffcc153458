"""The figures ``client.connections()`` and ``client.connection_info()`` report."""

from __future__ import annotations

import msgspec


class ConnectionInfo(msgspec.Struct, kw_only=True, frozen=True):
    """A snapshot of one websocket connection and of the client around it.

    Times are seconds (monotonic clock). Hub figures (``waiters`` to
    ``callback_errors``) and ``cache_sizes`` are the client's, shared by all its
    connections.
    """

    name: str
    #: What it carries: ``market`` (market streams), ``ws_api`` (WS API requests, and
    #: spot user data) or ``user_data`` (a futures listenKey stream).
    kind: str
    url: str
    #: ``idle``, ``connecting``, ``open``, ``reconnecting`` or ``closed``.
    state: str
    #: Streams this connection carries (wanted; restored after every reconnect).
    subscriptions: list[str]
    #: How many of them the server has confirmed on the current socket.
    confirmed: int
    in_flight_requests: int
    connects: int
    reconnects: int
    #: Text and binary frames received: updates and replies to requests alike.
    messages: int
    protocol_errors: int
    requests_rejected: int
    #: From the latest (re)connect to its first update (a frame carrying data).
    first_update_latency: float | None
    #: Longest silence between two updates within a session.
    max_gap: float
    #: Since the last update (None before the first one).
    last_message_age: float | None
    #: Since the current socket opened (None while not open).
    connected_for: float | None
    last_error: str | None
    waiters: int
    callbacks: int
    #: Updates waiting for the dispatcher, and what the overflow policy did to others.
    queued: int
    coalesced: int
    dropped: int
    delivered: int
    callback_errors: int
    #: Entries held per cache, e.g. ``{"trades:BTC/USDT": 1000, "orderbook:BTC/USDT": 1}``.
    cache_sizes: dict[str, int]
