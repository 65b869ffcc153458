"""The adapter seam: what an exchange implements so the generic layer can drive it.

An ``Adapter`` is sans-I/O. It never opens a socket, starts a thread or reads the
clock; every method is called with the connection's lock held, must be quick and
must not block. It turns intentions (subscribe these streams, authenticate,
re-enable trading) into frames, and frames into deliveries and replies. The
generic layer (``AdapterProtocol`` under a ``Connection``, driven by
``AdapterClient``) does the rest: connection planning, reference counting,
holds, ``watch``/``on``/``stream``/``un_watch``, reconnection, heartbeats, raw tap
and replay, and the restoration order after every (re)connect:

    connect -> authenticate -> restore subscriptions -> resume -> ready

Each step is sent only after the previous one was acknowledged; ``ready`` (and
with it every ``watch`` waiting for the connection) comes after the last one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._core.events import Delivery
from .._core.heartbeat import Heartbeat
from .._core.pacing import FramePacer

__all__ = ["Adapter", "Decoded", "Limits", "Reply"]


@dataclass(frozen=True, slots=True)
class Limits:
    """What the exchange allows, for connection planning and pacing."""

    #: Streams one connection may carry; the planner opens another beyond that.
    max_streams: int = 1000
    #: Frames per second the client may send on one connection.
    messages_per_second: float = 5.0
    #: Paces each frame by its class instead (replaces ``messages_per_second``); one
    #: object for every connection of a client when the exchange counts per account.
    pacer: FramePacer | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to a request the adapter built with ``request_id``."""

    request_id: int
    result: Any = None
    #: A typed error (from ``ccxtpro_sync``'s exception tree) when the request failed.
    error: BaseException | None = None


@dataclass(slots=True)
class Decoded:
    """What one frame meant."""

    deliveries: list[Delivery] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    #: Problems worth reporting (a malformed frame); never fatal.
    errors: list[BaseException] = field(default_factory=list)
    #: The server asked us to go (maintenance): reconnect now.
    reconnect_reason: str | None = None
    #: Streams whose state broke (a gap in a sequenced book): the protocol sends an
    #: unsubscribe and a subscribe for just these, to get a fresh snapshot.
    resubscribe: list[str] = field(default_factory=list)


class Adapter(Protocol):
    """One exchange's wire protocol, for ``AdapterClient``.

    Attributes:
        name: short exchange name, for thread names, logs and ``RawMessage.source``.
        limits: per-connection stream and outgoing-message limits.
        heartbeat: the keep-alive, as ``WebSocketClient`` takes it
            (``{"type": "jsonrpc", "interval": 10}``, ``"server_ping"``, ...).
        credential_env: the environment variables this adapter reads its keys from,
            e.g. ``("DERIBIT_CLIENT_ID", "DERIBIT_CLIENT_SECRET")`` (empty: public only).
    """

    name: str
    limits: Limits
    heartbeat: Heartbeat | str | Mapping[str, Any] | None
    credential_env: tuple[str, ...]

    def url(self) -> str:
        """The URL to (re)connect to."""
        ...

    def hashes(self, stream: str) -> list[str]:
        """The message hashes a stream's updates are published under."""
        ...

    def authenticate(self, request_id: int) -> str | None:
        """The login frame sent first after every (re)connect, or None (public only)."""
        ...

    def authenticated(self, result: Any, now: float) -> None:
        """The login reply (e.g. keep the token and its expiry for ``next_deadline``)."""
        ...

    def subscribe(self, streams: Sequence[str], request_id: int) -> str:
        """One frame subscribing ``streams``."""
        ...

    def unsubscribe(self, streams: Sequence[str], request_id: int) -> str:
        """One frame unsubscribing ``streams``."""
        ...

    def refused(self, streams: Sequence[str], result: Any) -> list[str]:
        """Which of ``streams`` a subscribe acknowledgement did *not* grant (some
        exchanges answer success and silently drop bad channels)."""
        ...

    def resume(self, request_id: int) -> str | None:
        """The frame that re-enables trading after the subscriptions are restored (e.g.
        cancel-on-disconnect), or None."""
        ...

    def request(self, method: str, params: Any, request_id: int) -> str:
        """A frame for an application request (``AdapterClient.request``)."""
        ...

    def decode(self, data: bytes, now: float) -> Decoded:
        """Interpret one frame."""
        ...

    def next_deadline(self) -> float:
        """When ``on_timer`` must run next (monotonic seconds; ``math.inf``: never)."""
        ...

    def on_timer(self, now: float, request_id: int) -> str | None:
        """Time passed: a frame to send (e.g. a token refresh), or None. Its reply comes
        back through ``authenticated``."""
        ...

    # Optional: ``restored() -> list[Delivery]``, called when the restoration order has
    # finished (``ready``) after every (re)connect; its deliveries go to the hub like
    # data (e.g. a marker the client listens to, to reconcile what the gap missed).

    def on_disconnect(self) -> list[Delivery]:
        """The socket is gone. The cancel-on-disconnect hook: what the user must hear
        (e.g. orders the exchange cancelled with the connection)."""
        ...
