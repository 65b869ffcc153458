"""Prometheus metrics for one or more clients (extra ``prometheus``).

    from ccxtpro_sync.contrib.prometheus import PrometheusExporter

    exporter = PrometheusExporter(client)            # registers on prometheus_client.REGISTRY
    server, thread = exporter.start_http_server(0)  # optional; server.server_port
    ...
    exporter.close()                                 # unregister, disconnect receivers

A custom collector: connection figures are read from ``client.connections()``
at scrape time (nothing runs between scrapes), and event counts come from the
library's signals. Per-frame signals are not counted unless ``per_message=True``
(the frame counts are already in ``..._connection_messages_total``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

try:
    from prometheus_client import REGISTRY, CollectorRegistry
    from prometheus_client import start_http_server as _start_http_server
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "ccxtpro_sync.contrib.prometheus needs prometheus-client: "
        "pip install 'ccxtpro_sync[prometheus]'"
    ) from error

from .._signals import signals
from .._sync.info import ConnectionInfo

__all__ = ["STATES", "Monitored", "PrometheusExporter"]

STATES = ("idle", "connecting", "open", "reconnecting", "closed")
_PER_MESSAGE = ("message_received", "message_hash_resolved")

#: ConnectionInfo field -> (metric suffix, help, is a counter).
_CONNECTION_FIGURES: tuple[tuple[str, str, str, bool], ...] = (
    ("subscriptions", "connection_subscriptions", "Streams the connection carries", False),
    ("confirmed", "connection_confirmed_subscriptions", "Streams confirmed by the server", False),
    ("in_flight_requests", "connection_in_flight_requests", "Requests awaiting a reply", False),
    ("connects", "connection_connects", "Sockets opened", True),
    ("reconnects", "connection_reconnects", "Sockets opened after the first", True),
    ("messages", "connection_messages", "Data frames received", True),
    ("protocol_errors", "connection_protocol_errors", "Frames the protocol rejected", True),
    ("requests_rejected", "connection_requests_rejected", "Requests the server refused", True),
    (
        "first_update_latency",
        "connection_first_update_latency_seconds",
        "From the latest (re)connect to its first data frame",
        False,
    ),
    ("max_gap", "connection_max_gap_seconds", "Longest silence between data frames", False),
    (
        "last_message_age",
        "connection_last_message_age_seconds",
        "Since the last data frame",
        False,
    ),
    ("connected_for", "connection_open_seconds", "Since the current socket opened", False),
)
#: Client-wide ConnectionInfo fields.
_CLIENT_FIGURES: tuple[tuple[str, str, str, bool], ...] = (
    ("waiters", "waiters", "Blocked watch_* calls", False),
    ("callbacks", "callbacks", "Registered callbacks (on_*, stream_*)", False),
    ("queued", "queued_updates", "Updates waiting for the dispatcher", False),
    ("coalesced", "coalesced_updates", "Updates replaced by a newer one before delivery", True),
    ("dropped", "dropped_updates", "Updates dropped from a full callback queue", True),
    ("delivered", "delivered_updates", "Callback invocations that returned", True),
    ("callback_errors", "callback_errors", "Callback invocations that raised", True),
)


@runtime_checkable
class Monitored(Protocol):
    """What the exporter needs of a client (every ``ccxtpro_sync`` client has it)."""

    name: str

    def connections(self) -> list[ConnectionInfo]: ...


class PrometheusExporter:
    """Collects metrics from ``client_or_clients`` into ``registry`` (default: the global one).

    Metric names start with ``namespace`` (``ccxtpro_sync``); every sample is
    labelled ``client`` (the client's name, made unique). Per connection:
    ``..._connection_state{kind=...,state=...}`` (1 for the current state; ``kind``
    is ``market``, ``ws_api`` or ``user_data``), streams,
    counters and timings from :class:`~ccxtpro_sync.ConnectionInfo`. Per client:
    waiters, callbacks, queue figures and ``..._cache_entries{cache=...}``. From
    signals: ``..._signals_total{signal=...}`` and
    ``..._order_book_resyncs_total{symbol=...}``.
    """

    def __init__(
        self,
        client_or_clients: Monitored | Iterable[Monitored],
        registry: CollectorRegistry | None = None,
        *,
        namespace: str = "ccxtpro_sync",
        per_message: bool = False,
    ) -> None:
        clients = (
            [client_or_clients]
            if isinstance(client_or_clients, Monitored)
            else list(client_or_clients)
        )
        if not clients:
            raise ValueError("PrometheusExporter needs at least one client")
        self.registry = REGISTRY if registry is None else registry
        self.namespace = namespace
        self._clients: list[tuple[str, Monitored]] = []
        seen: dict[str, int] = {}
        for client in clients:
            seen[client.name] = seen.get(client.name, 0) + 1
            label = client.name if seen[client.name] == 1 else f"{client.name}#{seen[client.name]}"
            self._clients.append((label, client))
        self._labels = {id(client): label for label, client in self._clients}
        self._lock = threading.Lock()
        self._signal_counts: dict[tuple[str, str], int] = {}
        self._resyncs: dict[tuple[str, str], int] = {}
        self._receivers: dict[str, Any] = {}
        for name, signal in signals.all().items():
            if name in _PER_MESSAGE and not per_message:
                continue
            receiver = self._receiver(name)
            signal.connect(receiver, weak=False)
            self._receivers[name] = receiver
        self.registry.register(self)

    # -- signals ---------------------------------------------------------------------
    def _receiver(self, name: str) -> Any:
        def receive(sender: Any, **payload: Any) -> None:
            label = self._labels.get(id(sender))
            if label is None:
                return
            with self._lock:
                key = (label, name)
                self._signal_counts[key] = self._signal_counts.get(key, 0) + 1
                if name == "order_book_resync":
                    book = (label, str(payload.get("symbol")))
                    self._resyncs[book] = self._resyncs.get(book, 0) + 1

        return receive

    # -- collector -------------------------------------------------------------------
    def collect(self) -> Iterator[Metric]:
        """Build every metric family from the clients' current figures."""
        ns = self.namespace
        state = GaugeMetricFamily(
            f"{ns}_connection_state",
            "1 for the connection's current state",
            labels=["client", "connection", "kind", "url", "state"],
        )
        conn_families = [
            (
                field,
                (CounterMetricFamily if counter else GaugeMetricFamily)(
                    f"{ns}_{suffix}", text, labels=["client", "connection"]
                ),
            )
            for field, suffix, text, counter in _CONNECTION_FIGURES
        ]
        client_families = [
            (
                field,
                (CounterMetricFamily if counter else GaugeMetricFamily)(
                    f"{ns}_{suffix}", text, labels=["client"]
                ),
            )
            for field, suffix, text, counter in _CLIENT_FIGURES
        ]
        connections = GaugeMetricFamily(
            f"{ns}_connections", "Websocket connections of the client", labels=["client"]
        )
        caches = GaugeMetricFamily(
            f"{ns}_cache_entries", "Entries held per cache", labels=["client", "cache"]
        )
        for label, client in self._clients:
            infos = client.connections()
            connections.add_metric([label], len(infos))
            for info in infos:
                for name in STATES:
                    state.add_metric(
                        [label, info.name, info.kind, info.url, name],
                        1.0 if info.state == name else 0.0,
                    )
                for field, family in conn_families:
                    value = getattr(info, field)
                    if isinstance(value, list):
                        value = len(value)
                    if value is not None:
                        family.add_metric([label, info.name], float(value))
            if infos:
                first = infos[0]
                for field, family in client_families:
                    family.add_metric([label], float(getattr(first, field)))
                for cache, size in sorted(first.cache_sizes.items()):
                    caches.add_metric([label, cache], float(size))
        yield connections
        yield state
        for _, family in conn_families:
            yield family
        for _, family in client_families:
            yield family
        yield caches
        yield from self._signal_families()

    def _signal_families(self) -> Iterator[Metric]:
        ns = self.namespace
        with self._lock:
            counts = dict(self._signal_counts)
            resyncs = dict(self._resyncs)
        by_signal = CounterMetricFamily(
            f"{ns}_signals", "Signals sent, by name", labels=["client", "signal"]
        )
        for label, _ in self._clients:
            for name in self._receivers:
                by_signal.add_metric([label, name], float(counts.get((label, name), 0)))
        yield by_signal
        books = CounterMetricFamily(
            f"{ns}_order_book_resyncs", "Order-book resynchronisations", labels=["client", "symbol"]
        )
        for (label, symbol), count in sorted(resyncs.items()):
            books.add_metric([label, symbol], float(count))
        yield books

    # -- lifecycle -------------------------------------------------------------------
    def start_http_server(self, port: int = 0, addr: str = "127.0.0.1") -> tuple[Any, Any]:
        """Serve this exporter's registry on ``addr:port`` (0 = a free port).

        Returns prometheus-client's ``(server, thread)``; ``server.server_port``
        is the port, ``server.shutdown()`` stops it.
        """
        server, thread = _start_http_server(port, addr=addr, registry=self.registry)
        return server, thread

    def close(self) -> None:
        """Unregister from the registry and disconnect the signal receivers. Idempotent."""
        every = signals.all()
        for name, receiver in self._receivers.items():
            every[name].disconnect(receiver)
        self._receivers.clear()
        with contextlib.suppress(KeyError):  # already unregistered
            self.registry.unregister(self)

    def __enter__(self) -> PrometheusExporter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
