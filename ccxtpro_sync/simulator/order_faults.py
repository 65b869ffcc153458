"""Scripted fates of order requests: the lost replies a client must resolve.

``LocalExchange.faults.order_outcome(answer, execute=..., count=..., methods=...)``
makes the next ``count`` order requests (WS API ``order.place``, ``order.cancel``,
``order.cancelReplace``, ``order.modify``, ``order.amend.keepPriority``; REST
``POST``/``DELETE`` order, named ``order.place``/``order.cancel``) meet a fault:

* ``execute``: the exchange acts on the request (the order is placed, or
  rejected for its own reasons, or cancelled) — or not at all, as if it never
  reached the matching engine;
* ``answer``: what the client then gets —
  ``"drop"`` (the connection is aborted instead of replying; REST: the socket
  is closed with no response), ``"none"`` (no reply ever; the connection stays
  up; REST: the answer is held until ``Faults.clear()`` or a minute has passed),
  ``"unknown"`` (Binance's ``-1007`` "execution status unknown") or
  ``"garbled"`` (a success status with a body that is not an order: the
  reply arrived but cannot be read) or ``"foreign"`` (the request is acted on,
  and its success reply names another order: other ids, as a reply meant for a
  different request would; a rejection is answered as it is) or ``"banned"``
  (a ``418`` IP ban that names no end: no ``retryAfter``, no date, no
  ``Retry-After``; only with ``execute=False``, as a banned request is refused).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

OrderAnswer = Literal["drop", "none", "unknown", "garbled", "foreign", "banned"]
ORDER_METHODS: Final = frozenset(
    {
        "order.place",
        "order.cancel",
        "order.cancelReplace",
        "order.modify",
        "order.amend.keepPriority",
    }
)
#: The result a ``"garbled"`` answer carries: valid JSON, but no order.
GARBLED_RESULT: Final = ["garbled"]
#: Binance's "execution status unknown" error (reference §6.5): code, msg, HTTP status.
UNKNOWN_STATUS: Final = (
    -1007,
    "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown.",
    408,
)
#: A 418 IP ban that says neither when it ends nor how long to wait.
UNTIMED_BAN_ERROR: Final = (-1003, "Way too much request weight used; IP banned.", 418)


def foreign(result: Any) -> Any:
    """``result`` as if it named another order (a ``"foreign"`` answer): every order
    id and client order id in it, at any depth, changed."""
    if isinstance(result, list):
        return [foreign(item) for item in result]
    if not isinstance(result, dict):
        return result
    out: dict[str, Any] = {}
    for key, value in result.items():
        if key in ("orderId", "i") and isinstance(value, int):
            out[key] = value + 1_000_000_000
        elif key in ("clientOrderId", "origClientOrderId", "newClientOrderId"):
            out[key] = f"foreign{value}"[:36] if isinstance(value, str) else value
        else:
            out[key] = foreign(value)
    return out


@dataclass
class OrderFault:
    answer: OrderAnswer
    execute: bool
    remaining: int
    methods: frozenset[str]


class OrderFaults:
    """The scripted order faults of one exchange (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fault: OrderFault | None = None
        #: Requests that met a fault, by method (tests read it).
        self.hits: dict[str, int] = {}
        #: Set by ``clear()``: REST answers held by ``"none"`` are let go (as drops).
        self.released = threading.Event()

    def script(
        self,
        answer: OrderAnswer,
        *,
        execute: bool = True,
        count: int = 1,
        methods: Iterable[str] | None = None,
    ) -> None:
        chosen = frozenset(methods) if methods is not None else ORDER_METHODS
        unknown = chosen - ORDER_METHODS
        if unknown:
            raise ValueError(f"not order methods: {sorted(unknown)}")
        if answer not in ("drop", "none", "unknown", "garbled", "foreign", "banned"):
            raise ValueError(f"unknown answer {answer!r}")
        if answer == "foreign" and not execute:
            raise ValueError("a foreign reply answers a request that was acted on")
        if answer == "banned" and execute:
            raise ValueError("a banned request is refused, not acted on")
        with self._lock:
            self._fault = OrderFault(answer, execute, count, chosen)
            self.released.clear()

    def take(self, method: str) -> OrderFault | None:
        """The fault for this request, if one is scripted for ``method`` (used up)."""
        with self._lock:
            fault = self._fault
            if fault is None or fault.remaining <= 0 or method not in fault.methods:
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._fault = None
            self.hits[method] = self.hits.get(method, 0) + 1
            return fault

    def clear(self) -> None:
        with self._lock:
            self._fault = None
        self.released.set()
