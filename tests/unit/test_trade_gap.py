"""GapFiller: exactly-once, in-order delivery of keyed streams across gaps (plain values)."""

from __future__ import annotations

import random

from ccxtpro_sync._core.trade_gap import GapFiller, GapStep


def ident(x: int) -> int:
    return x


def drain_all(filler: GapFiller[int]) -> list[int]:
    """What the worker does after a backfill: drain until the hold closes."""
    out: list[int] = []
    while True:
        step = filler.drain()
        out += step.deliver
        assert step.request is None
        if step.closed:
            return out


def test_consecutive_ids_pass_through_and_duplicates_are_dropped() -> None:
    f: GapFiller[int] = GapFiller(ident)
    got: list[int] = []
    for i in [1, 2, 3, 3, 2, 4]:
        step = f.live(i)
        assert step.request is None and not step.missing
        got += step.deliver
    assert got == [1, 2, 3, 4]


def test_a_skip_holds_live_items_until_the_backfill_then_releases_in_order() -> None:
    f: GapFiller[int] = GapFiller(ident)
    assert f.live(10).deliver == [10]
    step = f.live(15)
    assert step.deliver == [] and step.request is not None
    assert (step.request.first, step.request.last) == (11, 14)
    token = step.request.token
    for i in (16, 17, 15):  # 15 again: a duplicate among the held items
        assert f.live(i).deliver == []
    page = f.backfilled(token, [14, 12, 11, 13, 15, 16])  # overlap past the gap ignored
    assert page.deliver == [11, 12, 13, 14] and page.backfilled == [11, 12, 13, 14]
    assert page.request is None and not page.missing
    assert f.live(18).deliver == []  # still held: the worker has not drained yet
    assert drain_all(f) == [15, 16, 17, 18]
    assert f.live(19).deliver == [19]


def test_paging_asks_for_the_next_page_from_the_last_delivered_id() -> None:
    f: GapFiller[int] = GapFiller(ident)
    f.live(0)
    request = f.live(10).request
    assert request is not None
    step = f.backfilled(request.token, [1, 2, 3])
    assert step.deliver == [1, 2, 3]
    assert step.request is not None and (step.request.first, step.request.last) == (4, 9)
    step = f.backfilled(request.token, [4, 5, 6, 7, 8, 9])
    assert step.deliver == [4, 5, 6, 7, 8, 9] and step.request is None
    assert drain_all(f) == [10]


def test_ids_rest_no_longer_serves_are_reported_and_delivery_goes_on() -> None:
    f: GapFiller[int] = GapFiller(ident)
    f.live(100)
    request = f.live(200).request
    assert request is not None
    # A recent-only source: starts after the gap's start, one page, no paging by id.
    step = f.backfilled(request.token, list(range(150, 205)), more=False)
    assert step.missing == [(101, 149)]
    assert step.deliver == list(range(150, 200))
    assert drain_all(f) == [200]


def test_a_failed_fetch_reports_the_range_and_releases_the_held_items() -> None:
    f: GapFiller[int] = GapFiller(ident)
    f.live(1)
    request = f.live(5).request
    assert request is not None
    f.live(6)
    step = f.failed(request.token)
    assert step.missing == [(2, 4)] and step.deliver == []
    assert drain_all(f) == [5, 6]
    # A late answer for the abandoned gap delivers nothing.
    assert f.backfilled(request.token, [2, 3, 4]).deliver == []


def test_too_many_held_items_give_the_gap_up() -> None:
    f: GapFiller[int] = GapFiller(ident, max_held=3)
    f.live(1)
    request = f.live(10).request
    assert request is not None
    missing: list[tuple[int, int]] = []
    for i in (11, 12, 13):
        missing += f.live(i).missing
    assert missing == [(2, 9)]
    assert drain_all(f) == [10, 11, 12, 13]
    assert f.backfilled(request.token, [2, 3]).deliver == []


def test_a_second_gap_among_the_held_items_is_fetched_in_turn() -> None:
    f: GapFiller[int] = GapFiller(ident)
    f.live(1)
    first = f.live(3).request
    assert first is not None
    f.live(4)
    f.live(8)  # the connection dropped again while the first gap was being fetched
    assert f.backfilled(first.token, [2]).deliver == [2]
    step = f.drain()
    assert step.deliver == [3, 4] and step.request is not None
    assert (step.request.first, step.request.last) == (5, 7)
    f.live(9)
    assert f.backfilled(step.request.token, [5, 6, 7]).deliver == [5, 6, 7]
    assert drain_all(f) == [8, 9]


def test_disabled_reports_the_gap_and_delivers_at_once() -> None:
    f: GapFiller[int] = GapFiller(ident, enabled=False)
    f.live(1)
    step: GapStep[int] = f.live(4)
    assert step.deliver == [4] and step.missing == [(2, 3)] and step.request is None
    assert f.live(4).deliver == []  # still deduplicated


