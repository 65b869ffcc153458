"""The sans-I/O half of make-before-break rotation: which updates to drop."""

from __future__ import annotations

import random

import msgspec

from ccxtpro_sync._core.rotation import DeliveredKeys, first_new, rotation_deadline
from ccxtpro_sync._exchanges.binance.rotation_keys import update_key
from ccxtpro_sync._exchanges.binance.stream_protocol import BinanceStreamProtocol


def test_first_new_skips_what_was_delivered() -> None:
    assert first_new(None, [5, 6]) == 0
    assert first_new(6, [4, 5, 6, 7, 8]) == 3
    assert first_new(9, [4, 5]) == 2


def test_overlap_drops_repeats_and_keeps_the_union_of_two_feeds() -> None:
    keys = DeliveredKeys()
    for key in (1, 2, 3):
        assert keys.admit("s", key)
    keys.begin(["s"])
    old, new = [4, 5, 6, 7], [3, 4, 5, 6, 7, 8, 9]
    delivered = []
    # interleaved arrival: the new connection runs ahead of the old one
    for key in [new[0], old[0], new[1], new[2], new[3], old[1], old[2], new[4], old[3], *new[5:]]:
        if keys.admit("s", key):
            delivered.append(key)
    assert delivered == [4, 5, 6, 7, 8, 9]
    assert keys.dropped == 5
    keys.end(["s"])
    assert keys.admit("s", 2)  # outside an overlap nothing is dropped (a new session)


def test_overlaps_nest_and_unkeyed_updates_pass() -> None:
    keys = DeliveredKeys()
    keys.admit("s", 10)
    keys.begin(["s"])
    keys.begin(["s"])
    keys.end(["s"])
    assert not keys.admit("s", 10)
    assert keys.admit("s", None)
    keys.end(["s"])
    assert not keys.in_overlap("s")


def test_deadline_is_before_max_age_and_staggered() -> None:
    rng = random.Random(1)
    a = rotation_deadline(100.0, 50.0, jitter=0.0, index=0, stagger=2.0, rng=rng)
    b = rotation_deadline(100.0, 50.0, jitter=0.0, index=3, stagger=2.0, rng=rng)
    c = rotation_deadline(100.0, 50.0, jitter=10.0, index=0, stagger=2.0, rng=rng)
    assert (a, b) == (150.0, 144.0)
    assert 140.0 <= c <= 150.0


def test_binance_keys_per_stream_kind() -> None:
    assert update_key("btcusdt@depth@100ms", b'{"U":3,"u":9,"E":1}') == (9, None)
    assert update_key("btcusdt@bookTicker", b'{"u":7,"b":"1"}') == (7, None)
    assert update_key("btcusdt@aggTrade", b'{"a":12,"t":99}') == (12, None)
    assert update_key("btcusdt@trade", b'{"t":99,"E":1}') == (99, None)
    # a ticker's "a" is a price: ordered by event time, never by that field
    ticker = b'{"E":5,"a":"1.5"}'
    assert update_key("btcusdt@ticker", ticker) == (5, hash(ticker))
    assert update_key("btcusdt@kline_1m", b'{"E":6,"k":{"t":1}}')[0] == 6
    assert update_key("btcusdt@ticker", b"[1") == (None, None)


def test_distinct_updates_sharing_an_event_time_are_both_kept() -> None:
    keys = DeliveredKeys()
    assert keys.admit("t", 100, tie=1)
    keys.begin(["t"])
    assert keys.admit("t", 100, tie=2)  # another update at the same time: new
    assert not keys.admit("t", 100, tie=1)  # the same update again: a repeat
    assert not keys.admit("t", 100, tie=2)
    assert not keys.admit("t", 99, tie=3)  # older
    assert keys.admit("t", 101, tie=1)
    assert keys.dropped == 3


def test_server_shutdown_rotates_when_the_client_takes_over() -> None:
    notice = msgspec.json.encode(
        {"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": 1}}
    )
    plain = BinanceStreamProtocol("ws://x")
    inbound = plain.receive(notice, 0.0)
    assert getattr(inbound, "reconnect_reason", None) == "server shutdown notice"
    asked: list[bool] = []
    rotating = BinanceStreamProtocol("ws://x")
    rotating.on_server_shutdown = lambda: asked.append(True) or True
    inbound = rotating.receive(notice, 0.0)
    assert asked == [True]
    assert getattr(inbound, "reconnect_reason", "unset") is None
