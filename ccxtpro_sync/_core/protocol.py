"""The interface between a connection (I/O, threads) and an exchange protocol (pure logic)."""

from __future__ import annotations

from typing import Any, Protocol

from .events import Delivery, Inbound


class ConnectionProtocol(Protocol):
    """What a connection needs from an exchange protocol.

    Every method is called with the connection's protocol lock held and must
    not block or perform I/O: it turns bytes into meaning and intentions into
    frames. The connection sends the frames and runs user code elsewhere.
    """

    def url(self) -> str:
        """The URL to (re)connect to; it may carry subscriptions (combined streams)."""
        ...

    def on_open(self, now: float) -> Inbound:
        """The socket is open: start the resume sequence (auth first, then subscriptions)."""
        ...

    def receive(self, data: bytes, now: float) -> Inbound | list[Delivery]:
        """Interpret one text or binary frame. A frame that carries nothing but data
        (the bulk of a market stream) may come back as a plain list of deliveries:
        the connection's fast path, with no ``Inbound`` to build and inspect.

        A protocol may also have ``receive_run(messages, index, now, batch)``: the
        data frames of a burst from ``messages[index]`` on, adding plain data to
        ``batch``, stopping before a control frame or after a frame that means more
        or raised; returns the next index and that frame's result or error (see
        ``Connection._receive_run``). It must never raise."""
        ...

    def on_close(self) -> Inbound:
        """The socket is gone; forget what the server had confirmed."""
        ...

    def encode_request(self, method: str, params: Any) -> tuple[int | str, str]:
        """A request frame and the id its answer will carry in ``Inbound.responses``."""
        ...
