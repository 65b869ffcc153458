"""Scriptable network and exchange faults (``LocalExchange.faults``).

Two families:

* one-shot actions on the connections open *now* (drop, close, half-open,
  malformed frame, one stream silenced), executed on the server's loop and returning how many
  connections they hit;
* sticky settings consulted by the servers on later events (refuse the next N
  handshakes or REST calls, delay messages or handshakes), until used up or
  :meth:`Faults.clear`.

``match`` selects connections: ``None`` = all, a string = substring of the
connection's request path (e.g. ``"/usdm/"`` or ``"btcusdt@depth"``), or a
predicate on :class:`~.observe.ConnectionInfo`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .catalog import MarketName
from .observe import ConnectionInfo
from .order_faults import OrderAnswer, OrderFaults

if TYPE_CHECKING:
    from .engine import Engine
    from .server import WsServer

ConnMatch = str | Callable[[ConnectionInfo], bool] | None
MalformedKind = Literal["invalid_json", "unknown_event", "binary", "bad_opcode", "truncated_frame"]


def matches(match: ConnMatch, info: ConnectionInfo) -> bool:
    if match is None:
        return True
    if isinstance(match, str):
        return match in info.path
    return match(info)


@dataclass
class Refusal:
    """Answer the next ``remaining`` attempts with ``status`` and ``Retry-After``
    (None: a proxy that drops the header and a body that names no time)."""

    remaining: int
    status: int
    retry_after: int | None


class Faults:
    """Fault injection API; see the module docstring for the two families."""

    def __init__(self, server: WsServer, engine: Engine) -> None:
        self._server = server
        self._engine = engine
        self._lock = threading.Lock()
        self._ws_refusal: Refusal | None = None
        self._rest_refusal: Refusal | None = None
        self._handshake_delay = 0.0
        self._handshake_delay_left: int | None = None
        self._message_delay = 0.0
        self._message_delay_match: ConnMatch = None
        self._rest_delay = 0.0
        self._rest_delay_path: str | None = None
        #: Scripted fates of order requests (see :mod:`.order_faults`).
        self.orders = OrderFaults()

    # -- one-shot actions on open connections ------------------------------------
    def drop(self, match: ConnMatch = None) -> int:
        """Abort matching connections' TCP sockets without a close frame."""
        return self._server.act("drop", match)

    def close(self, code: int = 1000, reason: str = "", match: ConnMatch = None) -> int:
        """Close matching connections cleanly with ``code``/``reason``."""
        return self._server.act("close", match, code=code, reason=reason)

    def half_open(self, duration: float | None = None, match: ConnMatch = None) -> int:
        """Stall matching connections: nothing is sent (pushes are discarded, no pings)
        and nothing is read (so client pings go unanswered) until :meth:`release`
        or ``duration`` seconds. Connections opened later are unaffected."""
        return self._server.act("half_open", match, duration=duration)

    def release(self, match: ConnMatch = None) -> int:
        """End a half-open stall early."""
        return self._server.act("release", match)

    def silence(self, stream: str, match: ConnMatch = None) -> int:
        """Stop pushing ``stream`` on matching connections that subscribe it, silently:
        it stays listed (``LIST_SUBSCRIPTIONS``), the connection's other streams and pings
        go on, and no error is sent -- a subscription the exchange lost. A new
        ``SUBSCRIBE`` (or ``UNSUBSCRIBE``) of the stream ends the fault there."""
        return self._server.act("silence", match, stream=stream)

    def send_malformed(self, kind: MalformedKind = "invalid_json", match: ConnMatch = None) -> int:
        """Send one bad message.

        ``invalid_json``: text frame with truncated JSON; ``unknown_event``: valid JSON
        with an unknown ``e``; ``binary``: a binary frame; ``bad_opcode``: a frame with
        reserved opcode 0x3 (protocol error); ``truncated_frame``: a frame header
        promising more bytes than sent, then the socket is aborted.
        """
        return self._server.act("malformed", match, kind=kind)

    def depth_gap(self, market: MarketName, symbol: str, events: int = 1) -> int:
        """Lose the next ``events`` diff-depth pushes of ``symbol`` on every diff stream.

        Spot receivers then see ``U > previous u + 1``; futures receivers see
        ``pu != previous u``. The true book keeps the lost changes, so a client that
        ignores the gap diverges from :meth:`LocalExchange.book`. Returns the number
        of live streams affected (0 = applies to the next diff stream created).
        """
        return self._engine.inject_gap(market, symbol.upper(), events)

    # -- sticky settings ------------------------------------------------------------
    def refuse_handshakes(self, count: int = 1, status: int = 429, retry_after: int = 1) -> None:
        """Reject the next ``count`` WebSocket handshakes with HTTP ``status``."""
        with self._lock:
            self._ws_refusal = Refusal(count, status, retry_after)

    def refuse_rest(self, count: int = 1, status: int = 429, retry_after: int | None = 1) -> None:
        """Reject the next ``count`` REST calls with ``status`` (429 or 418) + ``Retry-After``
        (``None``: without one, as a proxy that strips the header would pass it on)."""
        with self._lock:
            self._rest_refusal = Refusal(count, status, retry_after)

    def delay_rest(self, seconds: float, path: str | None = None) -> None:
        """Hold every REST answer (those whose path contains ``path``; ``None``: all)
        ``seconds`` before it is sent: a slow exchange (0 = off)."""
        with self._lock:
            self._rest_delay, self._rest_delay_path = seconds, path

    def delay_messages(self, seconds: float, match: ConnMatch = None) -> None:
        """Add ``seconds`` of latency to every push on matching connections (0 = off)."""
        with self._lock:
            self._message_delay, self._message_delay_match = seconds, match

    def delay_handshakes(self, seconds: float, count: int | None = None) -> None:
        """Hold the next ``count`` (default: all) handshakes ``seconds`` before answering."""
        with self._lock:
            self._handshake_delay, self._handshake_delay_left = seconds, count

    def order_outcome(
        self,
        answer: OrderAnswer,
        *,
        execute: bool = True,
        count: int = 1,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Lose the reply of the next ``count`` order requests: ``answer`` ``"drop"``
        (abort the connection instead), ``"none"`` (never reply) or ``"unknown"``
        (``-1007``), after acting on the request (``execute``) or not."""
        self.orders.script(answer, execute=execute, count=count, methods=methods)

    def clear(self) -> None:
        """Cancel every sticky setting and release half-open connections."""
        self.orders.clear()
        with self._lock:
            self._ws_refusal = self._rest_refusal = None
            self._handshake_delay, self._handshake_delay_left = 0.0, None
            self._message_delay, self._message_delay_match = 0.0, None
            self._rest_delay, self._rest_delay_path = 0.0, None
        self.release()

    # -- hooks used by the servers ---------------------------------------------------
    @staticmethod
    def _take(refusal: Refusal | None) -> tuple[Refusal | None, Refusal | None]:
        if refusal is None or refusal.remaining <= 0:
            return None, None
        refusal.remaining -= 1
        return refusal, (refusal if refusal.remaining > 0 else None)

    def take_ws_refusal(self) -> Refusal | None:
        with self._lock:
            hit, self._ws_refusal = self._take(self._ws_refusal)
            return hit

    def take_rest_delay(self, path: str) -> float:
        with self._lock:
            wanted = self._rest_delay_path
            return self._rest_delay if wanted is None or wanted in path else 0.0

    def take_rest_refusal(self) -> Refusal | None:
        with self._lock:
            hit, self._rest_refusal = self._take(self._rest_refusal)
            return hit

    def take_handshake_delay(self) -> float:
        with self._lock:
            if self._handshake_delay <= 0:
                return 0.0
            if self._handshake_delay_left is not None:
                if self._handshake_delay_left <= 0:
                    return 0.0
                self._handshake_delay_left -= 1
            return self._handshake_delay

    def message_delay(self, info: Callable[[], ConnectionInfo]) -> float:
        """Latency to add to a push; ``info`` is only built when a delay is active."""
        with self._lock:
            delay, match = self._message_delay, self._message_delay_match
        return delay if delay > 0 and matches(match, info()) else 0.0
