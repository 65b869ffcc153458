"""Binance REST: a call's deadline that passes just as its TCP connect ends (the dial
released, the connected socket not yet registered for cutting) still cuts the call.
It found nothing to shut, and a server trickling its answer then held the call past
its deadline, each read within the socket timeout."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from ccxtpro_sync import NetworkError
from ccxtpro_sync._exchanges.binance import rest as rest_module
from ccxtpro_sync._exchanges.binance.rest import BinanceRest

from .test_rest_hostile import Peer, Scripted

WAIT = 10.0


def _serve(peer: Peer) -> str:
    """ "cut" when the client shut the connection before the whole answer went."""
    if peer.request() is None:
        return "cut"
    try:
        peer.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n")
        for _ in range(30):  # a byte at a time: no single read times out
            peer.server.stop.wait(0.1)
            peer.sock.sendall(b" ")
    except OSError:
        return "cut"
    return "whole"


def test_a_deadline_at_the_end_of_the_connect_still_cuts_the_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outcome: list[str] = []
    reported = threading.Event()

    def trickle(peer: Peer) -> None:
        try:
            outcome.append(_serve(peer))
        finally:
            reported.set()

    cut_done = threading.Event()

    class HeldDial(rest_module.Dial):
        def release(self) -> None:
            # The deadline passes here: between the connect and the registration.
            cut_done.wait(WAIT)
            super().release()

    monkeypatch.setattr(rest_module, "Dial", HeldDial)
    server = Scripted(trickle)
    rest = BinanceRest(server.url, "spot", timeout=0.5)
    cut = rest._cut

    def cut_and_tell(*args: Any) -> None:
        cut(*args)
        cut_done.set()

    rest._cut = cut_and_tell  # type: ignore[method-assign]
    try:
        with pytest.raises(NetworkError):  # RequestTimeout, or the cut's own error
            rest.send("GET", "/api/v3/exchangeInfo")
        assert cut_done.is_set()
    finally:
        rest.close()
        server.close()
    assert reported.wait(WAIT)
    assert outcome and outcome[0] == "cut", outcome
