"""The freshness tracker, with a fake clock: stale streams are named, quiet ones are not."""

from __future__ import annotations

import pytest

from ccxtpro_sync._core.freshness import Freshness, FreshnessPolicy

POLICY = FreshnessPolicy(multiple=10.0, floor=1.0, min_samples=3, smoothing=0.5, max_strikes=3)


def cadence(stream: str) -> float | None:
    return 2.0 if "@kline_" in stream else None


def feed(fresh: Freshness, stream: str, start: float, step: float, count: int) -> float:
    now = start
    for _ in range(count):
        fresh.seen(stream, now)
        now += step
    return now - step


def test_a_busy_stream_that_stops_is_stale_after_its_multiple() -> None:
    fresh = Freshness(POLICY, cadence)
    last = feed(fresh, "btcusdt@aggTrade", 0.0, 0.2, 20)  # every 0.2 s
    assert fresh.limit("btcusdt@aggTrade") == pytest.approx(2.0)  # 10 x 0.2 s
    assert fresh.stale(last + 1.9, ["btcusdt@aggTrade"]) == []
    [stale] = fresh.stale(last + 2.1, ["btcusdt@aggTrade"])
    assert stale.stream == "btcusdt@aggTrade" and stale.strikes == 1
    assert stale.silent_for == pytest.approx(2.1)


def test_a_quiet_market_is_not_judged_and_a_slow_one_gets_a_long_limit() -> None:
    fresh = Freshness(POLICY, cadence)
    fresh.seen("ethusdt@aggTrade", 0.0)  # one trade, then nothing: never judged
    assert fresh.stale(1_000.0, ["ethusdt@aggTrade", "xrpusdt@aggTrade"]) == []
    assert fresh.stale(100_000.0, ["ethusdt@aggTrade", "xrpusdt@aggTrade"]) == []
    last = feed(fresh, "ltcusdt@aggTrade", 0.0, 30.0, 5)  # a trade every 30 s
    assert fresh.limit("ltcusdt@aggTrade") == pytest.approx(300.0)
    assert fresh.stale(last + 299.0, ["ltcusdt@aggTrade"]) == []


def test_a_declared_cadence_is_judged_from_confirmation_without_samples() -> None:
    fresh = Freshness(POLICY, cadence)
    assert fresh.stale(0.0, ["btcusdt@kline_1m"]) == []  # starts its clock
    assert fresh.stale(19.0, ["btcusdt@kline_1m"]) == []
    assert [s.stream for s in fresh.stale(21.0, ["btcusdt@kline_1m"])] == ["btcusdt@kline_1m"]


def test_a_stream_never_heard_collects_strikes_until_its_first_update() -> None:
    fresh = Freshness(POLICY, cadence)
    assert fresh.stale(0.0, ["btcusdt@kline_1m"]) == []  # starts its clock
    [first] = fresh.stale(21.0, ["btcusdt@kline_1m"])
    assert (first.strikes, first.limit, first.silent_for) == (1, 20.0, 21.0)
    assert fresh.stale(60.0, ["btcusdt@kline_1m"]) == []  # the limit doubled, from 21 s
    [second] = fresh.stale(62.0, ["btcusdt@kline_1m"])
    assert (second.strikes, second.limit) == (2, 40.0)
    fresh.seen("btcusdt@kline_1m", 63.0)
    assert fresh.limit("btcusdt@kline_1m") == pytest.approx(20.0)


def test_a_restart_starts_the_clock_of_a_stream_never_heard_over() -> None:
    fresh = Freshness(POLICY, cadence)
    assert fresh.stale(0.0, ["btcusdt@kline_1m"]) == []
    fresh.restart(["btcusdt@kline_1m", "untracked@kline_1m"], 15.0)
    assert fresh.stale(21.0, ["btcusdt@kline_1m"]) == []  # silent for 6 s only
    [stale] = fresh.stale(36.0, ["btcusdt@kline_1m"])
    assert stale.silent_for == pytest.approx(21.0)
    assert fresh.limit("untracked@kline_1m") is None


def test_the_first_update_of_a_stream_counts_its_gap_from_confirmation() -> None:
    fresh = Freshness(POLICY, cadence)
    assert fresh.stale(0.0, ["a@aggTrade"]) == []
    feed(fresh, "a@aggTrade", 1.0, 1.0, 2)  # gaps 1 (since confirmation), 1
    assert fresh.limit("a@aggTrade") is None  # two samples of three
    fresh.seen("a@aggTrade", 3.0)
    assert fresh.limit("a@aggTrade") == pytest.approx(10.0)


def test_strikes_double_the_limit_until_an_update_resets_them() -> None:
    fresh = Freshness(POLICY, cadence)
    last = feed(fresh, "s@aggTrade", 0.0, 0.1, 10)  # limit floor 1 s (10 x 0.1)
    now = last
    limits = []
    for _ in range(5):
        now += 100.0
        [stale] = fresh.stale(now, ["s@aggTrade"])
        limits.append(stale.limit)
    assert limits == [1.0, 2.0, 4.0, 8.0, 8.0]  # capped at 2**max_strikes
    fresh.seen("s@aggTrade", now + 1)
    assert fresh.limit("s@aggTrade") == pytest.approx(1.0)  # the silence is not a sample


def test_streams_no_longer_live_are_forgotten() -> None:
    fresh = Freshness(POLICY, cadence)
    feed(fresh, "a@aggTrade", 0.0, 0.1, 10)
    assert fresh.stale(5.0, []) == []
    assert fresh.limit("a@aggTrade") is None


def test_due_paces_the_checks() -> None:
    fresh = Freshness(FreshnessPolicy(interval=1.0))
    assert fresh.due(10.0) and not fresh.due(10.5) and fresh.due(11.0)


def test_bad_knobs_are_refused() -> None:
    with pytest.raises(ValueError, match="multiple"):
        FreshnessPolicy(multiple=0)
    with pytest.raises(ValueError, match="floor"):
        FreshnessPolicy(floor=float("nan"))


def test_quiet_user_data_reconciles_only_with_open_orders_and_once_per_interval() -> None:
    from ccxtpro_sync._core.freshness import QuietUserData

    quiet = QuietUserData(10.0, now=0.0)
    assert not quiet.due(9.0, None, open_orders=1)  # counted from the start
    assert not quiet.due(50.0, None, open_orders=0)  # nothing open: nothing to hide
    assert quiet.due(50.0, 35.0, open_orders=2)  # 15 s without a word
    assert not quiet.due(55.0, 35.0, open_orders=2)  # reconciled at 50: wait again
    assert not quiet.due(62.0, 58.0, open_orders=2)  # heard at 58
    assert quiet.due(68.5, 58.0, open_orders=2)
    assert quiet.triggered == 2
    with pytest.raises(ValueError, match="positive"):
        QuietUserData(0, now=0.0)
