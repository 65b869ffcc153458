"""Keep-alive strategies: when to probe a connection and when to call it dead.

A heartbeat is sans-I/O: the connection hands it the time (``now``, monotonic
seconds) and what arrived, and it answers with a ``Tick`` (send a websocket ping,
send these frames, or the connection is dead and why). It never reads the clock,
sleeps or touches a socket, so each strategy is tested with plain numbers.

The connection drives it in two ways:

* the socket read times out after ``period`` seconds of silence, and
* after any read, when ``now`` has passed ``next_deadline()``;

either way it calls ``on_timer(now, last_rx)``. Strategies that only care about
silence (``ServerPing``, ``JsonRpcHeartbeat``, ``Disabled``) keep ``next_deadline()``
at infinity, so a busy socket pays one float comparison per read for them.

The kinds, and when to use each:

* ``server_ping``: the server pings, we answer; the connection is dead after
  ``silence`` seconds without a byte (Binance). We also ping after ``interval``
  seconds of quiet, which servers of this kind accept.
* ``ping_pong``: we ping every ``interval`` seconds; dead when a pong is later than
  ``timeout`` (servers that close a client that never pings).
* ``jsonrpc``: ``public/set_heartbeat`` on open, answer every ``test_request`` with
  ``public/test``; dead after ``interval + timeout`` seconds with no frame (Deribit).
* ``custom``: a probe frame every ``interval`` seconds, a predicate that recognises
  the reply; dead when no reply within ``timeout``.
* ``disabled``: nothing is sent and silence is never fatal.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "CustomHeartbeat",
    "Disabled",
    "Heartbeat",
    "JsonRpcHeartbeat",
    "PingPong",
    "ServerPing",
    "Tick",
    "make_heartbeat",
]

INFINITY = math.inf


@dataclass(slots=True)
class Tick:
    """What a heartbeat wants done now."""

    #: Send a websocket ping frame.
    ping: bool = False
    #: Text frames to send, in order.
    frames: list[str] = field(default_factory=list)
    #: Set when the connection is dead: the reason, for logs and ``ConnectionClosed``.
    dead: str | None = None


_NOTHING: tuple[bool, list[str]] = (False, [])


class Heartbeat(Protocol):
    """What a connection needs from a keep-alive strategy (one session at a time)."""

    #: Longest wait for a socket read; bounds how late ``on_timer`` can run.
    period: float
    #: True when ``on_message`` must see every data frame (application heartbeats).
    inspects_messages: bool

    def on_open(self, now: float) -> list[str]:
        """A new session: reset, and return the frames to send first."""
        ...

    def next_deadline(self) -> float:
        """When ``on_timer`` must run even if data keeps arriving (``math.inf``: never)."""
        ...

    def on_timer(self, now: float, last_rx: float) -> Tick:
        """Time passed; ``last_rx`` is when the latest bytes arrived."""
        ...

    def on_pong(self, now: float) -> None:
        """A websocket pong arrived."""
        ...

    def on_message(self, data: bytes, now: float) -> tuple[bool, list[str]]:
        """A data frame (only if ``inspects_messages``): (consumed, frames to answer with).
        A consumed frame is the heartbeat's own and is not handed to the protocol."""
        ...


def _positive(name: str, value: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"heartbeat {name} must be a positive number of seconds, not {value!r}")
    if math.isinf(value):
        raise ValueError(f"heartbeat {name} must be finite")
    return float(value)


class _Base:
    period: float = 30.0
    inspects_messages = False

    def on_open(self, now: float) -> list[str]:
        return []

    def next_deadline(self) -> float:
        return INFINITY

    def on_pong(self, now: float) -> None:
        return None

    def on_message(self, data: bytes, now: float) -> tuple[bool, list[str]]:
        return _NOTHING


