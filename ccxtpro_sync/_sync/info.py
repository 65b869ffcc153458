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
    #: Seconds this connection's reader waited for the callback dispatcher: an
    #: ``APPEND`` stream's callbacks were ``max_items`` behind (backpressure), or a
    #: high-water yield let the dispatcher run during a burst.
    reader_wait: float = 0.0
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
    #: Age in seconds of the oldest update the dispatcher has not taken yet.
    lag: float = 0.0
    #: All readers' waits for the dispatcher: seconds in all, times blocked by a
    #: full queue, high-water yields.
    reader_wait_total: float = 0.0
    reader_blocked: int = 0
    reader_yields: int = 0
    #: ``threadAffinity="follow"``: times the dispatcher was moved to the CPU of the
    #: reader that rang it, and times it was put back on its home CPUs for waking late
    #: there (other work on that CPU; following then pauses for a cool-down).
    follow_moves: int = 0
    follow_drops: int = 0
    #: Entries held per cache, e.g. ``{"trades:BTC/USDT": 1000, "orderbook:BTC/USDT": 1}``.
    cache_sizes: dict[str, int]
