"""Scriptable faults of the local Deribit (``LocalDeribit.faults``).

One-shot actions hit the connections open *now* and return how many they hit;
sticky settings (message delay, refused handshakes, heartbeats off) last until
changed or :meth:`Faults.clear`. ``match`` selects connections: ``None`` = all,
an ``int`` = a connection id, or a predicate on :class:`~.observe.ConnInfo`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from .server import ConnMatch, now_ms

if TYPE_CHECKING:
    from .server import DeribitServer

MalformedKind = Literal["invalid_json", "unknown_method", "binary", "truncated_frame"]


class Faults:
    """Fault injection for :class:`~ccxtpro_sync.simulator.deribit.LocalDeribit`."""

    def __init__(self, server: DeribitServer) -> None:
        self._server = server

    # -- one-shot actions -------------------------------------------------------------------
    def drop(self, match: ConnMatch = None) -> int:
        """Abort matching sockets without a close frame (cancel-on-disconnect fires)."""
        return self._server.act("drop", match)

    def close(self, code: int = 1000, reason: str = "", match: ConnMatch = None) -> int:
        """Close matching connections cleanly with ``code``/``reason``."""
        return self._server.act("close", match, code=code, reason=reason)

    def half_open(self, duration: float | None = None, match: ConnMatch = None) -> int:
        """Stall matching connections: nothing sent, nothing read, until :meth:`release`
        or ``duration`` seconds."""
        return self._server.act("half_open", match, duration=duration)

    def release(self, match: ConnMatch = None) -> int:
        """End a half-open stall early."""
        return self._server.act("release", match)

    def send_malformed(self, kind: MalformedKind = "invalid_json", match: ConnMatch = None) -> int:
        """Send one bad frame: truncated JSON, an unknown method, a binary frame, or a
        frame header promising more bytes than sent (then the socket closes)."""
        return self._server.act("malformed", match, kind=kind)

    def book_gap(self, instrument: str, changes: int = 1) -> None:
        """Apply the next ``changes`` changes of ``instrument``'s book without
        publishing them: the next published ``prev_change_id`` then differs from the
        ``change_id`` subscribers last saw, while the true book keeps the changes."""
        if changes < 1:
            raise ValueError("changes must be at least 1")
        market = self._server.exchange.market
        if instrument not in market.states:
            raise ValueError(f"unknown instrument {instrument!r}")

        def arm() -> None:
            market.states[instrument].book.gaps += changes

        self._server.call(arm)

    def expire_tokens(self, client_id: str | None = None) -> int:
        """Make every access token (of ``client_id``) expire now; private calls then get
        ``13009`` with reason ``token has expired``; refresh tokens still work."""
        auth = self._server.exchange.auth
        return self._server.call(lambda: auth.expire_all(now_ms(), client_id))

    # -- sticky settings --------------------------------------------------------------------
    def delay_messages(self, seconds: float, match: ConnMatch = None) -> None:
        """Add ``seconds`` of latency to every frame sent to matching connections (0 = off)."""

        def set_delay() -> None:
            self._server.delay, self._server.delay_match = seconds, match

        self._server.call(set_delay)

    def stop_heartbeats(self) -> None:
        """The server stops sending ``test_request`` (and stops enforcing answers)."""
        self._set_heartbeats(False)

    def resume_heartbeats(self) -> None:
        self._set_heartbeats(True)

    def _set_heartbeats(self, on: bool) -> None:
        def flip() -> None:
            self._server.heartbeats_on = on

        self._server.call(flip)

    def refuse_handshakes(self, count: int = 1, status: int = 429) -> None:
        """Answer the next ``count`` handshakes (or HTTP requests) with ``status``."""

        def arm() -> None:
            self._server.refusals = (count, status)

        self._server.call(arm)

    def clear(self) -> None:
        """Cancel every sticky setting and release half-open connections."""

        def reset() -> None:
            server = self._server
            server.delay, server.delay_match = 0.0, None
            server.heartbeats_on = True
            server.refusals = (0, 429)

        self._server.call(reset)
        self.release()