class ServerPing(_Base):
    """Answer the server's pings (the connection always does) and detect silence.

    ``on_timer`` may be called more often than every ``interval`` (a connection that
    wakes for other reasons): it pings only after ``interval`` seconds without data
    or a ping of ours."""

    def __init__(self, interval: float = 20.0, silence: float = 60.0) -> None:
        self.silence = _positive("silence", silence)
        self.period = min(_positive("interval", interval), self.silence)
        self._last_ping = -INFINITY

    def on_open(self, now: float) -> list[str]:
        self._last_ping = -INFINITY
        return []

    def on_timer(self, now: float, last_rx: float) -> Tick:
        if now - last_rx >= self.silence:
            return Tick(dead=f"no data for {self.silence:.1f}s (silent peer)")
        # 0.9: a socket timeout of exactly ``period`` may end a hair early on our clock.
        if now - max(last_rx, self._last_ping) < 0.9 * self.period:
            return Tick()
        self._last_ping = now  # quiet, not yet dead: an unsolicited ping keeps NATs open
        return Tick(ping=True)


class _Probing(_Base):
    """Probe every ``interval`` seconds; dead when the answer is ``timeout`` late."""

    def __init__(self, interval: float, timeout: float | None) -> None:
        self.interval = _positive("interval", interval)
        self.timeout = _positive("timeout", timeout) if timeout is not None else self.interval
        self.period = min(self.interval, self.timeout) / 2
        self._next_probe = INFINITY
        self._answer_due = INFINITY

    def on_open(self, now: float) -> list[str]:
        self._next_probe = now + self.interval
        self._answer_due = INFINITY
        return []

    def next_deadline(self) -> float:
        return min(self._next_probe, self._answer_due)

    def on_timer(self, now: float, last_rx: float) -> Tick:
        if now >= self._answer_due:
            return Tick(dead=f"no {self._answer} within {self.timeout:.1f}s")
        if now >= self._next_probe:
            self._next_probe = now + self.interval
            if self._answer_due == INFINITY:
                self._answer_due = now + self.timeout
            return self._probe()
        return Tick()

    _answer = "answer"

    def _probe(self) -> Tick:
        raise NotImplementedError

    def _answered(self) -> None:
        self._answer_due = INFINITY


class PingPong(_Probing):
    """Ping every ``interval`` seconds; dead when a pong is ``timeout`` seconds late."""

    _answer = "pong"

    def __init__(self, interval: float = 20.0, timeout: float | None = None) -> None:
        super().__init__(interval, timeout)

    def _probe(self) -> Tick:
        return Tick(ping=True)

    def on_pong(self, now: float) -> None:
        self._answered()


class JsonRpcHeartbeat(_Base):
    """JSON-RPC heartbeats as Deribit does them.

    On open: ``public/set_heartbeat`` with ``interval``. Every ``heartbeat``
    notification of type ``test_request`` is answered with ``public/test`` at once.
    Any frame proves the peer alive (a busy socket gets no heartbeats); after
    ``interval + timeout`` seconds without one, the connection is dead. The replies
    to our own requests are consumed here, never seen by the protocol.
    """

    inspects_messages = True

    def __init__(
        self,
        interval: float = 30.0,
        timeout: float | None = None,
        *,
        ids: Callable[[], int] | None = None,
        set_method: str = "public/set_heartbeat",
        test_method: str = "public/test",
    ) -> None:
        self.interval = _positive("interval", interval)
        self.timeout = _positive("timeout", timeout) if timeout is not None else self.interval
        self.period = min(self.interval, self.timeout) / 2
        counter: Iterator[int] = itertools.count(1 << 30)
        self._ids = ids if ids is not None else counter.__next__
        self._set_method = set_method
        self._test_method = test_method
        self._own: set[int] = set()
        #: How many test requests were answered (for tests and telemetry).
        self.answered = 0

    def bind(self, ids: Callable[[], int]) -> None:
        """Take request ids from the owner's counter, so ours never collide with its."""
        self._ids = ids

    def _request(self, method: str, params: Mapping[str, Any]) -> str:
        request_id = self._ids()
        self._own.add(request_id)
        return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})

    def on_open(self, now: float) -> list[str]:
        self._own.clear()
        return [self._request(self._set_method, {"interval": self.interval})]

    def on_timer(self, now: float, last_rx: float) -> Tick:
        limit = self.interval + self.timeout
        if now - last_rx >= limit:
            return Tick(dead=f"no heartbeat or data for {limit:.1f}s")
        return Tick()

    def on_message(self, data: bytes, now: float) -> tuple[bool, list[str]]:
        if b'"heartbeat"' not in data and not self._own:
            return _NOTHING
        try:
            message = json.loads(data)
        except (ValueError, RecursionError):  # deep nesting: not a heartbeat either
            return _NOTHING
        if not isinstance(message, dict):
            return _NOTHING
        if message.get("method") == "heartbeat":
            params = message.get("params")
            if isinstance(params, dict) and params.get("type") == "test_request":
                self.answered += 1
                return True, [self._request(self._test_method, {})]
            return True, []
        request_id = message.get("id")
        if isinstance(request_id, int) and request_id in self._own:
            self._own.discard(request_id)
            return True, []
        return _NOTHING


