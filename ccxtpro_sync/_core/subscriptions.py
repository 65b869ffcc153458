"""Subscription bookkeeping: what we want, what the server confirmed, what to replay.

Topics (Binance stream names, for instance) are reference-counted: two
consumers of ``btcusdt@aggTrade`` share one wire subscription, and the wire
unsubscribe happens only when the last one lets go. ``desired`` survives a
disconnect and is the replay list; ``confirmed`` is reset by it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class PendingRequest:
    method: str  # "subscribe" or "unsubscribe"
    topics: tuple[str, ...]


class SubscriptionBook:
    """Desired vs confirmed topics and the requests in flight. Not thread-safe."""

    __slots__ = ("_confirmed", "_desired", "_pending")

    def __init__(self) -> None:
        # dict keeps first-wanted order, which is also the replay order.
        self._desired: dict[str, int] = {}
        self._confirmed: set[str] = set()
        self._pending: dict[int | str, PendingRequest] = {}

    # -- consumers -----------------------------------------------------------
    def acquire(self, topics: list[str]) -> list[str]:
        """Add one reference to each topic; returns the topics that became wanted."""
        new = []
        for topic in topics:
            count = self._desired.get(topic, 0)
            self._desired[topic] = count + 1
            if count == 0:
                new.append(topic)
        return new

    def release(self, topics: list[str]) -> list[str]:
        """Drop one reference from each topic; returns the topics nobody wants any more."""
        gone = []
        for topic in topics:
            count = self._desired.get(topic, 0)
            if count <= 1:
                if topic in self._desired:
                    del self._desired[topic]
                    gone.append(topic)
            else:
                self._desired[topic] = count - 1
        return gone

    # -- wire ----------------------------------------------------------------
    def sent(self, request_id: int | str, method: str, topics: list[str]) -> None:
        self._pending[request_id] = PendingRequest(method, tuple(topics))

    def acknowledged(self, request_id: int | str) -> PendingRequest | None:
        """The server accepted a request; returns it (None if the id is not ours)."""
        request = self._pending.pop(request_id, None)
        if request is None:
            return None
        if request.method == "subscribe":
            self._confirmed.update(request.topics)
        else:
            self._confirmed.difference_update(request.topics)
        return request

    def refused(self, request_id: int | str) -> PendingRequest | None:
        """The server refused a request; a refused subscribe is no longer desired."""
        request = self._pending.pop(request_id, None)
        if request is not None and request.method == "subscribe":
            for topic in request.topics:
                if topic not in self._confirmed:
                    self._desired.pop(topic, None)
        return request

    def mark_confirmed(self, topics: list[str]) -> None:
        """Topics carried in the connect URL are live as soon as the socket opens."""
        self._confirmed.update(topics)

    def disconnected(self) -> None:
        """The socket is gone: nothing is confirmed and no request will be answered."""
        self._confirmed.clear()
        self._pending.clear()

    # -- views ---------------------------------------------------------------
    def desired(self) -> list[str]:
        """Every wanted topic in first-wanted order: the replay list after a reconnect."""
        return list(self._desired)

    def count(self, topic: str) -> int:
        """References held on ``topic`` (0 if not desired)."""
        return self._desired.get(topic, 0)

    def is_desired(self, topic: str) -> bool:
        return topic in self._desired

    def confirmed(self) -> set[str]:
        return set(self._confirmed)

    def unconfirmed(self) -> list[str]:
        return [t for t in self._desired if t not in self._confirmed]

    def pending_requests(self) -> dict[int | str, PendingRequest]:
        return dict(self._pending)

    def __len__(self) -> int:
        return len(self._desired)
