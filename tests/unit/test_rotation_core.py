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
    # a diff covers U..u: the update before it ended at U - 1 (futures: at pu)
    assert update_key("btcusdt@depth@100ms", b'{"U":3,"u":9,"E":1}') == (9, None, 2)
    assert update_key("btcusdt@depth", b'{"U":30,"u":39,"pu":25}') == (39, None, 25)
    assert update_key("btcusdt@bookTicker", b'{"u":7,"b":"1"}') == (7, None, None)
    assert update_key("btcusdt@aggTrade", b'{"a":12,"t":99}') == (12, None, None)
    assert update_key("btcusdt@trade", b'{"t":99,"E":1}') == (99, None, None)
    # a ticker's "a" is a price: ordered by event time, never by that field
    ticker = b'{"E":5,"a":"1.5"}'
    assert update_key("btcusdt@ticker", ticker) == (5, hash(ticker), None)
    assert update_key("btcusdt@kline_1m", b'{"E":6,"k":{"t":1}}')[0] == 6
    assert update_key("btcusdt@ticker", b"[1") == (None, None, None)


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


def _rotating(last: int | None = None, max_held: int = 4096) -> tuple[DeliveredKeys[int], int, int]:
    """Keys with streams "s" and "o" overlapping between an old source and a new one."""
    keys: DeliveredKeys[int] = DeliveredKeys(max_held=max_held)
    old = keys.source()
    if last is not None:
        assert keys.offer("s", last, None, old, last) == [last]
    new = keys.source()  # the replacement is made just before ``begin``
    keys.begin(["s", "o"])
    return keys, old, new


def _moved_on(keys: DeliveredKeys[int], old: int) -> None:
    """The old reader offers its next update (another stream): so it finished
    delivering the previous one, which the new reader may no longer overtake."""
    key = (keys.last("o") or 0) + 1
    assert keys.offer("o", key, None, old, key) == [key]


def test_old_connection_behind_delivers_its_backlog_before_the_new_one() -> None:
    keys, old, new = _rotating(100)
    delivered: list[int] = []
    # the new connection is current, the old one still has 101-104 to read
    for key in (105, 106, 107):
        delivered += keys.offer("s", key, None, new, key)
    assert delivered == [] and not keys.settled(["s"])
    for key in (101, 102, 103, 104):
        delivered += keys.offer("s", key, None, old, key)
    assert delivered == [101, 102, 103, 104]
    # caught up, but the old reader may still be handing 104 over: keep holding
    delivered += keys.offer("s", 108, None, new, 108)
    assert delivered == [101, 102, 103, 104]
    _moved_on(keys, old)
    # now the new connection's next update switches, on its own thread
    delivered += keys.offer("s", 109, None, new, 109)
    assert delivered == list(range(101, 110))
    assert keys.settled(["s"])
    delivered += keys.offer("s", 105, None, old, 105)  # the old one's from now on: dropped
    delivered += keys.offer("s", 110, None, old, 110)
    delivered += keys.offer("s", 110, None, new, 110)
    assert delivered == list(range(101, 111))
    assert keys.gaps == 0 and keys.dropped == 2


def test_what_the_old_connection_delivers_is_not_kept_twice() -> None:
    keys, old, new = _rotating(100)
    for key in (103, 104):
        assert keys.offer("s", key, None, new, key) == []
    for key in (101, 102, 103):
        assert keys.offer("s", key, None, old, key) == [key]
    assert keys.dropped == 1  # 103 left the hold when the old one delivered it
    _moved_on(keys, old)
    assert keys.offer("s", 105, None, new, 105) == [104, 105]


def test_old_connection_ahead_switches_at_the_new_ones_first_update() -> None:
    keys, old, new = _rotating(100)
    delivered: list[int] = []
    for key in (101, 102, 103):
        delivered += keys.offer("s", key, None, old, key)
    _moved_on(keys, old)
    for key in (102, 103, 104):  # the new one starts behind: repeats are dropped
        delivered += keys.offer("s", key, None, new, key)
    delivered += keys.offer("s", 104, None, old, 104)
    assert delivered == [101, 102, 103, 104]
    assert keys.settled(["s"]) and keys.gaps == 0


def test_interleaved_feeds_deliver_every_key_once_in_order() -> None:
    keys, old, new = _rotating(3)
    arrivals = [(new, 6), (old, 4), (new, 7), (new, 8), (old, 5), (old, 6), (new, 9), (old, 7)]
    arrivals += [(new, 10), (old, 8), (new, 11), (old, 9), (new, 12)]
    delivered = [k for source, key in arrivals for k in keys.offer("s", key, None, source, key)]
    # the old connection keeps the stream while it delivers it; the new one's wait
    assert delivered == list(range(4, 10))
    _moved_on(keys, old)
    assert keys.offer("s", 13, None, new, 13) == [10, 11, 12, 13]


