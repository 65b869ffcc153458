"""A burst's data frames routed in groups (``BinanceStreamProtocol.receive_run``).

The connection hands the protocol the run of data frames of a burst; the protocol
decodes consecutive bound frames and routes them as a group under one hold of the
router's lock. Whatever a run meets (general-path frames, malformed ones, gaps that
ask for backfills, control frames, an overlap) must mean exactly what the same
frames mean one ``receive`` at a time, in the same order, with the same errors."""

from __future__ import annotations

import json
import random
import threading
from typing import Any

import pytest

from ccxtpro_sync._core.events import Deferred, Delivery, Inbound, Policy
from ccxtpro_sync._core.frames import OP_PING, OP_TEXT
from ccxtpro_sync._core.freshness import Freshness
from ccxtpro_sync._core.rotation import DeliveredKeys
from ccxtpro_sync._exchanges.binance import combined, trade_stream
from ccxtpro_sync._exchanges.binance.rotation import RotationRouter
from ccxtpro_sync._exchanges.binance.stream_protocol import RUN_HOLD, BinanceStreamProtocol

from .support import compiled_missing, decoder_bug
from .test_combined_frames import TRADES, agg, diff, setup, trades_of

Messages = list[tuple[int, bytes]]


@pytest.fixture(autouse=True, params=["compiled", "python-run", "no-run"])
def runs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Trades streams bound in the test take their runs with the compiled payload run
    and trade builder, with the payload run in Python, or not at all (no compiled
    builder: every frame to the per-trade handler, as ``CCXTPRO_SYNC_PURE_PYTHON``)."""
    if request.param == "compiled":
        if combined.payload_run is combined._payload_run or trade_stream.build_run is None:
            compiled_missing("compiled runs", "_stream_run or _trade_build")
    elif request.param == "python-run":
        monkeypatch.setattr(combined, "payload_run", combined._payload_run)
    else:
        monkeypatch.setattr(trade_stream, "build_trade", None)
    return str(request.param)


def _shown(delivery: Delivery) -> tuple[str, Any]:
    value = delivery.value
    if type(value) is Deferred:  # a book view: built later, compare what it is
        return delivery.message_hash, "deferred"
    return delivery.message_hash, value


def _record(out: list[Any], batch: list[Delivery], result: Inbound | None = None) -> None:
    """What the connection would do: flush the batch, then act on a frame's result.
    Consecutive ``APPEND`` deliveries of one hash are shown as one, as the dispatcher
    queues them (a run of one stream's trades is one delivery)."""
    for delivery in batch:
        hash_, value = _shown(delivery)
        last = out[-1] if out else None
        if (
            delivery.policy is Policy.APPEND
            and type(last) is tuple
            and last[0] == hash_
            and type(last[1]) is list
        ):
            out[-1] = (hash_, [*last[1], *value])
        else:
            out.append((hash_, list(value) if delivery.policy is Policy.APPEND else value))
    batch.clear()
    if result is not None:
        out.append(
            (
                [_shown(d) for d in result.deliveries],
                [(type(e).__name__, str(e)) for e in result.errors],
                result.tasks,
                [name for name, _ in result.notices],
            )
        )


def _one_by_one(proto: BinanceStreamProtocol, messages: Messages) -> list[Any]:
    out: list[Any] = []
    batch: list[Delivery] = []
    for opcode, data in messages:
        if opcode != OP_TEXT:
            _record(out, batch)
            out.append("control")
            continue
        try:
            result = proto.receive(data, 0.0)
        except Exception as error:
            result = Inbound(errors=[error])
        if isinstance(result, list):
            batch += result
        else:
            _record(out, batch, result)
    _record(out, batch)
    return out


def _in_runs(proto: BinanceStreamProtocol, messages: Messages) -> list[Any]:
    out: list[Any] = []
    batch: list[Delivery] = []
    index = 0
    while index < len(messages):
        if messages[index][0] != OP_TEXT:
            _record(out, batch)
            out.append("control")
            index += 1
            continue
        start = index
        index, result = proto.receive_run(messages, index, 0.0, batch)
        assert index > start  # every call takes at least one frame
        if result is None:
            continue
        if isinstance(result, Exception):
            result = Inbound(errors=[result])
        assert not isinstance(result, list)  # plain data goes to the batch
        _record(out, batch, result)
    _record(out, batch)
    return out


def _random_frames(rng: random.Random, count: int) -> Messages:
    """Mostly consecutive trades and diffs, with what a run must stop at or route
    elsewhere: gaps (a backfill task), malformed payloads, a frame naming another
    stream inside, unwanted streams, replies, garbage and control frames."""
    messages: Messages = []
    trade, update = 1, 1
    for _ in range(count):
        roll = rng.random()
        if roll < 0.55:
            if rng.random() < 0.03:
                trade += rng.randint(2, 4)  # a gap
            messages.append((OP_TEXT, agg(trade)))
            trade += 1
        elif roll < 0.75:
            step = rng.randint(1, 3)
            if rng.random() < 0.05:
                update += 5  # a book gap
            messages.append((OP_TEXT, diff(update, update + step - 1)))
            update += step
        elif roll < 0.80:
            messages.append((OP_TEXT, agg(trade).replace(b'"p":"0.05"', b'"p":5')))
        elif roll < 0.83:
            messages.append((OP_TEXT, agg(trade, price="NaN")))
        elif roll < 0.86:
            messages.append((OP_TEXT, agg(trade)[:-1] + b',"stream":"ethbtc@nope"}'))
        elif roll < 0.89:
            messages.append((OP_TEXT, agg(trade, stream="xyzusdt@aggTrade")))
        elif roll < 0.92:
            messages.append((OP_TEXT, b'{"result":null,"id":%d}' % rng.randint(1, 9)))
        elif roll < 0.95:
            messages.append((OP_TEXT, rng.choice([b"", b"{", b'{"stream":"', b"[]"])))
        else:
            messages.append((OP_PING, b""))
    return messages


@pytest.mark.parametrize("seed", range(12))
def test_runs_mean_what_the_frames_mean_one_by_one(seed: int) -> None:
    rng = random.Random(seed)
    messages = _random_frames(rng, rng.randint(50, 400))
    one, one_data, _ = setup()
    run, run_data, _ = setup()
    assert _in_runs(run, messages) == _one_by_one(one, messages)
    assert list(run_data.trades["ETH/BTC"]) == list(one_data.trades["ETH/BTC"])
    assert run_data.tasks == one_data.tasks and run_data.notices == one_data.notices


def test_a_long_run_is_routed_whole_in_groups() -> None:
    proto, data, _ = setup()
    proto.receive(agg(1), 0.0)  # binds the stream
    messages = [(OP_TEXT, agg(k)) for k in range(2, 3 * RUN_HOLD + 7)]
    batch: list[Delivery] = []
    index, result = proto.receive_run(messages, 0, 0.0, batch)
    assert (index, result) == (len(messages), None)
    assert [t.id for d in batch for t in d.value] == [str(k) for k in range(2, 3 * RUN_HOLD + 7)]
    assert len(data.trades["ETH/BTC"]) == 3 * RUN_HOLD + 6


def test_a_run_stops_after_a_frame_that_asks_for_more_and_resumes_after_it() -> None:
    proto, data, _ = setup()
    proto.receive(agg(1), 0.0)
    # 2..4, then 8 (a gap: its task is returned), then 9..10 in the next call
    messages = [(OP_TEXT, agg(k)) for k in (2, 3, 4, 8, 9, 10)]
    batch: list[Delivery] = []
    index, result = proto.receive_run(messages, 0, 0.0, batch)
    assert index == 4 and isinstance(result, Inbound) and result.tasks
    assert [t.id for d in batch for t in d.value] == ["2", "3", "4"]
    assert data.tasks == []  # handed over by value, with the frame that caused them
    batch.clear()
    index, result = proto.receive_run(messages, index, 0.0, batch)
    assert (index, result) == (6, None)


def test_a_run_stops_before_a_control_frame() -> None:
    proto, _, _ = setup()
    proto.receive(agg(1), 0.0)
    messages = [(OP_TEXT, agg(2)), (OP_TEXT, agg(3)), (OP_PING, b""), (OP_TEXT, agg(4))]
    batch: list[Delivery] = []
    assert proto.receive_run(messages, 0, 0.0, batch) == (2, None)
    assert [t.id for d in batch for t in d.value] == ["2", "3"]


def test_during_an_overlap_a_run_takes_the_general_path_and_its_rule() -> None:
    keys: DeliveredKeys[Any] = DeliveredKeys()
    old, data, _ = setup(keys=keys)
    old.receive(agg(1), 0.0)
    router = RotationRouter(data, threading.Lock(), keys)
    new = BinanceStreamProtocol("ws://b", router)
    new.subscribe([TRADES])
    new.on_open(0.0)
    new.receive(agg(0), 0.0)  # binds it there too (old news: nothing delivered)
    keys.begin([TRADES])
    batch: list[Delivery] = []
    ahead = [(OP_TEXT, agg(3)), (OP_TEXT, agg(4))]
    assert new.receive_run(ahead, 0, 0.0, batch) == (2, None)
    assert batch == []  # the new connection is ahead: held while the old one catches up
    caught_up = [(OP_TEXT, agg(2)), (OP_TEXT, agg(3))]
    assert old.receive_run(caught_up, 0, 0.0, batch) == (2, None)
    assert [t.id for d in batch for t in d.value] == ["2", "3"]
    released, _ = router.release([TRADES])
    assert [t.id for t in trades_of(released)] == ["4"]


def test_a_retired_connection_s_run_delivers_nothing() -> None:
    proto, data, _ = setup()
    proto.receive(agg(1), 0.0)
    assert isinstance(proto.router, RotationRouter)
    proto.router.retired = True
    batch: list[Delivery] = []
    assert proto.receive_run([(OP_TEXT, agg(2))], 0, 0.0, batch) == (1, None)
    assert batch == [] and [t.id for t in data.trades["ETH/BTC"]] == ["1"]


def _trades_bound(proto: BinanceStreamProtocol) -> Any:
    """The trades stream's bound parts (stream, decode, handle, run, key); it must be bound."""
    bound = proto._bound[TRADES.encode()]
    assert bound is not None
    return bound


def test_a_handler_bug_is_returned_for_its_frame_and_the_run_resumes_after_it() -> None:
    proto, _, _ = setup()
    proto.receive(agg(1), 0.0)
    name = TRADES.encode()
    stream, decode, handle, _, key = _trades_bound(proto)

    def buggy(event: Any) -> list[Delivery]:
        if event.agg_trade_id == 3:
            raise KeyError("a bug")
        result: list[Delivery] = handle(event)
        return result

    proto._bound[name] = (stream, decode, buggy, None, key)  # no run: each to the handler
    messages = [(OP_TEXT, agg(k)) for k in (2, 3, 4)]
    batch: list[Delivery] = []
    index, result = proto.receive_run(messages, 0, 0.0, batch)
    assert index == 2 and isinstance(result, KeyError)
    index, result = proto.receive_run(messages, index, 0.0, batch)
    # 3 was lost to the bug: 4 is a gap, with its backfill asked for
    assert index == 3 and isinstance(result, Inbound) and result.tasks
    assert [t.id for d in batch for t in d.value] == ["2"]


def test_freshness_hears_a_run_as_it_hears_its_frames() -> None:
    messages = [(OP_TEXT, agg(k)) for k in range(1, 80)]
    messages[40:40] = [(OP_TEXT, diff(1, 2)), (OP_TEXT, diff(3, 4))]
    counts = []
    for drive in (_one_by_one, _in_runs):
        proto, _, _ = setup()
        proto.freshness = Freshness()
        proto.freshness.restart([TRADES], 0.0)
        drive(proto, messages[:1])  # binds the streams
        drive(proto, messages[1:])
        counts.append({s: (t.count, t.last) for s, t in proto.freshness._tracks.items()})  # type: ignore[union-attr]
    assert counts[0] == counts[1] and counts[0][TRADES][0] == 78  # the first starts the clock


@pytest.mark.parametrize("seed", range(8))
def test_freshness_hears_random_runs_as_it_hears_their_frames(seed: int) -> None:
    # Gaps, refused frames and resyncs stop groups part-way: only what was taken counts.
    rng = random.Random(seed)
    messages = [(OP_TEXT, agg(1)), (OP_TEXT, diff(1, 1)), *_random_frames(rng, 300)]
    counts = []
    for drive in (_one_by_one, _in_runs):
        proto, _, _ = setup()
        proto.freshness = Freshness()
        proto.freshness.restart([TRADES, "ethbtc@depth@100ms"], 0.0)
        drive(proto, messages)
        counts.append({s: (t.count, t.last) for s, t in proto.freshness._tracks.items()})  # type: ignore[union-attr]
    assert counts[0] == counts[1]


def test_freshness_seen_with_a_count_is_that_many_updates() -> None:
    for since in (None, 0.0):
        one, many = Freshness(), Freshness()
        if since is not None:
            one.restart(["s"], since)
            many.restart(["s"], since)
            one._tracks["s"] = many._tracks["s"] = since
        for _ in range(5):
            one.seen("s", 2.0)
        many.seen("s", 2.0, 5)
        a, b = one._tracks["s"], many._tracks["s"]
        assert not isinstance(a, float) and not isinstance(b, float)
        assert (a.count, a.last, a.folded_at) == (b.count, b.last, b.folded_at)


def test_a_run_with_the_raw_log_on_goes_frame_by_frame() -> None:
    proto, _, _ = setup(tap=True)
    messages = [(OP_TEXT, agg(k)) for k in (1, 2)]
    batch: list[Delivery] = []
    assert proto.receive_run(messages, 0, 0.0, batch) == (2, None)
    assert [d.message_hash for d in batch] == ["trades:ETH/BTC", "raw"] * 2


def test_frames_bound_mid_run_join_the_next_group() -> None:
    proto, _, _ = setup()
    messages = [(OP_TEXT, agg(k)) for k in range(1, 5)]  # the first binds the stream
    batch: list[Delivery] = []
    assert proto.receive_run(messages, 0, 0.0, batch) == (4, None)
    assert [t.id for d in batch for t in d.value] == ["1", "2", "3", "4"]
    assert json.loads(messages[0][1])["stream"] == TRADES


def _decoder_bug_on(proto: BinanceStreamProtocol, trade_id: int) -> None:
    """A bound decoder with a bug: it raises what no decode should for one frame."""
    stream, decode, handle, _, _ = _trades_bound(proto)
    buggy = decoder_bug(decode, trade_id)
    proto._bound[TRADES.encode()] = (stream, buggy, handle, None, None)  # no run: the decoder reads


@pytest.mark.parametrize("drive", ["runs", "receive"])
def test_a_decoder_bug_is_reported_typed_and_the_frame_is_read_by_the_general_path(
    drive: str,
) -> None:
    proto, data, _ = setup()
    proto.receive(agg(1), 0.0)  # binds the stream
    _decoder_bug_on(proto, 3)
    messages = [(OP_TEXT, agg(k)) for k in range(2, 8)]
    out = _in_runs(proto, messages) if drive == "runs" else _one_by_one(proto, messages)
    errors = [e for item in out if isinstance(item, tuple) and len(item) == 4 for e in item[1]]
    assert len(errors) == 1  # reported once: the decoder is not used again here
    kind, text = errors[0]
    assert kind == "ProtocolError" and "KeyError" in text and TRADES in text
    # nothing lost: the frame that tripped it, and those after it, are delivered in order
    assert [t.id for t in data.trades["ETH/BTC"]] == [str(k) for k in range(1, 8)]
    assert data.tasks == []  # no gap, so no backfill
    assert proto._bound[TRADES.encode()] is None  # the general path from now on


def test_a_run_bug_takes_its_first_frame_and_the_reader_goes_on(runs: str) -> None:
    if runs == "no-run":
        pytest.skip("no run form bound")
    proto, data, _ = setup()
    proto.receive(agg(1), 0.0)
    name = TRADES.encode()
    stream, decode, handle, run, key = _trades_bound(proto)
    if run is None:  # no compiled builder (CCXTPRO_SYNC_PURE_PYTHON): no run form
        pytest.skip("no run form bound")
    calls = []

    def buggy(events: list[Any], start: int) -> Any:
        calls.append(start)
        if len(calls) == 1:
            raise KeyError("a bug")
        return run(events, start)

    proto._bound[name] = (stream, decode, handle, buggy, key)
    messages = [(OP_TEXT, agg(k)) for k in (2, 3, 4)]
    batch: list[Delivery] = []
    index, result = proto.receive_run(messages, 0, 0.0, batch)
    assert index == 1 and isinstance(result, KeyError)  # 2 is lost to the bug, not re-read
    index, result = proto.receive_run(messages, index, 0.0, batch)
    # 3 follows a gap: the per-trade handler holds it and asks for the backfill
    assert index == 2 and isinstance(result, Inbound) and result.tasks
    assert [t.id for t in data.trades["ETH/BTC"]] == ["1"]