def test_candles_refetch_the_last_candle_after_a_reset() -> None:
    minute = 60_000
    f: GapFiller[int] = GapFiller(ident, step=minute, updates=True)
    assert f.live(0).deliver == [0]
    assert f.live(0).deliver == [0]  # an update of the open candle
    assert f.live(minute).deliver == [minute]  # the next candle, no reset: no gap
    f.reset()
    # Back after the reset, two candles later: candle `minute` may have closed unseen.
    step = f.live(3 * minute)
    assert step.request is not None
    assert (step.request.first, step.request.last) == (minute, 2 * minute)
    page = f.backfilled(step.request.token, [minute, 2 * minute, 3 * minute])
    assert page.deliver == [minute, 2 * minute]
    assert drain_all(f) == [3 * minute]
    assert f.live(2 * minute).deliver == []  # older than the last: dropped


def test_candles_moving_past_an_unfinished_candle_refetch_it() -> None:
    f: GapFiller[int] = GapFiller(ident, step=1000, updates=True)
    assert f.live(0, final=False).deliver == [0]
    step = f.live(1000, final=False)  # candle 0's close never came (no reset either)
    assert step.deliver == [] and step.request is not None
    assert (step.request.first, step.request.last) == (0, 0)
    assert f.live(0, final=True).deliver == []  # its close, late: held behind the fetch
    assert f.backfilled(step.request.token, [0]).deliver == [0]
    assert drain_all(f) == [1000]  # the late close is older than the last: dropped
    # Candle 1000 closes in the stream: moving on needs no fetch.
    assert f.live(1000, final=True).deliver == [1000]
    assert f.live(2000, final=False).deliver == [2000]


def test_a_candle_close_that_cannot_be_fetched_is_reported_missing() -> None:
    f: GapFiller[int] = GapFiller(ident, step=1000, updates=True)
    f.live(0, final=False)
    step = f.live(1000, final=False)
    assert step.request is not None
    failed = f.failed(step.request.token)
    assert failed.missing == [(0, 0)] and failed.deliver == []
    assert drain_all(f) == [1000]
    # And a page that no longer holds it: candle 1000's close reported, 2000 delivered.
    step = f.live(3000, final=False)
    assert step.request is not None
    assert (step.request.first, step.request.last) == (1000, 2000)
    page = f.backfilled(step.request.token, [2000])
    assert page.missing == [(1000, 1000)] and page.deliver == [2000]
    assert drain_all(f) == [3000]


def test_candles_reset_within_the_same_candle_needs_no_fetch() -> None:
    f: GapFiller[int] = GapFiller(ident, step=1000, updates=True)
    f.live(5000)
    f.reset()
    step = f.live(5000)
    assert step.deliver == [5000] and step.request is None


def test_a_gap_larger_than_max_gap_is_reported_not_fetched() -> None:
    f: GapFiller[int] = GapFiller(ident, max_gap=100)
    f.live(1)
    step = f.live(500)
    assert step.request is None and step.deliver == [500] and step.missing == [(2, 499)]


def test_a_key_far_behind_starts_a_new_sequence_instead_of_silencing_the_stream() -> None:
    f: GapFiller[int] = GapFiller(ident, max_gap=100)
    f.live(10_000)
    assert f.live(9_950).deliver == []  # near: a duplicate
    assert f.live(50).deliver == [50]  # far behind: the sequence restarted
    assert f.live(51).deliver == [51]


def test_follows_takes_only_the_next_key_while_nothing_is_open() -> None:
    """The hot path's check: the very next key counts as delivered; anything else
    (the first item, a skip, a repeat, a suspect stream) goes through ``live``."""
    f: GapFiller[int] = GapFiller(ident)
    assert not f.follows(1) and f.last is None  # the first item sets no sequence here
    f.live(1)
    assert f.follows(2) and f.last == 2
    assert not f.follows(2) and not f.follows(4) and f.last == 2  # repeat, skip
    f.reset()  # the connection went away: the next item must be checked in full
    assert not f.follows(3) and f.last == 2


def _follows_before_cursor(f: GapFiller[int], key: int) -> bool:
    """``follows``' rule as it was written before the cursor, read off the filler."""
    last = f.last
    return last is not None and key == last + f.step and not (f.holding or f._suspect or f._updates)


def test_the_cursor_follows_the_old_rule_through_every_state() -> None:
    """A random run of live items, backfills, failures, drains and resets: after
    each, ``cursor`` is ``[last, the key follows takes]`` and ``follows`` (the
    handler's inline check reads the same list) answers as the old rule did."""
    rng = random.Random(7)
    for updates in (False, True):
        f: GapFiller[int] = GapFiller(ident, updates=updates, max_held=20, max_gap=50)
        key = 0
        for _ in range(3_000):
            action = rng.random()
            pending = f._gap
            if action < 0.55:
                key += rng.choice([1, 1, 1, 2, 5, 0, -1, 80, -200])
                probe = rng.choice([key, key + 1, (f.last or 0) + f.step])
                want = _follows_before_cursor(f, probe)
                last = f.last
                assert f.follows(probe) is want
                assert f.last == (probe if want else last)
                if not want:
                    f.live(key, final=rng.random() < 0.7)
            elif action < 0.7 and pending is not None:
                page = list(range(pending.first, pending.last + 1))[: rng.randint(0, 5)]
                f.backfilled(pending.token, page, more=rng.random() < 0.8)
            elif action < 0.8 and pending is not None:
                f.failed(pending.token)
            elif action < 0.95:
                f.drain()
            else:
                f.reset()
            last = f.last
            idle = last is not None and not (f.holding or f._suspect or updates)
            assert f.cursor == [last, last + f.step if idle else None]  # type: ignore[operator]
