"""Deribit's credit pools as the client's outgoing pacing (sans-I/O: the test passes the time)."""

from __future__ import annotations

import json

import pytest

from ccxtpro_sync import InvalidArgument
from ccxtpro_sync._exchanges.deribit.pacing import (
    DEFAULT_POOLS,
    DeribitPacer,
    Pool,
    method_of,
    pools_from_options,
)


def frame(method: str, request_id: int = 1) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": {}})


def sent_without_waiting(pacer: DeribitPacer, method: str, now: float, count: int) -> int:
    """How many of ``count`` frames sent at ``now`` need no wait."""
    return sum(pacer.reserve(now, frame(method, i)) == 0.0 for i in range(count))


def test_each_class_has_its_own_pool_with_a_margin_below_deribits() -> None:
    pacer = DeribitPacer()
    # non-matching: Deribit allows a burst of 100; the client uses half of it.
    assert sent_without_waiting(pacer, "private/get_positions", 0.0, 80) == 50
    # the matching engine's pool is separate: the reads above took none of it.
    assert sent_without_waiting(pacer, "private/buy", 0.0, 15) == 10
    assert pacer.booked() == {"nonMatching": 80, "matching": 15, "subscribe": 0}


def test_the_wait_follows_the_pool_rate_with_the_margin() -> None:
    pacer = DeribitPacer({**DEFAULT_POOLS, "matching": Pool(5.0, 2.0)})
    assert pacer.reserve(10.0, frame("private/cancel")) == 0.0  # burst 2 * 0.5 = 1
    # the next token comes after 1 / (5 * 0.9) s; the one after that, twice as late.
    assert pacer.reserve(10.0, frame("private/edit")) == pytest.approx(1 / 4.5)
    assert pacer.reserve(10.0, frame("private/sell")) == pytest.approx(2 / 4.5)
    assert pacer.reserve(20.0, frame("private/buy")) == 0.0  # refilled meanwhile


def test_a_subscribe_is_charged_to_the_subscribe_pool_and_the_non_matching_pool() -> None:
    pacer = DeribitPacer()
    # subscribe: 10 / 3 per second, burst 10 -> the client's burst is 5.
    assert sent_without_waiting(pacer, "private/subscribe", 0.0, 8) == 5
    assert sent_without_waiting(pacer, "public/subscribe", 0.0, 1) == 0
    # the unsubscribes and other reads are not held back by the subscribe pool.
    assert pacer.reserve(0.0, frame("public/unsubscribe")) == 0.0
    assert pacer.booked() == {"nonMatching": 10, "matching": 0, "subscribe": 9}


def test_keep_alive_frames_are_charged_but_never_wait() -> None:
    """A queue of requests must not delay the answer to a heartbeat test_request
    (Deribit closes the connection about 10 s after an unanswered one)."""
    pacer = DeribitPacer()
    assert sent_without_waiting(pacer, "private/get_positions", 0.0, 300) == 50
    assert pacer.reserve(0.0, frame("public/test")) == 0.0
    assert pacer.reserve(0.0, frame("public/auth")) == 0.0
    # ... and what comes after them waits longer: they took their tokens.
    waited = pacer.reserve(0.0, frame("private/get_positions"))
    assert waited == pytest.approx((300 - 50 + 3) / 18)


def test_method_of_a_frame() -> None:
    assert method_of(frame("public/test")) == "public/test"
    assert method_of("not json") == ""
    assert method_of('{"jsonrpc":"2.0","id":1}') == ""
    assert method_of("[1]") == ""


def test_pools_from_options() -> None:
    assert pools_from_options(None) == dict(DEFAULT_POOLS)
    tier = pools_from_options({"matching": {"rate": 20, "burst": 50}})
    assert tier["matching"] == Pool(20.0, 50.0) and tier["subscribe"] == DEFAULT_POOLS["subscribe"]
    assert pools_from_options({"subscribe": {"rate": 2}})["subscribe"] == Pool(2.0, 10.0)
    for bad in (
        [1],
        {"matchin": {"rate": 1}},
        {"matching": 5},
        {"matching": {"rate": 0}},
        {"matching": {"rate": True}},
        {"matching": {"burst": "9"}},
        {"matching": {"rate": 1, "per": "s"}},
    ):
        with pytest.raises(InvalidArgument):
            pools_from_options(bad)
