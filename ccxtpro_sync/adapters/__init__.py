"""Build exchange adapters on the library's threaded core (see docs/adapters.md).

* ``Adapter``: the interface an exchange implements (sans-I/O: frames in and out).
* ``AdapterClient``: the generic client that drives it -- connection planning,
  ``watch``/``on``/``stream``/``un_watch``, requests, reconnection with the
  restoration order (connect, authenticate, restore subscriptions, resume),
  heartbeats and timers, raw tap and replay.
* ``Decoded``, ``Reply``, ``Limits``: the values an adapter returns; ``FramePacer``:
  the pacing by request class a ``Limits`` may carry.
* Heartbeat strategies for ``Adapter.heartbeat`` and ``WebSocketClient``.
"""

from .._core.events import Delivery, Policy
from .._core.heartbeat import (
    CustomHeartbeat,
    Disabled,
    Heartbeat,
    JsonRpcHeartbeat,
    PingPong,
    ServerPing,
    Tick,
)
from .._core.pacing import FramePacer
from .base import Adapter, Decoded, Limits, Reply
from .client import AdapterClient
from .protocol import AdapterProtocol

__all__ = [
    "Adapter",
    "AdapterClient",
    "AdapterProtocol",
    "CustomHeartbeat",
    "Decoded",
    "Delivery",
    "Disabled",
    "FramePacer",
    "Heartbeat",
    "JsonRpcHeartbeat",
    "Limits",
    "PingPong",
    "Policy",
    "Reply",
    "ServerPing",
    "Tick",
]
