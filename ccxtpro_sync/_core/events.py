"""Values exchanged between a sans-I/O protocol and the connection that drives it.

A protocol never touches a socket: it is handed frames and returns an
``Inbound`` describing what the frame means (data to deliver, request
outcomes, frames to send, a reason to reconnect). The connection performs
the I/O and runs user code.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import msgspec

#: A signal to send later: the attribute name on ``signals`` and its keyword payload.
Notice = tuple[str, dict[str, Any]]


class Policy(enum.Enum):
    """How undelivered updates for one message hash are kept while callbacks lag.

    ``LATEST``: only the newest value is kept (tickers, books, bid/ask, mark
    price) -- a consumer that lags sees fewer, fresher updates.
    ``APPEND``: values are lists that concatenate (trades, klines, orders),
    bounded per hash; when the bound is hit the oldest items are dropped and
    counted, never the stream.
    """

    LATEST = "latest"
    APPEND = "append"


class Deferred(msgspec.Struct):
    """A value built only when a consumer takes it, and at most once.

    Order books change with every depth diff, but most versions are superseded
    before any callback runs (``LATEST`` keeps only the newest). Publishing a
    ``Deferred`` instead of a copy moves the copy to the consumer's side and skips
    it for the versions nobody sees. ``build(arg)`` returns the value, or None when
    it no longer makes sense (the book is resyncing): nothing is delivered then.
    One is made per depth diff: a Struct (made in C) around a function made once,
    with its argument, costs less than a closure per diff.
    """

    build: Callable[[Any], Any]
    arg: Any = None
    built: bool = False
    value: Any = None

    def resolve(self) -> Any:
        if not self.built:
            self.value = self.build(self.arg)
            self.built = True
        return self.value


# The three values below are msgspec Structs rather than dataclasses: one of each
# is built per received frame, and a frozen dataclass costs several times more.


class Delivery(msgspec.Struct, frozen=True):
    """One update for waiters and callbacks registered under ``message_hash``."""

    message_hash: str
    value: Any
    policy: Policy = Policy.LATEST


class Response(msgspec.Struct, frozen=True):
    """The outcome of a request the connection sent with ``request_id``."""

    request_id: int | str
    result: Any = None
    error: BaseException | None = None


class Inbound(msgspec.Struct):
    """Everything one frame (or one connection event) asks the connection to do."""

    deliveries: list[Delivery] = []
    responses: list[Response] = []
    #: Waiters on these hashes must fail (e.g. the server refused their subscription).
    rejections: list[tuple[str, BaseException]] = []
    #: Frames to send, in order (e.g. the next resume step after a logon reply).
    outgoing: list[str] = []
    #: Protocol-level problems worth reporting (malformed frame, unknown event); never fatal.
    errors: list[BaseException] = []
    #: Set when the peer asked us to go away (e.g. ``serverShutdown``): reconnect now.
    reconnect_reason: str | None = None
    #: Set when the resume sequence (auth, then subscriptions) is complete.
    ready: bool = False
    #: Telemetry to send once every lock is released: (signal attribute name, payload).
    notices: list[Notice] = []
    #: Work for the owner's helper threads (a REST snapshot to fetch), handed over by
    #: value once every lock is released: the protocol never calls up into its owner.
    tasks: list[Any] = []


#: Message hash of raw frames, for recorders (see ``RawTap``).
RAW_HASH = "raw"


class RawMessage(msgspec.Struct, frozen=True, gc=False):
    """One payload exactly as received, for recorders, replays and bug reports.

    ``channel`` is the stream name for market streams (``btcusdt@aggTrade``) or
    ``ws-api`` for WebSocket API responses and events; ``data`` is the stream's
    payload (the ``data`` of a combined-stream frame) or the whole frame.
    """

    source: str
    channel: str
    data: bytes
    #: Wall-clock receive time in seconds since the epoch.
    received: float


class RawTap:
    """Shared switch: protocols deliver ``RawMessage``s under ``RAW_HASH`` while on.

    Off by default, so frames cost nothing extra unless someone records them.
    ``clock`` (wall-clock seconds, e.g. ``time.time``) comes from the threaded layer
    that owns the tap: this module never reads a clock itself.
    """

    __slots__ = ("clock", "enabled")

    def __init__(self, clock: Callable[[], float]) -> None:
        self.enabled = False
        self.clock = clock