class CustomHeartbeat(_Probing):
    """A probe frame every ``interval`` seconds; dead when no reply within ``timeout``.

    ``probe()`` builds the frame (``str``, or an object sent as JSON);
    ``is_reply(message)`` recognises the answer (``message`` is the decoded JSON,
    or the text when it is not JSON). Replies are consumed.
    """

    inspects_messages = True
    _answer = "heartbeat reply"

    def __init__(
        self,
        probe: Callable[[], Any],
        is_reply: Callable[[Any], bool],
        interval: float = 20.0,
        timeout: float | None = None,
    ) -> None:
        if not callable(probe) or not callable(is_reply):
            raise ValueError("a custom heartbeat needs callables 'probe' and 'is_reply'")
        super().__init__(interval, timeout)
        self._make_probe = probe
        self._is_reply = is_reply

    def _probe(self) -> Tick:
        frame = self._make_probe()
        return Tick(frames=[frame if isinstance(frame, str) else json.dumps(frame)])

    def on_message(self, data: bytes, now: float) -> tuple[bool, list[str]]:
        if self._answer_due == INFINITY:
            return _NOTHING
        message: Any
        try:
            message = json.loads(data)
        except (ValueError, RecursionError):
            message = data.decode("utf-8", "replace")
        if self._is_reply(message):
            self._answered()
            return True, []
        return _NOTHING


class Disabled(_Base):
    """No keep-alive: nothing is sent and silence is never fatal (pings are still answered)."""

    period = 30.0

    def on_timer(self, now: float, last_rx: float) -> Tick:
        return Tick()


_KINDS = ("ping_pong", "server_ping", "jsonrpc", "custom", "disabled")


def make_heartbeat(spec: Heartbeat | str | Mapping[str, Any] | None) -> Heartbeat:
    """Build a heartbeat from ``"server_ping"``, ``{"type": "ping_pong", "interval": 10}``,
    ``{"type": "custom", "probe": ..., "is_reply": ..., "interval": 5, "timeout": 5}`` or
    ``"disabled"``; a ``Heartbeat`` object is returned as it is, None is ``server_ping``."""
    if spec is None:
        return ServerPing()
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping):
        if hasattr(spec, "on_timer") and hasattr(spec, "period"):
            return spec
        raise ValueError(f"heartbeat must be one of {_KINDS}, a dict with 'type', or a Heartbeat")
    options = dict(spec)
    kind = options.pop("type", None)
    try:
        if kind == "server_ping":
            return ServerPing(**options)
        if kind == "ping_pong":
            return PingPong(**options)
        if kind == "jsonrpc":
            return JsonRpcHeartbeat(**options)
        if kind == "custom":
            return CustomHeartbeat(**options)
        if kind == "disabled" and not options:
            return Disabled()
    except TypeError as error:
        raise ValueError(f"bad options for heartbeat {kind!r}: {error}") from None
    raise ValueError(f"heartbeat type must be one of {_KINDS}, not {kind!r} (options {options})")