def test_unknown_last_key_waits_for_the_old_connection() -> None:
    # outside a rotation no key is recorded: the overlap starts with nothing known
    keys, old, new = _rotating()
    assert keys.offer("s", 50, None, new, 50) == []
    assert keys.offer("s", 48, None, old, 48) == [48]
    assert keys.offer("s", 49, None, old, 49) == [49]
    _moved_on(keys, old)
    assert keys.offer("s", 51, None, new, 51) == [50, 51]


def test_hold_overflow_switches_with_a_gap_and_stays_bounded() -> None:
    keys, old, new = _rotating(100, max_held=3)
    assert [k for key in (110, 111, 112) for k in keys.offer("s", key, None, new, key)] == []
    assert keys.offer("s", 113, None, new, 113) == [110, 111, 112, 113]
    assert keys.gaps == keys.overflows == 1 and keys.settled(["s"])
    assert keys.offer("s", 101, None, old, 101) == []  # switched: the old one is dropped


def test_shared_event_times_need_the_same_update_to_switch() -> None:
    keys: DeliveredKeys[str] = DeliveredKeys()
    old = keys.source()
    assert keys.offer("t", 100, 1, old, "a") == ["a"]
    new = keys.source()
    keys.begin(["t", "o"])
    # one millisecond later says nothing about what else happened at 100
    assert keys.offer("t", 101, 5, new, "c") == []
    assert keys.offer("t", 100, 2, old, "b") == ["b"]  # another update at 100
    assert keys.offer("t", 101, 5, old, "c") == ["c"]  # the held one: out of the hold
    assert keys.offer("o", 1, None, old, "x") == ["x"]  # the old reader moved on
    assert keys.offer("t", 101, 6, new, "d") == ["d"]  # another update at 101: switch
    assert keys.offer("t", 101, 6, old, "d") == []
    assert keys.dropped == 2


def test_handover_releases_an_unswitched_stream_and_counts_the_gap() -> None:
    keys, old, new = _rotating(100)
    keys.begin(["q"])  # a quiet stream: nothing held, nothing to release
    for key in (104, 105):
        assert keys.offer("s", key, None, new, key) == []
    assert keys.offer("s", 101, None, old, 101) == [101]
    assert keys.release(["s", "q"]) == [("s", 104), ("s", 105)]
    assert keys.gaps == 1
    # until a release round finds nothing held, the new connection's updates are held
    # (its reader must not overtake what the releasing thread delivers)
    assert keys.offer("s", 106, None, new, 106) == []
    assert keys.release(["s", "q"]) == [("s", 106)]
    assert keys.release(["s", "q"]) == []
    assert keys.settled(["s"]) and keys.gaps == 1
    assert keys.offer("s", 102, None, old, 102) == []
    assert keys.offer("s", 107, None, new, 107) == [107]
    assert keys.offer("q", 7, None, new, 7) == [7]
    keys.end(["s", "q", "o"])
    assert not keys.active


def test_a_release_round_that_finds_only_repeats_switches_the_stream() -> None:
    """The new reader, just behind the old one, holds a copy of the old connection's
    last update when the old one is retired (the old reader had not yet shown that it
    moved on). The first release round drops it as a repeat and delivers nothing: the
    handover then stops asking, so the stream must have switched already; were it still
    releasing, the new connection's next updates would be held until the overlap ends
    and discarded with it (the 1000-stream rotation test's depth-gap resyncs under load)."""
    keys, old, new = _rotating(100)
    assert keys.offer("s", 101, None, old, 101, batch=1) == [101]
    assert keys.offer("s", 101, None, new, 101, batch=1) == []  # held: old not done yet
    assert keys.release(["s", "o"]) == []  # only a repeat was held: nothing to deliver
    assert keys.settled(["s"])
    assert keys.offer("s", 102, None, new, 102, batch=2) == [102]
    assert keys.gaps == 0
    keys.end(["s", "o"])
    assert keys.offer("s", 103, None, new, 103) == [103]


