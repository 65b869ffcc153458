"""An adapter whose hooks raise or return the wrong type: typed errors at once, never a
``watch`` sitting out its timeout on a session that can never become ready.

Against the example's local exchange (``MiniExchange``) over real sockets.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from ccxtpro_sync import ArgumentsRequired, InvalidArgument, ProtocolError, signals
from ccxtpro_sync.adapters import AdapterClient

from .test_custom_adapter import example

TIMEOUT = 30.0  # far longer than any failure may take: a timeout is the finding


@pytest.fixture
def exchange() -> Any:
    server = example.MiniExchange()
    yield server
    server.close()


def client_of(adapter: type, exchange: Any, **options: Any) -> AdapterClient:
    return AdapterClient(lambda: adapter(exchange.url, "demo-id", "demo-secret"), **options)


def outcome(call: Any) -> Any:
    try:
        return call()
    except Exception as error:  # what the call raised is the point
        return error


class HashesAStr(example.MiniAdapter):
    def hashes(self, stream: str) -> Any:
        return super().hashes(stream)[0]  # "ticker:BTC", iterated: one hash per letter


class NoHashes(example.MiniAdapter):
    def hashes(self, stream: str) -> Any:
        return []


@pytest.mark.parametrize("adapter", [HashesAStr, NoHashes])
def test_bad_hashes_are_refused_at_once(exchange: Any, adapter: type) -> None:
    with client_of(adapter, exchange, timeout=TIMEOUT) as client:
        error = outcome(lambda: client.watch("ticker.BTC"))
        assert isinstance(error, InvalidArgument) and "adapter.hashes" in str(error)
        assert client.connections() == []  # nothing subscribed for it


def test_bad_stream_names_are_typed(exchange: Any) -> None:
    with client_of(example.MiniAdapter, exchange, timeout=TIMEOUT) as client:
        assert isinstance(outcome(lambda: client.watch(None)), ArgumentsRequired)
        for bad in (5, b"ticker.BTC", ""):
            assert isinstance(outcome(lambda bad=bad: client.watch(bad)), InvalidArgument)
        assert isinstance(outcome(lambda: client.on(5, print)), InvalidArgument)
        assert isinstance(outcome(lambda: client.stream(["ticker.BTC", 7])), InvalidArgument)
        assert client.connections() == []


class FailsOnce(example.MiniAdapter):
    """``subscribe`` fails while the first session is restored (the hook runs on the
    answer to the login), then works: as a bug that depends on what a reply said."""

    failures = 0
    limit = 1
    lock = threading.Lock()

    def subscribe(self, streams: Sequence[str], request_id: int) -> Any:
        with FailsOnce.lock:
            if FailsOnce.failures < FailsOnce.limit:
                FailsOnce.failures += 1
                return {"not": "a frame"}
        return super().subscribe(streams, request_id)


def test_a_hook_failing_while_restoring_fails_the_watch_at_once_then_recovers(
    exchange: Any,
) -> None:
    FailsOnce.failures = 0
    errors: list[Any] = []

    def reported(sender: Any, **payload: Any) -> None:
        errors.append(payload.get("error"))

    signals.protocol_error.connect(reported)
    try:
        with client_of(FailsOnce, exchange, timeout=TIMEOUT) as client:
            first = outcome(lambda: client.watch("ticker.BTC"))
            # Not RequestTimeout after 30 s: the session cannot become ready, so the
            # waiter hears why, typed, with the adapter's mistake named.
            assert isinstance(first, ProtocolError), first
            assert "adapter.subscribe() returned dict" in str(first)
            # The connection was dropped and comes back once the hook works again.
            ticker = client.watch("ticker.BTC")
            assert ticker["coin"] == "BTC"
            assert FailsOnce.failures == FailsOnce.limit
    finally:
        signals.protocol_error.disconnect(reported)
    assert any(isinstance(error, ProtocolError) for error in errors)


class AuthenticatedRaises(example.MiniAdapter):
    def authenticated(self, result: Any, now: float) -> None:
        raise KeyError("expires_in")  # a reply of another shape than the adapter expects


def test_a_raising_authenticated_hook_fails_the_watch_at_once(exchange: Any) -> None:
    with client_of(AuthenticatedRaises, exchange, timeout=TIMEOUT) as client:
        error = outcome(lambda: client.watch("ticker.BTC"))
        assert isinstance(error, ProtocolError) and isinstance(error.__cause__, KeyError)


class UrlNotAStr(example.MiniAdapter):
    def url(self) -> Any:
        return 5


def test_a_url_that_is_not_a_str_is_named(exchange: Any) -> None:
    with client_of(UrlNotAStr, exchange, timeout=TIMEOUT) as client:
        error = outcome(lambda: client.watch("ticker.BTC"))
        assert isinstance(error, TypeError) and "adapter.url()" in str(error)


class DecodesNothing(example.MiniAdapter):
    def decode(self, data: bytes, now: float) -> Any:
        return None


def test_a_decode_returning_the_wrong_type_is_reported_by_name(exchange: Any) -> None:
    seen = threading.Event()
    errors: list[Any] = []

    def reported(sender: Any, **payload: Any) -> None:
        errors.append(payload.get("error"))
        seen.set()

    signals.protocol_error.connect(reported)
    try:
        with client_of(DecodesNothing, exchange, timeout=TIMEOUT) as client:
            client.on("ticker.BTC", print)
            assert seen.wait(TIMEOUT)
    finally:
        signals.protocol_error.disconnect(reported)
    assert isinstance(errors[0], ProtocolError) and "adapter.decode()" in str(errors[0])
