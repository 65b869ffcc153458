"""Every order-changing request the exchange received, for tests that count them.

A client must never send an order request twice (a lost reply is resolved by
looking the order up, not by sending it again). The log records each request that
reached an order-changing method (WS API ``order.place``, ``order.cancel``, ...,
REST ``POST``/``DELETE`` order), whatever its outcome, with the client order id it
names, so a test can count them per id.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["OrderRequest", "OrderRequestLog"]

#: Params that name the order a request places or changes, most specific first.
_ID_PARAMS = ("newClientOrderId", "origClientOrderId", "cancelOrigClientOrderId")


@dataclass(frozen=True)
class OrderRequest:
    """One order request as received: channel (``ws_api``/``rest``), method, client id."""

    channel: str
    market: str
    method: str
    client_order_id: str | None


class OrderRequestLog:
    """Thread-safe, append-only while the exchange runs (tests read it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[OrderRequest] = []

    def record(self, channel: str, market: str, method: str, params: Mapping[str, Any]) -> None:
        named = next((params[p] for p in _ID_PARAMS if params.get(p) is not None), None)
        request = OrderRequest(channel, market, method, None if named is None else str(named))
        with self._lock:
            self._requests.append(request)

    def requests(self) -> list[OrderRequest]:
        with self._lock:
            return list(self._requests)

    def counts(self, method: str | None = None) -> Counter[str | None]:
        """Requests per client order id (of one method, or all)."""
        with self._lock:
            return Counter(r.client_order_id for r in self._requests if method in (None, r.method))