def test_the_new_connection_never_overtakes_the_old_readers_unsent_chunk() -> None:
    """A reader hands the deliveries of one received chunk to the hub together, after
    the chunk (docs/threading.md, the hot path). Another frame of the same chunk
    therefore does not show that the old connection's earlier update has reached the
    hub: switching then let the new reader hand its next update over first, and the
    dispatcher saw ids go back (rare duplicates in the 1000-stream rotation test under
    load). Only a frame of a later chunk (a later receive time) shows it."""
    import json
    import threading

    from ccxtpro_sync._exchanges.binance.market_data import MarketData
    from ccxtpro_sync._exchanges.binance.markets import Markets
    from ccxtpro_sync._exchanges.binance.rotation import RotationRouter

    from .test_private_parsers import spot_market

    trades, tickers = "ethbtc@aggTrade", "ethbtc@bookTicker"

    def trade(i: int) -> msgspec.Raw:
        payload = {"e": "aggTrade", "E": i, "s": "ETHBTC", "a": i, "p": "0.05", "q": "1",
                   "f": i, "l": i, "T": i, "m": False, "M": True}  # fmt: skip
        return msgspec.Raw(json.dumps(payload).encode())

    def book_ticker(u: int) -> msgspec.Raw:
        payload = {"u": u, "s": "ETHBTC", "b": "0.05", "B": "1", "a": "0.051", "A": "1"}
        return msgspec.Raw(json.dumps(payload).encode())

    def trade_ids(routed: object) -> list[int]:
        deliveries = routed if isinstance(routed, list) else routed.deliveries  # type: ignore[attr-defined]
        return [
            int(t.id) for d in deliveries if d.message_hash.startswith("trades:") for t in d.value
        ]

    keys: DeliveredKeys[tuple[msgspec.Raw, float]] = DeliveredKeys()
    data, lock = MarketData(Markets([spot_market()], "spot")), threading.Lock()
    old = RotationRouter(data, lock, keys)
    new = RotationRouter(data, lock, keys)  # the replacement, made just before begin
    keys.begin([trades, tickers])
    # one chunk read by the old connection: trade 101, then a book ticker
    assert trade_ids(old.route(trades, trade(101), 1.0)) == [101]
    old.route(tickers, book_ticker(7), 1.0)
    # trade 101 is still in the old reader's batch: 102 must not go out before it
    assert trade_ids(new.route(trades, trade(102), 1.5)) == []
    # the old reader's next chunk: its previous batch has been handed over
    old.route(tickers, book_ticker(8), 2.0)
    assert trade_ids(new.route(trades, trade(103), 2.5)) == [102, 103]


def test_a_diff_spanning_several_ids_continues_from_its_first_one() -> None:
    """A depth diff covers update ids U..u and is keyed by u: the old connection caught
    up once it delivered U - 1 (the diff says so), not u - 1. Judged by u alone, the new
    connection waited for the old one to deliver that same diff, and a handover before
    then counted a gap that was not there."""
    keys, old, new = _rotating(100)
    _moved_on(keys, old)
    # the new connection's first diff covers 101..105: it continues the old one's 100
    assert keys.offer("s", 105, None, new, 105, prev=100) == [105]
    assert keys.settled(["s"]) and keys.gaps == 0
    keys, old, new = _rotating(99)
    assert keys.offer("s", 100, None, old, 100, batch=1) == [100]
    # the old reader may still be handing 100 over: held
    assert keys.offer("s", 105, None, new, 105, batch=1, prev=100) == []
    assert keys.offer("s", 108, None, new, 108, batch=1, prev=105) == []
    assert keys.release(["s", "o"]) == [("s", 105), ("s", 108)]
    assert keys.release(["s", "o"]) == []
    assert keys.gaps == 0
    # a diff that does not continue what was delivered is still a gap at handover
    keys, old, new = _rotating(100)
    assert keys.offer("s", 109, None, new, 109, prev=104) == []
    assert keys.release(["s", "o"]) == [("s", 109)]
    assert keys.gaps == 1


def test_a_full_hold_never_lets_the_new_connection_overtake_the_old_readers_chunk() -> None:
    """The old reader delivered 101 but has not handed its chunk over yet (no offer from
    a later batch) when the new connection's hold fills up. Switching then released the
    held, newer updates on the new reader, which handed them over at once: a trades
    callback saw 101 after them. Now the hold sheds its oldest update instead (bounded,
    a gap for the stream's own repair) and switches once the old reader is done."""
    keys, old, new = _rotating(100, max_held=3)
    old_chunk = keys.offer("s", 101, None, old, 101, batch=1)
    assert old_chunk == [101]
    handed: list[int] = []  # what reaches the callbacks, in order
    for key in (102, 103, 104, 105, 106):
        handed += keys.offer("s", key, None, new, key, batch=key)  # handed over at once
        assert len(keys._overlap["s"].held) <= 3
    handed += old_chunk  # the old reader ends its chunk
    assert keys.offer("o", 1, None, old, 1, batch=2) == [1]  # and moves on
    handed += keys.offer("s", 107, None, new, 107, batch=107)
    assert handed == [101, 104, 105, 106, 107]
    assert keys.gaps == keys.overflows == 1 and keys.shed == 2
    assert keys.settled(["s"])
    assert keys.offer("s", 108, None, old, 108, batch=3) == []  # switched
